// @tscni/netlink public surface: pure-TypeScript netlink (codec, transport, rtnetlink), network
// namespaces and sysctl. The native addon only moves bytes and opens descriptors inside namespaces.

// codec
export {
  NETLINK_ROUTE,
  NETLINK_NETFILTER,
  NETLINK_GENERIC,
  NLM_F,
  NLMSG_NOOP,
  NLMSG_ERROR,
  NLMSG_DONE,
  NLMSG_OVERRUN,
  NLMSG_MIN_TYPE,
  NLMSG_HDRLEN,
  NLA_HDRLEN,
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLA_TYPE_MASK,
  NLMSGERR_ATTR,
  nlAlign,
} from './codec/netlink.js';
export { NlWriter, buildMessage } from './codec/writer.js';
export type { Reserved } from './codec/writer.js';
export { AttrMap, iterAttrs, StructReader, NetlinkDecodeError } from './codec/reader.js';
export type { NlAttr } from './codec/reader.js';
export {
  encodeNlMsgHdr,
  decodeNlMsgHdr,
  decodeMessages,
  encodeMessages,
  patchSeq,
  decodeNlMsgErr,
  encodeNlMsgErr,
  decodeNlDone,
  encodeNlDone,
} from './codec/message.js';
export type { NlMsgHdr, NlMessage, NlMsgErr, NlDone } from './codec/message.js';
export { NetlinkError, isNetlinkError, describeErrno } from './codec/errors.js';
export type { ExtAck, NetlinkErrorOptions } from './codec/errors.js';
export {
  AF_UNSPEC,
  AF_INET,
  AF_INET6,
  AF_BRIDGE,
  AF_PACKET,
  parseIp,
  tryParseIp,
  formatIp,
  ipFamily,
  familyOf,
  parseCidr,
  parseMac,
  formatMac,
} from './codec/ip.js';
export type { IpFamily, IpPrefix } from './codec/ip.js';
export {
  RTM,
  RTA,
  RTN,
  RTPROT,
  RT_SCOPE,
  RT_TABLE,
  RTAX,
  RTNH_F,
  RTEXT_FILTER,
  IFA,
  IFA_F,
  NDA,
  NUD,
  NTF,
  FRA,
  FR_ACT,
  FIB_RULE,
} from './codec/rtnetlink.js';
export {
  IFLA,
  IFLA_INFO,
  IFLA_BR,
  IFLA_BRPORT,
  IFLA_MACVLAN,
  MACVLAN_MODE,
  MACVLAN_MACADDR,
  MACVLAN_FLAG,
  IFLA_IPVLAN,
  IPVLAN_MODE,
  IPVLAN_F,
  IFLA_VLAN,
  IFLA_VXLAN,
  IFLA_VRF,
  IFLA_BOND,
  IFLA_TUN,
  IF_OPER,
  VETH_INFO,
  IFLA_BRIDGE,
  BRIDGE_FLAGS,
  BRIDGE_VLAN_INFO,
  BR_STATE,
  IFF,
} from './codec/iflink.js';

// transport
export {
  DatagramTransport,
  SocketTransport,
  FakeTransport,
  DUMP_INTR_RETRIES,
  messageBody,
} from './transport.js';
export type { NetlinkTransport, RequestOptions, FakeReply, FakeResponder } from './transport.js';

// rtnetlink
export { RtNetlink } from './rtnl/rtnetlink.js';
export type {
  LinkRef,
  NetnsTarget,
  CommonLinkOptions,
  VethPeerOptions,
  LinkKindSpec,
  CreateLinkSpec,
  SetLinkOptions,
  AddAddressOptions,
  RouteTypeName,
  RouteSpec,
  RouteFilter,
  RuleSpec,
  NeighbourSpec,
  NeighbourInfo,
  BridgeVlanOptions,
} from './rtnl/rtnetlink.js';
export {
  encodeLinkMessage,
  decodeLinkMessage,
  encodeLinkBody,
  decodeLinkBody,
  encodeBridgePort,
  decodeBridgePort,
  bridgeVlanEntries,
  toLink,
  linkFromReply,
  IFINFOMSG_LEN,
} from './rtnl/link.js';
export type {
  Link,
  LinkMessage,
  LinkInfo,
  LinkKindData,
  BridgeAttrs,
  BridgePortAttrs,
  BridgeVlan,
  BridgeVlanInfo,
  BridgeAfSpec,
  VxlanAttrs,
  TunAttrs,
  MacvlanMode,
  IpvlanMode,
  IpvlanFlag,
  VlanProtocol,
  OperState,
} from './rtnl/link.js';
export { encodeAddrMessage, decodeAddrMessage, decodeAddrBody, toAddress, IFADDRMSG_LEN } from './rtnl/addr.js';
export type { Address, AddrMessage } from './rtnl/addr.js';
export { encodeRouteMessage, decodeRouteMessage, decodeRouteBody, toRouteInfo, RTMSG_LEN } from './rtnl/route.js';
export type { RouteInfo, RouteMessage, RouteMetrics } from './rtnl/route.js';
export { encodeRuleMessage, decodeRuleMessage, decodeRuleBody, toRuleInfo, FIB_RULE_HDR_LEN } from './rtnl/rule.js';
export type { RuleInfo, RuleMessage } from './rtnl/rule.js';
export { encodeNeighMessage, decodeNeighMessage, decodeNeighBody, NDMSG_LEN } from './rtnl/neigh.js';
export type { NeighMessage } from './rtnl/neigh.js';

// namespaces and sysctl
export {
  NETNS_RUN_DIR,
  InvalidNetnsNameError,
  netnsPath,
  createNetns,
  deleteNetns,
  listNetns,
  netnsInode,
  openNetns,
  withNetnsFd,
} from './netns.js';
export { SYSCTL_ROOT, InvalidSysctlKeyError, sysctlPath, readSysctl, writeSysctl } from './sysctl.js';

// tc and nftables

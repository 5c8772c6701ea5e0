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
export type { ExtAck, NetlinkErrorOptions, NetlinkRequestHeader } from './codec/errors.js';
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
export type {
  NetlinkTransport,
  RequestOptions,
  BatchRequestOptions,
  BatchMessageResult,
  BatchReply,
  FakeReply,
  FakeResponder,
} from './transport.js';

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

// namespaces, sysctl, UDP sockets inside a namespace, file locks
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
export { openUdpSocketInNetns } from './udp.js';
export type { UdpSocketOptions } from './udp.js';
export { lockFile } from './lock.js';
export type { FileLock, LockFileOptions } from './lock.js';

// tc and nftables
export {
  addQdisc,
  replaceQdisc,
  deleteQdisc,
  listQdiscs,
  findQdisc,
  addFilter,
  deleteFilter,
  listFilters,
  u32MatchAll,
  mirredRedirect,
  INGRESS_HANDLE,
} from './tc/tc.js';
export type { QdiscRef, FilterRef } from './tc/tc.js';
export {
  encodeQdisc as encodeTcQdisc,
  encodeQdiscDelete as encodeTcQdiscDelete,
  decodeQdisc as decodeTcQdisc,
  encodeFilter as encodeTcFilter,
  encodeFilterDelete as encodeTcFilterDelete,
  decodeFilter as decodeTcFilter,
} from './tc/messages.js';
export type {
  QdiscSpec as TcQdiscSpec,
  Qdisc as TcQdisc,
  FilterSpec as TcFilterSpec,
  Filter as TcFilter,
  TcAction,
  MirredAction as TcMirredAction,
  U32Key as TcU32Key,
  U32Spec as TcU32Spec,
  U32Info as TcU32Info,
} from './tc/messages.js';
export {
  computeTbf,
  time2tick as tcTime2Tick,
  calcXmittime,
  calcXmitsize,
  calcRateTable,
  tbfLimitFor,
  tbfLatency,
  TbfSpecError,
  DEFAULT_TICK_ROUNDING,
} from './tc/tbf.js';
export type { TbfSpec, TbfExplicit, TbfParams, RateSpec as TcRateSpec, TickRounding } from './tc/tbf.js';
export { TC_H_ROOT, TC_H_INGRESS, TC_H_CLSACT, tcHandle, tcMajor, tcMinor } from './tc/consts.js';
export type { FilterProtocol as TcFilterProtocol, LinkLayer as TcLinkLayer } from './tc/consts.js';
export { NftBatch, NftBatchError } from './nft/batch.js';
export type {
  TableSpec as NftTableSpec,
  ChainSpec as NftChainSpec,
  RuleSpec as NftRuleSpec,
  SetSpec as NftSetSpec,
  ElementsSpec as NftElementsSpec,
  CommitOptions as NftCommitOptions,
  NftBatchFailure,
} from './nft/batch.js';
export {
  listTables as listNftTables,
  listChains as listNftChains,
  listRules as listNftRules,
  listSets as listNftSets,
  listElements as listNftElements,
  findRulesByComment as findNftRulesByComment,
  tableExists as nftTableExists,
  getGeneration as getNftGeneration,
} from './nft/list.js';
export {
  matchIifname,
  matchOifname,
  matchMark,
  matchNfproto,
  matchL4proto,
  matchSaddr,
  matchDaddr,
  matchL4Dport,
  matchL4Sport,
  matchThDport,
  matchCtState,
  matchCtOriginalDaddr,
  matchFibDaddrLocal,
  matchInSet,
  vmap,
  dnatToMap,
  counter,
  verdict,
  accept,
  drop,
  ret,
  jump,
  goTo,
  dnatTo,
  snatTo,
  masquerade,
  redirectTo,
  sel as nftKey,
  val as nftValue,
  resolveRuleItems,
} from './nft/helpers.js';
export type {
  ExprGroup as NftExprGroup,
  RuleItem as NftRuleItem,
  Selector as NftSelector,
  L4Proto,
} from './nft/helpers.js';
export { encodeExpr as encodeNftExpr, decodeExpr as decodeNftExpr, reg32 as nftReg32 } from './nft/expr.js';
export type { NftExpr, Verdict as NftVerdict, NftData } from './nft/expr.js';
export {
  decodeTable as decodeNftTable,
  decodeChain as decodeNftChain,
  decodeRule as decodeNftRule,
  decodeSet as decodeNftSet,
  decodeSetElems as decodeNftSetElems,
} from './nft/objects.js';
export type {
  NftTable,
  NftChain,
  NftBaseChain,
  NftRule,
  NftSet,
  NftSetElem,
  NftSetElems,
  NftGen,
  ChainType as NftChainType,
  ChainPolicy as NftChainPolicy,
  HookName as NftHook,
  SetFieldTypes as NftSetFieldTypes,
} from './nft/objects.js';
export {
  NFT_MSG,
  NFPROTO,
  NF_PRIORITY,
  NFT_SET_F,
  NF_NAT_RANGE,
  NFT_TYPE,
  NFNL_SUBSYS_NFTABLES,
} from './nft/consts.js';
export type { NftFamily, NftType, CtState, MetaKey, CtKey, CmpOp, PayloadBase, FibResult } from './nft/consts.js';

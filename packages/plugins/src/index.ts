// @tscni/plugins: CNI plugins (interface plugins: bridge, ptp, loopback, macvlan, ipvlan, vlan,
// host-device, dummy, tap; and the chained plugins) and the logic they share (interface
// configuration from an IPAM result, veth pairs, sysctls, IPAM delegation, CHECK).
export { GoObject, checkMac, dnsOverride, ipamType, readMtu, requestedMac, requirePrevResult } from './shared/conf.js';
export { defaultOpener, errnoCode, isExists, isMissingLink, isNetnsGone, kernelError, openContainerNetns, openNetnsIfPresent } from './shared/kernel.js';
export type { RtOpener } from './shared/kernel.js';
export { enableForwarding, ensureSysctl, ifaceSysctl, setSysctl, tryReadSysctl, trySetSysctl } from './shared/sysctl.js';
export type { Family } from './shared/sysctl.js';
export { createVeth, deleteContainerLink, randomVethName } from './shared/veth.js';
export type { VethOptions, VethPair } from './shared/veth.js';
export { DAD_SETTLE_MS, addressOf, configureIface, familyOfCidr, resultNet, routeFamily, routeSpec, settleAddresses } from './shared/iface.js';
export type { ConfigureOptions } from './shared/iface.js';
export { checkInterfaceIPs, checkLink, checkRoutes, containerInterface, findInterface, ipsOfInterface } from './shared/validate.js';
export type { LinkExpectations } from './shared/validate.js';
export { MARKER_PREFIX, formatMarker, parseMarker, readMarker, selfMarker } from './shared/marker.js';
export type { PluginMarker } from './shared/marker.js';
export { delegateEnv, inProcessExec, ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus, ourIpamPlugins, runInProcess } from './shared/ipam.js';
export type { InProcessOptions, InProcessPlugin, IpamContext, PluginLoader } from './shared/ipam.js';
export {
  IPMASQ_CHAIN,
  IPMASQ_TABLE,
  applyIpMasq,
  collectIpMasq,
  commentForInstance,
  gcIpMasq,
  hashForInstance,
  hashForNetwork,
  loadIpMasq,
  removeIpMasq,
  setupIpMasq,
  teardownIpMasq,
} from './shared/ipmasq.js';
export type { IpMasqBackend, IpMasqDeps, IpMasqSettings, MasqOwner } from './shared/ipmasq.js';
export { defaultNftOpener, withNetfilter } from './shared/netfilter.js';
export type { NftOpener } from './shared/netfilter.js';
export { gcIpMasqIptables, ipMasqComment, setupIpMasqIptables, teardownIpMasqIptables } from './shared/ipmasq-iptables.js';
export { chainName, hashWithPrefix, hexDigest, randomHex } from './shared/crypto.js';

// plugins
export { loopbackPlugin } from './loopback/plugin.js';
export type { LoopbackDeps } from './loopback/plugin.js';
export { loadPtpConfig, ptpPlugin } from './ptp/plugin.js';
export type { PtpConfig, PtpDeps } from './ptp/plugin.js';
export { DEFAULT_BRIDGE, loadBridgeConfig, parseVlanTrunk } from './bridge/config.js';
export type { BridgeConfig } from './bridge/config.js';
export { CONTAINER_INDEX, calcGateways } from './bridge/gateway.js';
export type { Gateways } from './bridge/gateway.js';
export { bridgePlugin } from './bridge/plugin.js';
export type { BridgeDeps } from './bridge/plugin.js';
export { ensureVlanGateway, setupPort } from './bridge/port.js';
export type { PortConfig } from './bridge/port.js';
export {
  SPOOFCHK_BASE_CHAIN,
  SPOOFCHK_TABLE,
  checkSpoofCheck,
  setupSpoofCheck,
  spoofCheckChains,
  spoofCheckComment,
  spoofCheckId,
  teardownSpoofCheck,
} from './bridge/spoofchk.js';
export {
  attachIpam,
  bringUp,
  checkContainerLink,
  checkIfName,
  checkMismatch,
  checkMtuWithin,
  configureNewLink,
  containerIface,
  createOnMaster,
  defaultRouteInterface,
  delContainerLink,
  deleteIfPresent,
  findMaster,
  ipamGcStatus,
  l2Result,
  macFromConfig,
  onMasterSide,
  readMaster,
  requireFreeName,
} from './shared/link-plugin.js';
export type { AttachOptions, CheckOptions, LinkPluginDeps, MasterPlacement } from './shared/link-plugin.js';
export { encodeMacvlanCreate, loadMacvlanConfig, macvlanPlugin } from './macvlan/plugin.js';
export type { MacvlanConfig, MacvlanCreate } from './macvlan/plugin.js';
export { chainedMaster, ipvlanPlugin, loadIpvlanConfig } from './ipvlan/plugin.js';
export type { IpvlanConfig } from './ipvlan/plugin.js';
export { loadVlanConfig, vlanPlugin } from './vlan/plugin.js';
export type { VlanConfig } from './vlan/plugin.js';
export { dummyPlugin, loadDummyConfig } from './dummy/plugin.js';
export { loadTapConfig, tapPlugin } from './tap/plugin.js';
export type { TapConfig } from './tap/plugin.js';
export { findHostDevice, hostDevicePlugin, loadHostDeviceConfig } from './host-device/plugin.js';
export type { HostDeviceConfig, HostDeviceDeps } from './host-device/plugin.js';
export { bandwidthPlugin, probeTrafficControl } from './bandwidth/plugin.js';
export type { BandwidthDeps } from './bandwidth/plugin.js';
export { isUnshaped, loadBandwidthConfig } from './bandwidth/config.js';
export type { BandwidthConfig, Limit as BandwidthLimit } from './bandwidth/config.js';
export { ifbName } from './bandwidth/ifb.js';
export { tuningPlugin } from './tuning/plugin.js';
export type { TuningDeps } from './tuning/plugin.js';
export { loadTuningConfig, resolveSysctlKey } from './tuning/config.js';
export type { SysctlSetting, TuningConfig } from './tuning/config.js';

// firewall, sbr, vrf (chained)
export { FIREWALL_VERSIONS, chooseBackend, firewallPlugin } from './firewall/plugin.js';
export type { FirewallDeps } from './firewall/plugin.js';
export { loadFirewallConfig } from './firewall/config.js';
export type { FirewallConfig } from './firewall/config.js';
export { sbrPlugin } from './sbr/plugin.js';
export type { SbrOptions } from './sbr/plugin.js';
export { loadSbrConfig } from './sbr/config.js';
export type { SbrConfig } from './sbr/config.js';
export { VRF_VERSIONS, loadVrfConfig, vrfPlugin } from './vrf/plugin.js';
export type { VrfConfig, VrfOptions } from './vrf/plugin.js';

// portmap (chained)
export { portmapPlugin } from './portmap/plugin.js';
export type { PortmapDeps } from './portmap/plugin.js';
export { parseConfig as loadPortmapConfig } from './portmap/config.js';
export type { PortmapConfig } from './portmap/config.js';

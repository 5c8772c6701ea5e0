// @tscni/ipam: the IPAM plugins (host-local, static, dhcp), as skel callbacks, per-verb functions and
// their supported versions. IP text and math are @tscni/ip's.

// host-local
export type { Allocation, Store } from './host-local/store.js';
export { MemoryStore } from './host-local/store.js';
export { DiskStore } from './host-local/disk-store.js';
export type { FileLocker } from './host-local/disk-store.js';
export type { Range, RangeSet } from './host-local/range.js';
export { DEFAULT_DATA_DIR, loadHostLocalConfig } from './host-local/config.js';
export type { HostLocalConfig, StoreLocation } from './host-local/config.js';
export { allocate } from './host-local/allocator.js';
export type { Allocated } from './host-local/allocator.js';
export {
  HOST_LOCAL_VERSIONS,
  diskStoreFactory,
  hostLocalAdd,
  hostLocalCheck,
  hostLocalDel,
  hostLocalGc,
  hostLocalPlugin,
  hostLocalStatus,
} from './host-local/plugin.js';
export type { StoreFactory } from './host-local/plugin.js';

// static
export { STATIC_VERSIONS, loadStaticConfig, staticAdd, staticCheck, staticPlugin } from './static/plugin.js';
export type { StaticAddress, StaticConfig } from './static/plugin.js';

// dhcp
export { DEFAULT_SOCKET_PATH as DHCP_DEFAULT_SOCKET_PATH, loadDhcpConfig } from './dhcp/config.js';
export type { DhcpConfig } from './dhcp/config.js';
export { DHCP_VERSIONS, dhcpAdd, dhcpCheck, dhcpDel, dhcpGc, dhcpPlugin, dhcpStatus, resultFromLease } from './dhcp/plugin.js';
export type { DhcpPluginOptions } from './dhcp/plugin.js';
export { DhcpDaemon } from './dhcp/daemon.js';
export type { DaemonSettings as DhcpDaemonSettings } from './dhcp/daemon.js';
export { parseDaemonFlags as parseDhcpDaemonFlags, startDaemon as startDhcpDaemon } from './dhcp/daemon-main.js';
export type { DaemonFlags as DhcpDaemonFlags, RunningDaemon as RunningDhcpDaemon } from './dhcp/daemon-main.js';
export type { LeaseInfo as DhcpLeaseInfo } from './dhcp/client.js';
export type { WireLease as DhcpWireLease } from './dhcp/protocol.js';

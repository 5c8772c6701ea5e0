#!/usr/bin/env node
// Test tooling (not shipped): records the netlink requests iproute2 sends for each operation we encode,
// and the kernel's replies to iproute2's show commands together with iproute2's own JSON rendering of
// them, by running `ip`/`bridge` under strace in throw-away namespaces. Output: src/rtnl/fixtures/*.json
// ({ command, type, hex } per request, seq and pid zeroed). Run as root: node scripts/capture-fixtures.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'src', 'rtnl', 'fixtures');
const tag = randomBytes(3).toString('hex');
const ns = `tscfix${tag}`;
const ns2 = `tscfix2${tag}`;

/** Fixture files name the namespaces $NS and $NS2 so that re-captures diff cleanly. */
const normalize = (command) => command.replaceAll(ns2, '$NS2').replaceAll(ns, '$NS');

const RTM = { NEWLINK: 16, DELLINK: 17, SETLINK: 19, NEWADDR: 20, DELADDR: 21, NEWROUTE: 24, DELROUTE: 25, NEWNEIGH: 28, DELNEIGH: 29, NEWRULE: 32, DELRULE: 33 };

/** Run argv under strace; return every netlink message sent (or received), seq/pid zeroed. */
function sentMessages(argv, direction = 'sent') {
  const trace = direction === 'sent' ? ['trace=sendmsg,sendto', 'write=all'] : ['trace=recvmsg', 'read=all'];
  const r = spawnSync('strace', ['-e', trace[0], '-e', trace[1], '-s', '0', ...argv], { encoding: 'utf8' });
  const bufs = [];
  let cur = null;
  for (const line of r.stderr.split('\n')) {
    if (/^(sendmsg|sendto|recvmsg)\(/.test(line)) {
      cur = [];
      bufs.push(cur);
    } else if (cur && /^ \| [0-9a-f]{5} /.test(line)) {
      cur.push(...line.slice(10, 58).trim().split(/\s+/).filter(Boolean));
    }
  }
  const msgs = [];
  for (const bytes of bufs) {
    const b = Buffer.from(bytes.join(''), 'hex');
    for (let off = 0; off + 16 <= b.length; ) {
      const len = b.readUInt32LE(off);
      if (len < 16) break;
      const m = Buffer.from(b.subarray(off, off + len));
      m.writeUInt32LE(0, 8); // seq
      m.writeUInt32LE(0, 12); // pid
      msgs.push(m);
      off += (len + 3) & ~3;
    }
  }
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/^( \||sendmsg|sendto|recvmsg|\+\+\+| \*)/.test(l))
    .join('\n')
    .trim();
  return { msgs, status: r.status, stderr };
}

function capture(command, type) {
  const argv = command.split(' ');
  const { msgs, status, stderr } = sentMessages(argv);
  const hits = msgs.filter((m) => m.readUInt16LE(4) === type);
  const last = hits[hits.length - 1];
  if (!last) throw new Error(`${command}: no message of type ${type} sent (${stderr})`);
  return { command: normalize(command), type, exit: status, ...(status ? { stderr } : {}), hex: last.toString('hex') };
}

/** The kernel's replies of `type` to a show command, and iproute2's JSON for the same command. */
function captureReplies(command, type) {
  const argv = command.split(' ');
  const { msgs } = sentMessages(argv, 'received');
  const seen = new Set();
  const messages = [];
  for (const m of msgs) {
    const hex = m.toString('hex');
    if (m.readUInt16LE(4) !== type || seen.has(hex)) continue;
    seen.add(hex);
    messages.push(hex);
  }
  if (messages.length === 0) throw new Error(`${command}: no reply of type ${type}`);
  const json = JSON.parse(execFileSync(argv[0], ['-j', ...argv.slice(1)], { encoding: 'utf8' }) || '[]');
  return { command: normalize(command), type, messages, json };
}

const sh = (cmd) => execFileSync('sh', ['-c', cmd], { stdio: 'inherit' });
const ipn = `ip -n ${ns}`;

mkdirSync(outDir, { recursive: true });
sh(`ip netns add ${ns} && ip netns add ${ns2}`);
try {
  // Fixed devices referred to by the requests below: a parent for macvlan & co, a bridge, a veth port.
  sh(`${ipn} link add tparent type veth peer name tparentp`);
  sh(`${ipn} link add tbr type bridge`);
  sh(`${ipn} link add tport type veth peer name tportp`);
  sh(`${ipn} link set tport master tbr`);
  sh(`${ipn} addr add 10.1.2.2/24 dev tparent && ${ipn} link set tparent up && ${ipn} link set tparentp up`);
  sh(`${ipn} -6 addr add fd00:1::2/64 dev tparent nodad`);

  const links = {
    veth: capture(`${ipn} link add tva type veth peer name tvb`, RTM.NEWLINK),
    vethPeerNetns: capture(`${ipn} link add tvc type veth peer name tvd netns ${ns2}`, RTM.NEWLINK),
    vethAttrs: capture(`${ipn} link add tve mtu 1400 address 02:00:00:00:00:01 txqueuelen 500 type veth peer name tvf mtu 1400`, RTM.NEWLINK),
    bridge: capture(`${ipn} link add tbr2 type bridge vlan_filtering 1 vlan_default_pvid 1`, RTM.NEWLINK),
    macvlan: capture(`${ipn} link add tmv link tparent type macvlan mode bridge`, RTM.NEWLINK),
    macvtap: capture(`${ipn} link add tmt link tparent type macvtap mode vepa`, RTM.NEWLINK),
    ipvlan: capture(`${ipn} link add tiv link tparent type ipvlan mode l3 private`, RTM.NEWLINK),
    vlan: capture(`${ipn} link add tvl link tparent type vlan id 100`, RTM.NEWLINK),
    vlan8021ad: capture(`${ipn} link add tvm link tparent type vlan protocol 802.1ad id 200`, RTM.NEWLINK),
    vxlan: capture(`${ipn} link add tvx type vxlan id 42 remote 10.1.2.9 local 10.1.2.2 dev tparent dstport 4789 nolearning`, RTM.NEWLINK),
    vxlanGroup: capture(`${ipn} link add tvy type vxlan id 43 group 239.1.1.1 dev tparent dstport 8472`, RTM.NEWLINK),
    dummy: capture(`${ipn} link add tdm type dummy`, RTM.NEWLINK),
    ifb: capture(`${ipn} link add tifb type ifb`, RTM.NEWLINK),
    vrf: capture(`${ipn} link add tvrf type vrf table 100`, RTM.NEWLINK),
    setMaster: capture(`${ipn} link set dev tva master tbr`, RTM.NEWLINK),
    setNomaster: capture(`${ipn} link set dev tva nomaster`, RTM.NEWLINK),
    setUp: capture(`${ipn} link set dev tva up`, RTM.NEWLINK),
    setDown: capture(`${ipn} link set dev tva down`, RTM.NEWLINK),
    setMtu: capture(`${ipn} link set dev tva mtu 1400`, RTM.NEWLINK),
    setMac: capture(`${ipn} link set dev tva address 02:00:00:00:00:02`, RTM.NEWLINK),
    setName: capture(`${ipn} link set dev tva name tvz`, RTM.NEWLINK),
    setAlias: capture(`${ipn} link set dev tvz alias hello`, RTM.NEWLINK),
    setTxqlen: capture(`${ipn} link set dev tvz txqueuelen 2000`, RTM.NEWLINK),
    setPromisc: capture(`${ipn} link set dev tvz promisc on`, RTM.NEWLINK),
    setAllmulti: capture(`${ipn} link set dev tvz allmulticast on`, RTM.NEWLINK),
    // A pid that cannot exist: the request is recorded, the kernel refuses it, nothing leaves the namespace.
    setNetnsPid: capture(`${ipn} link set dev tvz netns 4194303`, RTM.NEWLINK),
    brportFlags: capture(`bridge -n ${ns} link set dev tport hairpin on learning off isolated on`, RTM.SETLINK),
    brVlanAdd: capture(`bridge -n ${ns} vlan add dev tport vid 10 pvid untagged`, RTM.SETLINK),
    brVlanRange: capture(`bridge -n ${ns} vlan add dev tport vid 20-30`, RTM.SETLINK),
    brVlanDel: capture(`bridge -n ${ns} vlan del dev tport vid 10`, RTM.DELLINK),
    del: capture(`${ipn} link del tmv`, RTM.DELLINK),
  };
  writeFileSync(join(outDir, 'links.json'), JSON.stringify(links, null, 2) + '\n');

  sh(`${ipn} link set tport up && ${ipn} link set tbr up && ${ipn} link set tvz alias hello-alias mtu 1400`);

  const addrs = {
    addV4: capture(`${ipn} addr add 10.1.2.3/24 dev tparent`, RTM.NEWADDR),
    addV4Brd: capture(`${ipn} addr add 10.1.3.3/24 broadcast 10.1.3.255 label tparent:x dev tparent`, RTM.NEWADDR),
    addV6Nodad: capture(`${ipn} addr add fd00::1/64 dev tparent nodad`, RTM.NEWADDR),
    delV4: capture(`${ipn} addr del 10.1.2.3/24 dev tparent`, RTM.DELADDR),
  };
  writeFileSync(join(outDir, 'addrs.json'), JSON.stringify(addrs, null, 2) + '\n');

  const routes = {
    viaGw: capture(`${ipn} route add 10.5.0.0/16 via 10.1.2.1 dev tparent`, RTM.NEWROUTE),
    defaultViaGw: capture(`${ipn} route add default via 10.1.2.1`, RTM.NEWROUTE),
    tableMetric: capture(`${ipn} route add 10.6.0.0/16 dev tparent table 1000 metric 50`, RTM.NEWROUTE),
    scopeLinkSrc: capture(`${ipn} route add 10.7.0.0/16 dev tparent scope link src 10.1.2.2 proto static`, RTM.NEWROUTE),
    metrics: capture(`${ipn} route add 10.8.0.0/16 via 10.1.2.1 mtu 1400 advmss 1360`, RTM.NEWROUTE),
    v6DefaultViaGw: capture(`${ipn} -6 route add default via fd00:1::1 dev tparent`, RTM.NEWROUTE),
    replace: capture(`${ipn} route replace 10.5.0.0/16 via 10.1.2.1 dev tparent metric 10`, RTM.NEWROUTE),
    del: capture(`${ipn} route del 10.5.0.0/16 via 10.1.2.1 dev tparent`, RTM.DELROUTE),
  };
  writeFileSync(join(outDir, 'routes.json'), JSON.stringify(routes, null, 2) + '\n');

  const rules = {
    fromTable: capture(`${ipn} rule add from 10.1.0.0/16 table 100 priority 1000`, RTM.NEWRULE),
    fwmarkIif: capture(`${ipn} rule add fwmark 0x10 iif tparent table 1000 priority 1001`, RTM.NEWRULE),
    toOif: capture(`${ipn} -6 rule add to fd00::/64 oif tparent table 200 priority 1002`, RTM.NEWRULE),
    del: capture(`${ipn} rule del from 10.1.0.0/16 table 100 priority 1000`, RTM.DELRULE),
  };
  writeFileSync(join(outDir, 'rules.json'), JSON.stringify(rules, null, 2) + '\n');

  const neighs = {
    addV4: capture(`${ipn} neigh add 10.1.2.9 lladdr 02:00:00:00:00:09 dev tparent nud permanent`, RTM.NEWNEIGH),
    addV6: capture(`${ipn} -6 neigh replace fd00:1::9 lladdr 02:00:00:00:00:0a dev tparent nud reachable`, RTM.NEWNEIGH),
    del: capture(`${ipn} neigh del 10.1.2.9 dev tparent`, RTM.DELNEIGH),
  };
  writeFileSync(join(outDir, 'neighs.json'), JSON.stringify(neighs, null, 2) + '\n');

  sh(`${ipn} neigh add 10.1.2.10 lladdr 02:00:00:00:00:10 dev tparent nud permanent`);
  sh(`${ipn} route add 10.16.0.0/16 via 10.1.2.1 table 1000 metric 60 mtu 1400`);
  sh(`${ipn} rule add fwmark 0x10/0xff iif tparent table 1000 priority 1001`);
  const replies = {
    linkBridgePort: captureReplies(`ip -n ${ns} -d link show dev tport`, RTM.NEWLINK),
    linkBridge: captureReplies(`ip -n ${ns} -d link show dev tbr`, RTM.NEWLINK),
    linkMacvtap: captureReplies(`ip -n ${ns} -d link show dev tmt`, RTM.NEWLINK),
    linkVxlan: captureReplies(`ip -n ${ns} -d link show dev tvx`, RTM.NEWLINK),
    linkVethPeerNetns: captureReplies(`ip -n ${ns} -d link show dev tvc`, RTM.NEWLINK),
    linkDump: captureReplies(`ip -n ${ns} -d link show`, RTM.NEWLINK),
    addrDump: captureReplies(`ip -n ${ns} addr show`, RTM.NEWADDR),
    routeDump: captureReplies(`ip -n ${ns} route show table all`, RTM.NEWROUTE),
    ruleDump: captureReplies(`ip -n ${ns} rule show`, RTM.NEWRULE),
    neighDump: captureReplies(`ip -n ${ns} neigh show`, RTM.NEWNEIGH),
  };
  writeFileSync(join(outDir, 'replies.json'), JSON.stringify(replies, null, 2) + '\n');
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
  spawnSync('ip', ['netns', 'del', ns2]);
}

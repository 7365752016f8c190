/**
 * L2TP benchmark: one-stream iperf3 TCP through a culvert <-> culvert L2TP tunnel (two real
 * `culvert daemon` processes in two network namespaces joined by one veth, configured through
 * the console as a user would: LNS with /ppp profile + /ppp secret + /interface l2tp-server
 * server, LAC with /interface l2tp-client), without encryption and with MPPE-128 stateless,
 * beside OpenVPN 2.6 (static key, --cipher none --auth none) and wireguard-go in the same run.
 * All with inner MTU 1400 (max-mtu/max-mru on both culvert ends). Prints medians (min-max) of
 * interleaved repeats, the ratio to OpenVPN, and the CPU the tunnel processes used.
 * Targets: no encryption >= 1.8x OpenVPN, MPPE-128 >= 1.0x. Then 64-byte packets per second
 * through the same tunnels (the product's whole path), with the generator and sink of
 * `bench -- dataplane` (--no-64 leaves it out).
 *
 *   npm run bench -- l2tp [--time 5] [--repeat 3] [--only none,mppe,openvpn,wireguard-go] [--mtu 1400] [--no-64]
 *
 * The 1,000-session scale run is separate: `npm run bench -- l2tp-scale` (bench/l2tp-scale.ts).
 * Every namespace, daemon and process it made is removed (also on failure). Installs iperf3,
 * openvpn, wireguard-go and wireguard-tools with apt when missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetnsPair } from '../test/io/helpers/netns.js';
import { CulvertDaemon, keyValues } from '../test/interop/pptp-helpers.js';
import { buildPktgen, rate64 } from './dataplane.js';
import { INNER_A, INNER_B, WG_IF_A, WG_IF_B, canPing, cpuUs, ensurePackages, iperfTcp, kill, openvpnTunnel, interleaved, throughputTable, type TunnelResult, waitFor, wireguardTunnel } from './lib.js';

type Result = TunnelResult;

const USER = 'bench';
// Not a real secret: both ends live in throw-away namespaces of this run.
const PASS = 'bench-pass-1';

let with64 = true;

/**
 * TCP Mbit/s from a to INNER_B in b, and the CPU `pids` used meanwhile (% of one core);
 * then 64-byte pkt/s through the tunnel devices devA (in a) and devB (in b).
 */
async function tcpRun(net: NetnsPair, pids: number[], secs: number, devA: string, devB: string): Promise<{ mbps: number; cpuPct: number; pps64?: number }> {
  const c0 = cpuUs(pids);
  const t0 = performance.now();
  const mbps = iperfTcp(net.a, net.b, INNER_B, secs);
  const cpuPct = ((cpuUs(pids) - c0) / 1e3 / (performance.now() - t0)) * 100;
  return { mbps, cpuPct, pps64: with64 ? await rate64(net, INNER_B, secs, { pids, devA, devB }) : undefined };
}

async function culvertL2tp(encrypt: boolean, secs: number, mtu: number): Promise<Result> {
  const net = NetnsPair.create('bl2tp');
  const lns = new CulvertDaemon(net.b);
  const lac = new CulvertDaemon(net.a);
  try {
    await Promise.all([lns.start(), lac.start()]);
    await lns.cli(`/ppp profile add name=bench local-address=${INNER_B} remote-address=${INNER_A} use-encryption=${encrypt ? 'required' : 'no'}`);
    await lns.cli(`/ppp secret add name=${USER} password=${PASS} service=l2tp profile=bench`);
    await lns.cli(`/interface l2tp-server server set enabled=yes authentication=mschap2 max-mtu=${mtu} max-mru=${mtu} default-profile=bench`);
    await lac.cli(`/interface l2tp-client add name=l2tp-out1 connect-to=198.18.0.2 user=${USER} password=${PASS} allow=mschap2 ` +
      `profile=${encrypt ? 'default-encryption' : 'default'} max-mtu=${mtu} max-mru=${mtu} disabled=no`);
    let mon: Record<string, string> = {};
    await waitFor(async () => {
      mon = keyValues(await lac.cli('/interface l2tp-client monitor l2tp-out1 once'));
      return mon.status === 'connected';
    }, 30_000, `culvert L2TP tunnel up (monitor: ${JSON.stringify(mon)})`);
    const want = encrypt ? /MPPE128/ : /^none$/;
    if (!want.test(mon.encoding ?? '')) throw new Error(`culvert L2TP: encoding "${mon.encoding}", expected ${want}`);
    await waitFor(() => canPing(net.a, INNER_B), 15_000, 'ping through the culvert L2TP tunnel');
    const r = await tcpRun(net, [lac.pid!, lns.pid!], secs, 'l2tp-out1', `<l2tp-${USER}>`);
    return { name: `culvert L2TP ${encrypt ? 'MPPE-128' : 'no encryption'}`, ...r, encoding: mon.encoding };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- LNS stderr ---\n${lns.stderr().slice(-2000)}\n--- LAC stderr ---\n${lac.stderr().slice(-2000)}`);
  } finally {
    await lac.stop();
    await lns.stop();
    net.destroy();
  }
}

async function baseline(name: string, make: (net: NetnsPair) => Promise<ChildProcess[]>, secs: number, devA: string, devB: string): Promise<Result> {
  const net = NetnsPair.create('bl2b');
  let procs: ChildProcess[] = [];
  try {
    procs = await make(net);
    return { name, ...await tcpRun(net, procs.map((p) => p.pid!), secs, devA, devB) };
  } finally {
    for (const p of procs) kill(p);
    net.destroy();
  }
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1]! : def;
  };
  const secs = Number(opt('--time', '5'));
  const repeat = Number(opt('--repeat', '3'));
  const mtu = Number(opt('--mtu', '1400'));
  const only = opt('--only', 'none,mppe,openvpn,wireguard-go').split(',');
  ensurePackages([['iperf3', 'iperf3'], ['openvpn', 'openvpn'], ['wireguard-go', 'wireguard-go'], ['wg', 'wireguard-tools'], ['ping', 'iputils-ping']]);
  with64 = !args.includes('--no-64');
  const dir = mkdtempSync(join(tmpdir(), 'culvert-bench-l2tp-'));
  if (with64) buildPktgen(dir);
  const suite: [string, () => Promise<Result>][] = [
    ['none', () => culvertL2tp(false, secs, mtu)],
    ['mppe', () => culvertL2tp(true, secs, mtu)],
    ['openvpn', () => baseline('OpenVPN (cipher none)', (net) => openvpnTunnel(net, dir, mtu), secs, 'ovpn0', 'ovpn0')],
    ['wireguard-go', () => baseline('wireguard-go', (net) => wireguardTunnel(net, dir, mtu), secs, WG_IF_A, WG_IF_B)],
  ];
  let runs: Record<string, Result[]>;
  try {
    runs = await interleaved('l2tp', suite, only, repeat);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = throughputTable('L2TP', runs, { none: 1.8, mppe: 1.0 }, { mtu, repeat, secs });
  process.stdout.write(lines.join('\n') + '\n');
}

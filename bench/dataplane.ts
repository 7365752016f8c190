/**
 * Data-plane benchmark: one-stream iperf3 TCP throughput and 64-byte UDP packets per
 * second between two network namespaces joined by a veth, through
 *   - culvert's bare UDP forwarder (TUN <-> L2TP data over UDP, no PPP negotiation),
 *   - culvert's bare GRE forwarder (TUN <-> enhanced GRE on a raw socket),
 *   - OpenVPN 2.6 static-key p2p UDP with --cipher none --auth none,
 *   - wireguard-go,
 * all with inner MTU 1400, plus the veth itself (MTU 1400, offloads off). Prints the
 * ratios against OpenVPN. Installs openvpn, wireguard-go, wireguard-tools, iperf3 and
 * ethtool with apt when missing. Every run is bounded (iperf3 -t, one-shot -1 servers
 * on unique ports, under `timeout`), and every namespace and process it made is removed.
 *
 *   npm run bench -- dataplane [--time 4] [--repeat 3] [--udp-rate 30M] [--udp-nice no]
 *                              [--only culvert-udp,culvert-gre,openvpn,wireguard-go,veth]
 *
 * The 64-byte test offers a fixed load (--udp-rate, default 30M = 58.6k pkt/s) and
 * counts what arrives (see udpRate). Medians of
 * interleaved repeats; the machine is shared and noisy, trust ratios over absolutes.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsPair, ip, nsExec, type Child } from '../test/io/helpers/netns.js';

const PEER = fileURLToPath(new URL('../test/io/fixtures/peer.js', import.meta.url));
const INNER_A = '198.19.0.1';
const INNER_B = '198.19.0.2';
let port = 5201 + (process.pid % 1000) * 10;

interface Result { name: string; tcpMbps: number; pps64: number; cpuUsPerPkt: number }

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of `pids`, in microseconds (/proc/PID/stat fields 14 and 15). */
function cpuUs(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      t += ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
    } catch { /* gone */ }
  }
  return t;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

function ensurePackages(): void {
  const need: string[] = [];
  const map: [string, string][] = [['openvpn', 'openvpn'], ['wireguard-go', 'wireguard-go'], ['wg', 'wireguard-tools'],
    ['iperf3', 'iperf3'], ['ethtool', 'ethtool'], ['ping', 'iputils-ping']];
  for (const [cmd, pkg] of map) if (!have(cmd)) need.push(pkg);
  if (need.length === 0) return;
  process.stderr.write(`bench: installing ${need.join(' ')}\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...need], {
    stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** One-shot iperf3 server in `b`, client in `a`; returns parsed client JSON. */
function iperf(net: NetnsPair, dst: string, secs: number, extra: string[], nice = false): Record<string, any> {
  const p = port++;
  const server = spawn('ip', ['netns', 'exec', net.b, 'timeout', String(secs + 20), 'iperf3', '-s', '-1', '-p', String(p), '-B', dst],
    { stdio: 'ignore' });
  try {
    let out = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = spawnSync('ip', ['netns', 'exec', net.a, 'timeout', String(secs + 15), ...(nice ? ['nice', '-n', '19'] : []), 'iperf3', '-c', dst, '-p', String(p),
        '-t', String(secs), '-J', ...extra], { encoding: 'utf8' });
      out = r.stdout;
      let j: Record<string, any> | undefined;
      try { j = JSON.parse(out) as Record<string, any>; } catch { /* not JSON */ }
      if (r.status === 0 && j && !j.error) return j;
      // The one-shot server may not be listening yet: retry briefly.
      if (!/connect|refused/i.test(out + r.stderr)) break;
      spawnSync('sleep', ['0.2']);
    }
    throw new Error(`iperf3 failed: ${out.slice(0, 400)}`);
  } finally {
    // SIGTERM, not SIGKILL: `timeout` passes it on to iperf3; a killed `timeout` would orphan it.
    if (server.exitCode === null && server.pid) { try { process.kill(server.pid, 'SIGTERM'); } catch { /* gone */ } }
  }
}

// 64-byte test: a fixed offered load (30 Mbit/s of 64-byte payloads = 58.6k pkt/s) so
// the sender does not take a whole core from the forwarders on this 2-core machine;
// the figure is what the receiver got. --udp-rate 0 --udp-nice yes is the other way:
// an unthrottled sender at nice 19 (noisier here).
let udpRate = '30M';
let udpNice = false;

/**
 * `pids`: the tunnel's own processes at both ends; their CPU time during the 64-byte
 * test divided by the packets that arrived is the CPU cost per forwarded packet, a
 * figure the scheduler noise of a 2-core machine hardly moves (kernel work done in
 * softirq context on their behalf is not in it, for any of the paths).
 */
function measure(net: NetnsPair, dst: string, secs: number, pids: number[] = []): { tcpMbps: number; pps64: number; cpuUsPerPkt: number } {
  const tcp = iperf(net, dst, secs, []);
  const tcpMbps = tcp.end.sum_received.bits_per_second / 1e6;
  const c0 = cpuUs(pids);
  const udp = iperf(net, dst, secs, ['-u', '-b', udpRate, '-l', '64'], udpNice);
  const cpu = cpuUs(pids) - c0;
  // Receiver's view: what came out of the tunnel, not what the client pushed into it.
  const s = udp.end.sum_received ?? udp.end.sum;
  if (!s) throw new Error(`iperf3 UDP gave no summary: ${JSON.stringify(udp).slice(0, 600)}`);
  const received = s.packets - (s.lost_packets ?? 0);
  const pps64 = received / s.seconds;
  return { tcpMbps, pps64, cpuUsPerPkt: pids.length && received > 0 ? cpu / received : NaN };
}

function kill(p: ChildProcess | undefined): void {
  if (p && p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ } }
}

async function waitFor(fn: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function linkExists(ns: string, dev: string): boolean {
  return spawnSync('ip', ['-n', ns, 'link', 'show', dev], { stdio: 'ignore' }).status === 0;
}

async function culvert(transport: 'udp' | 'gre', secs: number): Promise<Result> {
  const net = NetnsPair.create(`b${transport}`);
  const kids: Child[] = [];
  try {
    const env = { CULVERT_FIXTURE: '1' };
    const a = net.spawn(net.a, PEER, [], env);
    const b = net.spawn(net.b, PEER, [], env);
    kids.push(a, b);
    const common = { transport, batch: 64, mtu: 1400, tunName: 'cvt%d' };
    await a.call({ cmd: 'setup', ...common, local: '198.18.0.1', peer: '198.18.0.2', inner: INNER_A, innerPeer: INNER_B, id: 100, peerId: 200 });
    await b.call({ cmd: 'setup', ...common, local: '198.18.0.2', peer: '198.18.0.1', inner: INNER_B, innerPeer: INNER_A, id: 200, peerId: 100 });
    const m = measure(net, INNER_B, secs, [a.proc.pid!, b.proc.pid!]);
    return { name: `culvert ${transport.toUpperCase()} (batch 64)`, ...m };
  } finally {
    net.destroy();
  }
}

async function openvpn(secs: number, dir: string): Promise<Result> {
  const net = NetnsPair.create('bovpn');
  const procs: ChildProcess[] = [];
  try {
    const key = join(dir, 'ovpn.key');
    execFileSync('openvpn', ['--genkey', 'secret', key], { stdio: 'ignore' });
    const start = (ns: string, local: string, remote: string, me: string, peer: string): void => {
      procs.push(spawn('ip', ['netns', 'exec', ns, 'openvpn', '--dev', 'ovpn0', '--dev-type', 'tun', '--proto', 'udp',
        '--local', local, '--remote', remote, '--lport', '1194', '--rport', '1194', '--ifconfig', me, peer,
        '--secret', key, '--cipher', 'none', '--auth', 'none', '--tun-mtu', '1400', '--verb', '1'], { stdio: 'ignore' }));
    };
    start(net.a, '198.18.0.1', '198.18.0.2', INNER_A, INNER_B);
    start(net.b, '198.18.0.2', '198.18.0.1', INNER_B, INNER_A);
    await waitFor(() => linkExists(net.a, 'ovpn0') && linkExists(net.b, 'ovpn0'), 10000, 'openvpn tun devices');
    await waitFor(() => spawnSync('ip', ['netns', 'exec', net.a, 'ping', '-c1', '-W1', INNER_B], { stdio: 'ignore' }).status === 0,
      15000, 'openvpn tunnel to pass ping');
    return { name: 'OpenVPN (cipher none)', ...measure(net, INNER_B, secs, procs.map((p) => p.pid!)) };
  } finally {
    for (const p of procs) kill(p);
    net.destroy();
  }
}

async function wireguard(secs: number, dir: string): Promise<Result> {
  const net = NetnsPair.create('bwg');
  const procs: ChildProcess[] = [];
  // wireguard-go's control socket path (/var/run/wireguard/NAME.sock) is shared across namespaces: unique names.
  const ifA = `wgA${process.pid % 100000}`;
  const ifB = `wgB${process.pid % 100000}`;
  try {
    const keys = ['a', 'b'].map((s) => {
      const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
      const pub = execFileSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).trim();
      const f = join(dir, `wg-${s}.key`);
      writeFileSync(f, priv + '\n', { mode: 0o600 });
      return { f, pub };
    });
    const up = async (ns: string, ifn: string, keyFile: string, peerPub: string, endpoint: string, me: string, peer: string): Promise<void> => {
      procs.push(spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '-f', ifn], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' } }));
      await waitFor(() => linkExists(ns, ifn), 10000, `wireguard-go ${ifn}`);
      await waitFor(() => spawnSync('ip', ['netns', 'exec', ns, 'wg', 'show', ifn], { stdio: 'ignore' }).status === 0, 10000, `${ifn} uapi`);
      nsExec(ns, 'wg', ['set', ifn, 'listen-port', '51820', 'private-key', keyFile, 'peer', peerPub, 'allowed-ips', `${peer}/32`, 'endpoint', endpoint]);
      ip(['link', 'set', ifn, 'mtu', '1400'], ns);
      ip(['addr', 'add', me, 'peer', peer, 'dev', ifn], ns);
      ip(['link', 'set', ifn, 'up'], ns);
    };
    await up(net.a, ifA, keys[0].f, keys[1].pub, '198.18.0.2:51820', INNER_A, INNER_B);
    await up(net.b, ifB, keys[1].f, keys[0].pub, '198.18.0.1:51820', INNER_B, INNER_A);
    await waitFor(() => spawnSync('ip', ['netns', 'exec', net.a, 'ping', '-c1', '-W1', INNER_B], { stdio: 'ignore' }).status === 0,
      15000, 'wireguard tunnel to pass ping');
    return { name: 'wireguard-go', ...measure(net, INNER_B, secs, procs.map((p) => p.pid!)) };
  } finally {
    for (const p of procs) kill(p);
    net.destroy();
  }
}

async function veth(secs: number): Promise<Result> {
  const net = NetnsPair.create('bveth');
  try {
    for (const ns of [net.a, net.b]) {
      ip(['link', 'set', 'veth0', 'mtu', '1400'], ns);
      // Offloads off: the per-packet ceiling a tunnel of MTU 1400 could reach at best.
      spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'veth0', 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off'], { stdio: 'ignore' });
    }
    return { name: 'veth (MTU 1400, offloads off)', ...measure(net, '198.18.0.2', secs) };
  } finally {
    net.destroy();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : def;
  };
  const secs = Number(opt('--time', '4'));
  const repeat = Number(opt('--repeat', '3'));
  udpRate = opt('--udp-rate', udpRate);
  udpNice = opt('--udp-nice', udpNice ? 'yes' : 'no') === 'yes';
  const only = opt('--only', 'culvert-udp,culvert-gre,openvpn,wireguard-go,veth').split(',');
  ensurePackages();
  const dir = mkdtempSync(join(tmpdir(), 'culvert-bench-'));
  const runs: Record<string, Result[]> = {};
  const suite: [string, () => Promise<Result>][] = [
    ['culvert-udp', () => culvert('udp', secs)],
    ['culvert-gre', () => culvert('gre', secs)],
    ['openvpn', () => openvpn(secs, dir)],
    ['wireguard-go', () => wireguard(secs, dir)],
    ['veth', () => veth(secs)],
  ];
  try {
    // Interleaved repeats, so drift of a shared machine hits every path alike.
    for (let r = 0; r < repeat; r++) {
      for (const [key, fn] of suite) {
        if (!only.includes(key)) continue;
        process.stderr.write(`bench: ${key} (run ${r + 1}/${repeat}) ...\n`);
        (runs[key] ??= []).push(await fn());
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const res: Record<string, Result> = {};
  for (const [k, rs] of Object.entries(runs)) {
    res[k] = { name: rs[0].name, tcpMbps: median(rs.map((x) => x.tcpMbps)), pps64: median(rs.map((x) => x.pps64)),
      cpuUsPerPkt: median(rs.map((x) => x.cpuUsPerPkt)) };
  }
  const base = res.openvpn;
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines = [
    `data plane: iperf3 -t ${secs}, one TCP stream; 64-byte UDP (-u -b ${udpRate} -l 64${udpNice ? ', sender at nice 19' : ''}), pkt/s received; inner MTU 1400, two netns over a veth, median of ${repeat}`,
    `${pad('path', 34)}${pad('TCP Mbit/s', 12)}${pad('x OpenVPN', 11)}${pad('64B pkt/s', 12)}${pad('x OpenVPN', 11)}` +
      `${pad('CPU us/64B pkt', 16)}OpenVPN/this`,
  ];
  for (const [, r] of Object.entries(res)) {
    const rt = base ? (r.tcpMbps / base.tcpMbps).toFixed(2) : '-';
    const rp = base ? (r.pps64 / base.pps64).toFixed(2) : '-';
    const cpu = Number.isNaN(r.cpuUsPerPkt) ? '-' : r.cpuUsPerPkt.toFixed(2);
    const rc = base && !Number.isNaN(r.cpuUsPerPkt) ? (base.cpuUsPerPkt / r.cpuUsPerPkt).toFixed(2) : '-';
    lines.push(`${pad(r.name, 34)}${pad(r.tcpMbps.toFixed(0), 12)}${pad(rt, 11)}${pad(r.pps64.toFixed(0), 12)}${pad(rp, 11)}${pad(cpu, 16)}${rc}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

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
 * on unique ports, everything under `timeout`), and every namespace and process it made
 * is removed.
 *
 *   npm run bench -- dataplane [--time 4] [--repeat 3] [--gen-nice 19] [--gen-cpu any] [--latency]
 *                              [--only culvert-udp,culvert-gre,openvpn,openvpn-batch,wireguard-go,veth]
 *
 * culvert's data-plane threads run under SCHED_BATCH unless CULVERT_SCHED=normal (see
 * src/io/native.ts); the row "OpenVPN ... SCHED_BATCH" runs OpenVPN under the same policy
 * (chrt -b 0), so the ratio that policy alone explains can be told from the engine's own.
 * --latency adds ping round trips through each path: idle, and during the TCP test.
 *
 * The 64-byte figure comes from bench/pktgen/pktgen.c (built with gcc at bench time): a
 * sendmmsg generator at saturation and a recvmmsg sink, the same for every path, so it
 * measures the tunnel rather than the traffic tool (iperf3 -l 64 could not even fill the
 * bare veth on 2 cores). Besides the figure it prints, per run, where the packets went
 * (generator, tunnel A's TUN queue, the veth, tunnel B's socket, the sink) and the CPU
 * the tunnel processes used and waited for. Medians of interleaved repeats with min-max;
 * the machine is shared and noisy: trust ratios and CPU per packet over absolutes.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsPair, ip } from '../test/io/helpers/netns.js';
import { wantedScheduling } from '../src/io/native.js';
import {
  INNER_A, INNER_B, WG_IF_A, WG_IF_B, cpuUs, ensurePackages, have, iperfTcp, kill, median, openvpnTunnel, wireguardTunnel,
} from './lib.js';

const PEER = fileURLToPath(new URL('../test/io/fixtures/peer.js', import.meta.url));
// pktgen's sink ports; iperf3 (bench/lib.ts) counts its own from 5301.
let port = 5201 + (process.pid % 1000) * 10;

interface Result extends Sample { name: string }

/**
 * Nanoseconds the threads of `pids` spent runnable but waiting for a CPU
 * (/proc/PID/task/TID/schedstat, second field): how much the shared cores held them back.
 */
function waitNs(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    let tids: string[] = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try { t += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]); } catch { /* gone */ }
    }
  }
  return t;
}

// 64-byte test: bench/pktgen/pktgen.c, compiled once per run with the system gcc, offers
// 64-byte UDP datagrams at saturation (sendmmsg, batch 64, no pacing) from netns a to a
// sink (recvmmsg) in netns b, for every path alike. By default the generator runs at
// nice 19 and unpinned: it soaks up whatever CPU the tunnel leaves idle (so the tunnel
// always has a full queue), but never takes a core away from a tunnel that could use it.
// (--gen-nice 0 is the other choice: the generator then competes with the tunnels.)
// On the bare veth all the forwarding work runs in the generator's own sendmmsg (the
// veth delivers in softirq on the sender's stack), so there that figure is bounded by
// the generator's leftover CPU: a reference, not a ceiling for the tunnels.
let genNice = '19';
let genCpu = 'any';
let pktgen = '';

/** Compiles the 64-byte generator/sink into `dir`; pps64 needs it. */
export function buildPktgen(dir: string): void {
  if (!have('gcc')) throw new Error('bench: the 64-byte test compiles bench/pktgen/pktgen.c and needs gcc (apt-get install gcc)');
  const src = fileURLToPath(new URL('../../bench/pktgen/pktgen.c', import.meta.url));
  pktgen = join(dir, 'pktgen');
  execFileSync('gcc', ['-O2', '-Wall', '-o', pktgen, src], { stdio: 'inherit' });
}

/** Runs `argv` in netns `ns` under `timeout`, resolves with its stdout (rejects on a non-zero exit). */
function nsRun(ns: string, argv: string[], secs: number): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'timeout', String(secs), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`${argv.join(' ')} in ${ns}: exit ${code} ${err.slice(0, 300)}`))));
  });
}

/** Tunnel ingress device in a, egress device in b (absent for the bare veth), and the tunnel's processes [end A, end B]. */
export interface Tunnel { pids: number[]; devA?: string; devB?: string; own?: () => Promise<Record<string, number>> }

/** Per-stage packet counts of one 64-byte run, to show where packets were lost. */
export interface Flow {
  pids: number; sent: number; genSecs: number; genCpuUs: number; sinkCpuUs: number; tunnelCpuUs: number;
  /** CPU used and time spent waiting for a CPU, per tunnel end [A, B], in microseconds. */
  endCpuUs: number[]; endSysUs: number[]; endWaitUs: number[];
  tunAQlen: number; sndbufErrA: number; intoTunA: number; dropTunA: number; vethTxA: number; vethRxB: number;
  outerDropB: number; outOfTunB: number; received: number; sinkDrops: number; lateB: number;
  own: Record<string, number>;
}

interface Sample { tcpMbps: number; pps64: number; cpuUsPerPkt: number; flow: Flow; rtt?: Rtt }

/** Ping round trips in ms through the path: median idle, median and 99th percentile under TCP load. */
interface Rtt { idle: number; loaded: number; loaded99: number }
let latency = false;

/** Starts `count` pings at 10 ms from `ns` to `dst`; resolves with the round trips in ms. */
function pings(ns: string, dst: string, count: number): Promise<number[]> {
  return new Promise((res) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'timeout', String(count / 100 + 10), 'ping', '-n', '-i', '0.01', '-W', '1', '-c', String(count), dst],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', () => res([...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]))));
  });
}

const pct = (xs: number[], q: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
};

function linkStats(ns: string, dev: string): { rx: Record<string, number>; tx: Record<string, number>; txqlen: number } {
  const j = JSON.parse(execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as
    { txqlen: number; stats64: { rx: Record<string, number>; tx: Record<string, number> } }[];
  return { ...j[0].stats64, txqlen: j[0].txqlen };
}

/** Sum of the per-socket drop counters (last column) of every UDP and raw socket in `ns`. */
function socketDrops(ns: string): number {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/udp', '/proc/net/udp6', '/proc/net/raw', '/proc/net/raw6'], { encoding: 'utf8' });
  let n = 0;
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length > 10 && /^\d+:$/.test(f[0])) n += Number(f[f.length - 1]) || 0;
  }
  return n;
}

function udpSnmp(ns: string, field: string): number {
  const lines = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('Udp:'));
  const i = lines[0].split(/\s+/).indexOf(field);
  return Number(lines[1].split(/\s+/)[i]);
}

interface Snap { cpu: number[]; sys: number[]; wait: number[]; sndbufErrA: number; noPortsB: number; tunA?: ReturnType<typeof linkStats>; tunB?: ReturnType<typeof linkStats>;
  vethA: ReturnType<typeof linkStats>; vethB: ReturnType<typeof linkStats>; dropsB: number; own: Record<string, number> }

async function snap(net: NetnsPair, t: Tunnel): Promise<Snap> {
  return {
    cpu: t.pids.map((p) => cpuUs([p])), sys: t.pids.map((p) => cpuUs([p], true)), wait: t.pids.map((p) => waitNs([p]) / 1e3), sndbufErrA: udpSnmp(net.a, 'SndbufErrors'), noPortsB: udpSnmp(net.b, 'NoPorts'),
    tunA: t.devA ? linkStats(net.a, t.devA) : undefined, tunB: t.devB ? linkStats(net.b, t.devB) : undefined,
    vethA: linkStats(net.a, 'veth0'), vethB: linkStats(net.b, 'veth0'), dropsB: socketDrops(net.b),
    own: t.own ? await t.own() : {},
  };
}

/** One saturating 64-byte run through the path; the sink's count is the figure. */
export async function pps64(net: NetnsPair, dst: string, secs: number, t: Tunnel): Promise<Flow> {
  const p = port++;
  const sink = spawn('ip', ['netns', 'exec', net.b, 'timeout', String(secs + 20), pktgen, 'sink', dst, String(p), String(secs + 10), '1500'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let sinkOut = '';
  const ready = new Promise<void>((res, rej) => {
    const to = setTimeout(() => rej(new Error('pktgen sink did not start')), 5000);
    sink.stdout.on('data', (d: Buffer) => { sinkOut += d.toString(); if (sinkOut.includes('ready')) { clearTimeout(to); res(); } });
    sink.on('exit', (c) => { clearTimeout(to); rej(new Error(`pktgen sink exited (${c})`)); });
  });
  const sinkDone = new Promise<void>((res) => sink.on('exit', () => res()));
  try {
    await ready;
    const s0 = await snap(net, t);
    const gen = JSON.parse(await nsRun(net.a, [...(genCpu === 'any' ? [] : ['taskset', '-c', genCpu]),
      ...(genNice === '0' ? [] : ['nice', '-n', genNice]), pktgen, 'send', dst, String(p), String(secs)], secs + 10)) as Record<string, number>;
    // The sink ends 1.5 s after its last packet (a starved tunnel B can stall that long on
    // this box; stragglers after it show as 'late'); a stuck one is told to finish.
    const grace = setTimeout(() => kill(sink), 5000);
    await sinkDone;
    clearTimeout(grace);
    const s1 = await snap(net, t);
    const line = sinkOut.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`pktgen sink gave no result: ${sinkOut.slice(0, 200)}`);
    const got = JSON.parse(line) as Record<string, number>;
    const d = (a?: Record<string, number>, b?: Record<string, number>, k = 'packets'): number => (a && b ? b[k] - a[k] : NaN);
    const own: Record<string, number> = {};
    for (const k of Object.keys(s1.own)) own[k] = s1.own[k] - (s0.own[k] ?? 0);
    return {
      pids: t.pids.length, sent: gen.sent, genSecs: gen.seconds, genCpuUs: gen.cpuUs, sinkCpuUs: got.cpuUs, tunnelCpuUs: s1.cpu.reduce((x, y) => x + y, 0) - s0.cpu.reduce((x, y) => x + y, 0),
      endCpuUs: s1.cpu.map((c, i) => c - s0.cpu[i]), endSysUs: s1.sys.map((c, i) => c - s0.sys[i]), endWaitUs: s1.wait.map((w, i) => w - s0.wait[i]),
      tunAQlen: s1.tunA?.txqlen ?? NaN, sndbufErrA: s1.sndbufErrA - s0.sndbufErrA,
      intoTunA: d(s0.tunA?.tx, s1.tunA?.tx), dropTunA: d(s0.tunA?.tx, s1.tunA?.tx, 'dropped'),
      vethTxA: d(s0.vethA.tx, s1.vethA.tx), vethRxB: d(s0.vethB.rx, s1.vethB.rx),
      outerDropB: s1.dropsB - s0.dropsB, outOfTunB: d(s0.tunB?.rx, s1.tunB?.rx),
      received: got.received, sinkDrops: got.drops, lateB: s1.noPortsB - s0.noPortsB, own,
    };
  } finally {
    kill(sink);
  }
}

/** 64-byte datagrams per second the sink received through the path to `dst` (see pps64). */
export async function rate64(net: NetnsPair, dst: string, secs: number, t: Tunnel): Promise<number> {
  const f = await pps64(net, dst, secs, t);
  return f.received / f.genSecs;
}

/**
 * `t.pids`: the tunnel's own processes at both ends; their CPU time during the 64-byte
 * test divided by the packets that arrived is the CPU cost per forwarded packet, a
 * figure the scheduler noise of a 2-core machine moves less than pkt/s. It includes the
 * softirq work the kernel runs inside their own syscalls (e.g. the veth delivering what
 * tunnel A sent into tunnel B's socket), not work deferred to ksoftirqd, for every path.
 * It is per packet *received*: a tunnel whose far end drops packets pays for them here.
 */
async function measure(net: NetnsPair, dst: string, secs: number, t: Tunnel): Promise<Sample> {
  let rtt: Rtt | undefined;
  let loadedP: Promise<number[]> | undefined;
  let idle: number[] = [];
  if (latency) {
    idle = await pings(net.a, dst, 200);
    // iperfTcp blocks this process; the pings run in their own and are collected after.
    loadedP = pings(net.a, dst, Math.max(50, secs * 100 - 100));
  }
  const tcpMbps = iperfTcp(net.a, net.b, dst, secs);
  if (loadedP) {
    const loaded = await loadedP;
    rtt = { idle: pct(idle, 0.5), loaded: pct(loaded, 0.5), loaded99: pct(loaded, 0.99) };
  }
  const flow = await pps64(net, dst, secs, t);
  const pps = flow.received / flow.genSecs;
  return { tcpMbps, pps64: pps, cpuUsPerPkt: t.pids.length && flow.received > 0 ? flow.tunnelCpuUs / flow.received : NaN, flow, rtt };
}

async function culvert(transport: 'udp' | 'gre', secs: number): Promise<Result> {
  const net = NetnsPair.create(`b${transport}`);
  try {
    const env = { CULVERT_FIXTURE: '1' };
    const a = net.spawn(net.a, PEER, [], env);
    const b = net.spawn(net.b, PEER, [], env);
    const common = { transport, batch: 64, mtu: 1400, tunName: 'cvt%d' };
    const ra = await a.call({ cmd: 'setup', ...common, local: '198.18.0.1', peer: '198.18.0.2', inner: INNER_A, innerPeer: INNER_B, id: 100, peerId: 200 });
    const rb = await b.call({ cmd: 'setup', ...common, local: '198.18.0.2', peer: '198.18.0.1', inner: INNER_B, innerPeer: INNER_A, id: 200, peerId: 100 });
    // culvert's own counters: its send queues (txDropped) and write errors at both ends.
    const own = async (): Promise<Record<string, number>> => {
      const [sa, sb] = await Promise.all([a.call({ cmd: 'stats' }), b.call({ cmd: 'stats' })]) as Record<string, any>[];
      return {
        'A tun rx': sa.tun.rxPackets, 'A sock tx': sa.sock.txPackets, 'A sock queue drops': sa.sock.txDropped, 'A sock tx errors': sa.sock.txErrors,
        'B sock rx': sb.sock.rxPackets, 'B tun tx': sb.tun.txPackets, 'B tun queue drops': sb.tun.txDropped, 'B tun tx errors': sb.tun.txErrors,
      };
    };
    const m = await measure(net, INNER_B, secs, { pids: [a.proc.pid!, b.proc.pid!], devA: String(ra.tun), devB: String(rb.tun), own });
    return { name: `culvert ${transport.toUpperCase()} (batch 64, ${wantedScheduling() === 'batch' ? 'SCHED_BATCH' : 'SCHED_OTHER'})`, ...m };
  } finally {
    net.destroy();
  }
}

async function openvpn(secs: number, dir: string, schedBatch = false): Promise<Result> {
  const net = NetnsPair.create('bovpn');
  let procs: ChildProcess[] = [];
  try {
    procs = await openvpnTunnel(net, dir, 1400, schedBatch);
    return { name: schedBatch ? 'OpenVPN (cipher none) SCHED_BATCH' : 'OpenVPN (cipher none)', ...await measure(net, INNER_B, secs, { pids: procs.map((p) => p.pid!), devA: 'ovpn0', devB: 'ovpn0' }) };
  } finally {
    for (const p of procs) kill(p);
    net.destroy();
  }
}

async function wireguard(secs: number, dir: string): Promise<Result> {
  const net = NetnsPair.create('bwg');
  let procs: ChildProcess[] = [];
  try {
    procs = await wireguardTunnel(net, dir, 1400);
    return { name: 'wireguard-go', ...await measure(net, INNER_B, secs, { pids: procs.map((p) => p.pid!), devA: WG_IF_A, devB: WG_IF_B }) };
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
    return { name: 'veth (MTU 1400, offloads off)', ...await measure(net, '198.18.0.2', secs, { pids: [] }) };
  } finally {
    net.destroy();
  }
}

/** Width of the path column. */
const W = 42;
const k = (n: number): string => (Number.isNaN(n) ? '-' : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(0));

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : def;
  };
  const secs = Number(opt('--time', '4'));
  const repeat = Number(opt('--repeat', '3'));
  genNice = opt('--gen-nice', genNice);
  genCpu = opt('--gen-cpu', genCpu);
  latency = args.includes('--latency');
  wantedScheduling(); // a bad CULVERT_SCHED fails here, before any namespace exists
  const only = opt('--only', 'culvert-udp,culvert-gre,openvpn,openvpn-batch,wireguard-go,veth').split(',');
  ensurePackages([['openvpn', 'openvpn'], ['wireguard-go', 'wireguard-go'], ['wg', 'wireguard-tools'],
    ['iperf3', 'iperf3'], ['ethtool', 'ethtool'], ['ping', 'iputils-ping']]);
  const dir = mkdtempSync(join(tmpdir(), 'culvert-bench-'));
  const runs: Record<string, Result[]> = {};
  const suite: [string, () => Promise<Result>][] = [
    ['culvert-udp', () => culvert('udp', secs)],
    ['culvert-gre', () => culvert('gre', secs)],
    ['openvpn', () => openvpn(secs, dir)],
    ['openvpn-batch', () => openvpn(secs, dir, true)],
    ['wireguard-go', () => wireguard(secs, dir)],
    ['veth', () => veth(secs)],
  ];
  try {
    buildPktgen(dir);
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
  const med = (rs: Result[], f: (r: Result) => number): number => median(rs.map(f));
  const spread = (rs: Result[], f: (r: Result) => number, d = 0): string => {
    const v = rs.map(f);
    return `${Math.min(...v).toFixed(d)}-${Math.max(...v).toFixed(d)}`;
  };
  const base = runs.openvpn;
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines = [
    `data plane: inner MTU 1400, two netns over a veth (offloads off on the bare veth only), median (min-max) of ${repeat} interleaved runs of ${secs} s`,
    `  TCP: iperf3, one stream. 64B: pktgen (bench/pktgen/pktgen.c) sendmmsg at saturation, generator nice ${genNice}, cpu ${genCpu};`,
    `  64B pkt/s = datagrams the sink received / send time. CPU us/pkt = tunnel processes (both ends) CPU / datagrams received.`,
    `  veth: its forwarding runs inside the generator's sendmmsg (nice ${genNice}), so that row is the generator's figure, not a ceiling.`,
    `${pad('path', W)}${pad('TCP Mbit/s (min-max)', 22)}${pad('xOVPN', 7)}${pad('64B pkt/s (min-max)', 24)}${pad('xOVPN', 7)}` +
      `${pad('CPU us/pkt (min-max)', 22)}${pad('OVPN/this', 11)}${latency ? 'ping ms: idle, under TCP median / p99' : ''}`,
  ];
  for (const rs of Object.values(runs)) {
    const tcp = med(rs, (r) => r.tcpMbps);
    const pps = med(rs, (r) => r.pps64);
    const cpu = med(rs, (r) => r.cpuUsPerPkt);
    const rt = base ? (tcp / med(base, (r) => r.tcpMbps)).toFixed(2) : '-';
    const rp = base ? (pps / med(base, (r) => r.pps64)).toFixed(2) : '-';
    const rc = base && !Number.isNaN(cpu) ? (med(base, (r) => r.cpuUsPerPkt) / cpu).toFixed(2) : '-';
    lines.push(`${pad(rs[0].name, W)}${pad(`${tcp.toFixed(0)} (${spread(rs, (r) => r.tcpMbps)})`, 22)}${pad(rt, 7)}` +
      `${pad(`${pps.toFixed(0)} (${spread(rs, (r) => r.pps64)})`, 24)}${pad(rp, 7)}` +
      `${pad(Number.isNaN(cpu) ? '-' : `${cpu.toFixed(2)} (${spread(rs, (r) => r.cpuUsPerPkt, 2)})`, 22)}${pad(rc, 11)}` +
      (latency ? `${med(rs, (r) => r.rtt?.idle ?? NaN).toFixed(3)}, ${med(rs, (r) => r.rtt?.loaded ?? NaN).toFixed(3)} / ${med(rs, (r) => r.rtt?.loaded99 ?? NaN).toFixed(3)}` : ''));
  }
  // The same scheduling policy on both sides: what the engine gains apart from SCHED_BATCH.
  const same = runs['openvpn-batch'];
  if (same) {
    const parts: string[] = [];
    for (const key of ['culvert-udp', 'culvert-gre']) {
      const rs = runs[key];
      if (!rs) continue;
      parts.push(`${key}: TCP ${(med(rs, (r) => r.tcpMbps) / med(same, (r) => r.tcpMbps)).toFixed(2)}x, 64B ${(med(rs, (r) => r.pps64) / med(same, (r) => r.pps64)).toFixed(2)}x`);
    }
    if (parts.length) lines.push(`against OpenVPN under SCHED_BATCH too: ${parts.join('; ')}`);
  }
  // Where the 64-byte packets went, per run: generator -> tunnel A's TUN queue -> veth -> tunnel B's socket -> TUN -> sink.
  lines.push('', '64B packet flow per run (counts over the run; "-" = no such stage on this path):',
    `${pad('path', W)}${pad('pkt/s', 8)}${pad('gen sent', 10)}${pad('sndbufErr', 10)}${pad('tunA in', 9)}${pad('tunA drop', 10)}${pad('qlen', 6)}${pad('veth a>b', 9)}` +
    `${pad('outer drop', 11)}${pad('tunB out', 9)}${pad('sink rx', 9)}${pad('sink drop', 10)}${pad('late', 6)}${pad('gen CPU%', 9)}${pad('sink CPU%', 10)}tunnel A, B: CPU%/waiting% CPU us per packet it handled (kernel share)`);
  for (const rs of Object.values(runs)) {
    for (const r of rs) {
      const f = r.flow;
      const pct = (us: number): string => ((us / 1e6 / f.genSecs) * 100).toFixed(0);
      const pct2 = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)}%`;
      lines.push(`${pad(r.name, W)}${pad(k(r.pps64), 8)}${pad(k(f.sent), 10)}${pad(k(f.sndbufErrA), 10)}${pad(k(f.intoTunA), 9)}${pad(k(f.dropTunA), 10)}${pad(k(f.tunAQlen), 6)}` +
        `${pad(k(f.vethTxA), 9)}${pad(k(f.outerDropB), 11)}${pad(k(f.outOfTunB), 9)}${pad(k(f.received), 9)}${pad(k(f.sinkDrops), 10)}${pad(k(f.lateB), 6)}` +
        `${pad(pct(f.genCpuUs), 9)}${pad(pct(f.sinkCpuUs), 10)}${f.endCpuUs.map((c, i) => `${pct(c)}/${pct(f.endWaitUs[i])} ${(c / (i === 0 ? f.intoTunA : f.outOfTunB)).toFixed(1)}us (${pct2(f.endSysUs[i], c)})`).join(', ') || '-'}`);
      // Only a full TUN queue at A shows the tunnel, not the generator, set the pace.
      if (f.pids > 0 && !(f.dropTunA > 0)) lines.push(`${pad('', W)}WARNING: nothing dropped at tunnel A's queue: the generator did not saturate this run`);
      if (Object.keys(f.own).length) {
        lines.push(`${pad('', W)}culvert: ${Object.entries(f.own).map(([n, v]) => `${n} ${k(v)}`).join(', ')}`);
      }
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

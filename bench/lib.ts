/**
 * Small helpers shared by benchmarks that run whole tunnels between two network
 * namespaces (test/io/helpers/netns.ts NetnsPair: 198.18.0.1 in a, 198.18.0.2 in b):
 * apt packages, one-shot iperf3 TCP runs, OpenVPN static-key (cipher none) and wireguard-go baseline
 * tunnels, per-process CPU time, medians. Every process is bounded by `timeout` and ended
 * by PID.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsPair } from '../test/io/helpers/netns.js';

export const INNER_A = '198.19.0.1';
export const INNER_B = '198.19.0.2';

let port = 5301 + (process.pid % 1000) * 10;

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

/** Installs the Debian packages behind the missing commands ([command, package] pairs). */
export function ensurePackages(map: [string, string][]): void {
  const need = map.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (need.length === 0) return;
  process.stderr.write(`bench: installing ${need.join(' ')}\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...need], {
    stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime (or stime alone) of `pids` (and their threads), microseconds (/proc/PID/stat fields 14 and 15). */
export function cpuUs(pids: number[], sysOnly = false): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      t += (((sysOnly ? 0 : Number(f[11])) + Number(f[12])) * 1e6) / CLK_TCK;
    } catch { /* gone */ }
  }
  return t;
}

export function kill(p: ChildProcess | undefined, sig: NodeJS.Signals = 'SIGTERM'): void {
  if (p && p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, sig); } catch { /* gone */ } }
}

export async function waitFor(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function canPing(ns: string, dst: string): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c1', '-W1', dst], { stdio: 'ignore' }).status === 0;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * One-stream iperf3 TCP from netns `from` to `dst` (server: one-shot, in netns `to`);
 * returns received Mbit/s. A one-shot server on a fresh port per run (a persistent one
 * wedges after a bad run), ended with SIGTERM so `timeout` passes it on.
 */
export function iperfTcp(from: string, to: string, dst: string, secs: number, extra: string[] = []): number {
  const p = port++;
  const server = spawn('ip', ['netns', 'exec', to, 'timeout', String(secs + 20), 'iperf3', '-s', '-1', '-p', String(p), '-B', dst], { stdio: 'ignore' });
  try {
    let out = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = spawnSync('ip', ['netns', 'exec', from, 'timeout', String(secs + 15), 'iperf3', '-c', dst, '-p', String(p), '-t', String(secs), '-J', ...extra],
        { encoding: 'utf8' });
      out = r.stdout;
      let j: Record<string, any> | undefined;
      try { j = JSON.parse(out) as Record<string, any>; } catch { /* not JSON */ }
      if (r.status === 0 && j && !j.error) return j.end.sum_received.bits_per_second / 1e6;
      if (!/connect|refused/i.test(out + r.stderr)) break;
      spawnSync('sleep', ['0.2']);
    }
    throw new Error(`iperf3 failed: ${out.slice(0, 400)}`);
  } finally {
    kill(server);
  }
}

/**
 * OpenVPN 2.6 p2p UDP, static key, --cipher none --auth none, TUN MTU `mtu`, INNER_A in
 * net.a and INNER_B in net.b (both under SCHED_BATCH with `schedBatch`); resolves once a ping passes. Returns its two processes
 * (end them with kill()).
 */
export async function openvpnTunnel(net: NetnsPair, dir: string, mtu: number, schedBatch = false): Promise<ChildProcess[]> {
  const procs: ChildProcess[] = [];
  const key = join(dir, 'ovpn.key');
  execFileSync('openvpn', ['--genkey', 'secret', key], { stdio: 'ignore' });
  const start = (ns: string, local: string, remote: string, me: string, peer: string): void => {
    // schedBatch: under SCHED_BATCH (chrt -b 0), the policy culvert's data plane takes by default.
    procs.push(spawn('ip', ['netns', 'exec', ns, ...(schedBatch ? ['chrt', '-b', '0'] : []), 'openvpn', '--dev', 'ovpn0', '--dev-type', 'tun', '--proto', 'udp',
      '--local', local, '--remote', remote, '--lport', '1194', '--rport', '1194', '--ifconfig', me, peer,
      '--secret', key, '--cipher', 'none', '--auth', 'none', '--tun-mtu', String(mtu), '--verb', '1'], { stdio: 'ignore' }));
  };
  try {
    start(net.a, '198.18.0.1', '198.18.0.2', INNER_A, INNER_B);
    start(net.b, '198.18.0.2', '198.18.0.1', INNER_B, INNER_A);
    const exists = (ns: string): boolean => spawnSync('ip', ['-n', ns, 'link', 'show', 'ovpn0'], { stdio: 'ignore' }).status === 0;
    await waitFor(() => exists(net.a) && exists(net.b), 10000, 'openvpn tun devices');
    await waitFor(() => canPing(net.a, INNER_B), 15000, 'openvpn tunnel to pass ping');
    return procs;
  } catch (e) {
    for (const p of procs) kill(p);
    throw e;
  }
}

/**
 * wireguard-go between net.a (INNER_A) and net.b (INNER_B), MTU `mtu`; resolves once a ping
 * passes. Returns its two processes (end them with kill()); its devices are WG_IF_A in net.a
 * and WG_IF_B in net.b. Interface names carry our PID:
 * wireguard-go's control socket path (/var/run/wireguard/NAME.sock) is not per namespace.
 */
export const WG_IF_A = `wgA${process.pid % 100000}`;
export const WG_IF_B = `wgB${process.pid % 100000}`;

export async function wireguardTunnel(net: NetnsPair, dir: string, mtu: number): Promise<ChildProcess[]> {
  const procs: ChildProcess[] = [];
  const ifA = WG_IF_A;
  const ifB = WG_IF_B;
  const keys = ['a', 'b'].map((s) => {
    const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
    const pub = execFileSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).trim();
    const f = join(dir, `wg-${s}.key`);
    writeFileSync(f, priv + '\n', { mode: 0o600 });
    return { f, pub };
  });
  const exists = (ns: string, ifn: string): boolean => spawnSync('ip', ['-n', ns, 'link', 'show', ifn], { stdio: 'ignore' }).status === 0;
  const up = async (ns: string, ifn: string, keyFile: string, peerPub: string, endpoint: string, me: string, peer: string): Promise<void> => {
    procs.push(spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '-f', ifn], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' } }));
    await waitFor(() => exists(ns, ifn), 10000, `wireguard-go ${ifn}`);
    await waitFor(() => spawnSync('ip', ['netns', 'exec', ns, 'wg', 'show', ifn], { stdio: 'ignore' }).status === 0, 10000, `${ifn} uapi`);
    execFileSync('ip', ['netns', 'exec', ns, 'wg', 'set', ifn, 'listen-port', '51820', 'private-key', keyFile, 'peer', peerPub,
      'allowed-ips', `${peer}/32`, 'endpoint', endpoint], { stdio: 'ignore' });
    execFileSync('ip', ['-n', ns, 'link', 'set', ifn, 'mtu', String(mtu)]);
    execFileSync('ip', ['-n', ns, 'addr', 'add', me, 'peer', peer, 'dev', ifn]);
    execFileSync('ip', ['-n', ns, 'link', 'set', ifn, 'up']);
  };
  try {
    await up(net.a, ifA, keys[0]!.f, keys[1]!.pub, '198.18.0.2:51820', INNER_A, INNER_B);
    await up(net.b, ifB, keys[1]!.f, keys[0]!.pub, '198.18.0.1:51820', INNER_B, INNER_A);
    await waitFor(() => canPing(net.a, INNER_B), 15000, 'wireguard tunnel to pass ping');
    return procs;
  } catch (e) {
    for (const p of procs) kill(p);
    throw e;
  }
}

/** One measured tunnel: TCP throughput and the CPU of its own processes (both ends). */
export interface TunnelResult {
  name: string; mbps: number; cpuPct: number; encoding?: string;
  /** 64-byte UDP datagrams per second through the path (bench/dataplane.ts pps64), when measured. */
  pps64?: number;
}

/**
 * Runs every selected path `repeat` times, interleaved, so drift of a shared machine hits
 * every path alike. Returns the results by key.
 */
export async function interleaved<R extends TunnelResult>(label: string, suite: [string, () => Promise<R>][], only: string[],
  repeat: number): Promise<Record<string, R[]>> {
  const runs: Record<string, R[]> = {};
  for (let r = 0; r < repeat; r++) {
    for (const [key, fn] of suite) {
      if (!only.includes(key)) continue;
      process.stderr.write(`bench ${label}: ${key} (run ${r + 1}/${repeat}) ...\n`);
      const res = await fn();
      process.stderr.write(`  ${res.mbps.toFixed(0)} Mbit/s, tunnel CPU ${res.cpuPct.toFixed(0)}%\n`);
      (runs[key] ??= []).push(res);
    }
  }
  return runs;
}

function ppsCells(v: number[], base: number): string {
  const m = median(v);
  if (Number.isNaN(m)) return '-';
  return `${`${m.toFixed(0)} (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`.padEnd(26)}${Number.isNaN(base) ? '-' : (m / base).toFixed(2)}`;
}

/** The throughput table: median (min-max), ratio to the `openvpn` key, target verdicts, CPU. */
export function throughputTable(title: string, runs: Record<string, TunnelResult[]>, target: Record<string, number>,
  o: { mtu: number; repeat: number; secs: number }): string[] {
  const base = runs.openvpn ? median(runs.openvpn.map((r) => r.mbps)) : NaN;
  const withPps = Object.values(runs).some((rs) => rs.some((r) => r.pps64 !== undefined));
  const basePps = runs.openvpn && withPps ? median(runs.openvpn.map((r) => r.pps64 ?? NaN)) : NaN;
  const lines = [
    `${title}: one-stream iperf3 TCP, inner MTU ${o.mtu}, two netns over a veth, median (min-max) of ${o.repeat} interleaved runs of ${o.secs} s`,
    `  tunnel CPU% = CPU of both tunnel processes during the TCP run (200% = both cores)`,
    ...(withPps ? ['  64B pkt/s: 64-byte UDP datagrams the sink received per second, generator at saturation (bench/pktgen, as in `bench -- dataplane`)'] : []),
    `${'path'.padEnd(30)}${'TCP Mbit/s (min-max)'.padEnd(24)}${'xOpenVPN'.padEnd(10)}${'target'.padEnd(12)}${'CPU%'.padEnd(7)}${'Mbit/s per CPU%'.padEnd(17)}` +
      (withPps ? `${'64B pkt/s (min-max)'.padEnd(26)}xOpenVPN` : ''),
  ];
  for (const [key, rs] of Object.entries(runs)) {
    const v = rs.map((r) => r.mbps);
    const m = median(v);
    const cpu = median(rs.map((r) => r.cpuPct));
    const ratio = m / base;
    const tgt = target[key];
    lines.push(`${rs[0]!.name.padEnd(30)}${`${m.toFixed(0)} (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`.padEnd(24)}` +
      `${(Number.isNaN(ratio) ? '-' : ratio.toFixed(2)).padEnd(10)}` +
      `${(tgt === undefined ? '' : `>=${tgt.toFixed(1)}${Number.isNaN(ratio) ? '' : ratio >= tgt ? ' ok' : ' MISS'}`).padEnd(12)}` +
      `${cpu.toFixed(0).padEnd(7)}${(m / cpu).toFixed(2).padEnd(17)}` +
      (withPps ? ppsCells(rs.map((r) => r.pps64 ?? NaN), basePps) : ''));
  }
  return lines;
}

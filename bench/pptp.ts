/**
 * PPTP benchmark: one-stream iperf3 TCP through a culvert <-> culvert PPTP tunnel (two real
 * `culvert daemon` processes in two network namespaces joined by one veth, configured
 * through the console like a user would: server with /ppp profile + /ppp secret +
 * /interface pptp-server server, client with /interface pptp-client), with MPPE-128
 * stateless and with no encryption, beside OpenVPN 2.6 (static key, --cipher none --auth
 * none) in the same run. All with inner MTU 1400 (max-mtu/max-mru on both culvert ends,
 * --tun-mtu for OpenVPN). Prints medians (min-max) of interleaved repeats, the ratio to
 * OpenVPN, and the CPU the tunnel processes used per Mbit. Targets: MPPE >= 1.0x OpenVPN,
 * none >= 1.8x. Then 64-byte packets per second through the same tunnels (the product's
 * whole path: PPP, GRE sequencing and acks, MPPE), with the generator and sink of
 * `bench -- dataplane` (--no-64 leaves it out).
 *
 *   npm run bench -- pptp [--time 5] [--repeat 3] [--only mppe,none,openvpn] [--mtu 1400] [--no-64]
 *                         [--cpu-prof DIR]   (node --cpu-prof of both daemons; prints the top
 *                                             self-time functions of each profile)
 *
 * Every namespace, daemon and process it made is removed (also on failure). Installs
 * iperf3 and openvpn with apt when missing.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsPair } from '../test/io/helpers/netns.js';
import { CulvertDaemon, keyValues } from '../test/interop/pptp-helpers.js';
import { buildPktgen, rate64 } from './dataplane.js';
import { INNER_A, INNER_B, canPing, cpuUs, ensurePackages, iperfTcp, kill, openvpnTunnel, interleaved, throughputTable, type TunnelResult, waitFor } from './lib.js';

type Result = TunnelResult;

const USER = 'bench';
// Not a real secret: both ends live in throw-away namespaces of this run.
const PASS = 'bench-pass-1';

let with64 = true;

/** 64-byte pkt/s from net.a to INNER_B through the tunnel whose devices are devA/devB. */
async function pps(net: NetnsPair, secs: number, pids: number[], devA: string, devB: string): Promise<number | undefined> {
  return with64 ? rate64(net, INNER_B, secs, { pids, devA, devB }) : undefined;
}

async function culvertPptp(encrypt: boolean, secs: number, mtu: number, profDir?: string): Promise<Result> {
  const net = NetnsPair.create('bpptp');
  const profArgs = (who: string): string[] => {
    if (!profDir) return [];
    const d = join(profDir, `${encrypt ? 'mppe' : 'none'}-${who}`);
    mkdirSync(d, { recursive: true });
    return ['--cpu-prof', '--cpu-prof-dir', d];
  };
  const srv = new CulvertDaemon(net.b, profArgs('server'));
  const cli = new CulvertDaemon(net.a, profArgs('client'));
  try {
    await Promise.all([srv.start(), cli.start()]);
    await srv.cli('/ppp', 'profile', 'add', 'name=bench', `local-address=${INNER_B}`, `remote-address=${INNER_A}`,
      `use-encryption=${encrypt ? 'required' : 'no'}`);
    await srv.cli('/ppp', 'secret', 'add', `name=${USER}`, `password=${PASS}`, 'service=pptp', 'profile=bench');
    await srv.cli('/interface', 'pptp-server', 'server', 'set', 'enabled=yes', 'authentication=mschap2', `max-mtu=${mtu}`, `max-mru=${mtu}`,
      'default-profile=bench');
    await cli.cli('/interface', 'pptp-client', 'add', 'name=pptp-out1', 'connect-to=198.18.0.2', `user=${USER}`, `password=${PASS}`,
      'allow=mschap2', `profile=${encrypt ? 'default-encryption' : 'default'}`, `max-mtu=${mtu}`, `max-mru=${mtu}`, 'disabled=no');
    let mon: Record<string, string> = {};
    await waitFor(async () => {
      mon = keyValues(await cli.cli('/interface', 'pptp-client', 'monitor', 'pptp-out1', 'once'));
      return mon.status === 'connected';
    }, 30_000, `culvert PPTP tunnel up (monitor: ${JSON.stringify(mon)})`);
    const want = encrypt ? /MPPE128/ : /^none$/;
    if (!want.test(mon.encoding ?? '')) throw new Error(`culvert PPTP: encoding "${mon.encoding}", expected ${want}`);
    await waitFor(() => canPing(net.a, INNER_B), 15_000, 'ping through the culvert PPTP tunnel');
    const pids = [srv.pid!, cli.pid!];
    const c0 = cpuUs(pids);
    const t0 = performance.now();
    const mbps = iperfTcp(net.a, net.b, INNER_B, secs);
    const cpuPct = ((cpuUs(pids) - c0) / 1e3 / (performance.now() - t0)) * 100;
    const pps64 = await pps(net, secs, [cli.pid!, srv.pid!], 'pptp-out1', `<pptp-${USER}>`);
    return { name: `culvert PPTP ${encrypt ? 'MPPE-128' : 'no encryption'}`, mbps, cpuPct, encoding: mon.encoding, pps64 };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- server stderr ---\n${srv.stderr().slice(-2000)}\n--- client stderr ---\n${cli.stderr().slice(-2000)}`);
  } finally {
    await cli.stop();
    await srv.stop();
    net.destroy();
  }
}

async function openvpn(secs: number, mtu: number, dir: string): Promise<Result> {
  const net = NetnsPair.create('bpovpn');
  let procs: Awaited<ReturnType<typeof openvpnTunnel>> = [];
  try {
    procs = await openvpnTunnel(net, dir, mtu);
    const pids = procs.map((p) => p.pid!);
    const c0 = cpuUs(pids);
    const t0 = performance.now();
    const mbps = iperfTcp(net.a, net.b, INNER_B, secs);
    const cpuPct = ((cpuUs(pids) - c0) / 1e3 / (performance.now() - t0)) * 100;
    return { name: 'OpenVPN (cipher none)', mbps, cpuPct, pps64: await pps(net, secs, pids, 'ovpn0', 'ovpn0') };
  } finally {
    for (const p of procs) kill(p);
    net.destroy();
  }
}

/** Top self-time functions of a .cpuprofile (Chrome DevTools format). */
function profileTop(file: string, n: number): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
    samples: number[]; timeDeltas: number[];
  };
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byFn = new Map<string, number>();
  let total = 0;
  for (const node of p.nodes) {
    const us = self.get(node.id) ?? 0;
    total += us;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  return [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1]! : def;
  };
  const secs = Number(opt('--time', '5'));
  const repeat = Number(opt('--repeat', '3'));
  const mtu = Number(opt('--mtu', '1400'));
  const profDir = args.includes('--cpu-prof') ? opt('--cpu-prof', '') : undefined;
  if (profDir === '') throw new Error('--cpu-prof needs a directory');
  const only = opt('--only', 'mppe,none,openvpn').split(',');
  with64 = !args.includes('--no-64');
  ensurePackages([['iperf3', 'iperf3'], ['openvpn', 'openvpn'], ['ping', 'iputils-ping']]);
  const dir = mkdtempSync(join(tmpdir(), 'culvert-bench-pptp-'));
  if (with64) buildPktgen(dir);
  const suite: [string, () => Promise<Result>][] = [
    ['mppe', () => culvertPptp(true, secs, mtu, profDir)],
    ['none', () => culvertPptp(false, secs, mtu, profDir)],
    ['openvpn', () => openvpn(secs, mtu, dir)],
  ];
  let runs: Record<string, Result[]>;
  try {
    runs = await interleaved('pptp', suite, only, repeat);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = throughputTable('PPTP', runs, { mppe: 1.0, none: 1.8 }, { mtu, repeat, secs });
  if (profDir) {
    for (const sub of readdirSync(profDir).sort()) {
      for (const f of readdirSync(join(profDir, sub)).filter((x) => x.endsWith('.cpuprofile'))) {
        lines.push('', `profile ${sub}/${f}: top self time`, ...profileTop(join(profDir, sub, f), 15).map((l) => `  ${l}`));
      }
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

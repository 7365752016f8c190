/**
 * L2TP scale: N concurrent sessions (default 1,000) against ONE real culvert LNS daemon.
 *
 *   npm run bench -- l2tp-scale [--sessions 1000] [--tunnels 10] [--auth pap|mschap2|pap,mschap2]
 *                               [--timeout 300] [--rate 0 (sessions/s dialled; 0 = all at once)]
 *   diagnostics: CULVERT_BENCH_LOG=FILE (the LNS daemon's log), CULVERT_BENCH_PCAP=FILE (UDP at the LNS),
 *                CULVERT_BENCH_CPUPROF=DIR (the LNS daemon's V8 CPU profile of the whole run, --cpu-prof)
 *
 * Two namespaces joined by a veth (198.18.0.1 = load generator, 198.18.0.2 = LNS). The LNS is
 * `bin/culvert daemon`, configured with console commands (pool, profile, one secret,
 * `/interface l2tp-server server set enabled=yes`). The load generator is this file run as a
 * child (CULVERT_L2TP_SCALE_GEN=1): culvert's own sans-I/O L2TP LAC machines (L2tpEndpoint,
 * L2tpTunnel.openSession, L2tpCall with a PPP client Link) on one UDP socket, N sessions
 * spread over T tunnels, all dialled at once. It reports:
 *   - set-up rate: sessions / (time from the first SCCRQ until the last session's IPCP is up),
 *     and per-session set-up latency (median, p99);
 *   - heap per session: the daemon's heapUsed (after a forced GC; bench/heap-probe.ts is
 *     preloaded with --expose-gc) with N sessions up minus before, / N; RSS likewise;
 *   - TUN devices in the LNS namespace while the sessions are up (one per session if the LNS
 *     makes one), `/ppp active` rows, one ICMP echo through every session (answered by the
 *     LNS host's kernel through its TUN), tear-down rate and the heap after tear-down.
 * Every namespace and process it made is removed (finally), processes ended by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NetnsPair } from '../test/io/helpers/netns.js';
import { CulvertDaemon, waitFor } from '../test/interop/pptp-helpers.js';
import { heapProbeFile } from './heap-probe.js';
import { RealClock } from '../src/io/real-clock.js';
import { L2tpEndpoint } from '../src/protocol/l2tp/endpoint.js';
import { L2tpCall, L2TP_IP_HEADROOM } from '../src/protocol/l2tp/call.js';
import type { L2tpTunnel, PeerAddress } from '../src/protocol/l2tp/tunnel.js';
import type { AuthMethod } from '../src/protocol/ppp/auth/index.js';

const SELF = fileURLToPath(import.meta.url);
const HEAP_PROBE = pathToFileURL(fileURLToPath(new URL('./heap-probe.js', import.meta.url))).href;
// One user per session (s0000, s0001, ...): each session is its own subscriber, with its own
// dynamic interface <l2tp-sNNNN>. Not real secrets: the LNS lives in a throw-away namespace.
const userName = (i: number): string => `s${String(i).padStart(4, '0')}`;
const PASSWORD = 'scale-pass-1234';
const LNS_IP = '198.18.0.2';
const GEN_IP = '198.18.0.1';
/** PPP addresses: the LNS side, and a pool big enough for 4,000 sessions. */
const LNS_PPP = '198.19.0.1';
const POOL = '198.19.0.2-198.19.15.254';

// ---- load generator (child process in netns a) --------------------------------------------

function out(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function sum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (s >>> 16) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** IPv4 + ICMP echo request at buf[off] (28 octets + 8 of payload); returns its length. */
function echoRequest(buf: Uint8Array, off: number, src: string, dst: string, id: number): number {
  const len = 36;
  buf.fill(0, off, off + len);
  buf[off] = 0x45;
  buf[off + 3] = len;
  buf[off + 8] = 64;
  buf[off + 9] = 1;
  buf.set(src.split('.').map(Number), off + 12);
  buf.set(dst.split('.').map(Number), off + 16);
  const h = sum16(buf, off, 20);
  buf[off + 10] = h >> 8;
  buf[off + 11] = h & 0xff;
  const i = off + 20;
  buf[i] = 8;
  buf[i + 4] = id >> 8;
  buf[i + 5] = id & 0xff;
  buf[i + 7] = 1;
  const c = sum16(buf, i, 16);
  buf[i + 2] = c >> 8;
  buf[i + 3] = c & 0xff;
  return len;
}

/** UDP datagrams dropped for a full receive buffer, from /proc/net/snmp (per namespace). */
function udpRcvbufErrors(snmp: string): number {
  const [h, v] = snmp.split('\n').filter((l) => l.startsWith('Udp:')).map((l) => l.trim().split(/\s+/));
  const i = h ? h.indexOf('RcvbufErrors') : -1;
  return i > 0 && v ? Number(v[i]) : NaN;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

async function generator(): Promise<void> {
  const n = Number(process.env.SESSIONS ?? 1000);
  const nt = Number(process.env.TUNNELS ?? 10);
  const auth = (process.env.AUTH ?? 'pap') as AuthMethod;
  const server = process.env.SERVER ?? LNS_IP;
  const clock = new RealClock();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, process.env.LOCAL ?? GEN_IP, r));
  const send = (buf: Uint8Array, off: number, len: number, peer: PeerAddress): void => {
    sock.send(Buffer.from(buf.subarray(off, off + len)), peer.port, peer.address);
  };
  const drops: Record<string, number> = {};
  const endpoint = new L2tpEndpoint({
    clock,
    role: 'lac',
    hostName: 'culvert-scale-lac',
    vendorName: 'culvert',
    // A roomy window: the LNS's own window and its processing set the pace, not ours.
    tunnel: { receiveWindow: 64, helloInterval: 0 },
    send,
    log: (l) => {
      if (/internal error/.test(l)) drops[l] = (drops[l] ?? 0) + 1;
    },
  });
  sock.on('message', (m, ri) => endpoint.receive(m, 0, m.length, { address: ri.address, port: ri.port }));

  interface S { call: L2tpCall; t0: number; l2tpUp?: number; auth?: number; up?: number; down?: number; addr?: string; peer?: string; reason?: string; echoed?: boolean }
  const sessions: S[] = [];
  const tunnels: L2tpTunnel[] = [];
  let upCount = 0;
  let downCount = 0;
  let reported = false;
  const t0 = performance.now();
  const report = (why: string): void => {
    if (reported) return;
    reported = true;
    const lat = sessions.filter((s) => s.up !== undefined).map((s) => s.up! - s.t0);
    const lastUp = Math.max(0, ...sessions.map((s) => s.up ?? 0));
    const reasons: Record<string, number> = {};
    for (const s of sessions) if (s.up === undefined && s.reason) reasons[s.reason] = (reasons[s.reason] ?? 0) + 1;
    out({
      event: 'up', why, sessions: n, tunnels: nt, auth, up: upCount, failed: sessions.filter((s) => s.up === undefined).length,
      allUpMs: lastUp ? lastUp - t0 : NaN, firstUpMs: lat.length ? Math.min(...sessions.filter((s) => s.up).map((s) => s.up! - t0)) : NaN,
      latencyMedianMs: pct(lat, 50), latencyP99Ms: pct(lat, 99), reasons,
      // Where the time goes (medians): L2TP (SCCRQ..ICCN), LCP (to authenticate phase), auth + IPCP.
      phaseMedianMs: {
        l2tp: pct(sessions.filter((x) => x.l2tpUp).map((x) => x.l2tpUp! - x.t0), 50),
        lcp: pct(sessions.filter((x) => x.l2tpUp && x.auth).map((x) => x.auth! - x.l2tpUp!), 50),
        authIpcp: pct(sessions.filter((x) => x.auth && x.up).map((x) => x.up! - x.auth!), 50),
      },
      tunnelsUp: tunnels.filter((t) => t.isUp).length, retransmissions: endpoint.stats().retransmissions, drops: endpoint.stats().drops,
    });
  };
  const giveUp = setTimeout(() => report('timeout'), Number(process.env.TIMEOUT_S ?? 300) * 1000);

  for (let t = 0; t < nt; t++) {
    const tunnel = endpoint.connect({ address: server });
    tunnels.push(tunnel);
  }
  // RATE sessions/s (0: all at once): a burst shows how the LNS copes with a storm of calls,
  // a paced dial how many concurrent sessions it holds when set-up is not the bottleneck.
  const rate = Number(process.env.RATE ?? 0);
  const dial = (i: number): void => {
    const tunnel = tunnels[i % nt];
    const session = tunnel.openSession();
    const call = new L2tpCall(tunnel, session, clock, {
      role: 'client', user: userName(i), password: PASSWORD, allow: [auth], useEncryption: 'no', keepaliveTimeout: 0,
    });
    const s: S = { call, t0: performance.now() };
    sessions.push(s);
    session.on('up', () => (s.l2tpUp = performance.now()));
    call.on('status', (st) => {
      if (st === 'verifying password...' && s.auth === undefined) s.auth = performance.now();
    });
    call.on('up', (info) => {
      s.addr = info.localAddress;
      s.peer = info.remoteAddress;
      if (s.up !== undefined) return; // counted once, even if IPCP renegotiates
      s.up = performance.now();
      if (++upCount === n) {
        clearTimeout(giveUp);
        report('all up');
      }
    });
    call.onIp = (b, o, l) => {
      // ICMP echo reply (type 0) from the LNS host, id = our session index.
      if (l >= 28 && b[o + 9] === 1 && b[o + 20] === 0) s.echoed = true;
    };
    call.on('down', (reason) => {
      s.down = performance.now();
      s.reason ??= reason;
      downCount++;
      if (hangupAt !== undefined && downCount === n) {
        out({ event: 'down', ms: performance.now() - hangupAt, down: downCount });
      }
    });
  };
  let hangupAt: number | undefined;
  if (rate > 0) {
    let next = 0;
    const start = performance.now();
    const tick = setInterval(() => {
      const due = Math.min(n, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      while (next < due) dial(next++);
      if (next >= n) clearInterval(tick);
    }, 20);
  } else for (let i = 0; i < n; i++) dial(i);

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'ping') {
      // Paced, 50 echoes every 5 ms: 1,000 replies at once overflow a default-sized UDP
      // receive buffer (ours or the LNS's) and would count as sessions that pass no traffic.
      const buf = new Uint8Array(L2TP_IP_HEADROOM + 64);
      const rcvbuf0 = udpRcvbufErrors(readFileSync('/proc/net/snmp', 'utf8'));
      const targets = sessions.map((s, i) => ({ s, i })).filter(({ s }) => s.call.isUp && s.addr && s.peer);
      let sent = 0;
      let k = 0;
      const finish = (): void => {
        // Sessions that were up once and went down since, by reason.
        const lost: Record<string, number> = {};
        for (const s of sessions) if (s.up !== undefined && s.down !== undefined) lost[s.reason ?? '?'] = (lost[s.reason ?? '?'] ?? 0) + 1;
        const rcvbufDrops = udpRcvbufErrors(readFileSync('/proc/net/snmp', 'utf8')) - rcvbuf0;
        out({ event: 'ping', sent, replied: sessions.filter((s) => s.echoed).length, upNow: sessions.filter((s) => s.call.isUp).length, lost, rcvbufDrops });
      };
      const chunk = (): void => {
        for (let j = 0; j < 50 && k < targets.length; j++, k++) {
          const { s, i } = targets[k];
          const len = echoRequest(buf, L2TP_IP_HEADROOM, s.addr!, s.peer!, i & 0xffff);
          if (s.call.sendIp(buf, L2TP_IP_HEADROOM, len)) sent++;
        }
        if (k < targets.length) setTimeout(chunk, 5);
        else setTimeout(finish, 3000);
      };
      chunk();
    } else if (cmd === 'hangup') {
      hangupAt = performance.now();
      downCount = sessions.filter((s) => s.down !== undefined).length;
      for (const s of sessions) s.call.hangup('bench done');
      if (downCount === n) out({ event: 'down', ms: 0, down: downCount });
      // Sessions whose CDN is never answered are reported as they stand.
      setTimeout(() => out({ event: 'down', ms: NaN, down: downCount, partial: true }), 60_000).unref();
    } else if (cmd === 'exit') {
      for (const t of tunnels) if (t.state !== 'closed') t.close();
      setTimeout(() => {
        sock.close();
        process.exit(0);
      }, 500);
    }
  });
  out({ event: 'ready' });
}

// ---- driver ----------------------------------------------------------------------------------

interface Gen {
  proc: ChildProcess;
  next(event: string, ms: number): Promise<Record<string, any>>;
  send(cmd: string): void;
}

function startGenerator(net: NetnsPair, env: Record<string, string>): Gen {
  const proc = spawn('ip', ['netns', 'exec', net.a, process.execPath, SELF], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, CULVERT_L2TP_SCALE_GEN: '1', ...env },
  });
  const queue: Record<string, any>[] = [];
  const waiters: { event: string; res: (v: Record<string, any>) => void }[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    let v: Record<string, any>;
    try {
      v = JSON.parse(l) as Record<string, any>;
    } catch {
      return;
    }
    const w = waiters.findIndex((x) => x.event === v.event);
    if (w >= 0) waiters.splice(w, 1)[0].res(v);
    else queue.push(v);
  });
  return {
    proc,
    send: (cmd) => proc.stdin!.write(cmd + '\n'),
    next: (event, ms) => {
      const i = queue.findIndex((x) => x.event === event);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`load generator: no '${event}' within ${ms} ms; stderr: ${err}`)), ms);
        proc.once('exit', (c) => rej(new Error(`load generator exited (${c}) waiting for '${event}'; stderr: ${err}`)));
        waiters.push({ event, res: (v) => { clearTimeout(t); res(v); } });
      });
    },
  };
}

interface Mem { heapUsed: number; rss: number; external: number; arrayBuffers: number; gc: boolean }

async function probe(d: CulvertDaemon): Promise<Mem> {
  const file = heapProbeFile(d.pid!);
  if (existsSync(file)) unlinkSync(file);
  process.kill(d.pid!, 'SIGUSR2');
  await waitFor(() => existsSync(file), 10_000, 'the heap probe to answer');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Mem;
  unlinkSync(file);
  return m;
}

function cpuMs(pid: number): number {
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / hz;
}

function tunCount(ns: string): number {
  const r = spawnSync('ip', ['-n', ns, '-o', 'link', 'show', 'type', 'tun'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim()).length;
}

const mb = (b: number): string => (b / 1048576).toFixed(1);

async function one(sessions: number, tunnels: number, auth: string, timeoutS: number, rate: number): Promise<string[]> {
  const net = NetnsPair.create('l2s');
  let d: CulvertDaemon | undefined;
  let gen: Gen | undefined;
  let pcap: ChildProcess | undefined;
  try {
    const prof = process.env.CULVERT_BENCH_CPUPROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.CULVERT_BENCH_CPUPROF] : [];
    d = new CulvertDaemon(net.b, ['--expose-gc', '--import', HEAP_PROBE, ...prof]);
    await d.start();
    await d.cli(`/ip pool add name=scale ranges=${POOL}`);
    await d.cli(`/ppp profile add name=scale local-address=${LNS_PPP} remote-address=scale use-encryption=no only-one=no`);
    // Secrets 100 per console line (`;` separates commands), not one process per secret.
    for (let i = 0; i < sessions; i += 100) {
      const batch: string[] = [];
      for (let j = i; j < Math.min(sessions, i + 100); j++) batch.push(`/ppp secret add name=${userName(j)} password=${PASSWORD} service=l2tp profile=scale`);
      await d.cli(batch.join(' ; '));
    }
    await d.cli(`/interface l2tp-server server set enabled=yes authentication=${auth === 'pap' ? 'pap' : 'mschap2'} default-profile=scale`);
    await new Promise((r) => setTimeout(r, 500));
    const m0 = await probe(d);
    const tuns0 = tunCount(net.b);
    const cpu0 = cpuMs(d.pid!);
    // Diagnostics: CULVERT_BENCH_PCAP=FILE captures the LNS side of the veth during the run.
    if (process.env.CULVERT_BENCH_PCAP) {
      pcap = spawn('ip', ['netns', 'exec', net.b, 'tcpdump', '-i', 'veth0', '-s', '200', '-w', process.env.CULVERT_BENCH_PCAP, 'udp'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1000));
    }
    gen = startGenerator(net, { SESSIONS: String(sessions), TUNNELS: String(tunnels), AUTH: auth, SERVER: LNS_IP, LOCAL: GEN_IP, TIMEOUT_S: String(timeoutS), RATE: String(rate) });
    await gen.next('ready', 15_000);
    const up = await gen.next('up', (timeoutS + 30) * 1000);
    const cpu1 = cpuMs(d.pid!);
    // Let the LNS finish what it does after IPCP (routes, TUN addresses) before measuring.
    await new Promise((r) => setTimeout(r, 2000));
    const m1 = await probe(d);
    const tuns1 = tunCount(net.b);
    const active = (await d.cli('/ppp active print')).split('\n').filter((l) => /\bs\d{4}\b/.test(l)).length;
    const lnsRcvbuf0 = udpRcvbufErrors(spawnSync('ip', ['netns', 'exec', net.b, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).stdout);
    gen.send('ping');
    const ping = await gen.next('ping', 30_000);
    const lnsRcvbufDrops = udpRcvbufErrors(spawnSync('ip', ['netns', 'exec', net.b, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).stdout) - lnsRcvbuf0;
    gen.send('hangup');
    const down = await gen.next('down', 90_000);
    // The LNS removes each session's TUN (addresses, routes) after the call is gone: wait for all.
    const tDown = performance.now();
    let tuns2 = tunCount(net.b);
    while (tuns2 > tuns0 && performance.now() - tDown < 180_000) {
      await new Promise((r) => setTimeout(r, 250));
      tuns2 = tunCount(net.b);
    }
    const tunsGoneMs = performance.now() - tDown;
    const activeAfter = (await d.cli('/ppp active print')).split('\n').filter((l) => /\bs\d{4}\b/.test(l)).length;
    await new Promise((r) => setTimeout(r, 1000));
    const m2 = await probe(d);
    gen.send('exit');
    const setupRate = up.up / (up.allUpMs / 1000);
    const per = (a: number, b: number): string => `${((b - a) / Math.max(1, up.up) / 1024).toFixed(1)} KiB`;
    return [
      `${sessions} sessions over ${tunnels} tunnels, PPP ${auth}, no MPPE, ${rate > 0 ? `dialled at ${rate}/s` : 'all dialled at once'}, against one culvert LNS daemon:`,
      `  up: ${up.up}/${sessions} (${up.why}; failed ${up.failed}${Object.keys(up.reasons).length ? ` ${JSON.stringify(up.reasons)}` : ''}), tunnels up ${up.tunnelsUp}/${tunnels}, L2TP retransmissions ${up.retransmissions}`,
      `  set-up: all up in ${(up.allUpMs / 1000).toFixed(2)} s = ${setupRate.toFixed(0)} sessions/s; per-session latency median ${up.latencyMedianMs.toFixed(0)} ms, p99 ${up.latencyP99Ms.toFixed(0)} ms; first up after ${up.firstUpMs.toFixed(0)} ms`,
      `  per-session phases (medians): L2TP ICRQ..ICCN ${up.phaseMedianMs.l2tp.toFixed(0)} ms, LCP ${up.phaseMedianMs.lcp.toFixed(0)} ms, authentication + IPCP ${up.phaseMedianMs.authIpcp.toFixed(0)} ms`,
      `  LNS daemon CPU during set-up: ${(cpu1 - cpu0).toFixed(0)} ms (${((cpu1 - cpu0) / Math.max(1, up.up)).toFixed(2)} ms per session)`,
      `  LNS heap (after GC${m0.gc ? '' : ' -- gc() NOT available, figures include garbage'}): ${mb(m0.heapUsed)} MiB idle -> ${mb(m1.heapUsed)} MiB with sessions up = ${per(m0.heapUsed, m1.heapUsed)} per session; after hang-up ${mb(m2.heapUsed)} MiB`,
      `  LNS RSS: ${mb(m0.rss)} -> ${mb(m1.rss)} MiB (${per(m0.rss, m1.rss)} per session), external+arrayBuffers ${mb(m0.external)} -> ${mb(m1.external)} MiB; after hang-up RSS ${mb(m2.rss)} MiB`,
      `  TUN devices in the LNS namespace: ${tuns0} idle, ${tuns1} with sessions up; /ppp active rows: ${active} up, ${activeAfter} after hang-up`,
      `  LAC sessions still up when probed: ${ping.upNow}/${sessions}${Object.keys(ping.lost).length ? `; went down after coming up: ${JSON.stringify(ping.lost)}` : ''}`,
      `  one ICMP echo per session to ${LNS_PPP} (50 every 5 ms): ${ping.replied}/${ping.sent} answered through the LNS; ` +
        `UDP receive-buffer drops meanwhile: LAC ${ping.rcvbufDrops}, LNS ${lnsRcvbufDrops}`,
      `  tear-down (LCP Terminate + CDN per session, from the LAC side): ${down.partial ? `INCOMPLETE ${down.down}/${sessions} down after 60 s` : `${down.down} calls cleared in ${(down.ms / 1000).toFixed(2)} s`}; ` +
        `TUNs ${tuns2 > tuns0 ? `NOT all removed: ${tuns2 - tuns0} left after 180 s` : `all removed ${(tunsGoneMs / 1000).toFixed(2)} s after that`}`,
    ];
  } finally {
    // Diagnostics: CULVERT_BENCH_LOG=FILE keeps the LNS daemon's whole log.
    if (d && process.env.CULVERT_BENCH_LOG) writeFileSync(process.env.CULVERT_BENCH_LOG, d.stderr());
    if (pcap?.pid && pcap.exitCode === null) try { process.kill(pcap.pid, 'SIGINT'); } catch { /* gone */ }
    if (gen && gen.proc.exitCode === null && gen.proc.pid) try { process.kill(gen.proc.pid, 'SIGKILL'); } catch { /* gone */ }
    if (d) await d.stop();
    net.destroy();
  }
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : def;
  };
  const sessions = Number(opt('--sessions', '1000'));
  const tunnels = Number(opt('--tunnels', '10'));
  const timeoutS = Number(opt('--timeout', '300'));
  const rate = Number(opt('--rate', '0'));
  const lines: string[] = [];
  for (const auth of opt('--auth', 'pap').split(',')) {
    process.stderr.write(`bench: l2tp-scale ${sessions} sessions / ${tunnels} tunnels, ${auth} ...\n`);
    lines.push(...(await one(sessions, tunnels, auth, timeoutS, rate)));
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.env.CULVERT_L2TP_SCALE_GEN === '1') {
  generator().catch((e) => {
    out({ event: 'error', why: String((e as Error)?.stack ?? e) });
    process.exit(1);
  });
}

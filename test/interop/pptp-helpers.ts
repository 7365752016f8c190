/**
 * Helpers for the PPTP interop tests (pptp-client.test.ts, pptp-server.test.ts): a real
 * `culvert daemon` process inside netns ia-lab driven through `./bin/culvert` console
 * commands exactly as a user would, a 10 MB TCP transfer through the tunnel checked by
 * byte count and SHA-256 (our side: a node process in ia-lab; guest side: bash /dev/tcp),
 * and the facts a pppd log states about a link (to compare with our `monitor`).
 * Everything started here is ended by PID; the daemon's data directory is removed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_NETNS, type Lab } from './lab.js';

/** Repository root (this file runs as dist/test/interop/pptp-helpers.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(ROOT, 'bin/culvert');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(250);
  }
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

/** Parse `key: value` lines (monitor output, print detail of a single). */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z][a-z0-9-]*):\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/**
 * A culvert daemon running as its own process in netns ia-lab (where the guests' bridge
 * is, host side 198.18.0.1). `cli(...)` is `./bin/culvert --socket S <words>`; the control
 * socket is a filesystem socket, so the console runs from the test's own namespace.
 */
export class CulvertDaemon {
  private proc: ChildProcess | undefined;
  private err = '';
  private exited: Promise<number | null> = Promise.resolve(null);
  readonly dir: string;
  readonly socket: string;
  /** Every console command and its output, for failure messages. */
  readonly transcript: string[] = [];

  /** `nodeArgs`: extra node flags for the daemon process (e.g. --cpu-prof). */
  constructor(readonly netns = LAB_NETNS, readonly nodeArgs: string[] = []) {
    this.dir = mkdtempSync(join(tmpdir(), 'culvert-pptp-interop-'));
    this.socket = join(this.dir, 'culvert.sock');
  }

  stderr(): string {
    return this.err;
  }

  /** PID of the daemon (ip netns exec execs node in place). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', this.netns, process.execPath, ...this.nodeArgs, BIN, 'daemon', '--data-dir', join(this.dir, 'data'), '--socket', this.socket],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = p;
    p.stderr!.setEncoding('utf8');
    p.stderr!.on('data', (d: string) => { this.err += d; });
    this.exited = new Promise((r) => p.once('exit', (c) => r(c)));
    let gone = false;
    void this.exited.then(() => { gone = true; });
    await waitFor(async () => {
      if (gone) throw new Error(`daemon exited: ${this.err}`);
      return (await run(process.execPath, [BIN, '--socket', this.socket, '/ppp', 'profile', 'print'], 10_000)).code === 0;
    }, 20_000, 'culvert daemon control socket');
  }

  /** One console command (argv words as a user types them in a shell); throws on failure. */
  async cli(...words: string[]): Promise<string> {
    const r = await run(process.execPath, [BIN, '--socket', this.socket, ...words], 30_000);
    this.transcript.push(`> ${words.join(' ')}\n${r.stdout}${r.stderr}`);
    if (r.code !== 0) throw new Error(`culvert ${words.join(' ')} failed (${r.code}): ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** `monitor ITEM once` parsed into key/values. */
  async monitor(menu: string, item: string): Promise<Record<string, string>> {
    return keyValues(await this.cli(...menu.split(' '), 'monitor', item, 'once'));
  }

  /** SIGTERM (the daemon tears its tunnels down), SIGKILL after 10 s; removes the data directory. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null && p.pid) {
      try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const TCP_PEER_JS = `
const net = require('node:net');
const { createHash } = require('node:crypto');
const [mode, addr, port, bytes] = process.argv.slice(1);
const h = createHash('sha256');
const srv = net.createServer((s) => {
  srv.close();
  if (mode === 'recv') {
    let n = 0;
    s.on('data', (d) => { n += d.length; h.update(d); });
    s.on('end', () => { process.stdout.write(JSON.stringify({ bytes: n, sha256: h.digest('hex') }) + '\\n'); s.end(); });
  } else {
    // Deterministic pseudo-random bytes (xorshift), so nothing compresses or repeats.
    let x = 0x9e3779b9 | 0, left = Number(bytes);
    const chunk = Buffer.alloc(65536);
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        for (let i = 0; i < n; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; chunk.writeInt32LE(x, i); }
        const b = Buffer.from(chunk.subarray(0, n));
        h.update(b); left -= n;
        if (!s.write(b)) return s.once('drain', more);
      }
      s.end(() => process.stdout.write(JSON.stringify({ bytes: Number(bytes), sha256: h.digest('hex') }) + '\\n'));
    };
    more();
  }
  s.on('error', (e) => { process.stderr.write(String(e)); process.exit(1); });
});
srv.listen(Number(port), addr, () => process.stdout.write('listening\\n'));
`;

/** A one-shot TCP peer in ia-lab: resolves `ready` once listening, `result` with bytes and SHA-256 of what went through. */
function tcpPeer(mode: 'send' | 'recv', addr: string, port: number, bytes: number, timeoutSec: number):
  { ready: Promise<void>; result: Promise<{ bytes: number; sha256: string }>; proc: ChildProcess } {
  const p = spawn('ip', ['netns', 'exec', LAB_NETNS, 'timeout', String(timeoutSec), process.execPath, '-e', TCP_PEER_JS, mode, addr, String(port), String(bytes)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  let onReady!: () => void;
  const ready = new Promise<void>((r) => { onReady = r; });
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('listening')) onReady(); });
  const result = new Promise<{ bytes: number; sha256: string }>((res, rej) => {
    p.once('exit', (c) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (c === 0 && line) res(JSON.parse(line) as { bytes: number; sha256: string });
      else rej(new Error(`tcp ${mode} peer on ${addr}:${port} exited ${c}: ${out}${err}`));
    });
  });
  // Also settle `ready` if it dies before listening, so callers don't hang; a result
  // nobody awaits any more (an earlier step failed) must not become an unhandled rejection.
  p.once('exit', () => onReady());
  result.catch(() => undefined);
  return { ready, result, proc: p };
}

/** `p`, or a rejection naming `what` if it has not settled `ms` after the guest's side finished. */
function settle<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`no result from ${what}`)), ms); })])
    .finally(() => clearTimeout(t));
}

let nextPort = 40000 + (process.pid % 500) * 20;
export const MB10 = 10 * 1024 * 1024;

/**
 * 10 MB each way through the tunnel: guest -> us, then us -> guest. `ourAddr` is culvert's
 * tunnel address (the TCP peer in ia-lab listens there), `guest` the guest that dials it.
 */
export async function transfer10MB(lab: Lab, guest: string, ourAddr: string): Promise<{ up: { bytes: number; sha256: string; guestSha: string }; down: { bytes: number; sha256: string; guestSha: string } }> {
  // Guest sends, we receive.
  const pUp = nextPort++;
  const rx = tcpPeer('recv', ourAddr, pUp, 0, 150);
  try {
    await rx.ready;
    // peer.sh runs scripts with dash: /dev/tcp needs bash.
    const g = await lab.peerSh(['sh', guest, '--timeout', '120',
      `bash -c 'head -c ${MB10} /dev/urandom > /tmp/ia-tx && cat /tmp/ia-tx > /dev/tcp/${ourAddr}/${pUp} && sha256sum /tmp/ia-tx; rm -f /tmp/ia-tx'`], 140_000);
    const up = await settle(rx.result, 20_000, `guest -> us transfer (guest said: ${g.stdout}${g.stderr})`);
    const guestUp = /^([0-9a-f]{64})/m.exec(g.stdout)?.[1] ?? `(no sha256 in: ${g.stdout}${g.stderr})`;
    // We send, guest receives.
    const pDown = nextPort++;
    const tx = tcpPeer('send', ourAddr, pDown, MB10, 150);
    try {
      await tx.ready;
      const d = await lab.peerSh(['sh', guest, '--timeout', '120',
        `bash -c 'cat < /dev/tcp/${ourAddr}/${pDown} > /tmp/ia-rx; wc -c < /tmp/ia-rx; sha256sum /tmp/ia-rx; rm -f /tmp/ia-rx'`], 140_000);
      const down = await settle(tx.result, 20_000, `us -> guest transfer (guest said: ${d.stdout}${d.stderr})`);
      const m = /^\s*(\d+)\s*\n([0-9a-f]{64})/m.exec(d.stdout);
      return {
        up: { ...up, guestSha: guestUp },
        down: { bytes: m ? Number(m[1]) : -1, sha256: down.sha256, guestSha: m?.[2] ?? `(no sha256 in: ${d.stdout}${d.stderr})` },
      };
    } finally {
      if (tx.proc.exitCode === null && tx.proc.pid) try { process.kill(tx.proc.pid, 'SIGTERM'); } catch { /* gone */ }
    }
  } finally {
    if (rx.proc.exitCode === null && rx.proc.pid) try { process.kill(rx.proc.pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

/**
 * ping from netns ia-lab (our side); resolves with the received count. `size`: ICMP
 * payload octets, sent with DF (so a packet of the interface's full MTU is tried as is).
 */
export async function pingFromLab(dst: string, count = 3, size?: number): Promise<number> {
  const sz = size === undefined ? [] : ['-s', String(size), '-M', 'do'];
  const r = await run('ip', ['netns', 'exec', LAB_NETNS, 'ping', '-n', '-c', String(count), '-i', '0.3', '-W', '2', ...sz, dst], 30_000);
  return Number(/(\d+) (?:packets )?received/.exec(r.stdout)?.[1] ?? 0);
}

/** ping from a guest; resolves with the received count. */
export async function pingFromGuest(lab: Lab, guest: string, dst: string, count = 3): Promise<number> {
  let out = '';
  try {
    out = (await lab.exec(guest, ['ping', '-n', '-c', String(count), '-i', '0.3', '-W', '2', dst], 30)).stdout;
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  return Number(/(\d+) (?:packets )?received/.exec(out)?.[1] ?? 0);
}

/** What a pppd log says about the last link it brought up. */
export interface PppdFacts {
  mppe: 'MPPE128 stateless' | 'none';
  local?: string;
  remote?: string;
  /** e.g. "MS-CHAP-v2" / "MS-CHAP" / "CHAP" / "PAP" from "... authentication succeeded" / "peer ... authenticated". */
  authOk: boolean;
}

export function pppdFacts(log: string): PppdFacts {
  // Only the last link: pppd appends to one logfile across redials.
  const start = Math.max(log.lastIndexOf('Using interface'), log.lastIndexOf('Connect: ppp'), 0);
  const l = log.slice(start);
  const local = [...l.matchAll(/local\s+IP address (\d+\.\d+\.\d+\.\d+)/g)].pop()?.[1];
  const remote = [...l.matchAll(/remote IP address (\d+\.\d+\.\d+\.\d+)/g)].pop()?.[1];
  return {
    mppe: /MPPE 128-bit stateless compression enabled/.test(l) ? 'MPPE128 stateless' : 'none',
    ...(local ? { local } : {}),
    ...(remote ? { remote } : {}),
    authOk: /authentication succeeded|peer from calling number .* authorized|(CHAP|PAP) peer authentication succeeded/i.test(l),
  };
}

/** MTU of a guest's interface (`ip -o link show IFACE`). */
export async function guestMtu(lab: Lab, guest: string, iface: string): Promise<number> {
  const r = await lab.exec(guest, ['ip', '-o', 'link', 'show', iface], 20);
  return Number(/ mtu (\d+)/.exec(r.stdout)?.[1] ?? NaN);
}

/** Whether a guest has a PPP link up now (its ip-up hook writes state/ppp/<iface>). */
export async function guestLinks(lab: Lab, guest: string): Promise<number> {
  try {
    const r = await lab.exec(guest, ['sh', '-c', 'ls /ia/state/ppp 2>/dev/null | wc -l'], 20);
    return Number(r.stdout.trim()) || 0;
  } catch {
    return 0;
  }
}

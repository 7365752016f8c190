/**
 * Test helper around the interop lab (../shared/interop: setup.sh, peer.sh): real
 * pppd / pptp-linux / pptpd / xl2tpd peers in user-mode-linux guests on bridge
 * ia-br0 in netns ia-lab (host side 198.18.0.1). Interop tests use it as
 *
 *   await withLab(async (lab) => {
 *     await lab.start(['pptpd']);                         // guest "srv" at 198.18.0.10
 *     await lab.nsExec(['node', 'dist/src/cli/...']);     // our program inside ia-lab
 *   });
 *
 * withLab takes a machine-wide lock (only one interop run at a time may use the
 * shared netns) and always runs `peer.sh down` at the end, also on failure and on
 * SIGINT/SIGTERM/exit. Every command is run with execFile and an argv array.
 * Run as root. A lab that cannot start throws: interop tests fail, never skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const LAB_NETNS = 'ia-lab';
export const LAB_HOST_IP = '198.18.0.1';
export const LAB_BASE = '/var/tmp/interop';
/** Defaults of peer.sh for server and client guests. */
export const LAB_SERVER_IP = '198.18.0.10';
export const LAB_CLIENT_IP = '198.18.0.20';
export const LAB_USER = 'ia-user';
export const LAB_PASSWORD = 'ia-pass-123';

export type LabRole = 'pptpd' | 'xl2tpd-server' | 'pptp-client' | 'xl2tpd-client' | 'idle';

export interface StartOptions {
  name?: string;
  ip?: string;
  server?: string;
  user?: string;
  password?: string;
  auth?: 'mschapv2' | 'mschap' | 'chap' | 'pap' | 'any' | 'none';
  mppe?: 'require' | 'optional' | 'none';
  localTun?: string;
  pool?: string;
  l2tpKernel?: boolean;
  l2tpSecret?: string;
  pppOpts?: string[];
  conf?: string[];
  persist?: boolean;
  noDial?: boolean;
  noWait?: boolean;
  /** Seconds peer.sh waits for boot and tunnel (default 60). */
  timeout?: number;
  mem?: string;
}

export interface GuestStarted {
  name: string;
  /** peer.sh's stdout: "NAME ready: ... boot=X.XXs" and, for clients, link lines. */
  output: string;
  /** Guest boot time as peer.sh measured it, seconds. */
  bootSeconds?: number;
  /** For clients: `iface=ppp0 local=... remote=... ipparam=...` parsed. */
  links: { iface: string; local: string; remote: string; ipparam?: string }[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class LabError extends Error {
  constructor(
    message: string,
    readonly stdout = '',
    readonly stderr = '',
  ) {
    super(message);
    this.name = 'LabError';
  }
}

/** Where shared/interop is: $CULVERT_INTEROP_DIR, $CULVERT_SHARED/interop, else ../shared/interop beside the repo. */
export function interopDir(): string {
  if (process.env.CULVERT_INTEROP_DIR) return process.env.CULVERT_INTEROP_DIR;
  if (process.env.CULVERT_SHARED) return resolve(process.env.CULVERT_SHARED, 'interop');
  // This file runs as dist/test/interop/lab.js: the repo root is three levels up.
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const candidates = [resolve(repo, '../shared/interop'), resolve(repo, 'shared/interop')];
  return candidates.find((d) => existsSync(resolve(d, 'peer.sh'))) ?? candidates[0]!;
}

function run(file: string, args: string[], timeoutMs: number, log?: (l: string) => void): Promise<RunResult> {
  log?.(`$ ${[file, ...args].join(' ')}`);
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException & { killed?: boolean }).killed ? `timed out after ${timeoutMs} ms` : err.message;
        reject(new LabError(`${file} ${args.join(' ')}: ${why}\n${stdout}${stderr}`.trimEnd(), stdout, stderr));
      } else resolveRun({ stdout, stderr });
    });
  });
}

const LOCK_FILE = `${LAB_BASE}/.culvert-lab.lock`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One interop user per machine: an O_EXCL lock file holding our PID (stale ones are taken over). */
async function acquireLock(waitMs: number): Promise<() => void> {
  mkdirSync(LAB_BASE, { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(LOCK_FILE, 'utf8') === String(process.pid)) unlinkSync(LOCK_FILE);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(LOCK_FILE, 'utf8'));
      } catch {
        continue; // removed meanwhile
      }
      if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
        try {
          unlinkSync(LOCK_FILE);
        } catch {
          /* raced with another taker */
        }
        continue;
      }
      if (Date.now() > deadline) throw new LabError(`interop lab is in use by pid ${holder} (${LOCK_FILE})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export interface LabOptions {
  /** Progress lines (commands run, timings). Default: none. */
  log?: (line: string) => void;
  /** How long to wait for another interop run to finish (default 10 min). */
  lockWaitMs?: number;
}

export class Lab {
  readonly dir: string;
  readonly peer: string;
  readonly log: ((line: string) => void) | undefined;
  /** Seconds each phase took, for reports (setup, start:<name>, ...). */
  readonly timings: Record<string, number> = {};

  constructor(opts: LabOptions = {}) {
    this.dir = interopDir();
    this.peer = resolve(this.dir, 'peer.sh');
    this.log = opts.log;
    if (!existsSync(this.peer)) throw new LabError(`interop lab not found: ${this.peer} (set CULVERT_INTEROP_DIR)`);
    if (process.getuid?.() !== 0) throw new LabError('the interop lab needs root');
  }

  private async timed<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[key] = Math.round(performance.now() - t0) / 1000;
      this.log?.(`${key}: ${this.timings[key]} s`);
    }
  }

  /** setup.sh: installs host packages if missing, builds the guest rootfs once (~40 s), else ~0 s. */
  setup(timeoutMs = 15 * 60_000): Promise<RunResult> {
    return this.timed('setup', () => run(resolve(this.dir, 'setup.sh'), [], timeoutMs, this.log));
  }

  /** peer.sh with raw arguments. */
  peerSh(args: string[], timeoutMs = 120_000): Promise<RunResult> {
    return run(this.peer, args, timeoutMs, this.log);
  }

  /** Boot a guest with the given roles; resolves when peer.sh says ready (and, for clients, tunnel up). */
  async start(roles: LabRole[], o: StartOptions = {}): Promise<GuestStarted> {
    const a: string[] = ['start', roles.join(',')];
    const opt = (flag: string, v: string | number | undefined) => {
      if (v !== undefined) a.push(flag, String(v));
    };
    opt('--name', o.name);
    opt('--ip', o.ip);
    opt('--server', o.server);
    opt('--user', o.user);
    opt('--password', o.password);
    opt('--auth', o.auth);
    opt('--mppe', o.mppe);
    opt('--local-tun', o.localTun);
    opt('--pool', o.pool);
    if (o.l2tpKernel !== undefined) a.push('--l2tp-kernel', o.l2tpKernel ? 'yes' : 'no');
    opt('--l2tp-secret', o.l2tpSecret);
    for (const p of o.pppOpts ?? []) a.push('--ppp-opt', p);
    for (const c of o.conf ?? []) a.push('--conf', c);
    if (o.persist) a.push('--persist');
    if (o.noDial) a.push('--no-dial');
    if (o.noWait) a.push('--no-wait');
    opt('--timeout', o.timeout);
    opt('--mem', o.mem);
    const isServer = roles.some((r) => r === 'pptpd' || r === 'xl2tpd-server');
    const name = o.name ?? (isServer ? 'srv' : 'cli');
    const { stdout } = await this.timed(`start:${name}`, () => this.peerSh(a, ((o.timeout ?? 60) + 30) * 1000));
    const boot = /boot=([0-9.]+)s/.exec(stdout);
    const links = [...stdout.matchAll(/iface=(\S+) local=(\S+) remote=(\S+)(?: ipparam=(\S+))?/g)].map((m) => ({
      iface: m[1]!,
      local: m[2]!,
      remote: m[3]!,
      ...(m[4] ? { ipparam: m[4] } : {}),
    }));
    return { name, output: stdout, bootSeconds: boot ? Number(boot[1]) : undefined, links };
  }

  stop(...names: string[]): Promise<RunResult> {
    return this.peerSh(['stop', ...names]);
  }

  /** Stop every guest and delete netns ia-lab. */
  down(): Promise<RunResult> {
    return this.timed('down', () => this.peerSh(['down']));
  }

  waitUp(name: string, o: { count?: number; timeout?: number } = {}): Promise<RunResult> {
    const t = o.timeout ?? 30;
    return this.peerSh(['wait-up', name, '--count', String(o.count ?? 1), '--timeout', String(t)], (t + 10) * 1000);
  }

  dial(name: string, kind?: 'pptp' | 'l2tp'): Promise<RunResult> {
    return this.peerSh(kind ? ['dial', name, kind] : ['dial', name]);
  }

  hangup(name: string, kind?: 'pptp' | 'l2tp'): Promise<RunResult> {
    return this.peerSh(kind ? ['hangup', name, kind] : ['hangup', name]);
  }

  /** Run argv inside guest `name` (through the guest's command channel). */
  exec(name: string, argv: string[], timeoutSec = 30): Promise<RunResult> {
    return this.peerSh(['exec', name, '--timeout', String(timeoutSec), '--', ...argv], (timeoutSec + 10) * 1000);
  }

  async info(name: string): Promise<Record<string, string>> {
    const { stdout } = await this.peerSh(['info', name]);
    return Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /** Run a host program inside netns ia-lab (where our client/server under test lives). */
  nsExec(argv: string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', LAB_NETNS, ...argv], timeoutMs, this.log);
  }

  /** Names of guests that are running now. */
  async running(): Promise<string[]> {
    const { stdout } = await this.peerSh(['status']);
    return [...stdout.matchAll(/^([a-z0-9]+): running/gm)].map((m) => m[1]!);
  }

  /** Wait until no guest runs (another interop run finished), or throw after waitMs. */
  async waitIdle(waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const busy = await this.running();
      if (busy.length === 0) return;
      if (Date.now() > deadline) {
        throw new LabError(`interop lab busy: guests ${busy.join(', ')} still running (peer.sh down stops them)`);
      }
      this.log?.(`waiting for running guests: ${busy.join(', ')}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  /** A guest log file (syslog, pppd-pptpd.log, events, ...), '' if absent. */
  guestLog(name: string, file: string): string {
    try {
      return readFileSync(`${LAB_BASE}/run/${name}/logs/${file}`, 'utf8');
    } catch {
      return '';
    }
  }
}

let active: Lab | undefined;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the test process dies with guests still running: a synchronous down.
  process.on('exit', () => {
    if (!active) return;
    try {
      execFileSync(active.peer, ['down'], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      /* nothing more we can do */
    }
    try {
      if (readFileSync(LOCK_FILE, 'utf8') === String(process.pid)) unlinkSync(LOCK_FILE);
    } catch {
      /* gone */
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => process.exit(130));
  }
}

/**
 * Lock the lab, run setup.sh, call fn, and always tear down (`peer.sh down`).
 * Errors from fn win over teardown errors; a failed teardown alone is thrown.
 */
export async function withLab<T>(fn: (lab: Lab) => Promise<T>, opts: LabOptions = {}): Promise<T> {
  const lab = new Lab(opts);
  const release = await acquireLock(opts.lockWaitMs ?? 10 * 60_000);
  installExitHook();
  active = lab;
  let failed = false;
  try {
    await lab.setup();
    // Guests of someone else's run (a selftest, a manual peer.sh) share the netns:
    // wait for them rather than tearing them down.
    await lab.waitIdle(opts.lockWaitMs ?? 10 * 60_000);
    return await fn(lab);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    try {
      await lab.down();
    } catch (e) {
      if (!failed) throw e;
    } finally {
      active = undefined;
      release();
    }
  }
}

/**
 * Test helpers: network namespaces (addresses only in 198.18.0.0/15), a culvert daemon
 * started as a real process inside one, and a control-socket client. Everything made is
 * removed again, also when a test fails.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient, type Reply } from '../../src/cli/client.js';

/** Repository root (tests run from dist/test/...). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MAIN_JS = path.join(ROOT, 'dist/src/cli/main.js');
export const BIN = path.join(ROOT, 'bin/culvert');

let seq = 0;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

export class Netns {
  readonly name: string;
  constructor() {
    this.name = `cvmg${process.pid % 100000}x${seq++}`;
    ip('netns', 'add', this.name);
    ip('-n', this.name, 'link', 'set', 'lo', 'up');
  }
  /** A veth pair inside the namespace, both up (so both show R). */
  vethPair(a: string, macA: string, b: string, macB: string): void {
    // The peer is registered first, so it gets the lower ifindex: make `a` the peer so it lists first.
    ip('-n', this.name, 'link', 'add', b, 'address', macB, 'type', 'veth', 'peer', 'name', a, 'address', macA);
    ip('-n', this.name, 'link', 'set', a, 'up');
    ip('-n', this.name, 'link', 'set', b, 'up');
  }
  exec(...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...args], { encoding: 'utf8' });
  }
  remove(): void {
    try {
      ip('netns', 'del', this.name);
    } catch {
      // already gone
    }
  }
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'culvert-mgmt-'));
}

export interface DaemonProc {
  proc: ChildProcess;
  dataDir: string;
  socket: string;
  stderr(): string;
  restPort?: number;
  client(): Promise<TestClient>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function canConnect(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export interface StartOptions {
  netns?: Netns;
  dataDir?: string;
  socket?: string;
  restPort?: number;
  /** Expect the daemon to exit by itself (refusing to start). */
  expectExit?: boolean;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) if (p.exitCode === null && p.pid) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
});

export async function startDaemon(o: StartOptions = {}): Promise<DaemonProc> {
  const base = tmpDir();
  const dataDir = o.dataDir ?? path.join(base, 'data');
  const socket = o.socket ?? path.join(base, 'run', 'culvert.sock');
  const args = [MAIN_JS, 'daemon', '--data-dir', dataDir, '--socket', socket];
  if (o.restPort !== undefined) args.push('--rest-port', String(o.restPort));
  const proc = o.netns
    ? spawn('ip', ['netns', 'exec', o.netns.name, process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => { running.delete(proc); resolve(code); }));
  let exitedFlag = false;
  void exited.then(() => { exitedFlag = true; });
  if (o.expectExit) {
    await exited;
  } else {
    await waitFor(async () => exitedFlag || (fs.existsSync(socket) && (await canConnect(socket))), 15000, 'daemon socket');
    if (exitedFlag) throw new Error(`daemon exited early: ${err}`);
  }
  let restPort: number | undefined;
  if (o.restPort !== undefined && !o.expectExit) {
    await waitFor(() => /REST API on http:\/\/[0-9.]+:\d+/.test(err), 5000, 'REST port');
    restPort = Number(/REST API on http:\/\/[0-9.]+:(\d+)/.exec(err)![1]);
  }
  const d: DaemonProc = {
    proc,
    dataDir,
    socket,
    restPort,
    exited,
    stderr: () => err,
    client: async () => new TestClient(await ControlClient.connect(socket)),
    stop: async () => {
      if (proc.exitCode === null && proc.pid) proc.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (proc.exitCode === null && proc.pid) proc.kill('SIGKILL');
      await exited;
    },
  };
  return d;
}

/** A console session over the control socket. */
export class TestClient {
  readonly c: ControlClient;
  cwd = '/';
  constructor(c: ControlClient) {
    this.c = c;
  }
  async run(cmd: string): Promise<Reply> {
    const r = await this.c.run(cmd);
    if (r.cwd) this.cwd = r.cwd;
    return r;
  }
  /** Run and require success; returns the output. */
  async ok(cmd: string): Promise<string> {
    const r = await this.run(cmd);
    if (!r.ok) throw new Error(`command failed: ${cmd}\n${r.error}`);
    return r.output ?? '';
  }
  close(): void {
    this.c.close();
  }
}

const FETCH_JS = `
const [method, url, token, body] = process.argv.slice(1);
fetch(url, { method, headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: body === '' ? undefined : body })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() })))
  .catch((e) => { process.stdout.write(JSON.stringify({ status: 0, text: String(e) })); });
`;

/** An HTTP request made from inside the namespace (the REST API listens on the namespace's 127.0.0.1). */
export function nsFetch(ns: Netns, method: string, url: string, token: string, body?: unknown): { status: number; text: string } {
  const out = execFileSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', FETCH_JS, method, url, token, body === undefined ? '' : JSON.stringify(body)], { encoding: 'utf8' });
  return JSON.parse(out) as { status: number; text: string };
}

/** Compare console texts token by token (seed printouts are wrapped and spaced differently). */
export function tokens(s: string): string[] {
  return s.split(/\s+/).filter((t) => t !== '');
}

/**
 * Test helper: two network namespaces joined by a veth pair (198.18.0.1/24 in "a",
 * 198.18.0.2/24 in "b"), and node children started inside them with
 * `ip netns exec NS node ...`, spoken to with JSON lines on stdin/stdout.
 * destroy() ends the children it started (by PID) and deletes the namespaces; call
 * it from a finally block / after() so a failing test leaves nothing behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

let seq = 0;

export function ip(args: string[], ns?: string): string {
  const argv = ns ? ['-n', ns, ...args] : args;
  return execFileSync('ip', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function nsExec(ns: string, cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class Child {
  private readonly waiters = new Map<number, (v: Record<string, unknown>) => void>();
  private nextId = 1;
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(readonly proc: ChildProcess) {
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (l) => {
      let v: Record<string, unknown>;
      try { v = JSON.parse(l) as Record<string, unknown>; } catch { return; }
      const w = this.waiters.get(v.rid as number);
      if (w) { this.waiters.delete(v.rid as number); w(v); }
    });
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((res) => proc.on('exit', (code) => res(code)));
  }

  /** Sends a command, resolves with the child's reply (matched by id); rejects on error reply, exit or timeout. */
  async call(cmd: Record<string, unknown>, timeoutMs = 15000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const v = await new Promise<Record<string, unknown>>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no reply to ${String(cmd.cmd)} in ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.set(id, (x) => { clearTimeout(t); res(x); });
      void this.exited.then((c) => { clearTimeout(t); rej(new Error(`child exited (${c}) during ${String(cmd.cmd)}; stderr: ${this.stderr}`)); });
      this.proc.stdin!.write(JSON.stringify({ ...cmd, rid: id }) + '\n');
    });
    if (v.error) throw new Error(`${cmd.cmd}: ${String(v.error)}`);
    return v;
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}

export class NetnsPair {
  readonly a: string;
  readonly b: string;
  private readonly children: Child[] = [];

  private constructor(tag: string) {
    const id = `${process.pid}-${++seq}-${Math.floor(Math.random() * 1e6)}`;
    this.a = `cvt-${tag}-${id}-a`;
    this.b = `cvt-${tag}-${id}-b`;
  }

  static create(tag: string): NetnsPair {
    const p = new NetnsPair(tag);
    try {
      ip(['netns', 'add', p.a]);
      ip(['netns', 'add', p.b]);
      ip(['link', 'set', 'lo', 'up'], p.a);
      ip(['link', 'set', 'lo', 'up'], p.b);
      ip(['link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', p.b], p.a);
      ip(['addr', 'add', '198.18.0.1/24', 'dev', 'veth0'], p.a);
      ip(['addr', 'add', '198.18.0.2/24', 'dev', 'veth0'], p.b);
      ip(['link', 'set', 'veth0', 'up'], p.a);
      ip(['link', 'set', 'veth0', 'up'], p.b);
    } catch (e) {
      p.destroy();
      throw e;
    }
    return p;
  }

  /** Runs `node script args...` inside namespace `ns`. */
  spawn(ns: string, script: string, args: string[] = [], env: Record<string, string> = {}): Child {
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const c = new Child(proc);
    this.children.push(c);
    return c;
  }

  destroy(): void {
    for (const c of this.children) c.kill();
    for (const ns of [this.a, this.b]) {
      try { ip(['netns', 'del', ns]); } catch { /* never created */ }
    }
  }
}

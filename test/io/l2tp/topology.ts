/**
 * Test helper for the L2TP end-to-end tests: one network namespace per machine of a seed
 * drawing, veth links between them (interface names as in the seed: ether1, ether2),
 * addresses only in 198.18.0.0/15, and culvert daemons started inside. destroy() stops
 * the daemons (SIGTERM, then SIGKILL by PID) and deletes every namespace it made.
 */
import { execFileSync } from 'node:child_process';
import { startDaemon, waitFor, type DaemonProc, type TestClient } from '../../mgmt/helpers.js';

let seq = 0;

export function sh(args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class Machine {
  daemon: DaemonProc | undefined;
  console: TestClient | undefined;
  constructor(readonly name: string, readonly ns: string) {}
  ip(...args: string[]): string {
    return sh(['ip', '-n', this.ns, ...args]);
  }
  exec(...args: string[]): string {
    return sh(['ip', 'netns', 'exec', this.ns, ...args]);
  }
  /** Run a console command; fails the test on error. */
  async cmd(line: string): Promise<string> {
    return this.console!.ok(line);
  }
  forwarding(): void {
    this.exec('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  }
  /** ping -c n; returns how many answers came back. */
  ping(dst: string, n = 3, extra: string[] = []): number {
    try {
      const out = this.exec('ping', '-n', '-c', String(n), '-i', '0.2', '-W', '2', ...extra, dst);
      return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    } catch (e) {
      return Number(/(\d+) received/.exec(String((e as { stdout?: string }).stdout ?? ''))?.[1] ?? 0);
    }
  }
}

export class Topology {
  readonly machines = new Map<string, Machine>();
  private readonly tag: string;

  constructor(tag: string) {
    this.tag = `l2e${tag}${process.pid % 10000}x${seq++}`;
  }

  machine(name: string): Machine {
    let m = this.machines.get(name);
    if (!m) {
      const ns = `${this.tag}-${name}`;
      sh(['ip', 'netns', 'add', ns]);
      m = new Machine(name, ns);
      this.machines.set(name, m);
      m.ip('link', 'set', 'lo', 'up');
    }
    return m;
  }

  /** A veth between a:ifA and b:ifB with addresses (CIDR), both up. */
  link(a: Machine, ifA: string, addrA: string | undefined, b: Machine, ifB: string, addrB: string | undefined): void {
    const tmp = `v${seq++}x${process.pid % 100000}`;
    a.ip('link', 'add', ifA, 'type', 'veth', 'peer', 'name', tmp);
    a.ip('link', 'set', tmp, 'netns', b.ns);
    b.ip('link', 'set', tmp, 'name', ifB);
    if (addrA) a.ip('addr', 'add', addrA, 'dev', ifA);
    if (addrB) b.ip('addr', 'add', addrB, 'dev', ifB);
    a.ip('link', 'set', ifA, 'up');
    b.ip('link', 'set', ifB, 'up');
  }

  async daemon(m: Machine, restPort?: number): Promise<Machine> {
    m.daemon = await startDaemon({ netns: { name: m.ns } as never, restPort });
    m.console = await m.daemon.client();
    return m;
  }

  async destroy(): Promise<void> {
    for (const m of this.machines.values()) {
      m.console?.close();
      if (m.daemon) {
        const d = m.daemon;
        const t = setTimeout(() => void d.kill9(), 8000);
        await d.stop();
        clearTimeout(t);
      }
    }
    for (const m of this.machines.values()) {
      try {
        sh(['ip', 'netns', 'del', m.ns]);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Poll a console command until its output matches. */
export async function waitOutput(m: Machine, cmd: string, re: RegExp, ms = 20000): Promise<string> {
  let last = '';
  try {
    await waitFor(async () => {
      last = await m.cmd(cmd);
      return re.test(last);
    }, ms, `${m.name}: ${cmd} =~ ${re}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast output:\n${last}\ndaemon log:\n${m.daemon?.stderr().slice(-3000)}`);
  }
  return last;
}

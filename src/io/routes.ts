/**
 * Routes and proxy-ARP a tunnel installs, and takes away again when it goes down.
 *
 * A RouteSet remembers each route it added (and each proxy_arp value it changed) and
 * undo() reverses them in reverse order. A route that already existed ("File exists")
 * is left alone and not remembered, so undo() never removes what it did not add.
 * Everything runs `ip` / `sysctl` with an argv array (execFile): no shell, nothing
 * built from user input as a command line.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ConfigError, IoError } from '../errors.js';
import { ipv4ToU32 } from './ipv4.js';

const run = promisify(execFile);

export interface Route {
  /** a.b.c.d/len, a.b.c.d (a host route) or "default". */
  dst: string;
  gateway?: string;
  dev?: string;
  /** RouterOS distance; the kernel's metric. */
  metric?: number;
}

const IFNAME = /^[A-Za-z0-9_.:<>-]{1,15}$/;

function checkAddr(s: string, what: string): void {
  ipv4ToU32(s); // throws ConfigError with the value in the message
  void what;
}

/** Normalises and validates a destination: "default", "a.b.c.d" (-> /32) or "a.b.c.d/len". */
function normDst(dst: string): string {
  if (dst === 'default' || dst === '0.0.0.0/0') return 'default';
  const [a, len, extra] = dst.split('/');
  if (extra !== undefined) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `route destination "${dst}" is not a.b.c.d/len`);
  checkAddr(a, 'destination');
  if (len === undefined) return `${a}/32`;
  if (!/^\d{1,2}$/.test(len) || Number(len) > 32) {
    throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `route destination "${dst}": prefix length must be 0..32`);
  }
  return `${a}/${Number(len)}`;
}

function routeArgs(r: Route): string[] {
  const a = [normDst(r.dst)];
  if (r.gateway !== undefined) { checkAddr(r.gateway, 'gateway'); a.push('via', r.gateway); }
  if (r.dev !== undefined) {
    if (!IFNAME.test(r.dev)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `interface "${r.dev}" is not a valid interface name`);
    a.push('dev', r.dev);
  }
  if (r.metric !== undefined) {
    if (!Number.isInteger(r.metric) || r.metric < 0 || r.metric > 0xffffffff) {
      throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `route metric ${r.metric} must be an integer 0..4294967295`);
    }
    a.push('metric', String(r.metric));
  }
  if (r.gateway === undefined && r.dev === undefined) {
    throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `route to ${r.dst} needs a gateway or an interface`);
  }
  return a;
}

/**
 * Parses a PPP secret's RouterOS `routes=` value: comma-separated "dst [gateway [metric]]",
 * e.g. "10.150.1.0/24 10.0.103.2 1,10.150.2.0/24". A route without a gateway goes via
 * the session's interface (`dev`) or, when given, the peer's tunnel address (`peer`).
 */
export function parseRoutes(spec: string, dflt: { dev?: string; peer?: string } = {}): Route[] {
  const out: Route[] = [];
  for (const part of spec.split(',')) {
    const f = part.trim().split(/\s+/).filter((x) => x.length > 0);
    if (f.length === 0) continue;
    if (f.length > 3) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `routes entry "${part.trim()}" must be "dst [gateway [metric]]"`);
    const [dst, gw, metric] = f;
    normDst(dst);
    const r: Route = { dst };
    if (gw !== undefined) { checkAddr(gw, 'gateway'); r.gateway = gw; } else if (dflt.peer) r.gateway = dflt.peer;
    if (dflt.dev) r.dev = dflt.dev;
    if (metric !== undefined) {
      if (!/^\d+$/.test(metric)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `routes entry "${part.trim()}": metric must be a number`);
      r.metric = Number(metric);
    }
    if (r.gateway === undefined && r.dev === undefined) {
      throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `routes entry "${part.trim()}" has no gateway and no interface to use`);
    }
    out.push(r);
  }
  return out;
}

export interface RouteSetOptions {
  /** Run in this network namespace (`ip -n`, `ip netns exec`); for tests and netns deployments. */
  netns?: string;
}

type Undo = { kind: 'route'; args: string[] } | { kind: 'sysctl'; key: string; value: string };

export class RouteSet {
  private readonly undos: Undo[] = [];
  private readonly netns: string | undefined;

  constructor(opts: RouteSetOptions = {}) {
    this.netns = opts.netns;
  }

  private async ip(args: string[]): Promise<string> {
    const argv = this.netns ? ['-n', this.netns, ...args] : args;
    try {
      return (await run('ip', argv, { encoding: 'utf8' })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const msg = (err.stderr ?? err.message).trim();
      throw new IoError(/File exists/.test(msg) ? 'IO_ERR_ROUTE_EXISTS' : /Operation not permitted/.test(msg) ? 'IO_ERR_NO_CAPABILITY' : 'IO_ERR_ROUTE',
        `ip ${args.join(' ')}: ${msg}`, { cause: e });
    }
  }

  /** Adds a route and remembers it. Returns false (and remembers nothing) if it already existed. */
  async add(r: Route): Promise<boolean> {
    const args = routeArgs(r);
    try {
      await this.ip(['route', 'add', ...args]);
    } catch (e) {
      if ((e as IoError).code === 'IO_ERR_ROUTE_EXISTS') return false;
      throw e;
    }
    this.undos.push({ kind: 'route', args });
    return true;
  }

  /** A default route through `dev` (or `gateway`) with RouterOS default-route-distance as metric. */
  async addDefault(opts: { dev?: string; gateway?: string; distance?: number }): Promise<boolean> {
    return this.add({ dst: 'default', dev: opts.dev, gateway: opts.gateway, metric: opts.distance ?? 1 });
  }

  /**
   * pptp(8) ROUTING: before the default route moves into the tunnel, pin a host route
   * to the server via the gateway currently used to reach it, so tunnel packets do not
   * loop into the tunnel. `nohostroute` (--nohostroute) skips it. Returns the route or
   * undefined when skipped, or when the server is reached without a gateway (on-link).
   */
  async addServerHostRoute(server: string, opts: { nohostroute?: boolean } = {}): Promise<Route | undefined> {
    checkAddr(server, 'server');
    if (opts.nohostroute) return undefined;
    const out = await this.ip(['-o', 'route', 'get', server]);
    const via = /\bvia (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
    const dev = /\bdev (\S+)/.exec(out)?.[1];
    if (!via) return undefined;
    const r: Route = { dst: `${server}/32`, gateway: via, dev };
    await this.add(r);
    return r;
  }

  private async readSysctl(key: string): Promise<string> {
    if (this.netns) return (await run('ip', ['netns', 'exec', this.netns, 'sysctl', '-n', key], { encoding: 'utf8' })).stdout.trim();
    return (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
  }

  private async writeSysctl(key: string, value: string): Promise<void> {
    try {
      if (this.netns) await run('ip', ['netns', 'exec', this.netns, 'sysctl', '-q', '-w', `${key}=${value}`]);
      else await writeFile(`/proc/sys/${key}`, value);
    } catch (e) {
      throw new IoError('IO_ERR_SYSCTL', `cannot set ${key} to ${value}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Turns proxy-ARP on (or off) on `ifname` (RouterOS arp=proxy-arp); undo() restores the old value. */
  async setProxyArp(ifname: string, on = true): Promise<void> {
    if (!IFNAME.test(ifname)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `interface "${ifname}" is not a valid interface name`);
    // sysctl's slash form keeps a dotted VLAN name (eth0.100) one path element.
    const key = `net/ipv4/conf/${ifname}/proxy_arp`;
    const before = await this.readSysctl(key);
    const want = on ? '1' : '0';
    if (before === want) return;
    await this.writeSysctl(key, want);
    this.undos.push({ kind: 'sysctl', key, value: before });
  }

  /** How many changes undo() would reverse. */
  get size(): number { return this.undos.length; }

  /**
   * Reverses everything, newest first. A route already gone (the interface went down
   * and took it along) is fine; other failures are collected and thrown at the end,
   * after every undo was tried.
   */
  async undo(): Promise<void> {
    const errors: unknown[] = [];
    while (this.undos.length) {
      const u = this.undos.pop()!;
      try {
        if (u.kind === 'route') await this.ip(['route', 'del', ...u.args]);
        else await this.writeSysctl(u.key, u.value);
      } catch (e) {
        const msg = (e as Error).message;
        if (u.kind === 'route' && /No such process|Cannot find device|No such device/.test(msg)) continue;
        errors.push(e);
      }
    }
    if (errors.length) throw new IoError('IO_ERR_ROUTE', `could not undo ${errors.length} change(s): ${errors.map((e) => (e as Error).message).join('; ')}`);
  }
}

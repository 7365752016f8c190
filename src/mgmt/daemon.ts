/**
 * The culvert daemon: loads the store, serves the console over a unix socket
 * (newline-delimited JSON: {"cmd": "..."} -> {"ok":true,"output":"...","cwd":"..."} or
 * {"ok":false,"error":"...","code":"..."}; {"complete":"..."} -> {"ok":true,"completions":[]}),
 * optionally the REST API on 127.0.0.1, and holds the RuntimeRegistry the tunnel
 * runtimes plug into. SIGTERM tears everything down and exits 0.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type * as http from 'node:http';
import { ConfigError, CulvertError, IoError } from '../errors.js';
import { Engine, newSession } from './engine.js';
import type { Host } from './host.js';
import { makeView } from './model.js';
import { MetricsRegistry } from './metrics.js';
import { RuntimeRegistry } from './runtime.js';
import { createRestServer } from './rest.js';
import { SessionResolver } from './session.js';
import { ConfigStore, STORE_FILE } from './store.js';
import { MENUS } from './schema.js';
import type { Logger } from './log.js';
import type { RuntimeFactory } from './runtimes.js';

export const DEFAULT_DATA_DIR = '/var/lib/culvert';
export const DEFAULT_SOCKET = '/run/culvert/culvert.sock';
export const TOKEN_FILE = 'rest-token';
/** Longest control request line; a console line is far shorter. */
const MAX_REQUEST = 1 << 20;

export interface DaemonOptions {
  dataDir: string;
  socketPath: string;
  /** 0 or undefined: REST API off; -1: any free port (tests). */
  restPort?: number;
  restAddress?: string;
  host: Host;
  log: Logger;
  /** Runtimes to register before start (default: RUNTIME_FACTORIES from runtimes.ts). */
  runtimes?: readonly RuntimeFactory[];
}

export class Daemon {
  readonly store: ConfigStore;
  readonly runtimes = new RuntimeRegistry();
  readonly metrics = new MetricsRegistry();
  readonly engine: Engine;
  /** The pure resolver the tunnel servers call when a user connects. */
  readonly resolver: SessionResolver;
  readonly opts: DaemonOptions;
  private socketServer?: net.Server;
  private restServer?: http.Server;
  private readonly conns = new Set<net.Socket>();
  private changes = 0;
  private reapply?: NodeJS.Timeout;
  private stopping?: Promise<void>;

  constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.store = new ConfigStore(opts.dataDir);
    this.store.ensureDir();
    const data = this.store.load(); // throws on a corrupt store: the caller refuses to start
    this.engine = new Engine(data, {
      host: opts.host,
      runtimes: this.runtimes,
      persist: (cfg) => {
        this.store.save(cfg);
        this.changes++;
      },
      readFile: (name) => fs.readFileSync(this.dataFile(name), 'utf8'),
      writeFile: (name, text) => fs.writeFileSync(this.dataFile(name), text, { mode: 0o600 }),
      log: (level, msg) => opts.log(level, msg),
    });
    // A store edited by hand may parse yet break a cross-menu rule (a secret naming a removed profile).
    try {
      this.engine.validateAll(data);
    } catch (e) {
      throw new ConfigError('CONFIG_ERR_CORRUPT_STORE', `corrupt configuration store ${this.store.file}: ${(e as Error).message}; the last good version is in ${this.store.backup}`);
    }
    this.resolver = new SessionResolver(() => makeView(this.engine.data, { frozen: true }));
    this.runtimes.register({
      name: 'pools',
      dynamicItems: (menu) =>
        menu === '/ip pool used' ? this.resolver.pools.leases().map((l) => ({ key: `${l.pool}/${l.address}`, values: { pool: l.pool, address: l.address, owner: l.owner } })) : undefined,
    });
    this.metrics.addCollector((sink) => {
      sink.add('culvert_up', {}, 1);
      sink.add('culvert_config_changes_total', {}, this.changes);
      // Sessions up per service, from the /ppp active rows the runtimes report.
      const perService = new Map<string, number>();
      for (const a of this.runtimes.dynamicItems('/ppp active')) perService.set(a.values.service ?? '', (perService.get(a.values.service ?? '') ?? 0) + 1);
      for (const [service, n] of perService) sink.add('culvert_server_sessions', { service }, n);
      for (const rt of this.runtimes.all) rt.collectMetrics?.(sink);
    });
  }

  /** `/import file=` and `/export file=` name files in the data directory, never elsewhere. */
  private dataFile(name: string): string {
    const root = path.resolve(this.opts.dataDir);
    const p = path.resolve(root, name);
    if (path.dirname(p) !== root || name.includes('/') || name === STORE_FILE || name.startsWith(STORE_FILE + '.') || name === TOKEN_FILE) {
      throw new ConfigError('CONFIG_ERR_FILE_NAME', `invalid value for argument file: must be a file name in ${root} (no "/"), not the store or token`);
    }
    return p;
  }

  /** The REST bearer token: created (0600) on first start. */
  token(): string {
    const file = path.join(this.opts.dataDir, TOKEN_FILE);
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      const t = randomBytes(24).toString('hex');
      fs.writeFileSync(file, t + '\n', { mode: 0o600, flag: 'wx' });
      return t;
    }
  }

  async start(): Promise<void> {
    const log = this.opts.log;
    const token = this.token();
    // Tunnel runtimes are loaded so that a broken one leaves the console (and the others) working.
    let factories = this.opts.runtimes;
    if (!factories) {
      try {
        factories = (await import('./runtimes.js')).RUNTIME_FACTORIES;
      } catch (e) {
        log('error', `tunnel runtimes could not be loaded, only the console runs: ${(e as Error).message}`);
        factories = [];
      }
    }
    for (const f of factories) {
      try {
        const rt = await f(this);
        this.runtimes.register(rt);
        log('info', `runtime ${rt.name} registered`);
      } catch (e) {
        log('error', `a tunnel runtime failed to start: ${(e as Error).message}`);
      }
    }
    // Tell runtimes and the host about the loaded configuration.
    const view = makeView(this.engine.data);
    this.runtimes.notify(view, new Set(MENUS.map((m) => m.path)), (rt, e) => log('error', `runtime ${rt.name}: ${(e as Error).message}`));
    await this.opts.host.apply(view).catch((e) => log('warn', (e as Error).message));
    for (const it of this.engine.data.lists['/interface ethernet']?.items ?? []) {
      if (it.values.arp) await this.opts.host.setArp(it.values.name, it.values.arp).catch((e) => log('warn', (e as Error).message));
    }
    await this.listenSocket();
    if (this.opts.restPort !== undefined && this.opts.restPort !== 0) {
      const srv = createRestServer({ engine: this.engine, metrics: this.metrics, token, log });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(Math.max(0, this.opts.restPort ?? 0), this.opts.restAddress ?? '127.0.0.1', () => resolve());
      });
      this.restServer = srv;
      const a = srv.address() as AddressInfo;
      log('info', `REST API on http://${a.address}:${a.port}/rest (bearer token in ${path.join(this.opts.dataDir, TOKEN_FILE)})`);
    }
    // Addresses/routes whose interface or gateway is not there yet are retried.
    this.reapply = setInterval(() => {
      const h = this.opts.host as Host & { pending?: boolean };
      if (h.pending) void this.opts.host.apply(makeView(this.engine.data)).catch(() => undefined);
    }, 3000);
    this.reapply.unref();
    log('info', `started: data in ${this.opts.dataDir}, console socket ${this.opts.socketPath}`);
  }

  /**
   * Re-apply /ip address and /ip route now: runtimes call this when a tunnel interface
   * appears or goes away (a route with gateway=pptp-out1 becomes installable).
   */
  reapplyHost(): Promise<void> {
    return this.opts.host.apply(makeView(this.engine.data)).catch((e) => this.opts.log('warn', (e as Error).message));
  }

  get log(): Logger {
    return this.opts.log;
  }

  get restPort(): number | undefined {
    return (this.restServer?.address() as AddressInfo | null)?.port;
  }

  private async listenSocket(): Promise<void> {
    const sock = this.opts.socketPath;
    const dir = path.dirname(sock);
    if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (fs.existsSync(sock)) {
      // A stale socket from a killed daemon is removed; a live one means another daemon runs.
      const alive = await new Promise<boolean>((resolve) => {
        const c = net.connect(sock);
        c.once('connect', () => { c.destroy(); resolve(true); });
        c.once('error', () => resolve(false));
      });
      if (alive) throw new IoError('IO_ERR_SOCKET_IN_USE', `another culvert daemon is listening on ${sock}`);
      fs.rmSync(sock, { force: true });
    }
    const srv = net.createServer((c) => this.serve(c));
    const old = process.umask(0o177); // the socket is created 0600, no window where it is wider
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(sock, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    fs.chmodSync(sock, 0o600);
    this.socketServer = srv;
  }

  private serve(c: net.Socket): void {
    this.conns.add(c);
    const session = newSession();
    let buf = '';
    let chain = Promise.resolve();
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST && !buf.includes('\n')) {
        c.end(JSON.stringify({ ok: false, error: 'request too long', code: 'CONSOLE_ERR_TOO_LONG' }) + '\n');
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        chain = chain.then(() => this.handle(line, session)).then((resp) => {
          if (!c.destroyed) c.write(JSON.stringify(resp) + '\n');
        });
      }
    });
    c.on('error', () => undefined);
    c.on('close', () => this.conns.delete(c));
  }

  private async handle(line: string, session: ReturnType<typeof newSession>): Promise<Record<string, unknown>> {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line);
      if (typeof req !== 'object' || req === null) throw new Error('not an object');
    } catch {
      return { ok: false, error: 'bad request: expected one JSON object per line', code: 'CONSOLE_ERR_PROTOCOL' };
    }
    if (typeof req.cwd === 'string' && req.cwd.startsWith('/')) session.cwd = req.cwd;
    try {
      if (typeof req.complete === 'string') return { ok: true, completions: this.engine.complete(req.complete, session.cwd), cwd: session.cwd };
      if (typeof req.cmd !== 'string') return { ok: false, error: 'bad request: missing cmd', code: 'CONSOLE_ERR_PROTOCOL' };
      const r = await this.engine.run(req.cmd, session);
      return { ok: true, output: r.output, cwd: session.cwd, ...(r.ret !== undefined ? { ret: r.ret } : {}) };
    } catch (e) {
      if (e instanceof CulvertError) return { ok: false, error: e.message, code: e.code, cwd: session.cwd };
      this.opts.log('error', `internal error: ${(e as Error).stack ?? e}`);
      return { ok: false, error: `internal error: ${(e as Error).message}`, code: 'CONSOLE_ERR_INTERNAL', cwd: session.cwd };
    }
  }

  /** Stop serving, tear down tunnels (runtimes), remove installed routes/addresses. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.opts.log;
      log('info', 'stopping: tearing down tunnels, routes and addresses');
      if (this.reapply) clearInterval(this.reapply);
      this.socketServer?.close();
      this.restServer?.close();
      this.restServer?.closeAllConnections?.();
      for (const c of this.conns) c.destroy();
      await this.runtimes.stopAll((rt, e) => log('error', `runtime ${rt.name} stop: ${(e as Error).message}`));
      await this.opts.host.teardown().catch((e) => log('warn', (e as Error).message));
      fs.rmSync(this.opts.socketPath, { force: true });
      log('info', 'stopped');
    })();
    return this.stopping;
  }
}

/**
 * The PPTP runtime: what `/interface pptp-client` and `/interface pptp-server` mean on a
 * real Linux host. Registered in src/mgmt/runtimes.ts.
 *
 * Client (one per enabled `/interface pptp-client` entry): the TUN `pptp-out1` exists while
 * the entry is enabled; a connection attempt dials, and when it ends the runtime redials
 * after 1, 2, 4 ... 60 s (reset once a connection came up). With dial-on-demand the TUN
 * carries a placeholder address from 10.112.112.0/24 (seed 000) and the first packet read
 * from it dials. disable/remove hangs up (full RFC 2637 teardown) and deletes the TUN.
 *
 * Server (`/interface pptp-server server set enabled=yes`): listens on TCP 1723 (address
 * from CULVERT_PPTP_LISTEN, default any); each authenticated user gets `<pptp-USER>` (flag D)
 * or the static `/interface pptp-server` entry whose user= matches; `/ppp active` lists
 * the calls, `/ppp active remove` hangs one up. Settings changes apply to new calls.
 *
 * pptp(8) options (culvert extensions of the menus, see schema.ts): reorder-timeout,
 * reorder-buffer, echo-idle-wait, echo-max-wait on both sides; the client also has
 * add-host-route, routing-mark (TCP and GRE), src-address, phone-number and the send-order
 * tests reorder-test-type / reorder-test-rate. Without routing-mark /
 * src-address the environment's CULVERT_PPTP_RTMARK (SO_MARK on TCP and GRE) and
 * CULVERT_PPTP_CLIENT_ADDRESS (binds TCP and GRE) still apply. `monitor` adds the pptp(8)
 * STATISTICS of the call's GRE session (gre-rx-accepted ... gre-rtt), and SIGUSR1 logs
 * them for every call, one line each, as pptp(8) does.
 */
import type { Daemon } from '../../mgmt/daemon.js';
import type { ConfigView, DynamicItem, ItemView, Runtime } from '../../mgmt/runtime.js';
import type { MetricsSink } from '../../mgmt/metrics.js';
import type { PppConfig } from '../../protocol/pptp/index.js';
import { PppInterface, type PppRouteOptions } from '../ppp-interface.js';
import { PptpClientConnection } from '../pptp/client.js';
import { PptpServerAdapter, type ServerSession } from '../pptp/server.js';
import type { GreStats, ReorderTestType } from '../../protocol/pptp/gre-session.js';
import type { GreTuning } from '../../protocol/pptp/call.js';
import type { LinkStats } from '../../protocol/ppp/link.js';
import { TunnelClientEntry, type RuntimeLog } from './client-entry.js';
import { ACTIVE_MENU, TunnelRuntime } from './tunnel-runtime.js';
import { intOrUndefined } from './common.js';
import {
  activeRows, clientPpp, clientSignature, closedCallMetrics, findServerSession, resolveServerSession, serverInterfaceFor,
  serverInterfaceRows, serverPpp, tunnelMetrics, type TunnelLabels,
} from './server-common.js';

const CLIENT_MENU = '/interface pptp-client';
const SERVER_MENU = '/interface pptp-server';
const SERVER_SETTINGS = '/interface pptp-server server';

const MS_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Canonical schema time (`300ms`, `1s500ms`, `1m`; plain number = seconds) -> ms. */
export function msOf(v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  let total = 0;
  let any = false;
  for (const m of v.matchAll(/(\d+)(ms|w|d|h|m|s)/g)) {
    any = true;
    total += Number(m[1]) * MS_UNITS[m[2]];
  }
  return any ? total : dflt;
}

/** pptp(8) --timeout, --nobuffer, --idle-wait, --max-echo-wait from a client entry or the server settings. */
export function pptpTuning(v: Readonly<Record<string, string>>): { gre: GreTuning; echo: { idleWaitMs: number; maxEchoWaitMs: number } } {
  return {
    gre: { reorderTimeoutMs: msOf(v['reorder-timeout'], 300), nobuffer: v['reorder-buffer'] === 'no' },
    echo: { idleWaitMs: msOf(v['echo-idle-wait'], 60_000), maxEchoWaitMs: msOf(v['echo-max-wait'], 60_000) },
  };
}

/** pptp(8) --test-type / --test-rate of a client entry (the send-order tests; off by default). */
export function reorderTest(v: Readonly<Record<string, string>>): Pick<GreTuning, 'reorderTestType' | 'reorderTestRate'> {
  return {
    reorderTestType: (intOrUndefined(v['reorder-test-type']) ?? 0) as ReorderTestType,
    reorderTestRate: intOrUndefined(v['reorder-test-rate']) ?? 100,
  };
}

/** pptp(8) STATISTICS as `monitor` shows them (names: schema.ts PPTP_GRE_MONITOR). */
export function greMonitor(g: GreStats): Record<string, string> {
  return {
    'gre-rx-accepted': String(g.rx.accepted),
    'gre-rx-lost': String(g.rx.lost),
    'gre-rx-under-win': String(g.rx.underWin),
    'gre-rx-over-win': String(g.rx.overWin),
    'gre-rx-buffered': String(g.rx.buffered),
    'gre-rx-errors': String(g.rx.errors),
    'gre-rx-truncated': String(g.rx.truncated),
    'gre-rx-invalid': String(g.rx.invalid),
    'gre-rx-acks': String(g.rx.acks),
    'gre-tx-sent': String(g.tx.sent),
    'gre-tx-failed': String(g.tx.failed),
    'gre-tx-short': String(g.tx.short),
    'gre-tx-acks': String(g.tx.acks),
    'gre-tx-oversize': String(g.tx.oversize),
    'gre-rtt': `${Math.round(g.rttMs)}ms`,
  };
}

/** One SIGUSR1 log line's counters: `gre-rx-accepted=12 ... gre-rtt=3ms`. */
function greLine(g: GreStats): string {
  return Object.entries(greMonitor(g)).map(([k, v]) => `${k}=${v}`).join(' ');
}

class PptpClientEntry extends TunnelClientEntry<PptpClientConnection> {
  get running(): boolean { return (this.conn?.connected ?? false) && this.status === 'connected'; }

  protected override routeOptions(): Partial<PppRouteOptions> {
    return { nohostroute: this.values['add-host-route'] === 'no' };
  }

  /** The GRE counters of the current call, while it has a GRE session. */
  get gre(): GreStats | undefined {
    return this.conn?.stats.gre;
  }

  override monitor(): Record<string, string> {
    const m = super.monitor();
    const g = this.gre;
    return g ? { ...m, ...greMonitor(g) } : m;
  }

  private pppConfig(): PppConfig {
    return clientPpp(this.values, this.rt.view?.list('/ppp profile') ?? []);
  }

  dial(): void {
    if (this.stopping || this.conn || !this.iface) return;
    const v = this.values;
    this.status = 'dialing';
    this.reason = undefined;
    const t = pptpTuning(v);
    const conn = new PptpClientConnection({
      connectTo: v['connect-to'],
      ppp: this.pppConfig(),
      iface: this.iface,
      gre: { ...t.gre, ...reorderTest(v) },
      idleWaitMs: t.echo.idleWaitMs,
      maxEchoWaitMs: t.echo.maxEchoWaitMs,
      phoneNumber: v['phone-number'] || undefined,
      // pptp(8) --localbind and --rtmark; the environment knobs are the fallback.
      localAddress: v['src-address'] || process.env.CULVERT_PPTP_CLIENT_ADDRESS || undefined,
      mark: intOrUndefined(v['routing-mark']) ?? (Number(process.env.CULVERT_PPTP_RTMARK) || undefined),
      log: (l) => this.rt.log('debug', `${this.name}: ${l}`),
      onStatus: (e) => {
        if (e.status === 'connected') {
          this.backoff.reset();
          this.rt.log('info', `${this.name}: connected to ${v['connect-to']} (${e.info?.localAddress} -> ${e.info?.remoteAddress}, ${e.info?.encoding})`);
          // "connected" (and R) once the interface carries its addresses and routes.
          void this.iface?.settled.then(() => {
            if (this.conn === conn && conn.connected) this.status = 'connected';
            return this.rt.daemon.reapplyHost();
          });
          return;
        }
        this.status = e.status;
        if (e.status === 'terminated') this.reason = e.reason;
      },
      onEnd: (reason, wasConnected) => {
        if (this.conn === conn) this.conn = undefined;
        this.status = 'terminated';
        this.reason = reason;
        this.rt.log(wasConnected ? 'warn' : 'info', `${this.name}: terminated: ${reason}`);
        void this.rt.daemon.reapplyHost();
        if (this.stopping) return;
        this.retry(wasConnected);
      },
    });
    this.conn = conn;
    conn.start();
  }

}

export class PptpRuntime extends TunnelRuntime<PptpClientEntry, ServerSession> {
  readonly name = 'pptp';
  view: ConfigView | undefined;
  private server: PptpServerAdapter | undefined;
  private serverSig = '';
  private serverStarting: Promise<void> | undefined;
  /** A disabled server's teardown: a new one waits for it (port 1723 and the GRE catch-all). */
  private serverClosing: Promise<void> = Promise.resolve();
  private clientIndex = 0;
  /** Auth failures of server instances that were disabled, so the counter does not go backwards. */
  private authFailures = 0;

  /** pptp(8) STATISTICS: SIGUSR1 dumps every call's GRE counters to the log. */
  private readonly onUsr1 = (): void => this.logStatistics();

  constructor(readonly daemon: Daemon) {
    super({ client: CLIENT_MENU, server: SERVER_MENU });
    daemon.metrics.define({ name: 'culvert_pptp_gre_total', type: 'counter', help: 'PPTP GRE counters of pptp(8) STATISTICS, by counter.' });
    process.on('SIGUSR1', this.onUsr1);
  }

  /** One log line per call with a GRE session: which call (no secrets) and its pptp(8) counters. */
  logStatistics(): void {
    let n = 0;
    for (const e of this.clients.values()) {
      const g = e.gre;
      if (!g) continue;
      n++;
      this.log('info', `statistics ${e.name} (client, server ${e.values['connect-to']}): ${greLine(g)}`);
    }
    const srv = this.server;
    for (const s of srv?.sessions.values() ?? []) {
      n++;
      this.log('info', `statistics ${s.name ?? `call ${s.id}`} (server, user ${s.user ?? '-'} from ${s.callerId}): ${greLine(srv!.greStats(s))}`);
    }
    if (n === 0) this.log('info', 'statistics: no PPTP calls');
  }

  log: RuntimeLog = (level, msg) => this.daemon.log(level, `pptp: ${msg}`);

  configChanged(view: ConfigView): void {
    this.view = view;
    // ---- clients
    const seen = new Set<string>();
    for (const it of view.list(CLIENT_MENU)) {
      seen.add(it.id);
      const cur = this.clients.get(it.id);
      const sig = clientSignature(it.values);
      const enabled = it.values.disabled !== 'yes';
      let gone: Promise<void> | undefined;
      if (cur && (cur.signature !== sig || !enabled)) {
        this.clients.delete(it.id);
        gone = this.track(cur.stop());
      }
      if (enabled && (!cur || cur.signature !== sig)) {
        const e = new PptpClientEntry(CLIENT_MENU, it.id, { ...it.values }, sig, this, this.clientIndex++);
        this.clients.set(it.id, e);
        // A renamed or re-enabled entry may reuse a TUN name that is still being torn down.
        e.start(Promise.all([gone, ...this.stopping]).then(() => undefined));
      }
    }
    for (const [id, e] of this.clients) {
      if (!seen.has(id)) {
        this.clients.delete(id);
        void this.track(e.stop('removed'));
      }
    }
    // ---- server
    const s = view.single(SERVER_SETTINGS);
    const enabled = s.enabled === 'yes';
    const sig = JSON.stringify(s);
    if (!enabled && this.server) {
      const srv = this.server;
      this.server = undefined;
      this.authFailures += srv.stats.authFailures;
      this.serverClosing = srv.close('server disabled').catch((e) => this.log('warn', `server teardown: ${(e as Error).message}`));
    } else if (enabled && !this.server) {
      this.startServer();
    } else if (enabled && this.server && sig !== this.serverSig) {
      this.server.updatePpp(this.serverPpp());
      const t = pptpTuning(s);
      this.server.updateTuning(t.gre, t.echo);
    }
    this.serverSig = sig;
  }

  private readonly stopping = new Set<Promise<void>>();

  /** Remember a client teardown until it is done (new entries wait for them). */
  private track(p: Promise<void>): Promise<void> {
    const q = p.catch((e) => this.log('warn', `teardown: ${(e as Error).message}`)).finally(() => this.stopping.delete(q));
    this.stopping.add(q);
    return q;
  }

  private serverPpp(): Omit<PppConfig, 'verifier'> {
    return serverPpp(this.view?.single(SERVER_SETTINGS) ?? {}, this.view?.list('/ppp profile') ?? []);
  }

  private startServer(): void {
    const resolver = this.daemon.resolver;
    const t = pptpTuning(this.view?.single(SERVER_SETTINGS) ?? {});
    const adapter: PptpServerAdapter = new PptpServerAdapter({
      address: process.env.CULVERT_PPTP_LISTEN || undefined,
      ppp: this.serverPpp(),
      gre: t.gre,
      echo: t.echo,
      passwordFor: (user) => resolver.findSecret(user, 'pptp')?.values.password,
      sessionFor: (user, callerId) => resolveServerSession(resolver, 'pptp', user, callerId),
      interfaceFor: (user) => {
        const live = new Set<string | undefined>([...adapter.sessions.values()].filter((x) => x.iface).map((x) => x.name));
        return serverInterfaceFor('pptp', user, this.view?.list(SERVER_MENU) ?? [], (name) => live.has(name), live);
      },
      log: (l) => this.log('info', l),
      onChange: () => { void this.daemon.reapplyHost(); },
    });
    this.server = adapter;
    this.serverStarting = this.serverClosing.then(() => (this.server === adapter ? adapter.listen() : undefined)).catch((e) => {
      this.log('error', `cannot start the PPTP server: ${(e as Error).message}`);
      if (this.server === adapter) this.server = undefined;
    });
  }

  async stop(): Promise<void> {
    process.off('SIGUSR1', this.onUsr1);
    const jobs: Promise<void>[] = [];
    for (const e of this.clients.values()) jobs.push(e.stop('daemon stopping'));
    this.clients.clear();
    jobs.push(...this.stopping);
    await this.serverStarting;
    jobs.push(this.serverClosing);
    if (this.server) jobs.push(this.server.close('server shutting down'));
    this.server = undefined;
    await Promise.allSettled(jobs);
  }

  // ---- print / monitor ----------------------------------------------------------------------

  protected connectedSessions(): ServerSession[] {
    return this.server ? [...this.server.sessions.values()].filter((s) => s.ready && s.status === 'connected') : [];
  }

  dynamicItems(menu: string): readonly DynamicItem[] | undefined {
    if (menu === SERVER_MENU) return serverInterfaceRows('pptp', this.connectedSessions());
    if (menu === '/ip route') {
      // What the tunnels installed, as RouterOS shows dynamic routes (the peer's /32 and routes=/default).
      const rows: DynamicItem[] = [];
      const add = (iface: PppInterface | undefined, tag: string) => {
        const info = iface?.isUp ? iface.info : undefined;
        if (!iface || !info) return;
        rows.push({ key: `pptp-rt#${tag}#peer`, values: { 'dst-address': `${info.remoteAddress}/32`, gateway: iface.name, distance: '0' } });
        iface.installedRoutes.forEach((r, i) => {
          const dst = r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;
          rows.push({ key: `pptp-rt#${tag}#${i}`, values: { 'dst-address': dst, gateway: r.gateway ?? r.dev ?? iface.name, distance: String(r.metric ?? 1) } });
        });
      };
      for (const e of this.clients.values()) if (e.running) add(e.iface, `c${e.id}`);
      for (const x of this.connectedSessions()) add(x.iface, `s${x.id}`);
      return rows;
    }
    if (menu === ACTIVE_MENU) return activeRows('pptp', this.connectedSessions());
    return undefined;
  }

  override monitor(menu: string, item: ItemView | DynamicItem): Readonly<Record<string, string>> | undefined {
    const m = super.monitor(menu, item);
    if (!m || menu !== SERVER_MENU) return m;
    const s = findServerSession('pptp', this.connectedSessions(), item);
    return s && this.server ? { ...m, ...greMonitor(this.server.greStats(s)) } : m;
  }

  protected disconnectCall(id: number): boolean {
    return this.server?.disconnect(id) ?? false;
  }

  collectMetrics(sink: MetricsSink): void {
    const tunnel = (labels: TunnelLabels, iface: PppInterface | undefined, up: boolean, gre?: GreStats, link?: LinkStats) => {
      tunnelMetrics(sink, labels, iface, up, link);
      if (gre) {
        for (const [k, n] of Object.entries(gre.rx)) sink.add('culvert_pptp_gre_total', { interface: labels.interface, role: labels.role, counter: `rx_${k}` }, n);
        for (const [k, n] of Object.entries(gre.tx)) sink.add('culvert_pptp_gre_total', { interface: labels.interface, role: labels.role, counter: `tx_${k}` }, n);
      }
    };
    for (const e of this.clients.values()) {
      const st = e.conn?.stats;
      tunnel({ interface: e.name, service: 'pptp', role: 'client' }, e.iface, e.running, st?.gre, st?.link);
    }
    const srv = this.server;
    if (srv) {
      for (const s of srv.sessions.values()) {
        if (!s.iface) continue;
        const st = s.call.session.stats;
        tunnel({ interface: s.name ?? '', service: 'pptp', role: 'server' }, s.iface, s.status === 'connected', srv.greStats(s), st.link);
      }
      const l = { interface: 'pptp-server', service: 'pptp', role: 'server' };
      closedCallMetrics(sink, l, srv.stats.closed);
      for (const [reason, n] of Object.entries(srv.greCounters())) sink.add('culvert_drops_total', { ...l, reason }, n);
      for (const [k, n] of Object.entries(srv.controlCounters())) sink.add('culvert_drops_total', { ...l, reason: k }, n);
    }
    sink.add('culvert_auth_failures_total', { service: 'pptp' }, this.authFailures + (srv?.stats.authFailures ?? 0));
  }
}

export function createPptpRuntime(daemon: Daemon): Runtime {
  return new PptpRuntime(daemon);
}

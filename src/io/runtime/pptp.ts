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
 * from CULVERT_PPTP_LISTEN, default any; clients: CULVERT_PPTP_CLIENT_ADDRESS binds TCP and
 * GRE, CULVERT_PPTP_RTMARK sets SO_MARK on GRE); each authenticated user gets `<pptp-USER>` (flag D)
 * or the static `/interface pptp-server` entry whose user= matches; `/ppp active` lists
 * the calls, `/ppp active remove` hangs one up. Settings changes apply to new calls.
 */
import type { Daemon } from '../../mgmt/daemon.js';
import type { ConfigView, DynamicItem, ItemStatus, ItemView, Runtime } from '../../mgmt/runtime.js';
import type { MetricsSink } from '../../mgmt/metrics.js';
import type { PppConfig } from '../../protocol/pptp/index.js';
import { PppInterface } from '../ppp-interface.js';
import { PptpClientConnection } from '../pptp/client.js';
import { PptpServerAdapter, type ServerSession } from '../pptp/server.js';
import type { Route } from '../routes.js';
import { authList, Backoff, intOrUndefined, liveValues, monitorFields, placeholderFor, profileUseEncryption, seconds, yes } from './common.js';

const CLIENT_MENU = '/interface pptp-client';
const SERVER_MENU = '/interface pptp-server';
const SERVER_SETTINGS = '/interface pptp-server server';
const ACTIVE_MENU = '/ppp active';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

/** Settings that, when changed, need a new connection. */
function clientSignature(v: Readonly<Record<string, string>>): string {
  const { comment: _c, ...rest } = v;
  void _c;
  return JSON.stringify(rest);
}

class PptpClientEntry {
  iface: PppInterface | undefined;
  conn: PptpClientConnection | undefined;
  status = 'disabled';
  reason: string | undefined;
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private starting: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly values: Readonly<Record<string, string>>,
    readonly signature: string,
    private readonly rt: PptpRuntime,
    private readonly index: number,
  ) {}

  get name(): string { return this.values.name; }
  get running(): boolean { return (this.conn?.connected ?? false) && this.status === 'connected'; }
  get dialOnDemand(): boolean { return yes(this.values['dial-on-demand']); }

  /** `after`: the replaced entry's teardown (its TUN has the same name). */
  start(after: Promise<void> = Promise.resolve()): void {
    this.starting = after.then(() => this.open()).catch((e) => {
      this.status = 'terminated';
      this.reason = (e as Error).message;
      this.rt.log('error', `${CLIENT_MENU} ${this.name}: ${this.reason}`);
    });
  }

  private async open(): Promise<void> {
    const v = this.values;
    const iface = new PppInterface({
      name: v.name,
      addDefaultRoute: yes(v['add-default-route']),
      defaultRouteDistance: intOrUndefined(v['default-route-distance']) ?? 1,
      serverAddress: v['connect-to'],
      placeholder: this.dialOnDemand ? placeholderFor(this.index) : undefined,
      onDemand: () => {
        if (!this.conn && !this.stopping) {
          this.rt.log('info', `${this.name}: outbound traffic, dialing ${v['connect-to']} on demand`);
          this.dial();
        }
      },
      log: (l) => this.rt.log('info', l),
    });
    this.iface = iface;
    await iface.open();
    if (this.stopping) { await iface.close(); return; }
    if (this.dialOnDemand) {
      this.status = 'waiting';
      void this.rt.daemon.reapplyHost();
    } else this.dial();
  }

  private pppConfig(): PppConfig {
    const v = this.values;
    const profiles = this.rt.view?.list('/ppp profile') ?? [];
    return {
      user: v.user,
      password: v.password ?? '',
      allow: authList(v.allow, ['pap', 'chap', 'mschap1', 'mschap2']),
      useEncryption: profileUseEncryption(profiles, v.profile ?? 'default-encryption'),
      maxMtu: intOrUndefined(v['max-mtu']) ?? 1460,
      maxMru: intOrUndefined(v['max-mru']) ?? 1460,
      mrru: intOrUndefined(v.mrru),
      keepaliveTimeout: seconds(v['keepalive-timeout'], 60),
    };
  }

  dial(): void {
    if (this.stopping || this.conn || !this.iface) return;
    const v = this.values;
    this.status = 'dialing';
    this.reason = undefined;
    const conn = new PptpClientConnection({
      connectTo: v['connect-to'],
      ppp: this.pppConfig(),
      iface: this.iface,
      // Deployment knobs without a RouterOS property: source address, SO_MARK on GRE (pptp(8) --rtmark).
      localAddress: process.env.CULVERT_PPTP_CLIENT_ADDRESS || undefined,
      mark: Number(process.env.CULVERT_PPTP_RTMARK) || undefined,
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
        if (wasConnected) this.backoff.reset();
        if (this.dialOnDemand) return; // the next outbound packet dials again
        const d = this.backoff.take();
        this.timer = setTimeout(() => { this.timer = undefined; this.dial(); }, d);
        this.timer.unref?.();
      },
    });
    this.conn = conn;
    conn.start();
  }

  async stop(reason = 'disabled'): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.starting;
    const conn = this.conn;
    if (conn) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 6000);
        const prevEnd = conn;
        const check = setInterval(() => {
          if (prevEnd.status === 'terminated') { clearInterval(check); clearTimeout(t); resolve(); }
        }, 20);
        conn.hangup(reason === 'disabled' ? 'disconnected by administrator' : reason);
      });
    }
    this.conn = undefined;
    await this.iface?.close();
    this.iface = undefined;
    this.status = 'disabled';
  }

  monitor(): Record<string, string> {
    return monitorFields(this.running ? this.iface : undefined, this.status, this.reason);
  }
}

export class PptpRuntime implements Runtime {
  readonly name = 'pptp';
  view: ConfigView | undefined;
  private readonly clients = new Map<string, PptpClientEntry>();
  private server: PptpServerAdapter | undefined;
  private serverSig = '';
  private serverStarting: Promise<void> | undefined;
  /** A disabled server's teardown: a new one waits for it (port 1723 and the GRE catch-all). */
  private serverClosing: Promise<void> = Promise.resolve();
  private clientIndex = 0;
  /** Auth failures of server instances that were disabled, so the counter does not go backwards. */
  private authFailures = 0;

  constructor(readonly daemon: Daemon) {
    daemon.metrics.define({ name: 'culvert_pptp_gre_total', type: 'counter', help: 'PPTP GRE counters of pptp(8) STATISTICS, by counter.' });
  }

  log: Log = (level, msg) => this.daemon.log(level, `pptp: ${msg}`);

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
        const e = new PptpClientEntry(it.id, { ...it.values }, sig, this, this.clientIndex++);
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
    const s = this.view?.single(SERVER_SETTINGS) ?? {};
    const profiles = this.view?.list('/ppp profile') ?? [];
    return {
      authentication: authList(s.authentication, ['mschap2', 'mschap1']),
      maxMtu: intOrUndefined(s['max-mtu']) ?? 1460,
      maxMru: intOrUndefined(s['max-mru']) ?? 1460,
      mrru: intOrUndefined(s.mrru),
      keepaliveTimeout: seconds(s['keepalive-timeout'], 30),
      useEncryption: profileUseEncryption(profiles, s['default-profile'] ?? 'default-encryption'),
      name: 'culvert',
    };
  }

  private startServer(): void {
    const resolver = this.daemon.resolver;
    const adapter: PptpServerAdapter = new PptpServerAdapter({
      address: process.env.CULVERT_PPTP_LISTEN || undefined,
      ppp: this.serverPpp(),
      passwordFor: (user) => resolver.findSecret(user, 'pptp')?.values.password,
      sessionFor: (user, callerId) => {
        const rs = resolver.resolveSession(user, 'pptp', callerId);
        const routes: Route[] = rs.routes.map((r) => ({ dst: r.dst, gateway: r.gateway, metric: r.distance }));
        return {
          localAddress: rs.localAddress,
          remoteAddress: rs.remoteAddress,
          dns: rs.dns,
          useEncryption: rs.useEncryption,
          routes,
          release: () => rs.release(),
        };
      },
      interfaceFor: (user): { name: string; dynamic: boolean } => {
        const live = new Set<string | undefined>([...adapter.sessions.values()].filter((x) => x.iface).map((x) => x.name));
        const st = this.view?.list(SERVER_MENU).find((i) => i.values.user === user && i.values.disabled !== 'yes');
        if (st && !live.has(st.values.name)) return { name: st.values.name ?? `pptp-${user}`, dynamic: false };
        // The same user again (only-one=no): the next interface gets a suffix.
        let name = `<pptp-${user}>`;
        for (let i = 1; live.has(name); i++) name = `<pptp-${user}-${i}>`;
        return { name, dynamic: true };
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

  private connectedSessions(): ServerSession[] {
    return this.server ? [...this.server.sessions.values()].filter((s) => s.ready && s.status === 'connected') : [];
  }

  dynamicItems(menu: string): readonly DynamicItem[] | undefined {
    if (menu === SERVER_MENU) {
      return this.connectedSessions().filter((s) => s.dynamic).map((s) => ({
        key: `pptp#${s.id}`,
        // The console shows dynamic names in <>: give it the bare name.
        values: { name: (s.name ?? '').replace(/^<(.*)>$/, '$1'), user: s.user ?? '', 'client-address': s.callerId, ...liveValues(s.iface) },
        running: true,
      }));
    }
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
    if (menu === ACTIVE_MENU) {
      return this.connectedSessions().map((s) => ({
        key: `pptp#${s.id}`,
        values: { name: s.user ?? '', service: 'pptp', 'caller-id': s.callerId, address: s.iface?.info?.remoteAddress ?? '', uptime: liveValues(s.iface).uptime, encoding: liveValues(s.iface).encoding },
      }));
    }
    return undefined;
  }

  status(menu: string, item: ItemView): ItemStatus | undefined {
    if (menu === CLIENT_MENU) {
      const e = this.clients.get(item.id);
      return e ? { running: e.running } : undefined;
    }
    if (menu === SERVER_MENU) {
      const s = this.connectedSessions().find((x) => !x.dynamic && x.name === item.values.name);
      if (!s) return undefined;
      return { running: true, values: { 'client-address': s.callerId, ...liveValues(s.iface) } };
    }
    return undefined;
  }

  monitor(menu: string, item: ItemView | DynamicItem): Readonly<Record<string, string>> | undefined {
    if (menu === CLIENT_MENU) {
      const e = this.clients.get((item as ItemView).id);
      return e?.monitor();
    }
    if (menu === SERVER_MENU) {
      const key = (item as DynamicItem).key;
      const s = this.connectedSessions().find((x) => (key !== undefined && `pptp#${x.id}` === key) || (!x.dynamic && x.name === item.values.name));
      return s ? monitorFields(s.iface, s.status, s.reason) : undefined;
    }
    return undefined;
  }

  removeDynamic(menu: string, key: string): boolean {
    if (menu !== ACTIVE_MENU && menu !== SERVER_MENU) return false;
    const m = /^pptp#(\d+)$/.exec(key);
    if (!m || !this.server) return false;
    return this.server.disconnect(Number(m[1]));
  }

  collectMetrics(sink: MetricsSink): void {
    const tunnel = (labels: { interface: string; service: string; role: string }, iface: PppInterface | undefined, up: boolean, gre?: import('../../protocol/pptp/gre-session.js').GreStats, link?: import('../../protocol/ppp/link.js').LinkStats) => {
      sink.add('culvert_tunnel_up', labels, up ? 1 : 0);
      const c = iface?.counters;
      if (c) {
        sink.add('culvert_tunnel_rx_bytes_total', labels, c.rxBytes);
        sink.add('culvert_tunnel_tx_bytes_total', labels, c.txBytes);
        sink.add('culvert_tunnel_rx_packets_total', labels, c.rxPackets);
        sink.add('culvert_tunnel_tx_packets_total', labels, c.txPackets);
        for (const [reason, n] of Object.entries(c.drops)) sink.add('culvert_drops_total', { ...labels, reason: `tun_${reason}` }, n);
      }
      if (link) for (const [reason, n] of Object.entries(link.drops)) sink.add('culvert_drops_total', { ...labels, reason: `ppp_${reason}` }, n);
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
        tunnel({ interface: s.name ?? '', service: 'pptp', role: 'server' }, s.iface, s.status === 'connected', st.gre, st.link);
      }
      const c = srv.stats.closed;
      const l = { interface: 'pptp-server', service: 'pptp', role: 'server' };
      sink.add('culvert_tunnel_rx_bytes_total', l, c.rxBytes);
      sink.add('culvert_tunnel_tx_bytes_total', l, c.txBytes);
      sink.add('culvert_tunnel_rx_packets_total', l, c.rxPackets);
      sink.add('culvert_tunnel_tx_packets_total', l, c.txPackets);
      for (const [reason, n] of Object.entries(srv.greCounters())) sink.add('culvert_drops_total', { ...l, reason }, n);
      for (const [k, n] of Object.entries(srv.controlCounters())) sink.add('culvert_drops_total', { ...l, reason: k }, n);
    }
    sink.add('culvert_auth_failures_total', { service: 'pptp' }, this.authFailures + (srv?.stats.authFailures ?? 0));
  }
}

export function createPptpRuntime(daemon: Daemon): Runtime {
  return new PptpRuntime(daemon);
}

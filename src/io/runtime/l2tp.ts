/**
 * The L2TP runtime: what `/interface l2tp-client` and `/interface l2tp-server` mean on a real
 * Linux host (seed 003). Registered in src/mgmt/runtimes.ts. Mirrors the PPTP runtime
 * (src/io/runtime/pptp.ts) and shares its pieces (PppInterface, common.ts).
 *
 * One UDP socket on port 1701 (bound to CULVERT_L2TP_LISTEN, default any address) carries
 * every client's tunnel and the server's, control and data (src/io/l2tp/transport.ts).
 *
 * Client (one per enabled entry): the TUN `l2tp-out1` exists while the entry is enabled;
 * each attempt is its own tunnel with one call; when it ends the runtime redials after
 * 1, 2, 4 ... 60 s (reset once a connection came up). keepalive-timeout drives both the
 * tunnel Hello (RFC 2661 §5.5) and the PPP LCP echo. dial-on-demand: placeholder address
 * from 10.112.112.0/24 and the first outbound packet dials.
 *
 * Server (`/interface l2tp-server server set enabled=yes`): each authenticated user gets
 * `<l2tp-USER>` (flag D) or the static entry whose user= matches; `/ppp active` lists the
 * calls; `/ppp active remove` hangs one up. IPsec is not implemented: use-ipsec=yes is
 * logged as such (the server runs in cleartext); use-ipsec=required keeps the server from
 * accepting anything rather than silently going cleartext.
 */
import type { Daemon } from '../../mgmt/daemon.js';
import type { ConfigView, DynamicItem, ItemStatus, ItemView, Runtime } from '../../mgmt/runtime.js';
import type { MetricsSink } from '../../mgmt/metrics.js';
import type { CallLinkConfig } from '../../protocol/l2tp/call.js';
import type { L2tpDropStats } from '../../protocol/l2tp/endpoint.js';
import type { LinkStats } from '../../protocol/ppp/link.js';
import { PppInterface } from '../ppp-interface.js';
import type { Route } from '../routes.js';
import { L2tpTransport } from '../l2tp/transport.js';
import { L2tpClientConnection } from '../l2tp/client.js';
import { L2tpServerAdapter, type L2tpServerSession } from '../l2tp/server.js';
import { authList, Backoff, intOrUndefined, liveValues, monitorFields, placeholderFor, profileUseEncryption, seconds, yes } from './common.js';

const CLIENT_MENU = '/interface l2tp-client';
const SERVER_MENU = '/interface l2tp-server';
const SERVER_SETTINGS = '/interface l2tp-server server';
const ACTIVE_MENU = '/ppp active';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

function clientSignature(v: Readonly<Record<string, string>>): string {
  const { comment: _c, ...rest } = v;
  void _c;
  return JSON.stringify(rest);
}

class L2tpClientEntry {
  iface: PppInterface | undefined;
  conn: L2tpClientConnection | undefined;
  status = 'disabled';
  reason: string | undefined;
  /** Totals of finished attempts (drops by reason), so counters do not go backwards. */
  readonly pastDrops: Record<string, number> = {};
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private starting: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly values: Readonly<Record<string, string>>,
    readonly signature: string,
    private readonly rt: L2tpRuntime,
    private readonly index: number,
  ) {}

  get name(): string { return this.values.name; }
  get running(): boolean { return this.conn?.connected ?? false; }
  get dialOnDemand(): boolean { return yes(this.values['dial-on-demand']); }

  /** `after`: the previous entry of this name is still taking its TUN down. */
  start(after: Promise<unknown> = Promise.resolve()): void {
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
    if (this.stopping) {
      await iface.close();
      return;
    }
    if (this.dialOnDemand) {
      this.status = 'waiting';
      void this.rt.daemon.reapplyHost();
    } else this.dial();
  }

  private ppp(): Omit<CallLinkConfig, 'role'> {
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
    const transport = this.rt.transport();
    if (!transport) {
      this.status = 'terminated';
      this.reason = 'no L2TP socket';
      this.retry(false);
      return;
    }
    const v = this.values;
    const iface = this.iface;
    this.status = 'dialing';
    this.reason = undefined;
    iface.setStatus('dialing');
    const conn = new L2tpClientConnection({
      transport,
      connectTo: v['connect-to'],
      ...(v['l2tp-secret'] ? { secret: v['l2tp-secret'] } : {}),
      ppp: this.ppp(),
      keepaliveTimeout: seconds(v['keepalive-timeout'], 60),
      iface,
      log: (l) => this.rt.log('debug', `${this.name}: ${l}`),
      onStatus: (s, info, reason) => {
        this.status = s;
        if (reason !== undefined) this.reason = reason;
        if (s === 'connected' && info) {
          this.backoff.reset();
          this.rt.log('info', `${this.name}: connected to ${v['connect-to']} (${info.localAddress} -> ${info.remoteAddress}, ${info.encoding})`);
          void iface.linkUp(info).then(() => this.rt.daemon.reapplyHost());
        }
      },
      onEnd: (reason, wasConnected) => {
        if (this.conn === conn) this.conn = undefined;
        addDrops(this.pastDrops, conn.drops());
        this.status = 'terminated';
        this.reason = reason;
        if (/authentication|auth/i.test(reason) && !wasConnected) this.rt.clientAuthFailures++;
        this.rt.log(wasConnected ? 'warn' : 'info', `${this.name}: terminated: ${reason}`);
        void iface.linkDown(reason).then(() => this.rt.daemon.reapplyHost());
        if (this.stopping) return;
        this.retry(wasConnected);
      },
    });
    this.conn = conn;
    conn.start();
  }

  private retry(wasConnected: boolean): void {
    if (wasConnected) this.backoff.reset();
    if (this.dialOnDemand) return; // the next outbound packet dials again
    const d = this.backoff.take();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dial();
    }, d);
    this.timer.unref?.();
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
        const check = setInterval(() => {
          if (conn.status === 'terminated') {
            clearInterval(check);
            clearTimeout(t);
            resolve();
          }
        }, 20);
        conn.hangup(reason === 'disabled' ? 'disconnected by administrator' : reason);
      });
      // Let the StopCCN reach the server before the socket may close.
      await new Promise((r) => setTimeout(r, 100));
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

function addDrops(into: Record<string, number>, s: L2tpDropStats): void {
  for (const [k, n] of Object.entries(s.drops)) into[k] = (into[k] ?? 0) + n;
  into.retransmissions = (into.retransmissions ?? 0) + s.retransmissions;
}

export class L2tpRuntime implements Runtime {
  readonly name = 'l2tp';
  view: ConfigView | undefined;
  clientAuthFailures = 0;
  private readonly clients = new Map<string, L2tpClientEntry>();
  private server: L2tpServerAdapter | undefined;
  private serverSig = '';
  private sock: L2tpTransport | undefined;
  private sockFailed = false;
  private clientIndex = 0;
  private readonly pastClientDrops: Record<string, number> = {};
  /** Entries still hanging up: a new entry waits for them (its TUN may have the same name). */
  private readonly stopping = new Set<Promise<void>>();

  constructor(readonly daemon: Daemon) {}

  log: Log = (level, msg) => this.daemon.log(level, `l2tp: ${msg}`);

  /** The shared UDP 1701 socket, opened on first need. */
  transport(): L2tpTransport | undefined {
    if (this.sock) return this.sock;
    const address = process.env.CULVERT_L2TP_LISTEN || undefined;
    try {
      this.sock = L2tpTransport.open({ address, log: (l) => this.log('warn', l) });
      this.sockFailed = false;
      this.log('info', `UDP socket on ${this.sock.socket.address}:${this.sock.port}`);
    } catch (e) {
      if (!this.sockFailed) this.log('error', `cannot open the L2TP UDP socket (port 1701): ${(e as Error).message}`);
      this.sockFailed = true;
    }
    return this.sock;
  }

  configChanged(view: ConfigView): void {
    this.view = view;
    const seen = new Set<string>();
    for (const it of view.list(CLIENT_MENU)) {
      seen.add(it.id);
      const cur = this.clients.get(it.id);
      const sig = clientSignature(it.values);
      const enabled = it.values.disabled !== 'yes';
      if (cur && (cur.signature !== sig || !enabled)) {
        this.clients.delete(it.id);
        this.retireClient(cur);
      }
      if (enabled && (!cur || cur.signature !== sig)) {
        const e = new L2tpClientEntry(it.id, { ...it.values }, sig, this, this.clientIndex++);
        this.clients.set(it.id, e);
        e.start(Promise.allSettled([...this.stopping]));
      }
    }
    for (const [id, e] of this.clients) {
      if (!seen.has(id)) {
        this.clients.delete(id);
        this.retireClient(e, 'removed');
      }
    }
    // ---- server
    const s = view.single(SERVER_SETTINGS);
    const ipsec = s['use-ipsec'] ?? 'no';
    const enabled = s.enabled === 'yes';
    const sig = JSON.stringify(s);
    if (sig !== this.serverSig && enabled) {
      if (ipsec === 'yes') this.log('warn', 'use-ipsec=yes: IPsec is not implemented yet, L2TP runs WITHOUT encryption at the IP layer (ipsec-secret is stored only)');
      if (ipsec === 'required') this.log('error', 'use-ipsec=required: IPsec is not implemented yet, so the L2TP server accepts no connections (refusing cleartext)');
    }
    const want = enabled && ipsec !== 'required';
    if (!want && this.server) {
      const srv = this.server;
      this.server = undefined;
      void srv.close();
    } else if (want && !this.server) {
      this.startServer();
    } else if (want && this.server && sig !== this.serverSig) {
      this.server.updatePpp(this.serverPpp());
    }
    this.serverSig = sig;
  }

  private retireClient(e: L2tpClientEntry, reason?: string): void {
    const p = e.stop(reason).then(() => addDropsRecord(this.pastClientDrops, e.pastDrops));
    this.stopping.add(p);
    void p.finally(() => this.stopping.delete(p));
  }

  private serverPpp(): Omit<CallLinkConfig, 'role' | 'verifier'> {
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
    const transport = this.transport();
    if (!transport) return;
    const resolver = this.daemon.resolver;
    const s = this.view?.single(SERVER_SETTINGS) ?? {};
    try {
      this.server = new L2tpServerAdapter({
        transport,
        ...(s['l2tp-secret'] ? { secret: s['l2tp-secret'] } : {}),
        ppp: this.serverPpp(),
        keepaliveTimeout: seconds(s['keepalive-timeout'], 30),
        passwordFor: (user) => resolver.findSecret(user, 'l2tp')?.values.password,
        sessionFor: (user, callerId) => {
          const rs = resolver.resolveSession(user, 'l2tp', callerId);
          const routes: Route[] = rs.routes.map((r) => ({ dst: r.dst, gateway: r.gateway, metric: r.distance }));
          return { localAddress: rs.localAddress, remoteAddress: rs.remoteAddress, dns: rs.dns, useEncryption: rs.useEncryption, routes, release: () => rs.release() };
        },
        interfaceFor: (user) => {
          const st = this.view?.list(SERVER_MENU).find((i) => i.values.user === user && i.values.disabled !== 'yes');
          const taken = st && this.server && [...this.server.sessions.values()].some((x) => x.name === st.values.name && x.status !== 'terminated' && x.iface);
          if (st && !taken) return { name: st.values.name ?? `l2tp-${user}`, dynamic: false };
          // The same user twice (only-one=no): the second interface gets a suffix.
          const live = new Set(this.server ? [...this.server.sessions.values()].filter((x) => x.iface).map((x) => x.name) : []);
          let name = `<l2tp-${user}>`;
          for (let i = 1; live.has(name); i++) name = `<l2tp-${user}-${i}>`;
          return { name, dynamic: true };
        },
        log: (l) => this.log('info', l),
        onChange: () => {
          void this.daemon.reapplyHost();
        },
      });
    } catch (e) {
      this.log('error', `cannot start the L2TP server: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const e of this.clients.values()) jobs.push(e.stop('daemon stopping'));
    this.clients.clear();
    jobs.push(...this.stopping);
    if (this.server) jobs.push(this.server.close());
    this.server = undefined;
    await Promise.allSettled(jobs);
    this.sock?.close();
    this.sock = undefined;
  }

  // ---- print / monitor ----------------------------------------------------------------------

  private connectedSessions(): L2tpServerSession[] {
    return this.server ? [...this.server.sessions.values()].filter((s) => s.iface && s.status === 'connected') : [];
  }

  dynamicItems(menu: string): readonly DynamicItem[] | undefined {
    if (menu === SERVER_MENU) {
      return this.connectedSessions().filter((s) => s.dynamic).map((s) => ({
        key: `l2tp#${s.id}`,
        // The printer shows a dynamic name in <...> itself.
        values: { name: (s.name ?? '').replace(/^<(.*)>$/, '$1'), user: s.user ?? '', 'client-address': s.callerId, ...liveValues(s.iface) },
        running: true,
      }));
    }
    if (menu === ACTIVE_MENU) {
      return this.connectedSessions().map((s) => ({
        key: `l2tp#${s.id}`,
        values: { name: s.user ?? '', service: 'l2tp', 'caller-id': s.callerId, address: s.iface?.info?.remoteAddress ?? '', uptime: liveValues(s.iface).uptime, encoding: liveValues(s.iface).encoding },
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
      const s = this.connectedSessions().find((x) => (key !== undefined && `l2tp#${x.id}` === key) || (!x.dynamic && x.name === item.values.name));
      return s ? monitorFields(s.iface, s.status, s.reason) : undefined;
    }
    return undefined;
  }

  removeDynamic(menu: string, key: string): boolean {
    if (menu !== ACTIVE_MENU && menu !== SERVER_MENU) return false;
    const m = /^l2tp#(\d+)$/.exec(key);
    if (!m || !this.server) return false;
    return this.server.disconnect(Number(m[1]));
  }

  collectMetrics(sink: MetricsSink): void {
    const tunnel = (labels: { interface: string; service: string; role: string }, iface: PppInterface | undefined, up: boolean, link?: LinkStats) => {
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
    };
    const l2tpDrops = (labels: { interface: string; service: string; role: string }, d: Record<string, number>) => {
      for (const [k, n] of Object.entries(d)) sink.add('culvert_drops_total', { ...labels, reason: `l2tp_${k.replace(/[^A-Za-z0-9_]/g, '_')}` }, n);
    };
    const clientDrops: Record<string, number> = { ...this.pastClientDrops };
    for (const e of this.clients.values()) {
      tunnel({ interface: e.name, service: 'l2tp', role: 'client' }, e.iface, e.running, e.conn?.linkStats);
      addDropsRecord(clientDrops, e.pastDrops);
      if (e.conn) addDrops(clientDrops, e.conn.drops());
    }
    delete clientDrops.retransmissions;
    l2tpDrops({ interface: 'l2tp-client', service: 'l2tp', role: 'client' }, clientDrops);
    const srv = this.server;
    if (srv) {
      for (const s of srv.sessions.values()) {
        if (!s.iface) continue;
        tunnel({ interface: s.name ?? '', service: 'l2tp', role: 'server' }, s.iface, s.status === 'connected', s.call.link?.stats);
      }
      const c = srv.stats.closed;
      const l = { interface: 'l2tp-server', service: 'l2tp', role: 'server' };
      sink.add('culvert_tunnel_rx_bytes_total', l, c.rxBytes);
      sink.add('culvert_tunnel_tx_bytes_total', l, c.txBytes);
      sink.add('culvert_tunnel_rx_packets_total', l, c.rxPackets);
      sink.add('culvert_tunnel_tx_packets_total', l, c.txPackets);
      l2tpDrops(l, srv.drops().drops);
    }
    if (this.sock) {
      const l = { interface: 'l2tp-socket', service: 'l2tp', role: srv ? 'server' : 'client' };
      sink.add('culvert_drops_total', { ...l, reason: 'udp_unrouted' }, this.sock.stats.unrouted);
    }
    sink.add('culvert_auth_failures_total', { service: 'l2tp' }, this.clientAuthFailures + (srv?.stats.authFailures ?? 0));
  }
}

function addDropsRecord(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export function createL2tpRuntime(daemon: Daemon): Runtime {
  return new L2tpRuntime(daemon);
}

/**
 * The L2TP runtime: what `/interface l2tp-client` and `/interface l2tp-server` mean on a real
 * Linux host (seed 003). Registered in src/mgmt/runtimes.ts. Mirrors the PPTP runtime
 * (src/io/runtime/pptp.ts) and shares its pieces (PppInterface, common.ts, client-entry.ts,
 * server-common.ts, tunnel-runtime.ts).
 *
 * One UDP socket on port 1701 (bound to CULVERT_L2TP_LISTEN, default any address) carries
 * every client's tunnel and the server's, control and data (src/io/l2tp/transport.ts).
 *
 * Client (one per enabled entry): the TUN `l2tp-out1` exists while the entry is enabled;
 * each attempt is its own tunnel with one call; when it ends the runtime redials after
 * 1, 2, 4 ... 60 s (reset once a connection came up). keepalive-timeout drives both the
 * tunnel Hello (RFC 2661 §5.5) and the PPP LCP echo (CULVERT_L2TP_HELLO=N in the daemon's
 * environment sets the Hello interval apart, for client and server). dial-on-demand: placeholder address
 * from 10.112.112.0/24 and the first outbound packet dials.
 *
 * Server (`/interface l2tp-server server set enabled=yes`): each authenticated user gets
 * `<l2tp-USER>` (flag D) or the static entry whose user= matches; `/ppp active` lists the
 * calls; `/ppp active remove` hangs one up. IPsec is not implemented: use-ipsec=yes is
 * logged as such (the server runs in cleartext); use-ipsec=required keeps the server from
 * accepting anything rather than silently going cleartext.
 */
import type { Daemon } from '../../mgmt/daemon.js';
import type { ConfigView, DynamicItem, Runtime } from '../../mgmt/runtime.js';
import type { MetricsSink } from '../../mgmt/metrics.js';
import type { CallLinkConfig } from '../../protocol/l2tp/call.js';
import type { L2tpDropStats } from '../../protocol/l2tp/endpoint.js';
import type { LinkStats } from '../../protocol/ppp/link.js';
import { PppInterface } from '../ppp-interface.js';
import { L2tpTransport } from '../l2tp/transport.js';
import { L2tpClientConnection } from '../l2tp/client.js';
import { L2tpServerAdapter, type L2tpServerSession } from '../l2tp/server.js';
import { seconds } from './common.js';
import { TunnelClientEntry, type RuntimeLog } from './client-entry.js';
import { ACTIVE_MENU, TunnelRuntime } from './tunnel-runtime.js';
import {
  activeRows, clientPpp, clientSignature, closedCallMetrics, resolveServerSession, serverInterfaceFor,
  serverInterfaceRows, serverPpp, tunnelMetrics, type TunnelLabels,
} from './server-common.js';

const CLIENT_MENU = '/interface l2tp-client';
const SERVER_MENU = '/interface l2tp-server';
const SERVER_SETTINGS = '/interface l2tp-server server';

class L2tpClientEntry extends TunnelClientEntry<L2tpClientConnection> {
  /** Totals of finished attempts (drops by reason), so counters do not go backwards. */
  readonly pastDrops: Record<string, number> = {};
  declare protected readonly rt: L2tpRuntime;

  get running(): boolean { return this.conn?.connected ?? false; }

  private ppp(): Omit<CallLinkConfig, 'role'> {
    return clientPpp(this.values, this.rt.view?.list('/ppp profile') ?? []);
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
      keepaliveTimeout: helloInterval(v['keepalive-timeout'], 60),
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

  protected override async afterHangup(): Promise<void> {
    // Let the StopCCN reach the server before the socket may close.
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The tunnel Hello interval (RFC 2661 §5.5), seconds: keepalive-timeout, unless the daemon's
 * environment sets CULVERT_L2TP_HELLO (RouterOS has no separate property; keepalive-timeout
 * then drives only the PPP echo). Lets a test see a silent peer found by Hello alone.
 */
function helloInterval(keepalive: string | undefined, dflt: number): number {
  const env = process.env.CULVERT_L2TP_HELLO;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  return seconds(keepalive, dflt);
}

function addDrops(into: Record<string, number>, s: L2tpDropStats): void {
  for (const [k, n] of Object.entries(s.drops)) into[k] = (into[k] ?? 0) + n;
  into.retransmissions = (into.retransmissions ?? 0) + s.retransmissions;
}

export class L2tpRuntime extends TunnelRuntime<L2tpClientEntry, L2tpServerSession> {
  readonly name = 'l2tp';
  view: ConfigView | undefined;
  clientAuthFailures = 0;
  private server: L2tpServerAdapter | undefined;
  private serverSig = '';
  private sock: L2tpTransport | undefined;
  private sockFailed = false;
  private clientIndex = 0;
  private readonly pastClientDrops: Record<string, number> = {};
  /** Entries still hanging up: a new entry waits for them (its TUN may have the same name). */
  private readonly stopping = new Set<Promise<void>>();

  constructor(readonly daemon: Daemon) {
    super({ client: CLIENT_MENU, server: SERVER_MENU });
  }

  log: RuntimeLog = (level, msg) => this.daemon.log(level, `l2tp: ${msg}`);

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
        const e = new L2tpClientEntry(CLIENT_MENU, it.id, { ...it.values }, sig, this, this.clientIndex++);
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
    this.wantServer = want;
    if (!want && this.server) {
      const srv = this.server;
      this.server = undefined;
      this.serverClosing = srv.close().catch((e) => this.log('warn', `server teardown: ${(e as Error).message}`));
    } else if (want && !this.server) {
      // A server disabled a moment ago may still be saying goodbye on the shared socket
      // (StopCCN, up to a few seconds): the new one starts when it has gone.
      if (!this.serverPending) {
        this.serverPending = true;
        void this.serverClosing.then(() => {
          this.serverPending = false;
          if (this.wantServer && !this.server) this.startServer();
        });
      }
    } else if (want && this.server && sig !== this.serverSig) {
      this.server.updatePpp(this.serverPpp());
    }
    this.serverSig = sig;
  }

  private wantServer = false;
  private serverPending = false;
  private serverClosing: Promise<void> = Promise.resolve();

  private retireClient(e: L2tpClientEntry, reason?: string): void {
    const p = e.stop(reason).then(() => addDropsRecord(this.pastClientDrops, e.pastDrops));
    this.stopping.add(p);
    void p.finally(() => this.stopping.delete(p));
  }

  private serverPpp(): Omit<CallLinkConfig, 'role' | 'verifier'> {
    return serverPpp(this.view?.single(SERVER_SETTINGS) ?? {}, this.view?.list('/ppp profile') ?? []);
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
        keepaliveTimeout: helloInterval(s['keepalive-timeout'], 30),
        passwordFor: (user) => resolver.findSecret(user, 'l2tp')?.values.password,
        sessionFor: (user, callerId) => resolveServerSession(resolver, 'l2tp', user, callerId),
        interfaceFor: (user) => {
          const sessions = this.server ? [...this.server.sessions.values()] : [];
          const taken = (name: string | undefined): boolean => sessions.some((x) => x.name === name && x.status !== 'terminated' && x.iface);
          const live = new Set(sessions.filter((x) => x.iface).map((x) => x.name));
          return serverInterfaceFor('l2tp', user, this.view?.list(SERVER_MENU) ?? [], taken, live);
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
    this.wantServer = false;
    jobs.push(this.serverClosing);
    if (this.server) jobs.push(this.server.close());
    this.server = undefined;
    await Promise.allSettled(jobs);
    this.sock?.close();
    this.sock = undefined;
  }

  // ---- print / monitor ----------------------------------------------------------------------

  protected connectedSessions(): L2tpServerSession[] {
    return this.server ? [...this.server.sessions.values()].filter((s) => s.iface && s.status === 'connected') : [];
  }

  dynamicItems(menu: string): readonly DynamicItem[] | undefined {
    if (menu === SERVER_MENU) return serverInterfaceRows('l2tp', this.connectedSessions());
    if (menu === ACTIVE_MENU) return activeRows('l2tp', this.connectedSessions());
    return undefined;
  }

  protected disconnectCall(id: number): boolean {
    return this.server?.disconnect(id) ?? false;
  }

  collectMetrics(sink: MetricsSink): void {
    const tunnel = (labels: TunnelLabels, iface: PppInterface | undefined, up: boolean, link?: LinkStats) => tunnelMetrics(sink, labels, iface, up, link);
    const l2tpDrops = (labels: TunnelLabels, d: Record<string, number>) => {
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
      const l = { interface: 'l2tp-server', service: 'l2tp', role: 'server' };
      closedCallMetrics(sink, l, srv.stats.closed);
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

/**
 * L2TP server on real sockets (RouterOS /interface l2tp-server): the L2tpLns machines on
 * the process's shared L2TP socket (UDP 1701), many tunnels, many calls per tunnel. Each
 * call is authenticated against the user database at authentication time (secret >
 * profile > pool, resolved then), and once PPP is up it gets its own PppInterface
 * (`<l2tp-USER>` or a static name), addresses and routes; all given back when it ends.
 *
 * Bad input stays with the tunnel or session it names: the protocol layer answers with
 * StopCCN / CDN and a result code, or drops and counts (`drops()`).
 */
import type { Clock } from '../../protocol/clock.js';
import { L2tpLns } from '../../protocol/l2tp/lns.js';
import type { CallLinkConfig, CallStatus, L2tpCall } from '../../protocol/l2tp/call.js';
import type { L2tpDropStats } from '../../protocol/l2tp/endpoint.js';
import type { L2tpSession } from '../../protocol/l2tp/session.js';
import type { Secret } from '../../codec/l2tp/hidden.js';
import type { AuthVerifier } from '../../protocol/ppp/auth/types.js';
import type { LinkInfo } from '../../protocol/ppp/link.js';
import { RealClock } from '../real-clock.js';
import { PppInterface, type PppInterfaceOptions } from '../ppp-interface.js';
import { peerSettings, sessionVerifier, type ServerSessionSettings } from '../server-session.js';
import { l2tpTunnelTransport, type L2tpTransport } from './transport.js';

/** What the server learns about a user at authentication. */
export type L2tpSessionSettings = ServerSessionSettings;

export interface L2tpServerAdapterOptions {
  transport: L2tpTransport;
  /** PPP settings for every call (authentication, max-mtu/mru, keepalive-timeout, default profile's use-encryption). */
  ppp: Omit<CallLinkConfig, 'role' | 'verifier'>;
  /** Tunnel Hello interval, seconds (RouterOS keepalive-timeout). */
  keepaliveTimeout: number;
  hostName?: string;
  secret?: Secret;
  /** The password of an enabled secret for this user (service any|l2tp), or undefined. Never logged. */
  passwordFor(user: string): string | undefined;
  /** Resolve the session once the password checked out; throw to refuse (only-one, empty pool...). */
  sessionFor(user: string, callerId: string): L2tpSessionSettings;
  /** RouterOS name for a connected user: a static /interface l2tp-server entry or `<l2tp-USER>`. */
  interfaceFor(user: string): { name: string; dynamic: boolean };
  ifaceOptions?: Partial<PppInterfaceOptions>;
  clock?: Clock;
  log?: (line: string) => void;
  onChange?: () => void;
}

export interface L2tpServerSession {
  readonly id: number;
  readonly call: L2tpCall;
  readonly callerId: string;
  user?: string;
  settings?: L2tpSessionSettings;
  iface?: PppInterface;
  name?: string;
  dynamic: boolean;
  status: CallStatus;
  reason?: string;
}

export interface L2tpServerStats {
  authFailures: number;
  /** Ended calls' data counters, so totals survive the call. */
  closed: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

export class L2tpServerAdapter {
  readonly lns: L2tpLns;
  readonly sessions = new Map<number, L2tpServerSession>();
  readonly stats: L2tpServerStats = { authFailures: 0, closed: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 } };
  private o: L2tpServerAdapterOptions;
  private readonly bySession = new Map<L2tpSession, L2tpServerSession>();
  private readonly detach: () => void;
  private nextId = 1;
  private closing = false;

  constructor(o: L2tpServerAdapterOptions) {
    this.o = o;
    const t = o.transport;
    this.lns = new L2tpLns({
      clock: o.clock ?? new RealClock(),
      hostName: o.hostName ?? 'culvert',
      secret: o.secret,
      keepaliveTimeout: o.keepaliveTimeout,
      pppFor: (ctx) => {
        if (this.closing) throw new Error('server shutting down');
        return { ...this.o.ppp, verifier: this.verifier(ctx.session) };
      },
      send: t.send,
      randomBytes: t.randomBytes,
      log: o.log,
    });
    this.detach = t.attach(this.lns.endpoint, { server: true });
    this.lns.on('call', (call) => this.newCall(call));
    o.log?.(`l2tp server listening on ${t.socket.address}:${t.port}`);
  }

  /** New settings for calls that start from now on. */
  updatePpp(ppp: L2tpServerAdapterOptions['ppp']): void {
    this.o = { ...this.o, ppp };
  }

  drops(): L2tpDropStats {
    return this.lns.stats();
  }

  /** `/ppp active remove`: hang one call up (LCP Terminate, CDN). */
  disconnect(id: number, reason = 'disconnected by administrator'): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.call.hangup(reason);
    return true;
  }

  /** StopCCN result 6 on every tunnel, then wait (bounded) until interfaces and routes are gone. */
  async close(): Promise<void> {
    this.closing = true;
    this.lns.close();
    const end = Date.now() + 3000;
    while ((this.sessions.size > 0 || this.lns.endpoint.tunnels.size > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.sessions.values()]) await this.finish(s, 'server shutting down');
    this.lns.endpoint.destroy();
    this.detach();
  }

  // ---- internals ----------------------------------------------------------------------------

  private newCall(call: L2tpCall): void {
    const rec: L2tpServerSession = { id: this.nextId++, call, callerId: call.tunnel.peer.address, dynamic: true, status: call.status };
    this.sessions.set(rec.id, rec);
    this.bySession.set(call.session, rec);
    const t = this.o.transport;
    call.onIp = (b, off, len) => {
      const f = rec.iface;
      if (f) t.deliver(f, b, off, len);
    };
    call.on('status', (s, r) => {
      rec.status = s;
      if (r !== undefined) rec.reason = r;
      if (s !== 'connected' && s !== 'terminated') rec.iface?.setStatus(s);
      this.o.onChange?.();
    });
    call.on('up', (info) => void this.bringUp(rec, info));
    call.on('down', (reason) => void this.finish(rec, reason));
  }

  private verifier(session: L2tpSession): AuthVerifier {
    const rec = (): L2tpServerSession | undefined => this.bySession.get(session);
    return sessionVerifier({
      service: 'l2tp',
      callerId: () => rec()?.callerId ?? '',
      passwordFor: (u) => this.o.passwordFor(u),
      sessionFor: (u, c) => this.o.sessionFor(u, c),
      onFailure: () => { this.stats.authFailures++; },
      alive: () => { const r = rec(); return r !== undefined && r.status !== 'terminated'; },
      attach: (user, settings) => {
        const r = rec();
        if (!r) return false;
        r.user = user;
        r.settings = settings;
        r.call.link?.setPeerSettings(peerSettings(settings));
        return true;
      },
      log: (l) => this.o.log?.(l),
    });
  }

  private async bringUp(rec: L2tpServerSession, info: LinkInfo): Promise<void> {
    // A renegotiation (the peer's Configure-Request on an opened link, RFC 1661 §4.3) reports
    // 'up' again: keep the interface this call has (or is creating) instead of a second one.
    if (rec.iface) return;
    const user = rec.user ?? info.user ?? 'unknown';
    const { name, dynamic } = this.o.interfaceFor(user);
    rec.name = name;
    rec.dynamic = dynamic;
    const iface = new PppInterface({ ...(this.o.ifaceOptions ?? {}), name, routeList: rec.settings?.routes, log: this.o.log });
    rec.iface = iface;
    try {
      await iface.open();
    } catch (err) {
      this.o.log?.(`l2tp server: cannot create interface ${name}: ${(err as Error).message}`);
      rec.iface = undefined;
      rec.call.hangup('cannot create interface');
      return;
    }
    if (rec.status === 'terminated') {
      rec.iface = undefined;
      await iface.close();
      return;
    }
    iface.attach(l2tpTunnelTransport(this.o.transport, rec.call));
    await iface.linkUp(info);
    this.o.log?.(`l2tp server: ${user} connected from ${rec.callerId} as ${name} (${info.remoteAddress})`);
    this.o.onChange?.();
  }

  private async finish(rec: L2tpServerSession, reason: string): Promise<void> {
    if (this.sessions.get(rec.id) !== rec) return;
    this.sessions.delete(rec.id);
    this.bySession.delete(rec.call.session);
    rec.status = 'terminated';
    const f = rec.iface;
    rec.iface = undefined;
    if (f) {
      const c = this.stats.closed;
      c.rxPackets += f.counters.rxPackets;
      c.rxBytes += f.counters.rxBytes;
      c.txPackets += f.counters.txPackets;
      c.txBytes += f.counters.txBytes;
      await f.linkDown(reason);
      await f.close();
    }
    rec.settings?.release();
    if (rec.user) this.o.log?.(`l2tp server: ${rec.user} from ${rec.callerId} disconnected: ${reason}`);
    this.o.onChange?.();
  }
}

/**
 * PPTP server on real sockets: TCP listener on port 1723 (bound to a configurable
 * address), one shared raw GRE socket, many calls (also several behind one NAT address:
 * the protocol layer demultiplexes by our Call ID and checks the peer address). Each call
 * is authenticated against the caller's user database at authentication time, and once
 * PPP is up gets its own PppInterface (`<pptp-USER>` or a static name), addresses and
 * routes; everything is given back when the call ends.
 *
 * Bad input never reaches further than its own connection: the protocol layer drops and
 * counts bad GRE (wrong version/protocol/length/Call ID) and closes a control connection
 * whose stream is broken (bad magic cookie, impossible length).
 */
import * as net from 'node:net';
import type { Clock } from '../../protocol/clock.js';
import { PptpServer, PPTP_IP_HEADROOM, type PptpServerCall, type PppConfig, type GreTuning, type CallStatusEvent } from '../../protocol/pptp/index.js';
import type { AuthVerifier } from '../../protocol/ppp/auth/types.js';
import { RealClock } from '../real-clock.js';
import { PppInterface, type PppInterfaceOptions } from '../ppp-interface.js';
import { peerSettings, sessionVerifier, type ServerSessionSettings } from '../server-session.js';
import { GreIoShare, greSocket, type SharedGreSocket } from './gre-socket.js';
import type { GreStats } from '../../protocol/pptp/gre-session.js';
import { PPTP_PORT } from './client.js';

export type { ServerSessionSettings };

export interface PptpServerAdapterOptions {
  address?: string;
  port?: number;
  /** PPP settings for every call (authentication, max-mtu, max-mru, keepalive-timeout, use-encryption of default-profile). */
  ppp: Omit<PppConfig, 'verifier'>;
  gre?: GreTuning;
  /** pptp(8) --idle-wait / --max-echo-wait of each control connection, ms (RFC 2637 §3.1.4: 60 s each). */
  echo?: PptpEchoTuning;
  /** The password of an enabled secret for this user (service any|pptp), or undefined. Never logged. */
  passwordFor(user: string): string | undefined;
  /** Resolve the session after the password checked out; throw to refuse (only-one, empty pool...). */
  sessionFor(user: string, callerId: string): ServerSessionSettings;
  /** RouterOS interface name for a connected user: a static /interface pptp-server entry or `<pptp-USER>`. */
  interfaceFor(user: string): { name: string; dynamic: boolean };
  /** Extra PppInterface options (netns for tests, proxyArp...). */
  ifaceOptions?: Partial<PppInterfaceOptions>;
  clock?: Clock;
  log?: (line: string) => void;
  /** Something changed (a session came or went): the runtime refreshes what depends on it. */
  onChange?: () => void;
}

export interface PptpEchoTuning {
  idleWaitMs?: number;
  maxEchoWaitMs?: number;
}

/** One call as the runtime sees it. */
export interface ServerSession {
  readonly id: number;
  readonly call: PptpServerCall;
  /** The client's address (RouterOS caller-id). */
  readonly callerId: string;
  user?: string;
  settings?: ServerSessionSettings;
  iface?: PppInterface;
  /** RouterOS name of the interface, once connected. */
  name?: string;
  dynamic: boolean;
  status: CallStatusEvent['status'];
  reason?: string;
  /** The interface is configured (addresses, routes): the session shows in /ppp active. */
  ready?: boolean;
}

export interface PptpServerAdapterStats {
  authFailures: number;
  tcpConnections: number;
  /** Ended calls' data counters, so totals survive the call. */
  closed: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

export class PptpServerAdapter {
  readonly server: PptpServer;
  readonly sessions = new Map<number, ServerSession>();
  readonly stats: PptpServerAdapterStats = { authFailures: 0, tcpConnections: 0, closed: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 } };
  private o: PptpServerAdapterOptions;
  private readonly clock: Clock;
  private readonly conns = new Set<ReturnType<PptpServer['accept']>>();
  private readonly socketOf = new Map<ReturnType<PptpServer['accept']>, net.Socket>();
  /** Control-channel counters of connections that are gone. */
  private readonly closedControl = { unknown: 0, unexpected: 0, broken: 0 };
  private tcp: net.Server | undefined;
  private gre: SharedGreSocket | undefined;
  private releaseGre: (() => void) | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly touched: PppInterface[] = [];
  private rxBuf: Uint8Array | undefined;
  private closing = false;
  private batchBuf: Uint8Array | undefined;
  /** Each call's share of the GRE socket's error counters, from when the call appeared. */
  private readonly greIo = new WeakMap<PptpServerCall, GreIoShare>();

  constructor(o: PptpServerAdapterOptions) {
    this.o = o;
    this.clock = o.clock ?? new RealClock();
    this.server = new PptpServer({
      ...(o.gre ?? {}),
      ...(o.echo ?? {}),
      clock: this.clock,
      hostName: 'culvert',
      vendorName: 'culvert',
      ppp: (ctx) => {
        if (this.closing) return { refuse: 'server shutting down' };
        return { ...this.o.ppp, verifier: this.verifier(ctx.callId, ctx.peer) };
      },
      onGreWrite: (peer, b, off, len) => {
        const g = this.gre;
        if (!g) return false;
        // Data framed in place in a TUN's rx buffer leaves with that batch (one sendmmsg).
        if (b === this.batchBuf) { g.queue(peer, b, off, len); return true; }
        return g.send(peer, b, off, len);
      },
      onIp: (call, b, off, len) => this.ipIn(call, b, off, len),
      onCallStatus: (call, e) => this.callStatus(call, e),
      log: o.log,
    });
  }

  get listening(): boolean { return this.tcp?.listening ?? false; }

  async listen(): Promise<void> {
    const o = this.o;
    this.gre = greSocket(o.address ?? '0.0.0.0');
    this.releaseGre = this.gre.addCatchAll({
      packet: (buf, off, len, src) => {
        this.rxBuf = buf;
        this.server.receiveGre(src, buf, off, len);
      },
      batchEnd: () => {
        for (const f of this.touched) f.endRx();
        this.touched.length = 0;
        this.rxBuf = undefined;
      },
    });
    const srv = net.createServer((s) => this.accept(s));
    this.tcp = srv;
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(o.port ?? PPTP_PORT, o.address ?? '0.0.0.0', () => { srv.off('error', reject); resolve(); });
      });
    } catch (e) {
      this.releaseGre();
      this.releaseGre = undefined;
      this.tcp = undefined;
      throw e;
    }
    srv.on('error', (e) => o.log?.(`pptp server: ${e.message}`));
    o.log?.(`pptp server listening on ${o.address ?? '0.0.0.0'}:${o.port ?? PPTP_PORT}`);
  }

  /** New settings (max-mtu, authentication, ...) for calls that start from now on. */
  updatePpp(ppp: Omit<PppConfig, 'verifier'>): void {
    this.o = { ...this.o, ppp };
  }

  /** New reorder/echo settings (pptp(8) --timeout, --nobuffer, --idle-wait, --max-echo-wait) for connections and calls from now on. */
  updateTuning(gre: GreTuning, echo: PptpEchoTuning): void {
    this.o = { ...this.o, gre: { ...(this.o.gre ?? {}), ...gre }, echo };
    this.server.setTuning({ reorderTimeoutMs: gre.reorderTimeoutMs, nobuffer: gre.nobuffer, idleWaitMs: echo.idleWaitMs, maxEchoWaitMs: echo.maxEchoWaitMs });
  }

  /** Control-channel drops: unknown message types (skipped), unexpected ones, streams closed as broken. */
  controlCounters(): Record<string, number> {
    const c = { ...this.closedControl };
    for (const k of this.conns) { c.unknown += k.control.stats.unknown; c.unexpected += k.control.stats.unexpected; }
    return { control_unknown_type: c.unknown, control_unexpected: c.unexpected, control_stream_broken: c.broken };
  }

  /** `/ppp active remove`: disconnect one call. */
  disconnect(id: number, reason = 'disconnected by administrator'): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.call.hangup(reason);
    return true;
  }

  /** Stop listening, hang every call up, wait (bounded) until interfaces and routes are gone. */
  async close(reason = 'server shutting down'): Promise<void> {
    this.closing = true;
    this.tcp?.close();
    this.server.close(reason);
    const end = Date.now() + 3000;
    while (this.sessions.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.sessions.values()]) {
      s.call.session.callDown(reason);
    }
    for (const s of [...this.sessions.values()]) await this.finish(s, reason);
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.releaseGre?.();
    this.releaseGre = undefined;
  }

  /**
   * A call's pptp(8) counters, with the GRE socket's read errors and sends that failed or
   * were dropped past the call (the socket is shared: see GreIoShare) folded in.
   */
  greStats(s: ServerSession): GreStats {
    const g = s.call.session.gre;
    this.greIo.get(s.call)?.sync(g);
    return g.stats;
  }

  /** GRE-level counters: protocol layer's plus the raw socket's. */
  greCounters(): Record<string, number> {
    const st = this.server.stats;
    const g = this.gre?.stats;
    return {
      gre_no_call: st.greNoCall, gre_wrong_peer: st.greWrongPeer, gre_invalid: st.greInvalid,
      ip_malformed: g?.malformed ?? 0,
    };
  }

  private accept(s: net.Socket): void {
    if (this.closing) { s.destroy(); return; }
    this.stats.tcpConnections++;
    this.sockets.add(s);
    s.setNoDelay(true);
    const peer = (s.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
    let conn: ReturnType<PptpServer['accept']>;
    try {
      conn = this.server.accept({
        peerAddress: peer,
        onWrite: (b) => { if (!s.destroyed) s.write(Buffer.from(b)); },
        onClose: (reason) => {
          if (/malformed control stream/.test(reason)) this.closedControl.broken++;
          s.end();
          this.clock.setTimer(1000, () => s.destroy());
        },
      });
    } catch (e) {
      this.o.log?.(`pptp server: refusing connection from ${peer}: ${(e as Error).message}`);
      s.destroy();
      return;
    }
    this.conns.add(conn);
    this.socketOf.set(conn, s);
    s.on('data', (c: Buffer) => conn.receive(c));
    s.on('error', () => {});
    s.once('close', () => {
      this.sockets.delete(s);
      conn.tcpClosed();
      this.socketOf.delete(conn);
      if (this.conns.delete(conn)) {
        this.closedControl.unknown += conn.control.stats.unknown;
        this.closedControl.unexpected += conn.control.stats.unexpected;
      }
    });
  }

  private verifier(callId: number, callerId: string): AuthVerifier {
    return sessionVerifier({
      service: 'pptp',
      callerId: () => callerId,
      passwordFor: (u) => this.o.passwordFor(u),
      sessionFor: (u, c) => this.o.sessionFor(u, c),
      onFailure: () => { this.stats.authFailures++; },
      attach: (user, settings) => {
        const call = this.server.call(callId);
        let rec = call ? this.sessions.get(callId) : undefined;
        if (call && !rec) {
          rec = { id: callId, call, callerId: call.peer, dynamic: true, status: call.status };
          this.sessions.set(callId, rec);
        }
        if (!call || !rec) return false;
        rec.user = user;
        rec.settings = settings;
        call.session.link.setPeerSettings(peerSettings(settings));
        return true;
      },
      log: (l) => this.o.log?.(l),
    });
  }

  private ipIn(call: PptpServerCall, buf: Uint8Array, off: number, len: number): void {
    const f = this.sessions.get(call.callId)?.iface;
    if (!f) return;
    if (this.rxBuf === buf && !f.inBatch) {
      f.beginRx(buf);
      this.touched.push(f);
    }
    f.deliverIp(buf, off, len);
  }

  private callStatus(call: PptpServerCall, e: CallStatusEvent): void {
    let rec = this.sessions.get(call.callId);
    if (!rec) {
      if (e.status === 'terminated') return;
      rec = { id: call.callId, call, callerId: call.peer, dynamic: true, status: e.status };
      this.sessions.set(call.callId, rec);
    }
    if (this.gre && !this.greIo.has(call)) this.greIo.set(call, new GreIoShare(this.gre));
    rec.status = e.status;
    if (e.status === 'connected' && e.info && !rec.iface) {
      void this.bringUp(rec, e);
    } else if (e.status === 'terminated') {
      rec.reason = e.reason;
      void this.finish(rec, e.reason ?? 'terminated');
    } else {
      rec.iface?.setStatus(e.status);
      if (e.status === 'terminating...') {
        // A peer that vanished never answers the Call-Disconnect-Notify / StopCCRQ (60 s
        // reply time-outs): give it a few seconds, then drop the TCP connection, which
        // takes the call down at once.
        this.clock.setTimer(3000, () => {
          if (this.sessions.get(rec!.id) !== rec) return;
          const sock = this.socketOf.get(call.connection);
          if (sock) sock.destroy();
          else call.session.callDown(call.session.link.reason ?? 'terminated');
        });
      }
    }
    this.o.onChange?.();
  }

  private async bringUp(rec: ServerSession, e: CallStatusEvent): Promise<void> {
    const user = rec.user ?? e.info?.user ?? 'unknown';
    const { name, dynamic } = this.o.interfaceFor(user);
    rec.name = name;
    rec.dynamic = dynamic;
    const iface = new PppInterface({
      ...(this.o.ifaceOptions ?? {}),
      name,
      routeList: rec.settings?.routes,
      log: this.o.log,
    });
    rec.iface = iface;
    try {
      await iface.open();
    } catch (err) {
      this.o.log?.(`pptp server: cannot create interface ${name}: ${(err as Error).message}`);
      rec.iface = undefined;
      rec.call.hangup('cannot create interface');
      return;
    }
    if (rec.status === 'terminated') { await iface.close(); rec.iface = undefined; return; }
    const call = rec.call;
    iface.attach({
      headroom: PPTP_IP_HEADROOM,
      sendIp: (b, off, len) => { this.batchBuf = b; return call.sendIp(b, off, len); },
      flush: () => { this.batchBuf = undefined; this.gre?.flush(); },
      get link() { return call.session.link; },
    });
    await iface.linkUp(e.info!);
    rec.ready = rec.iface === iface;
    this.o.log?.(`pptp server: ${user} connected from ${rec.callerId} as ${name} (${e.info!.remoteAddress})`);
    this.o.onChange?.();
  }

  private async finish(rec: ServerSession, reason: string): Promise<void> {
    if (this.sessions.get(rec.id) !== rec) return;
    this.sessions.delete(rec.id);
    if (rec.user) this.o.log?.(`pptp server: ${rec.user} from ${rec.callerId} disconnected: ${reason}`);
    const f = rec.iface;
    rec.iface = undefined;
    rec.ready = false;
    if (f) {
      const c = this.stats.closed;
      c.rxPackets += f.counters.rxPackets; c.rxBytes += f.counters.rxBytes;
      c.txPackets += f.counters.txPackets; c.txBytes += f.counters.txBytes;
      await f.linkDown(reason);
      await f.close();
    }
    rec.settings?.release();
    this.o.onChange?.();
  }
}

/**
 * PPTP client on real sockets: TCP to the server's port 1723 (node `net`), GRE on the
 * shared raw socket, PPP on a PppInterface. One PptpClientConnection is one attempt: it
 * dials, runs until the call ends, and reports the end once (`onEnd`); the runtime
 * decides about redialing. The protocol layer (PptpClientCall: control connection, the
 * GRE session with its sequencing, acks and reorder buffer, the PPP Link) does the
 * protocol; this file only pumps bytes.
 */
import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { Clock, Timer } from '../../protocol/clock.js';
import { PptpClientCall, PPTP_IP_HEADROOM, type CallStatusEvent, type PppConfig, type GreTuning } from '../../protocol/pptp/index.js';
import { RealClock } from '../real-clock.js';
import { ipv4ToU32 } from '../ipv4.js';
import { TcpDial } from '../native.js';
import type { PppInterface, TunnelTransport } from '../ppp-interface.js';
import { GreIoShare, greSocket, type SharedGreSocket } from './gre-socket.js';

export const PPTP_PORT = 1723;

export interface PptpClientConnectionOptions {
  /** Server address (RouterOS connect-to). */
  connectTo: string;
  port?: number;
  /** Local address to bind TCP and GRE to (default any). */
  localAddress?: string;
  /**
   * SO_MARK (pptp(8) --rtmark) for the GRE socket and the TCP control connection: with a
   * mark the addon makes the TCP socket (the mark must be on it before the SYN) and Node
   * takes it over once connected.
   */
  mark?: number;
  ppp: PppConfig;
  /** pptp(8) --timeout / --nobuffer (and the window). */
  gre?: GreTuning;
  /** pptp(8) --idle-wait / --max-echo-wait in ms (RFC 2637 §3.1.4: 60 s each). */
  idleWaitMs?: number;
  maxEchoWaitMs?: number;
  /** pptp(8) --phone: Outgoing-Call-Request's Phone Number (at most 64 octets). */
  phoneNumber?: string;
  iface: PppInterface;
  clock?: Clock;
  /** TCP connect time-out (default 10 s). */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
  onStatus?: (e: CallStatusEvent) => void;
  /** Called once when this attempt is over (never connected, or connected and dropped). */
  onEnd?: (reason: string, wasConnected: boolean) => void;
}

export class PptpClientConnection {
  readonly call: PptpClientCall;
  status: CallStatusEvent['status'] = 'dialing';
  reason: string | undefined;
  connected = false;
  private readonly o: PptpClientConnectionOptions;
  private readonly serverU32: number;
  private sock: net.Socket | undefined;
  private gre: SharedGreSocket | undefined;
  private releaseGre: (() => void) | undefined;
  private greIo: GreIoShare | undefined;
  private ended = false;
  private batchBuf: Uint8Array | undefined;
  private forceTimer: Timer | undefined;
  private dial: TcpDial | undefined;
  private dialTimer: Timer | undefined;
  private readonly clock: Clock;

  constructor(o: PptpClientConnectionOptions) {
    this.o = o;
    this.clock = o.clock ?? new RealClock();
    this.serverU32 = ipv4ToU32(o.connectTo);
    const iface = o.iface;
    this.call = new PptpClientCall({
      ...(o.gre ?? {}),
      idleWaitMs: o.idleWaitMs,
      maxEchoWaitMs: o.maxEchoWaitMs,
      phoneNumber: o.phoneNumber,
      clock: this.clock,
      ppp: o.ppp,
      peerAddress: o.connectTo,
      hostName: 'culvert',
      vendorName: 'culvert',
      onTcpWrite: (b) => { this.sock?.write(Buffer.from(b)); },
      onTcpClose: () => { this.sock?.end(); },
      onGreWrite: (b, off, len) => {
        const g = this.gre;
        if (!g) return false;
        // Data framed in place in the TUN's rx buffer leaves with the batch (one sendmmsg).
        if (b === this.batchBuf) { g.queue(this.serverU32, b, off, len); return true; }
        return g.send(this.serverU32, b, off, len);
      },
      onIp: (b, off, len) => iface.deliverIp(b, off, len),
      onStatus: (e) => this.statusEvent(e),
      log: o.log,
    });
  }

  /** Dial: TCP connect, then the control connection and the call. */
  start(): void {
    const o = this.o;
    try {
      this.gre = greSocket(o.localAddress ?? '0.0.0.0', o.mark ?? 0);
      const iface = o.iface;
      this.releaseGre = this.gre.addPeer(this.serverU32, this.call.callId, {
        packet: (buf, off, len, src) => {
          if (!iface.inBatch) iface.beginRx(buf);
          this.call.receiveGre(buf, off, len, src);
        },
        batchEnd: () => iface.endRx(),
      });
      this.greIo = new GreIoShare(this.gre);
    } catch (e) {
      this.end(`cannot open GRE socket: ${(e as Error).message}`);
      return;
    }
    this.status = 'dialing';
    o.onStatus?.({ status: 'dialing' });
    if (o.mark) {
      this.dialMarked(o.mark);
      return;
    }
    const sock = net.connect({ host: o.connectTo, port: o.port ?? PPTP_PORT, localAddress: o.localAddress });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.setTimeout(o.connectTimeoutMs ?? 10_000, () => {
      if (!this.call.session) sock.destroy(new Error('connection timed out'));
    });
    sock.once('connect', () => {
      sock.setTimeout(0);
      this.call.start();
    });
    this.wire(sock);
  }

  /**
   * The TCP connection with SO_MARK set before the SYN (Node's net cannot): the addon
   * starts a non-blocking connect, we poll for its result (1 ms, doubling to 50 ms, up to
   * the connect time-out), then net.Socket takes the fd over and the call starts as on
   * 'connect' above.
   */
  private dialMarked(mark: number): void {
    const o = this.o;
    const fail = (why: string) => {
      this.reason ??= `cannot connect to ${o.connectTo}: ${why}`;
      this.end(this.reason);
    };
    try {
      this.dial = TcpDial.start(o.connectTo, o.port ?? PPTP_PORT, { address: o.localAddress, mark });
    } catch (e) {
      // The addon's message ends in "(errno N)": name it as net would (ENETUNREACH...).
      const m = /\(errno (\d+)\)/.exec((e as Error).message);
      fail(m ? getSystemErrorName(-Number(m[1])) : (e as Error).message);
      return;
    }
    const deadline = this.clock.now() + (o.connectTimeoutMs ?? 10_000);
    let wait = 1;
    const check = () => {
      this.dialTimer = undefined;
      const d = this.dial;
      if (!d || this.ended) return;
      let r: number | undefined;
      try {
        r = d.result();
      } catch (e) {
        this.dial = undefined;
        d.close();
        fail((e as Error).message);
        return;
      }
      if (r === undefined) {
        if (this.clock.now() >= deadline) {
          this.dial = undefined;
          d.close();
          fail('connection timed out');
          return;
        }
        this.dialTimer = this.clock.setTimer(wait, check);
        wait = Math.min(50, wait * 2);
        return;
      }
      this.dial = undefined;
      if (r !== 0) {
        fail(getSystemErrorName(-r));
        return;
      }
      const sock = new net.Socket({ fd: d.handOver() });
      this.sock = sock;
      sock.setNoDelay(true);
      this.wire(sock);
      this.call.start();
    };
    check();
  }

  private wire(sock: net.Socket): void {
    const o = this.o;
    sock.on('data', (c: Buffer) => this.call.receiveTcp(c));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      this.reason ??= `cannot connect to ${o.connectTo}: ${e.code ?? e.message}`;
    });
    sock.once('close', () => {
      this.sock = undefined;
      this.call.tcpClosed();
      // The protocol reports 'terminated'; if it never started (connect failed), end here.
      if (this.call.status !== 'terminated' && !this.call.session) this.end(this.reason ?? 'connection closed');
      else if (this.call.status === 'terminated') this.end(this.call.reason ?? this.reason ?? 'connection closed');
    });
  }

  /** Hang up (RouterOS disable): the full RFC 2637 teardown, forced after 5 s. */
  hangup(reason = 'disconnected by administrator'): void {
    if (this.ended) return;
    this.reason ??= reason;
    this.call.hangup(reason);
    this.forceTimer ??= this.clock.setTimer(5000, () => {
      this.sock?.destroy();
      this.end(reason);
    });
  }

  private transport(): TunnelTransport {
    const call = this.call;
    return {
      headroom: PPTP_IP_HEADROOM,
      sendIp: (b, off, len) => { this.batchBuf = b; return call.sendIp(b, off, len); },
      flush: () => { this.batchBuf = undefined; this.gre?.flush(); },
      get link() { return call.session?.link; },
    };
  }

  private statusEvent(e: CallStatusEvent): void {
    this.status = e.status;
    const iface = this.o.iface;
    if (e.status === 'connected' && e.info) {
      if (!this.connected) iface.attach(this.transport());
      this.connected = true;
      void iface.linkUp(e.info);
    } else if (e.status === 'terminated') {
      this.reason ??= e.reason;
      this.end(e.reason ?? 'terminated');
      return;
    } else {
      iface.setStatus(e.status);
      if (e.status === 'terminating...' && !this.forceTimer) {
        // The server may be gone (LCP echo failed): do not wait out the 60 s reply
        // time-outs of the control connection before redialing.
        this.forceTimer = this.clock.setTimer(3000, () => {
          this.sock?.destroy();
          this.end(this.call.session?.reason ?? this.call.session?.link.reason ?? 'terminated');
        });
      }
    }
    this.o.onStatus?.(e);
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.forceTimer?.cancel();
    this.dialTimer?.cancel();
    this.dialTimer = undefined;
    this.dial?.close();
    this.dial = undefined;
    // The PPP reason (e.g. "LCP missed echo reply") says more than the control channel's.
    this.reason ??= this.call.session?.reason ?? reason;
    this.status = 'terminated';
    const wasConnected = this.connected;
    this.connected = false;
    void this.o.iface.linkDown(this.reason);
    this.syncGreIo();
    this.greIo = undefined;
    this.releaseGre?.();
    this.releaseGre = undefined;
    this.gre = undefined;
    if (this.sock) {
      const s = this.sock;
      s.end();
      // Give the StopCCRP a moment to leave, then make sure the socket is gone.
      this.clock.setTimer(1000, () => s.destroy());
    }
    this.o.log?.(`pptp client ${this.o.connectTo}: terminated: ${this.reason}`);
    this.o.onStatus?.({ status: 'terminated', reason: this.reason });
    this.o.onEnd?.(this.reason, wasConnected);
  }

  /** The call's counters; the GRE socket's errors since the call began are folded in (GreIoShare). */
  get stats() {
    this.syncGreIo();
    return this.call.stats;
  }

  private syncGreIo(): void {
    const g = this.call.session?.gre;
    if (g && this.greIo) this.greIo.sync(g);
  }
}

/**
 * PPTP client (pptp-linux's role, the PNS), sans-I/O: one control connection, one call,
 * one PPP Link. The io adapter only pumps bytes:
 *
 *   TCP:  start() once connected, receiveTcp(chunk), tcpClosed();  out: onTcpWrite, onTcpClose
 *   GRE:  receiveGre(buf, off, len) from the GRE header on;        out: onGreWrite
 *   IP:   sendIp(buf, off, len) with PPTP_IP_HEADROOM in front;     out: onIp
 *   status for `monitor`: onStatus (dialing, verifying password..., connected,
 *   terminating..., terminated with the reason).
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../clock.js';
import { ConfigError } from '../../errors.js';
import { PptpControlConnection, type ControlCall, type PptpCollisionRegistry } from './control.js';
import { PptpCallSession, type CallStatus, type CallStatusEvent, type GreTuning, type PppConfig } from './call.js';
import type { GreStats } from './gre-session.js';
import type { LinkInfo, LinkStats } from '../ppp/link.js';
import { PptpStopReason } from '../../codec/pptp/index.js';
import type { ControlStats } from './control.js';

export interface PptpClientOptions extends GreTuning {
  clock: Clock;
  /** PPP settings: user, password, allow, useEncryption, ... (see LinkConfig). */
  ppp: PppConfig;
  /** Our Call ID (default: random 1..65535). */
  callId?: number;
  phoneNumber?: string;
  hostName?: string;
  vendorName?: string;
  /** pptp(8) --idle-wait / --max-echo-wait in ms (RFC 2637 default 60 s each). */
  idleWaitMs?: number;
  maxEchoWaitMs?: number;
  /** How long to wait for each reply (SCCRP, OCRP, CDN, StopCCRP), default 60 s. */
  replyTimeoutMs?: number;
  lingerMs?: number;
  collisions?: PptpCollisionRegistry;
  /** The server's address: GRE from elsewhere is dropped; needed for collision handling. */
  peerAddress?: string | number;

  onTcpWrite: (bytes: Uint8Array) => void;
  /** Close the TCP connection (after flushing). */
  onTcpClose: (reason: string) => void;
  /** A GRE packet to send to the server (view: send or copy before returning). */
  onGreWrite: (buf: Uint8Array, off: number, len: number) => boolean | void;
  /** An IPv4 packet from the tunnel (view). */
  onIp: (buf: Uint8Array, off: number, len: number) => void;
  onStatus?: (e: CallStatusEvent) => void;
  log?: (line: string) => void;
}

function dottedToU32(a: string): number {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `not an IPv4 address: ${a}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export class PptpClientCall {
  readonly control: PptpControlConnection;
  readonly callId: number;
  /** Present once the server accepted the call. */
  session: PptpCallSession | undefined;
  status: CallStatus = 'dialing';
  reason: string | undefined;

  /** GRE packets dropped because they came from another address than the server. */
  greWrongPeer = 0;
  private readonly o: PptpClientOptions;
  private readonly peerU32: number | undefined;
  private call: ControlCall | undefined;
  private started = false;

  constructor(o: PptpClientOptions) {
    this.o = o;
    this.callId = o.callId ?? randomInt(1, 0x10000);
    if (!Number.isInteger(this.callId) || this.callId < 0 || this.callId > 0xffff) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `Call ID ${this.callId}: expected 0..65535`);
    const lingerMs = o.lingerMs ?? 2000;
    this.peerU32 = typeof o.peerAddress === 'string' ? dottedToU32(o.peerAddress) : o.peerAddress === undefined ? undefined : o.peerAddress >>> 0;
    this.control = new PptpControlConnection({
      role: 'client',
      clock: o.clock,
      hostName: o.hostName,
      vendorName: o.vendorName,
      idleWaitMs: o.idleWaitMs,
      maxEchoWaitMs: o.maxEchoWaitMs,
      replyTimeoutMs: o.replyTimeoutMs,
      lingerMs,
      collisions: o.collisions,
      peerAddress: o.peerAddress,
      onWrite: o.onTcpWrite,
      onClose: (reason) => {
        if (!this.call || this.call.state === 'closed') this.terminated(reason);
        o.onTcpClose(reason);
      },
      onCallUp: (call) => {
        const s = new PptpCallSession({
          clock: o.clock,
          role: 'client',
          control: this.control,
          call,
          ppp: o.ppp,
          gre: o,
          lingerMs,
          onGreWrite: o.onGreWrite,
          onIp: o.onIp,
          onStatus: (e) => this.statusFromSession(e),
          log: o.log,
        });
        this.session = s;
        // Seed 002, connection creation step 6: the client sends Set-Link-Info once the call
        // is up (synchronous framing over GRE: the ACCMs stay at their defaults).
        this.control.setLinkInfo(call);
        s.start();
      },
      onCallDown: (_call, reason) => {
        if (this.session) this.session.callDown(reason);
        else this.terminated(reason);
      },
      log: o.log,
    });
  }

  /** TCP is connected: send SCCRQ, then OCRQ once the server answers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.emit({ status: 'dialing' });
    this.call = this.control.placeCall({ callId: this.callId, window: this.o.window ?? 64, phoneNumber: this.o.phoneNumber });
    this.control.start();
  }

  receiveTcp(chunk: Uint8Array): void {
    this.control.receive(chunk);
  }

  tcpClosed(): void {
    this.control.tcpClosed();
  }

  /**
   * One GRE packet (from the GRE header on). With `from` (the sender's IPv4 address as an
   * unsigned 32-bit number) and the `peerAddress` option set, packets from anyone but the
   * server are dropped and counted (stats.greWrongPeer).
   */
  receiveGre(buf: Uint8Array, off: number, len: number, from?: number): void {
    if (from !== undefined && this.peerU32 !== undefined && from >>> 0 !== this.peerU32) {
      this.greWrongPeer++;
      return;
    }
    this.session?.receiveGre(buf, off, len);
  }

  /** See PptpCallSession.sendIp: PPTP_IP_HEADROOM writable octets before `off`. */
  sendIp(buf: Uint8Array, off: number, len: number): boolean {
    return this.session ? this.session.sendIp(buf, off, len) : false;
  }

  sendIpCopy(ip: Uint8Array): boolean {
    return this.session ? this.session.sendIpCopy(ip) : false;
  }

  /** Hang up: the full seed-002 exchange, ending with the TCP close. */
  hangup(reason = 'hung up by administrator'): void {
    if (this.status === 'terminated') return;
    if (this.session) {
      this.session.hangup(reason);
      return;
    }
    this.reason ??= reason;
    this.emit({ status: 'terminating...' });
    this.control.stop(reason);
  }

  /**
   * Fatal error below us (e.g. the GRE socket died): no PPP goodbye is possible, so send
   * Stop-Control-Connection-Request (reason 3, local shutdown) and close at once.
   */
  abort(reason: string): void {
    if (this.status === 'terminated') return;
    this.reason ??= reason;
    this.control.fail(reason, PptpStopReason.StopLocalShutdown);
  }

  /** For `monitor`: status, Call IDs and, once PPP runs, the Link's view. */
  info(): { status: CallStatus; reason?: string; callId: number; peerCallId: number; link?: LinkInfo } {
    return { status: this.status, reason: this.reason, callId: this.callId, peerCallId: this.session?.call.peerCallId ?? -1, link: this.session?.link.info() };
  }

  get stats(): { control: ControlStats; gre?: GreStats; link?: LinkStats } {
    return { control: this.control.stats, gre: this.session?.gre.stats, link: this.session?.link.stats };
  }

  private statusFromSession(e: CallStatusEvent): void {
    if (e.status === 'terminated') {
      this.terminated(e.reason ?? 'terminated');
      return;
    }
    this.emit(e);
  }

  private terminated(reason: string): void {
    if (this.status === 'terminated') return;
    this.reason ??= reason;
    this.emit({ status: 'terminated', reason: this.reason });
  }

  private emit(e: CallStatusEvent): void {
    if (this.status === 'terminated') return;
    if (e.status === this.status && e.status !== 'connected' && e.status !== 'dialing') return;
    this.status = e.status;
    this.o.onStatus?.(e);
  }
}

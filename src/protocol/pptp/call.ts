/**
 * One PPTP call's data side: the GRE session and the PPP Link on top of it, tied to the
 * control connection that owns the call. Shared by the client and server facades.
 *
 * Teardown order (seed 002, "PPTP control connection termination"): the side that hangs
 * up sends Set-Link-Info, then LCP Terminate-Request; the other side sends Set-Link-Info
 * before its Terminate-Ack; when PPP is down the hanging-up side clears the call
 * (Call-Clear-Request from the PNS, Call-Disconnect-Notify from the PAC) and stops the
 * control connection. A side whose PPP was terminated by the peer waits `lingerMs` for
 * the peer to clear the call before clearing it itself.
 */
import type { Clock, Timer } from '../clock.js';
import { DATA_HEADROOM, Link, type LinkConfig, type LinkInfo, type LinkStats, type Phase } from '../ppp/link.js';
import { GRE_HEADROOM, GreSession, type GreStats, type ReorderTestType } from './gre-session.js';
import type { ControlCall, PptpControlConnection } from './control.js';

/** Octets an IPv4 packet given to `sendIp` needs in front of it: GRE header + PPP/MPPE header. */
export const PPTP_IP_HEADROOM = GRE_HEADROOM + DATA_HEADROOM;

/** RouterOS `monitor` style status of a call. */
export type CallStatus = 'dialing' | 'verifying password...' | 'connected' | 'terminating...' | 'terminated';

export interface CallStatusEvent {
  status: CallStatus;
  /** Set with 'terminated': why. */
  reason?: string;
  /** Set with 'connected'. */
  info?: LinkInfo;
}

/** GRE data-channel knobs (pptp(8) names where they exist). */
export interface GreTuning {
  /** Our Packet Recv. Window Size (default 64). */
  window?: number;
  /** --timeout in ms (default 300). */
  reorderTimeoutMs?: number;
  /** --nobuffer. */
  nobuffer?: boolean;
  ackDelayMs?: number;
  /** Hold sending to the peer's advertised window (RFC 2637 §4.2). Default false, see below. */
  enforceWindow?: boolean;
  bufferSlots?: number;
  /** --test-type: permute the send order on purpose, for testing peers (gre-session.ts ReorderTestType). */
  reorderTestType?: ReorderTestType;
  /** --test-rate: packets in order between tests (default 100). */
  reorderTestRate?: number;
}

/** What a facade passes to the Link (everything but the plumbing the session owns). */
export type PppConfig = Omit<LinkConfig, 'role' | 'clock' | 'onFrame' | 'onData' | 'onUp' | 'onDown' | 'onPhase'>;

export interface CallSessionOptions {
  clock: Clock;
  role: 'client' | 'server';
  control: PptpControlConnection;
  call: ControlCall;
  ppp: PppConfig;
  gre: GreTuning;
  lingerMs: number;
  onGreWrite: (buf: Uint8Array, off: number, len: number) => boolean | void;
  onIp: (buf: Uint8Array, off: number, len: number) => void;
  onStatus: (e: CallStatusEvent) => void;
  log?: (line: string) => void;
}

const PPP_LCP = 0xc021;
const LCP_TERMINATE_REQUEST = 5;

export class PptpCallSession {
  readonly call: ControlCall;
  readonly gre: GreSession;
  readonly link: Link;
  status: CallStatus;
  /** Why the call ended (first cause wins). */
  reason: string | undefined;

  private readonly o: CallSessionOptions;
  private localHangup = false;
  private peerTerminated = false;
  private linkDown = false;
  private lingerTimer: Timer | undefined;
  private scratch: Uint8Array | undefined;

  constructor(o: CallSessionOptions) {
    this.o = o;
    this.call = o.call;
    this.status = 'dialing';
    const g = o.gre;
    this.gre = new GreSession({
      clock: o.clock,
      localCallId: o.call.localCallId,
      peerCallId: o.call.peerCallId,
      localWindow: g.window ?? 64,
      peerWindow: o.call.peerWindow,
      peerProcessingDelay: o.call.peerProcessingDelay,
      reorderTimeoutMs: g.reorderTimeoutMs,
      nobuffer: g.nobuffer,
      ackDelayMs: g.ackDelayMs,
      // Off unless asked: pptp-linux and pptpd advertise a window of 3 and do not enforce
      // windows themselves; honouring 3 against a peer that acks every 0.1-0.5 s would
      // throttle the tunnel to a few packets per ack.
      enforceWindow: g.enforceWindow ?? false,
      bufferSlots: g.bufferSlots,
      reorderTestType: g.reorderTestType,
      reorderTestRate: g.reorderTestRate,
      // Room for the largest frame either way (MPPE and PPP headers on top of the MTU/MRU).
      maxPayload: Math.min(0xffff, Math.max(2048, (o.ppp.maxMru ?? 1460) + 64, (o.ppp.maxMtu ?? 1460) + 64)),
      onWrite: o.onGreWrite,
      onPayload: (buf, off, len) => this.payloadIn(buf, off, len),
    });
    this.link = new Link({
      ...o.ppp,
      role: o.role,
      clock: o.clock,
      log: o.log ?? o.ppp.log,
      onFrame: (f) => {
        this.gre.send(f);
      },
      onData: (buf, off, len) => o.onIp(buf, off, len),
      onPhase: (p) => this.phase(p),
      onUp: (info) => this.setStatus({ status: 'connected', info }),
      onDown: (reason) => this.linkDownEvent(reason),
    });
  }

  /** The call is connected on the control channel: start PPP. */
  start(): void {
    this.link.start();
  }

  /** One GRE packet for this call (from the GRE header on). */
  receiveGre(buf: Uint8Array, off: number, len: number): void {
    this.gre.receive(buf, off, len);
  }

  /**
   * Send one IPv4 packet at buf[off, off+len) with PPTP_IP_HEADROOM writable octets in
   * front (framed and encrypted in place, no allocation). False if it was not sent.
   */
  sendIp(buf: Uint8Array, off: number, len: number): boolean {
    if (this.status !== 'connected') return false;
    const start = this.link.wrapData(buf, off, len);
    if (start < 0) return false;
    return this.gre.sendInPlace(buf, start, off + len - start);
  }

  /** As sendIp, for a packet without headroom: copied into an internal buffer first. */
  sendIpCopy(ip: Uint8Array): boolean {
    if (ip.length > this.link.mtu) return false;
    if (!this.scratch || this.scratch.length < PPTP_IP_HEADROOM + ip.length) this.scratch = new Uint8Array(PPTP_IP_HEADROOM + Math.max(ip.length, 1500));
    this.scratch.set(ip, PPTP_IP_HEADROOM);
    return this.sendIp(this.scratch, PPTP_IP_HEADROOM, ip.length);
  }

  /** Hang up from our side: Set-Link-Info, LCP Terminate-Request, then clear the call. */
  hangup(reason: string): void {
    if (this.status === 'terminated' || this.localHangup) return;
    this.localHangup = true;
    this.reason ??= reason;
    this.setStatus({ status: 'terminating...' });
    if (!this.linkDown && this.link.phase !== 'dead') {
      this.o.control.setLinkInfo(this.call);
      this.link.close(reason);
    } else {
      this.o.control.clearCall(this.call, reason);
    }
  }

  /** The control connection says the call is gone (cleared, refused, or connection lost). */
  callDown(reason: string): void {
    if (this.status === 'terminated') return;
    this.lingerTimer?.cancel();
    this.lingerTimer = undefined;
    // The peer's Terminate-Request text (e.g. "admin disconnect") beats the CDN's generic result.
    this.reason ??= this.link.reason ?? reason;
    this.link.lowerDown(reason);
    this.gre.close();
    this.setStatus({ status: 'terminated', reason: this.reason });
  }

  get stats(): { gre: GreStats; link: LinkStats } {
    return { gre: this.gre.stats, link: this.link.stats };
  }

  private payloadIn(buf: Uint8Array, off: number, len: number): void {
    // Spot the peer's LCP Terminate-Request: seed 002 has Set-Link-Info go out before our Terminate-Ack.
    let p = off;
    if (len >= 2 && buf[p] === 0xff && buf[p + 1] === 0x03) p += 2;
    if (p + 3 <= off + len && ((buf[p] << 8) | buf[p + 1]) === PPP_LCP && buf[p + 2] === LCP_TERMINATE_REQUEST) {
      if (!this.localHangup && !this.peerTerminated && !this.linkDown && this.link.phase !== 'dead') {
        this.peerTerminated = true;
        this.setStatus({ status: 'terminating...' });
        this.o.control.setLinkInfo(this.call);
      }
    }
    this.link.receiveFrame(buf, off, len);
  }

  private phase(p: Phase): void {
    if (p === 'authenticate' && this.status === 'dialing') this.setStatus({ status: 'verifying password...' });
  }

  private linkDownEvent(reason: string): void {
    this.linkDown = true;
    this.reason ??= reason;
    if (this.status === 'terminated') return;
    if (this.peerTerminated && !this.localHangup) {
      // The peer hung up: it clears the call; clear it ourselves only if it does not.
      this.lingerTimer = this.o.clock.setTimer(this.o.lingerMs, () => {
        this.lingerTimer = undefined;
        if (this.status !== 'terminated') this.o.control.clearCall(this.call, this.reason ?? reason);
      });
      return;
    }
    if (this.status !== 'terminating...') this.setStatus({ status: 'terminating...' });
    this.o.control.clearCall(this.call, this.reason ?? reason);
  }

  private setStatus(e: CallStatusEvent): void {
    if (this.status === 'terminated') return;
    if (this.status === e.status && e.status !== 'connected') return;
    this.status = e.status;
    this.o.log?.(`call ${this.call.localCallId}: ${e.status}${e.reason ? ` (${e.reason})` : ''}`);
    this.o.onStatus(e);
  }
}

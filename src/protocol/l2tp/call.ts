/**
 * One L2TP call carrying one PPP link: glues an L2tpSession to a PPP `Link`
 * (src/protocol/ppp/link.ts) and reports RouterOS-style status for `monitor`.
 *
 * Data path (allocation-free): the io layer reads an IPv4 packet into a buffer with
 * L2TP_IP_HEADROOM free octets before it and calls `sendIp`; the Link frames (and
 * encrypts) it in place, the session writes the L2TP data header in front, and the tunnel's
 * `send` gets the datagram. Received data goes session -> Link.receiveFrame -> `onIp`.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import { DATA_HEADROOM, Link, type LinkConfig, type LinkInfo, type Phase } from '../ppp/link.js';
import { L2tpCdnResult } from '../../codec/l2tp/result-codes.js';
import { L2TP_DATA_HEADER_MAX, type L2tpSession } from './session.js';
import type { L2tpTunnel } from './tunnel.js';

/** Octets `sendIp` needs free before the IPv4 packet: L2TP data header + PPP/MPPE headers. */
export const L2TP_IP_HEADROOM = L2TP_DATA_HEADER_MAX + DATA_HEADROOM;

/** RouterOS `monitor` status values. */
export type CallStatus = 'dialing' | 'verifying password...' | 'connected' | 'terminating...' | 'terminated';

/** The Link settings a call takes from its owner (the call supplies clock and wiring). */
export type CallLinkConfig = Omit<LinkConfig, 'clock' | 'onFrame' | 'onData' | 'onPhase' | 'onUp' | 'onDown'>;

export type CallEvents = {
  status: [status: CallStatus, reason: string | undefined];
  up: [info: LinkInfo];
  down: [reason: string];
};

export interface CallInfo {
  status: CallStatus;
  reason?: string;
  localTunnelId: number;
  peerTunnelId: number;
  localSessionId: number;
  peerSessionId: number;
  peer: { address: string; port: number };
  link?: LinkInfo;
}

export class L2tpCall extends EventEmitter<CallEvents> {
  readonly tunnel: L2tpTunnel;
  readonly session: L2tpSession;
  link: Link | undefined;
  status: CallStatus = 'dialing';
  reason: string | undefined;
  /** Received IPv4 packets: buf[off .. off+len), valid only during the call. */
  onIp: (buf: Uint8Array, off: number, len: number) => void = () => {};

  private readonly clock: Clock;
  private readonly linkCfg: CallLinkConfig;
  private hangingUp = false;

  constructor(tunnel: L2tpTunnel, session: L2tpSession, clock: Clock, linkCfg: CallLinkConfig) {
    super();
    this.tunnel = tunnel;
    this.session = session;
    this.clock = clock;
    this.linkCfg = linkCfg;
    session.on('up', () => this.sessionUp());
    session.on('down', (reason) => this.sessionDown(reason));
    session.onFrame = (buf, off, len) => this.link?.receiveFrame(buf, off, len);
  }

  get isUp(): boolean {
    return this.status === 'connected';
  }

  /**
   * Send one IPv4 packet: buf[off .. off+len) with L2TP_IP_HEADROOM writable octets before
   * `off`. Returns false if the link cannot carry it now (counted by Link/session).
   */
  sendIp(buf: Uint8Array, off: number, len: number): boolean {
    const link = this.link;
    if (!link) return false;
    const start = link.wrapData(buf, off, len);
    if (start < 0) return false;
    return this.session.sendFrame(buf, start, off + len);
  }

  /** Hang up: LCP Terminate first when PPP is up, then CDN (§5.6). */
  hangup(reason = 'closed by administrator'): void {
    if (this.status === 'terminated' || this.hangingUp) return;
    this.hangingUp = true;
    this.reason ??= reason;
    if (this.link && this.link.phase !== 'dead') {
      this.setStatus('terminating...');
      this.link.close(reason); // its onDown sends the CDN
      return;
    }
    this.session.close({ resultCode: L2tpCdnResult.Administrative }, reason);
  }

  info(): CallInfo {
    return {
      status: this.status,
      reason: this.reason,
      localTunnelId: this.tunnel.localTunnelId,
      peerTunnelId: this.tunnel.peerTunnelId,
      localSessionId: this.session.localId,
      peerSessionId: this.session.peerId,
      peer: { ...this.tunnel.peer },
      link: this.link?.info(),
    };
  }

  // ---- internals ----------------------------------------------------------------------------

  private sessionUp(): void {
    if (this.hangingUp) {
      this.session.close({ resultCode: L2tpCdnResult.Administrative }, this.reason);
      return;
    }
    const link = new Link({
      ...this.linkCfg,
      clock: this.clock,
      onFrame: (f) => this.sendPpp(f),
      onData: (buf, off, len) => this.onIp(buf, off, len),
      onPhase: (p) => this.phase(p),
      onUp: (info) => {
        this.setStatus('connected');
        this.emit('up', info);
      },
      onDown: (reason) => this.linkDown(reason),
    });
    this.link = link;
    link.start();
  }

  /** PPP control frames (not the hot path): copy behind a data header. */
  private sendPpp(f: Uint8Array): void {
    const buf = new Uint8Array(L2TP_DATA_HEADER_MAX + f.length);
    buf.set(f, L2TP_DATA_HEADER_MAX);
    this.session.sendFrame(buf, L2TP_DATA_HEADER_MAX, buf.length);
  }

  private phase(p: Phase): void {
    if (p === 'authenticate' || p === 'network') this.setStatus('verifying password...');
    else if (p === 'terminate') this.setStatus('terminating...');
  }

  private linkDown(reason: string): void {
    this.reason ??= reason;
    // PPP is over: clear the call (CDN) unless the session is already gone.
    if (this.session.state !== 'closed') {
      const result = this.hangingUp ? { resultCode: L2tpCdnResult.Administrative } : { resultCode: L2tpCdnResult.GeneralError, errorCode: 0, errorMessage: reason };
      this.session.close(result, reason);
    } else this.terminated();
  }

  private sessionDown(reason: string): void {
    this.reason ??= reason;
    if (this.link && this.link.phase !== 'dead') this.link.lowerDown(reason);
    this.terminated();
  }

  private terminated(): void {
    if (this.status === 'terminated') return;
    this.setStatus('terminated');
    this.emit('down', this.reason ?? 'terminated');
  }

  private setStatus(s: CallStatus): void {
    if (this.status === s) return;
    this.status = s;
    this.emit('status', s, s === 'terminated' ? this.reason : undefined);
  }
}

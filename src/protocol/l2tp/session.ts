/**
 * One L2TP session (call) inside a tunnel, sans-I/O: the incoming-call exchange of RFC 2661
 * §7.4 (LAC: ICRQ -> ICRP -> ICCN; LNS: answer ICRQ with ICRP, established on ICCN), CDN
 * teardown (§5.6) and the data channel (§5.4): PPP frames behind an L2TP data header, with
 * optional L bit and optional sequencing.
 *
 * Sequencing (§5.4): if the LAC sent Sequencing Required, both sides number every data
 * message. Otherwise the LNS decides and the LAC follows: data received with Ns turns the
 * LAC's numbering on, data without turns it off. Received data whose Ns is older than the
 * last one seen is dropped (counted): PPP tolerates loss better than reordering (MPPE).
 */
import { EventEmitter } from 'node:events';
import type { L2tpAvps, L2tpResultCode } from '../../codec/l2tp/attributes.js';
import type { L2tpControl } from '../../codec/l2tp/message.js';
import type { L2tpHeader } from '../../codec/l2tp/header.js';
import { L2TP_MESSAGE_TYPE_NAMES, L2tpMessageType } from '../../codec/l2tp/message-types.js';
import { L2tpCdnResult, L2tpFraming, L2tpGeneralError } from '../../codec/l2tp/result-codes.js';

/** Largest data header we write: flags, Length, Tunnel ID, Session ID, Ns, Nr (no offset). */
export const L2TP_DATA_HEADER_MAX = 12;

export type SessionRole = 'lac' | 'lns';
/**
 * LAC: wait-tunnel -> wait-reply (ICRQ sent) -> wait-iccn-sent (ICCN queued behind a full
 * send window) -> established. LNS: wait-connect (ICRP sent) -> established.
 */
export type SessionState = 'wait-tunnel' | 'wait-reply' | 'wait-iccn-sent' | 'wait-connect' | 'established' | 'closed';

export interface SessionStats {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  drops: {
    /** Data Ns older than one already received. */
    sequence: number;
    /** Data before the session was established or after it closed. */
    notReady: number;
    /** Caller gave too little headroom for the data header. */
    headroom: number;
  };
}

/** What a session needs from its tunnel. */
export interface SessionHost {
  readonly peerTunnelId: number;
  /** `onSent` runs once the message has first left (it may wait behind the send window). */
  sendSessionControl(peerSessionId: number, messageType: number, avps: L2tpAvps, onSent?: () => void): void;
  sendData(buf: Uint8Array, off: number, len: number): void;
  sessionClosed(s: L2tpSession): void;
  touch(): void;
  log(line: string): void;
}

export interface SessionOptions {
  role: SessionRole;
  localId: number;
  callSerialNumber: number;
  /** LAC: ask for sequencing on every data message (Sequencing Required AVP in ICCN). */
  sequencingRequired?: boolean;
  /** LNS: number our data messages (and so make the LAC number its own). */
  sequencing?: boolean;
  /** Set the L bit (Length field) on data messages. */
  lengthBit?: boolean;
  /** LAC: Tx Connect Speed reported in ICCN (bits/s). */
  connectSpeed?: number;
}

export type SessionEvents = {
  up: [];
  down: [reason: string, result: L2tpResultCode | undefined];
};

function describeResult(r: L2tpResultCode | undefined): string {
  if (!r) return 'no result code';
  return `result ${r.resultCode}${r.errorCode !== undefined ? ` error ${r.errorCode}` : ''}${r.errorMessage ? ` (${r.errorMessage})` : ''}`;
}

export class L2tpSession extends EventEmitter<SessionEvents> {
  readonly role: SessionRole;
  readonly localId: number;
  readonly callSerialNumber: number;
  peerId = 0;
  state: SessionState;
  /** Why the session ended (set once). */
  reason: string | undefined;
  /** Do we put Ns on our data messages now. */
  sendSequence: boolean;
  readonly sequencingRequired: boolean;
  readonly stats: SessionStats = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, drops: { sequence: 0, notReady: 0, headroom: 0 } };
  /** Received PPP frames: buf[off .. off+len). The view is only valid during the call. */
  onFrame: (buf: Uint8Array, off: number, len: number) => void = () => {};

  private readonly host: SessionHost;
  private readonly lengthBit: boolean;
  private readonly lnsSequencing: boolean;
  private readonly connectSpeed: number;
  private dataNs = 0;
  private rxNs = 0;
  private rxSeqSeen = false;

  constructor(host: SessionHost, o: SessionOptions) {
    super();
    this.host = host;
    this.role = o.role;
    this.localId = o.localId;
    this.callSerialNumber = o.callSerialNumber;
    this.sequencingRequired = o.role === 'lac' && !!o.sequencingRequired;
    this.lnsSequencing = o.role === 'lns' && !!o.sequencing;
    this.sendSequence = this.sequencingRequired || this.lnsSequencing;
    this.lengthBit = !!o.lengthBit;
    this.connectSpeed = o.connectSpeed ?? 100_000_000;
    this.state = o.role === 'lac' ? 'wait-tunnel' : 'wait-connect';
  }

  get isUp(): boolean {
    return this.state === 'established';
  }

  // ---- control ------------------------------------------------------------------------------

  /** LAC: the tunnel is up, place the call (ICRQ, §6.9). */
  start(): void {
    if (this.role !== 'lac' || this.state !== 'wait-tunnel') return;
    this.state = 'wait-reply';
    this.host.sendSessionControl(0, L2tpMessageType.ICRQ, {
      assignedSessionId: this.localId,
      callSerialNumber: this.callSerialNumber,
      bearerType: 0,
    });
  }

  /** LNS: answer a received ICRQ (§6.10). */
  answer(icrq: L2tpControl): void {
    this.peerId = icrq.avps.assignedSessionId ?? 0;
    this.host.sendSessionControl(this.peerId, L2tpMessageType.ICRP, { assignedSessionId: this.localId });
  }

  /** ICRP, ICCN, CDN, WEN, SLI ... addressed to this session. */
  receiveControl(m: L2tpControl): void {
    if (this.state === 'closed') return;
    const t = m.messageType;
    switch (t) {
      case L2tpMessageType.CDN: {
        const r = m.avps.resultCode;
        this.finish(`peer disconnected the call: ${describeResult(r)}`, r, false);
        return;
      }
      case L2tpMessageType.ICRP:
        if (this.role !== 'lac' || this.state !== 'wait-reply') return this.fsmError(t);
        if (!m.avps.assignedSessionId) {
          return this.fail({ resultCode: L2tpCdnResult.GeneralError, errorCode: L2tpGeneralError.BadValue, errorMessage: 'ICRP without Assigned Session ID' });
        }
        this.peerId = m.avps.assignedSessionId;
        this.state = 'wait-iccn-sent';
        // §6: the LAC's side of the call is established when ICCN is *sent*. With many calls
        // on one tunnel the ICCN may wait behind the send window; PPP started now would
        // reach an LNS that has no call yet, be dropped, and cost an LCP restart (3 s).
        this.host.sendSessionControl(
          this.peerId,
          L2tpMessageType.ICCN,
          {
            txConnectSpeed: this.connectSpeed,
            framingType: L2tpFraming.Synchronous,
            ...(this.sequencingRequired ? { sequencingRequired: true as const } : {}),
          },
          () => {
            if (this.state === 'wait-iccn-sent') this.establish();
          },
        );
        return;
      case L2tpMessageType.ICCN:
        if (this.role !== 'lns' || this.state !== 'wait-connect') return this.fsmError(t);
        if (m.avps.sequencingRequired) this.sendSequence = true;
        this.establish();
        return;
      case L2tpMessageType.WEN:
      case L2tpMessageType.SLI:
        // Set-Link-Info / WAN-Error-Notify: informational here (no HDLC link to configure).
        return;
      default:
        return this.fsmError(t);
    }
  }

  /** Hang up with CDN (§5.6) carrying `result`. */
  close(result: L2tpResultCode = { resultCode: L2tpCdnResult.Administrative }, reason = 'call cleared'): void {
    if (this.state === 'closed') return;
    this.finish(reason, result, true);
  }

  /** A protocol fault: CDN with a General Error, then closed. */
  fail(result: L2tpResultCode): void {
    this.close(result, `call cleared: ${describeResult(result)}`);
  }

  /** The tunnel went away: no CDN is possible or needed (§5.7: StopCCN clears every session). */
  tunnelDown(reason: string): void {
    if (this.state === 'closed') return;
    this.finish(reason, undefined, false);
  }

  // ---- data ---------------------------------------------------------------------------------

  /**
   * Allocation-free send: buf[start .. end) is one PPP frame with at least
   * L2TP_DATA_HEADER_MAX writable octets before `start`. Writes the data header in front and
   * hands the datagram to the tunnel. Returns false (and counts a drop) if not sent.
   */
  sendFrame(buf: Uint8Array, start: number, end: number): boolean {
    const p = this.encapsulate(buf, start, end);
    if (p < 0) return false;
    this.host.sendData(buf, p, end - p);
    return true;
  }

  /** Write the data header in front of buf[start .. end); returns the datagram's start or -1. */
  encapsulate(buf: Uint8Array, start: number, end: number): number {
    if (this.state !== 'established') {
      this.stats.drops.notReady++;
      return -1;
    }
    const seq = this.sendSequence;
    const lb = this.lengthBit;
    const hlen = 6 + (lb ? 2 : 0) + (seq ? 4 : 0);
    let p = start - hlen;
    if (p < 0) {
      this.stats.drops.headroom++;
      return -1;
    }
    const s = p;
    // T=0, Ver 2; L and S as configured (§3.1).
    const flags = 0x0002 | (lb ? 0x4000 : 0) | (seq ? 0x0800 : 0);
    buf[p++] = flags >>> 8;
    buf[p++] = flags & 0xff;
    if (lb) {
      const len = end - s;
      buf[p++] = len >>> 8;
      buf[p++] = len & 0xff;
    }
    const tid = this.host.peerTunnelId;
    buf[p++] = tid >>> 8;
    buf[p++] = tid & 0xff;
    buf[p++] = this.peerId >>> 8;
    buf[p++] = this.peerId & 0xff;
    if (seq) {
      const ns = this.dataNs;
      this.dataNs = (ns + 1) & 0xffff;
      buf[p++] = ns >>> 8;
      buf[p++] = ns & 0xff;
      // Nr is reserved in data messages (§3.1).
      buf[p++] = 0;
      buf[p++] = 0;
    }
    this.stats.framesOut++;
    this.stats.bytesOut += end - start;
    return s;
  }

  /** A data message for this session; `h` was decoded from buf at `off`. */
  receiveData(buf: Uint8Array, off: number, h: L2tpHeader): void {
    if (this.state !== 'established') {
      this.stats.drops.notReady++;
      return;
    }
    if (h.hasSequence) {
      if (this.rxSeqSeen && ((h.ns - this.rxNs) & 0xffff) >= 0x8000) {
        this.stats.drops.sequence++;
        return;
      }
      this.rxSeqSeen = true;
      this.rxNs = (h.ns + 1) & 0xffff;
      if (this.role === 'lac') this.sendSequence = true;
    } else if (this.role === 'lac' && !this.sequencingRequired) {
      // §5.4: the LNS turned sequencing off (or never on).
      this.sendSequence = false;
    }
    this.host.touch();
    this.stats.framesIn++;
    this.stats.bytesIn += h.payloadLength;
    this.onFrame(buf, off + h.headerLength, h.payloadLength);
  }

  // ---- internals ----------------------------------------------------------------------------

  private establish(): void {
    this.state = 'established';
    this.host.log(`session ${this.localId}/${this.peerId} established${this.sendSequence ? ' (data sequencing on)' : ''}`);
    this.emit('up');
  }

  private fsmError(t: number): void {
    this.fail({ resultCode: L2tpCdnResult.GeneralError, errorCode: L2tpGeneralError.None, errorMessage: `unexpected ${L2TP_MESSAGE_TYPE_NAMES[t] ?? t} in state ${this.state}` });
  }

  private finish(reason: string, result: L2tpResultCode | undefined, sendCdn: boolean): void {
    const was = this.state;
    this.state = 'closed';
    this.reason ??= reason;
    // Before the ICRQ went out there is no call to clear on the peer.
    if (sendCdn && was !== 'wait-tunnel') {
      this.host.sendSessionControl(this.peerId, L2tpMessageType.CDN, {
        resultCode: result ?? { resultCode: L2tpCdnResult.Administrative },
        assignedSessionId: this.localId,
      });
    }
    this.host.log(`session ${this.localId}/${this.peerId} down: ${this.reason}`);
    this.host.sessionClosed(this);
    this.emit('down', this.reason, result);
  }
}

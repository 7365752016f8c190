/**
 * The RFC 1661 §4 option negotiation automaton, shared by LCP, IPCP, CCP (and any
 * later NCP). Sans-I/O: it sends control packets through `send`, keeps one Restart
 * timer on the injected clock, and reports layer transitions through the tlu/tld/
 * tls/tlf callbacks. Option content is delegated to the `FsmHandler`.
 *
 * The state table (RFC 1661 §4.1) is implemented event by event below; each case
 * lists the row it follows.
 */
import type { Clock, Timer } from '../clock.js';
import { Code } from '../../codec/ppp/protocols.js';
import * as packet from '../../codec/ppp/packet.js';
import { CodecError } from '../../errors.js';

export const enum State {
  Initial = 0,
  Starting = 1,
  Closed = 2,
  Stopped = 3,
  Closing = 4,
  Stopping = 5,
  ReqSent = 6,
  AckRcvd = 7,
  AckSent = 8,
  Opened = 9,
}

export const STATE_NAMES = ['Initial', 'Starting', 'Closed', 'Stopped', 'Closing', 'Stopping', 'Req-Sent', 'Ack-Rcvd', 'Ack-Sent', 'Opened'] as const;

/** RFC 1661 §4.6 defaults. */
export const DEFAULT_RESTART_MS = 3000;
export const DEFAULT_MAX_CONFIGURE = 10;
export const DEFAULT_MAX_TERMINATE = 2;
export const DEFAULT_MAX_FAILURE = 5;

export interface RequestJudgement {
  /** CONF_ACK, CONF_NAK or CONF_REJ. */
  code: number;
  /** Options for the response (for an Ack: the received options verbatim). */
  data: Uint8Array;
}

export interface FsmHandler {
  /** Send one control packet of this protocol. */
  send(code: number, id: number, data: Uint8Array): void;
  /** Options for the next Configure-Request. */
  buildRequest(): Uint8Array;
  /**
   * Judge the peer's Configure-Request. `naksAsRejects` is set once Max-Failure Naks
   * were sent without an Ack (RFC 1661 §4.6). Return undefined to discard a malformed one.
   */
  judgeRequest(data: Uint8Array, naksAsRejects: boolean): RequestJudgement | undefined;
  /** Configure-Ack matching our last request: return false if it does not match (discarded). */
  ackReceived(data: Uint8Array): boolean;
  /** Configure-Nak: adjust what we ask for; return false to discard as invalid. */
  nakReceived(data: Uint8Array): boolean;
  /** Configure-Reject: stop asking for those options; return false to discard as invalid. */
  rejectReceived(data: Uint8Array): boolean;
  thisLayerUp(): void;
  thisLayerDown(): void;
  thisLayerStarted(): void;
  thisLayerFinished(): void;
  /**
   * Codes beyond 1..7 (Echo, Protocol-Reject, Reset-Request...). Return true if the
   * code is known to this protocol (handled, or ignored in this state); false makes it an RUC.
   */
  extraCode?(code: number, id: number, data: Uint8Array, state: State): boolean;
  /** Whether a Code-Reject for `code` is catastrophic (RXJ-). Default: codes 1..7 are. */
  rejectIsFatal?(code: number): boolean;
  /** Peer's MRU, to bound Code-Reject echoes. */
  peerMru?(): number;
  log?(line: string): void;
}

export interface FsmOptions {
  name: string;
  clock: Clock;
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
}

export class Fsm {
  readonly name: string;
  state: State = State.Initial;
  private readonly clock: Clock;
  private readonly restartMs: number;
  private readonly maxConfigure: number;
  private readonly maxTerminate: number;
  private readonly maxFailure: number;
  private restartCount = 0;
  private failureCount = 0;
  private timer: Timer | undefined;
  private nextId = 1;
  /** Identifier of the last Configure-Request sent (replies must echo it, RFC 1661 §5.2). */
  private reqId = -1;
  private termReqId = -1;
  private termReason: Uint8Array = new Uint8Array(0);
  /** The last judgement of a peer request, used by sca/scn. */
  private pending: { id: number; j: RequestJudgement } | undefined;
  /** Counters, for tests and `monitor`. */
  readonly counters = { confReqSent: 0, termReqSent: 0, discarded: 0, codeRejSent: 0 };

  constructor(opts: FsmOptions, private readonly h: FsmHandler) {
    this.name = opts.name;
    this.clock = opts.clock;
    this.restartMs = opts.restartMs ?? DEFAULT_RESTART_MS;
    this.maxConfigure = opts.maxConfigure ?? DEFAULT_MAX_CONFIGURE;
    this.maxTerminate = opts.maxTerminate ?? DEFAULT_MAX_TERMINATE;
    this.maxFailure = opts.maxFailure ?? DEFAULT_MAX_FAILURE;
  }

  get stateName(): string {
    return STATE_NAMES[this.state];
  }

  // ---- administrative and lower-layer events -------------------------------------------------

  /** Up: the lower layer is ready to carry packets. */
  up(): void {
    switch (this.state) {
      case State.Initial: this.setState(State.Closed); break; // Up/0: -/2
      case State.Starting: this.failureCount = 0; this.irc(true); this.scr(); this.setState(State.ReqSent); break; // Up/1: irc,scr/6
      default: this.log(`Up in ${this.stateName} ignored`);
    }
  }

  /** Down: the lower layer is no longer available. */
  down(): void {
    switch (this.state) {
      case State.Closed: this.setState(State.Initial); break; // -/0
      case State.Stopped: this.setState(State.Starting); this.h.thisLayerStarted(); break; // tls/1
      case State.Closing: this.setState(State.Initial); break; // -/0
      case State.Stopping:
      case State.ReqSent:
      case State.AckRcvd:
      case State.AckSent: this.setState(State.Starting); break; // -/1
      case State.Opened: this.setState(State.Starting); this.h.thisLayerDown(); break; // tld/1
      default: this.log(`Down in ${this.stateName} ignored`);
    }
  }

  /** Open: the administrator (or the layer above) wants this protocol available. */
  open(): void {
    switch (this.state) {
      case State.Initial: this.setState(State.Starting); this.h.thisLayerStarted(); break; // tls/1
      case State.Closed: this.failureCount = 0; this.irc(true); this.scr(); this.setState(State.ReqSent); break; // irc,scr/6
      case State.Closing: this.setState(State.Stopping); break; // 5 (restart option not taken)
      default: break; // Starting/Stopped/Stopping/Req-Sent/Ack-Rcvd/Ack-Sent/Opened: no change
    }
  }

  /** Close: the link is not allowed to be open. `reason` goes into Terminate-Request data. */
  close(reason = ''): void {
    this.termReason = new TextEncoder().encode(reason);
    switch (this.state) {
      case State.Starting: this.setState(State.Initial); this.h.thisLayerFinished(); break; // tlf/0
      case State.Stopped: this.setState(State.Closed); break; // -/2
      case State.Stopping: this.setState(State.Closing); break; // -/4
      case State.ReqSent:
      case State.AckRcvd:
      case State.AckSent: this.irc(false); this.str(); this.setState(State.Closing); break; // irc,str/4
      case State.Opened: this.setState(State.Closing); this.h.thisLayerDown(); this.irc(false); this.str(); break; // tld,irc,str/4
      default: break; // Initial, Closed, Closing: no change
    }
  }

  /** Stop the restart timer for good (the owner is being torn down). */
  destroy(): void {
    this.stopTimer();
  }

  // ---- received packets ---------------------------------------------------------------------

  /** One control packet (the Information field of this protocol's frame). */
  receive(buf: Uint8Array, off = 0, len = buf.length - off): void {
    let p: packet.ControlPacket;
    try {
      p = packet.decode(buf, off, len);
    } catch (e) {
      if (e instanceof CodecError) {
        this.counters.discarded++;
        this.log(`discarded malformed packet: ${e.code}`);
        return;
      }
      throw e;
    }
    if (this.state === State.Initial || this.state === State.Starting) {
      // The lower layer is not up for us: nothing can be received (RFC 1661 §4.1 "-").
      this.counters.discarded++;
      return;
    }
    switch (p.code) {
      case Code.CONF_REQ: return this.rcvConfReq(p.id, p.data);
      case Code.CONF_ACK: return this.rcvConfAck(p.id, p.data);
      case Code.CONF_NAK:
      case Code.CONF_REJ: return this.rcvConfNakRej(p.code, p.id, p.data);
      case Code.TERM_REQ: return this.rtr(p.id);
      case Code.TERM_ACK: return this.rta(p.id);
      case Code.CODE_REJ: {
        const rejected = p.data.length > 0 ? p.data[0] : -1;
        const fatal = this.h.rejectIsFatal ? this.h.rejectIsFatal(rejected) : rejected >= 1 && rejected <= 7;
        return fatal ? this.rxjMinus() : this.rxjPlus();
      }
      default:
        if (this.h.extraCode && this.h.extraCode(p.code, p.id, p.data, this.state)) return;
        return this.ruc(buf.subarray(off, off + 4 + p.data.length));
    }
  }

  private rcvConfReq(id: number, data: Uint8Array): void {
    switch (this.state) {
      case State.Closed: this.sta(id); return; // RCR/2: sta/2
      case State.Closing:
      case State.Stopping: return; // 4, 5: no change
      default: break;
    }
    // A fresh negotiation (from Stopped or Opened) starts with a clean Max-Failure count.
    if (this.state === State.Stopped || this.state === State.Opened) this.failureCount = 0;
    const j = this.h.judgeRequest(data, this.failureCount >= this.maxFailure);
    if (!j) {
      this.counters.discarded++;
      return;
    }
    this.pending = { id, j };
    const good = j.code === Code.CONF_ACK;
    switch (this.state) {
      case State.Stopped: // RCR+/3: irc,scr,sca/8   RCR-/3: irc,scr,scn/6
        this.irc(true); this.scr();
        if (good) { this.sca(); this.setState(State.AckSent); } else { this.scn(); this.setState(State.ReqSent); }
        return;
      case State.ReqSent: // RCR+/6: sca/8   RCR-/6: scn/6
        if (good) { this.sca(); this.setState(State.AckSent); } else this.scn();
        return;
      case State.AckRcvd: // RCR+/7: sca,tlu/9   RCR-/7: scn/7
        if (good) { this.sca(); this.setState(State.Opened); this.h.thisLayerUp(); } else this.scn();
        return;
      case State.AckSent: // RCR+/8: sca/8   RCR-/8: scn/6
        if (good) this.sca(); else { this.scn(); this.setState(State.ReqSent); }
        return;
      case State.Opened: // RCR+/9: tld,scr,sca/8   RCR-/9: tld,scr,scn/6
        this.setState(good ? State.AckSent : State.ReqSent);
        this.h.thisLayerDown();
        this.scr();
        if (good) this.sca(); else this.scn();
        return;
      default: return;
    }
  }

  private rcvConfAck(id: number, data: Uint8Array): void {
    switch (this.state) {
      case State.Closed:
      case State.Stopped: this.sta(id); return; // RCA/2,3: sta
      case State.Closing:
      case State.Stopping: return;
      default: break;
    }
    // An Ack must answer our last request and repeat it exactly (RFC 1661 §5.2).
    if (id !== this.reqId || !this.h.ackReceived(data)) {
      this.counters.discarded++;
      this.log(`discarded Configure-Ack id ${id} (expected ${this.reqId} and our options)`);
      return;
    }
    switch (this.state) {
      case State.ReqSent: this.irc(true); this.setState(State.AckRcvd); return; // irc/7
      case State.AckRcvd: this.scr(); this.setState(State.ReqSent); return; // scr/6 (x): crossed
      case State.AckSent: this.irc(true); this.setState(State.Opened); this.h.thisLayerUp(); return; // irc,tlu/9
      case State.Opened: this.setState(State.ReqSent); this.h.thisLayerDown(); this.scr(); return; // tld,scr/6 (x)
      default: return;
    }
  }

  private rcvConfNakRej(code: number, id: number, data: Uint8Array): void {
    switch (this.state) {
      case State.Closed:
      case State.Stopped: this.sta(id); return;
      case State.Closing:
      case State.Stopping: return;
      default: break;
    }
    if (id !== this.reqId) {
      this.counters.discarded++;
      this.log(`discarded Configure-${code === Code.CONF_NAK ? 'Nak' : 'Reject'} id ${id} (expected ${this.reqId})`);
      return;
    }
    const ok = code === Code.CONF_NAK ? this.h.nakReceived(data) : this.h.rejectReceived(data);
    if (!ok) {
      this.counters.discarded++;
      return;
    }
    switch (this.state) {
      case State.ReqSent: this.irc(true); this.scr(); return; // RCN/6: irc,scr/6
      case State.AckRcvd: this.scr(); this.setState(State.ReqSent); return; // scr/6 (x)
      case State.AckSent: this.irc(true); this.scr(); return; // irc,scr/8
      case State.Opened: this.setState(State.ReqSent); this.h.thisLayerDown(); this.scr(); return; // tld,scr/6 (x)
      default: return;
    }
  }

  private rtr(id: number): void {
    switch (this.state) {
      case State.Closed:
      case State.Stopped:
      case State.Closing:
      case State.Stopping: this.sta(id); return; // sta, no change
      case State.ReqSent:
      case State.AckRcvd:
      case State.AckSent: this.sta(id); this.setState(State.ReqSent); return; // sta/6
      case State.Opened: // tld,zrc,sta/5
        this.setState(State.Stopping);
        this.h.thisLayerDown();
        this.zrc();
        this.sta(id);
        return;
      default: return;
    }
  }

  private rta(_id: number): void {
    switch (this.state) {
      case State.Closing: this.setState(State.Closed); this.h.thisLayerFinished(); return; // tlf/2
      case State.Stopping: this.setState(State.Stopped); this.h.thisLayerFinished(); return; // tlf/3
      case State.AckRcvd: this.setState(State.ReqSent); return; // -/6
      case State.Opened: this.setState(State.ReqSent); this.h.thisLayerDown(); this.scr(); return; // tld,scr/6
      default: return; // 2, 3, 6, 8: no change
    }
  }

  /** RUC: unknown code; scj in every state that receives. */
  private ruc(rejected: Uint8Array): void {
    const max = Math.max(0, (this.h.peerMru?.() ?? 1500) - 4);
    this.counters.codeRejSent++;
    this.h.send(Code.CODE_REJ, this.newId(), rejected.length > max ? rejected.subarray(0, max) : rejected);
  }

  /** RXJ+: a rejection we can live with. */
  rxjPlus(): void {
    if (this.state === State.AckRcvd) this.setState(State.ReqSent); // -/6
  }

  /** RXJ-: catastrophic rejection (Code-Reject of a config code, Protocol-Reject of this protocol). */
  rxjMinus(): void {
    switch (this.state) {
      case State.Closed:
      case State.Closing: this.setState(State.Closed); this.h.thisLayerFinished(); return; // tlf/2
      case State.Stopped:
      case State.Stopping:
      case State.ReqSent:
      case State.AckRcvd:
      case State.AckSent: this.setState(State.Stopped); this.h.thisLayerFinished(); return; // tlf/3
      case State.Opened: this.setState(State.Stopping); this.h.thisLayerDown(); this.irc(false); this.str(); return; // tld,irc,str/5
      default: return;
    }
  }

  /** RXR: Echo/Discard traffic - only acted on in Opened (ser), the caller checks `state`. */

  // ---- timer --------------------------------------------------------------------------------

  private timeout(): void {
    this.timer = undefined;
    if (this.restartCount > 0) {
      // TO+
      switch (this.state) {
        case State.Closing:
        case State.Stopping: this.str(); return; // str/4, str/5
        case State.ReqSent:
        case State.AckRcvd: this.scr(); this.setState(State.ReqSent); return; // scr/6
        case State.AckSent: this.scr(); return; // scr/8
        default: return;
      }
    }
    // TO-
    switch (this.state) {
      case State.Closing: this.setState(State.Closed); this.h.thisLayerFinished(); return; // tlf/2
      case State.Stopping:
      case State.ReqSent:
      case State.AckRcvd:
      case State.AckSent: this.setState(State.Stopped); this.h.thisLayerFinished(); return; // tlf/3
      default: return;
    }
  }

  private startTimer(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(this.restartMs, () => this.timeout());
  }

  private stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  // ---- actions ------------------------------------------------------------------------------

  private setState(s: State): void {
    if (s === this.state) return;
    this.log(`${this.stateName} -> ${STATE_NAMES[s]}`);
    this.state = s;
    // The Restart timer runs only in Closing, Stopping, Req-Sent, Ack-Rcvd, Ack-Sent (RFC 1661 §4.6).
    if (s < State.Closing || s === State.Opened) this.stopTimer();
  }

  /**
   * irc: Max-Configure for a configure cycle, Max-Terminate for a terminate cycle. The
   * Max-Failure count is not reset here: it counts Naks sent without an Ack across the whole
   * negotiation, or two peers Nak'ing each other would never converge (RFC 1661 §4.6).
   */
  private irc(configure: boolean): void {
    this.restartCount = configure ? this.maxConfigure : this.maxTerminate;
  }

  /** zrc: zero the counter, so the next timeout is TO- (RFC 1661 §4.4). */
  private zrc(): void {
    this.restartCount = 0;
    this.startTimer();
  }

  private scr(): void {
    this.reqId = this.newId();
    const data = this.h.buildRequest();
    this.restartCount--;
    this.counters.confReqSent++;
    this.h.send(Code.CONF_REQ, this.reqId, data);
    this.startTimer();
  }

  private sca(): void {
    const p = this.pending!;
    this.failureCount = 0;
    this.h.send(Code.CONF_ACK, p.id, p.j.data);
  }

  private scn(): void {
    const p = this.pending!;
    if (p.j.code === Code.CONF_NAK) this.failureCount++;
    this.h.send(p.j.code, p.id, p.j.data);
  }

  private str(): void {
    this.termReqId = this.newId();
    this.restartCount--;
    this.counters.termReqSent++;
    this.h.send(Code.TERM_REQ, this.termReqId, this.termReason);
    this.startTimer();
  }

  private sta(id: number): void {
    this.h.send(Code.TERM_ACK, id, new Uint8Array(0));
  }

  /** Identifier for a packet this side originates (Echo-Request etc. use it too). */
  newId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xff;
    return id;
  }

  private log(line: string): void {
    this.h.log?.(`${this.name}: ${line}`);
  }
}

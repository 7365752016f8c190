/**
 * The reliable control-message transport of one tunnel (RFC 2661 §5.8, Appendix A), sans-I/O.
 *
 * - Ns/Nr are free-running modulo 65536; a received Ns within the 32767 values before the
 *   next expected one is a duplicate: acknowledged, never re-delivered (§5.8).
 * - Messages ahead of the expected Ns but inside our advertised receive window are kept
 *   (copied) and delivered once the gap fills; the RFC allows either queueing or dropping,
 *   and queueing saves the peer a retransmission cycle. Anything further ahead is dropped
 *   and counted, as is a message whose Nr acknowledges something we never sent.
 * - Sending honours min(CWND, peer's Receive Window Size); CWND follows Appendix A (slow
 *   start from 1, congestion avoidance above SSTHRESH, halved into SSTHRESH on retransmit).
 * - The oldest unacknowledged message is retransmitted after 1 s, then 2, 4, 8, 8 ... (the
 *   cap must be >= 8 s, §5.8); after `retries` retransmissions go unanswered `onFail` runs.
 * - Acknowledgements piggyback on whatever we send next; if nothing is sent within
 *   `ackDelayMs` a ZLB goes out (§5.8: "a peer MUST NOT withhold acknowledgment").
 *
 * The upper layer hands encoded messages to `send` with any Ns/Nr in the header: the
 * channel writes the real Ns when queueing and the current Nr on every (re)transmission.
 */
import { encodeZlb } from '../../codec/l2tp/message.js';
import { createL2tpHeader, tryDecodeHeaderInto, type L2tpHeader } from '../../codec/l2tp/header.js';
import { ConfigError } from '../../errors.js';
import type { Clock, Timer } from '../clock.js';

/** Offsets of Ns and Nr in a control header (flags, Length, Tunnel ID, Session ID, Ns, Nr; §3.1). */
const NS_OFFSET = 8;
const NR_OFFSET = 10;

export interface ReliableStats {
  sent: number;
  retransmissions: number;
  zlbSent: number;
  received: number;
  zlbReceived: number;
  duplicates: number;
  queuedOutOfOrder: number;
  /** Ns too far ahead of the window: dropped. */
  nsOutOfWindow: number;
  /** Nr acknowledging messages never sent: dropped. */
  badNr: number;
}

export interface ReliableOptions {
  clock: Clock;
  /** Put one control message on the wire. The buffer is kept for retransmission: do not modify it. */
  transmit(buf: Uint8Array): void;
  /** One in-order, first-time, non-ZLB message for the upper layer (decode it synchronously). */
  deliver(buf: Uint8Array, header: L2tpHeader): void;
  /** The retry limit was reached: the tunnel must be cleared (§5.8). `unacked` is the message that went unanswered. */
  onFail(unacked: Uint8Array): void;
  /** Every acknowledgement that freed messages from the queue. */
  onAcked?(): void;
  /** Retransmissions before giving up; default 5 (§5.8 recommendation). */
  retries?: number;
  /** First retransmission interval, default 1000 ms. */
  initialRtoMs?: number;
  /** Back-off cap, default 8000 ms; the RFC forbids less than 8 s. */
  maxRtoMs?: number;
  /** How long an acknowledgement waits for a message to ride on before a ZLB is sent. */
  ackDelayMs?: number;
  /** Our Receive Window Size (what we advertise), default 4. */
  receiveWindow?: number;
}

interface Entry {
  buf: Uint8Array;
  ns: number;
  sent: boolean;
  sentAt: number;
  tries: number;
  /** Runs once, right after the first transmission (not when queued behind the window). */
  onSent: (() => void) | undefined;
}

/** (a - b) modulo 65536. */
function diff16(a: number, b: number): number {
  return (a - b) & 0xffff;
}

export class ReliableChannel {
  readonly stats: ReliableStats = { sent: 0, retransmissions: 0, zlbSent: 0, received: 0, zlbReceived: 0, duplicates: 0, queuedOutOfOrder: 0, nsOutOfWindow: 0, badNr: 0 };
  /** The peer's Assigned Tunnel ID: goes in the header of our ZLBs. */
  peerTunnelId = 0;
  readonly receiveWindow: number;
  readonly retries: number;
  readonly initialRtoMs: number;
  readonly maxRtoMs: number;

  private readonly o: ReliableOptions;
  private readonly clock: Clock;
  private readonly ackDelayMs: number;
  /** Ns of the next new message. */
  private nextNs = 0;
  /** Ns of the next message not yet transmitted (queue entries from here on wait for window). */
  private sndNxt = 0;
  /** Oldest unacknowledged Ns. */
  private una = 0;
  /** Ns we expect next from the peer (our Nr). */
  private rcvNxt = 0;
  /** The Nr we last put on the wire. */
  private lastNrSent = 0;
  private readonly queue: Entry[] = [];
  private readonly early = new Map<number, Uint8Array>();
  private peerWindow = 4;
  private cwnd = 1;
  private ssthresh = 4;
  private rtoTimer: Timer | undefined;
  private ackTimer: Timer | undefined;
  private forceAck = false;
  private closed = false;
  private readonly rxHeader = createL2tpHeader();

  constructor(o: ReliableOptions) {
    this.o = o;
    this.clock = o.clock;
    this.retries = o.retries ?? 5;
    this.initialRtoMs = o.initialRtoMs ?? 1000;
    this.maxRtoMs = o.maxRtoMs ?? 8000;
    this.ackDelayMs = o.ackDelayMs ?? 100;
    this.receiveWindow = o.receiveWindow ?? 4;
    if (!Number.isInteger(this.retries) || this.retries < 0 || this.retries > 100) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `l2tp retries ${this.retries}: expected 0..100`);
    if (!(this.initialRtoMs > 0)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', 'l2tp initial retransmission interval must be positive');
    // §5.8: "This cap MUST be no less than 8 seconds per retransmission."
    if (!(this.maxRtoMs >= 8000)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `l2tp retransmission cap ${this.maxRtoMs} ms: must be at least 8000 (RFC 2661 §5.8)`);
    if (!Number.isInteger(this.receiveWindow) || this.receiveWindow < 1 || this.receiveWindow > 32767) {
      throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `l2tp receive window ${this.receiveWindow}: expected 1..32767`);
    }
  }

  /** The peer's Receive Window Size (§4.4.3; 4 when it sent none). Resets SSTHRESH (Appendix A). */
  setPeerWindow(n: number): void {
    this.peerWindow = Math.max(1, Math.min(n, 32767));
    this.ssthresh = this.peerWindow;
    this.cwnd = Math.min(this.cwnd, this.peerWindow);
    this.pump();
  }

  get peerReceiveWindow(): number {
    return this.peerWindow;
  }

  /** Messages sent and not yet acknowledged. */
  get outstanding(): number {
    return diff16(this.sndNxt, this.una);
  }

  /** Messages queued or unacknowledged. */
  get pending(): number {
    return this.queue.length;
  }

  /** Messages received ahead of a gap, waiting for it to fill. */
  get queuedEarly(): number {
    return this.early.size;
  }

  get congestionWindow(): number {
    return this.cwnd;
  }

  /** Interval before retransmission number `tries + 1`: 1, 2, 4, 8, 8 ... seconds. */
  rto(tries: number): number {
    return Math.min(this.initialRtoMs * 2 ** Math.min(tries, 30), this.maxRtoMs);
  }

  /** A full retransmission cycle: how long a message can stay unacknowledged before `onFail` (31 s by default). */
  get cycleMs(): number {
    let t = 0;
    for (let i = 0; i <= this.retries; i++) t += this.rto(i);
    return t;
  }

  /**
   * Queue one encoded non-ZLB control message; returns its Ns. `onSent` runs once the
   * message has first gone on the wire, which may be later than now when the send window
   * is full (and never, if the channel closes first). It may run inside this call.
   */
  send(buf: Uint8Array, onSent?: () => void): number {
    const ns = this.nextNs;
    this.nextNs = (ns + 1) & 0xffff;
    buf[NS_OFFSET] = ns >>> 8;
    buf[NS_OFFSET + 1] = ns & 0xff;
    this.queue.push({ buf, ns, sent: false, sentAt: 0, tries: 0, onSent });
    this.pump();
    return ns;
  }

  /**
   * One received control message (header already decoded into `h`, `buf` is exactly the
   * message). Returns what the transport made of it.
   */
  receive(buf: Uint8Array, h: L2tpHeader): 'accepted' | 'zlb' | 'duplicate' | 'queued' | 'outOfWindow' | 'badNr' {
    if (this.closed) return 'outOfWindow';
    // Nr must not acknowledge beyond what we transmitted; an older Nr is just stale.
    const ahead = diff16(h.nr, this.sndNxt);
    if (ahead !== 0 && ahead < 0x8000) {
      this.stats.badNr++;
      return 'badNr';
    }
    if (h.payloadLength === 0) {
      this.stats.zlbReceived++;
      this.ack(h.nr);
      return 'zlb';
    }
    const d = diff16(h.ns, this.rcvNxt);
    if (d >= 0x8000) {
      // "<= last received": a duplicate; acknowledge it again (our ack may have been lost).
      this.stats.duplicates++;
      this.ack(h.nr);
      this.forceAck = true;
      this.scheduleAck();
      return 'duplicate';
    }
    if (d >= this.receiveWindow) {
      this.stats.nsOutOfWindow++;
      return 'outOfWindow';
    }
    this.ack(h.nr);
    if (d > 0) {
      if (!this.early.has(h.ns)) {
        this.early.set(h.ns, Uint8Array.prototype.slice.call(buf));
        this.stats.queuedOutOfOrder++;
      }
      this.forceAck = true;
      this.scheduleAck();
      return 'queued';
    }
    this.stats.received++;
    this.rcvNxt = (this.rcvNxt + 1) & 0xffff;
    this.o.deliver(buf, h);
    // Messages that were waiting for this one.
    for (;;) {
      if (this.closed) return 'accepted';
      const next = this.early.get(this.rcvNxt);
      if (next === undefined) break;
      this.early.delete(this.rcvNxt);
      if (tryDecodeHeaderInto(next, 0, next.length, this.rxHeader) < 0) break;
      this.stats.received++;
      this.rcvNxt = (this.rcvNxt + 1) & 0xffff;
      this.o.deliver(next, this.rxHeader);
    }
    this.scheduleAck();
    return 'accepted';
  }

  /** Send the pending acknowledgement now (e.g. for a StopCCN, §5.7). */
  ackNow(): void {
    if (this.closed) return;
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
    this.forceAck = false;
    this.sendZlb();
  }

  /** Stop every timer; nothing more is sent or delivered. */
  close(): void {
    this.closed = true;
    this.rtoTimer?.cancel();
    this.ackTimer?.cancel();
    this.rtoTimer = this.ackTimer = undefined;
    this.early.clear();
  }

  // ---- internals ----------------------------------------------------------------------------

  private ack(nr: number): void {
    const n = diff16(nr, this.una);
    if (n === 0 || n > this.outstanding) return;
    let freed = 0;
    while (this.queue.length > 0 && this.queue[0].sent) {
      // Acknowledged when its Ns lies before Nr (modulo 65536).
      const k = diff16(nr, this.queue[0].ns);
      if (k === 0 || k >= 0x8000) break;
      this.queue.shift();
      freed++;
      // Appendix A: +1 per ACK in slow start, +1/CWND in congestion avoidance.
      if (this.cwnd < this.ssthresh) this.cwnd += 1;
      else this.cwnd += 1 / this.cwnd;
      if (this.cwnd > this.peerWindow) this.cwnd = this.peerWindow;
    }
    this.una = nr;
    if (freed === 0) return;
    this.rtoTimer?.cancel();
    this.rtoTimer = undefined;
    this.pump();
    this.armRto();
    this.o.onAcked?.();
  }

  /** Transmit queued messages while the window allows. */
  private pump(): void {
    if (this.closed) return;
    const limit = Math.max(1, Math.min(Math.floor(this.cwnd), this.peerWindow));
    for (const e of this.queue) {
      if (e.sent) continue;
      if (this.outstanding >= limit) break;
      e.sent = true;
      e.sentAt = this.clock.now();
      this.sndNxt = (e.ns + 1) & 0xffff;
      this.stats.sent++;
      this.transmit(e);
      const cb = e.onSent;
      if (cb !== undefined) {
        e.onSent = undefined;
        // May queue more (a nested pump sends in Ns order) or close the channel.
        cb();
        if (this.closed) return;
      }
    }
    this.armRto();
  }

  private transmit(e: Entry): void {
    e.buf[NR_OFFSET] = this.rcvNxt >>> 8;
    e.buf[NR_OFFSET + 1] = this.rcvNxt & 0xff;
    this.noteNrSent();
    this.o.transmit(e.buf);
  }

  private noteNrSent(): void {
    this.lastNrSent = this.rcvNxt;
    this.forceAck = false;
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
  }

  private armRto(): void {
    if (this.rtoTimer || this.closed) return;
    const front = this.queue[0];
    if (!front || !front.sent) return;
    const wait = Math.max(0, front.sentAt + this.rto(front.tries) - this.clock.now());
    this.rtoTimer = this.clock.setTimer(wait, () => this.retransmit());
  }

  private retransmit(): void {
    this.rtoTimer = undefined;
    if (this.closed) return;
    const front = this.queue[0];
    if (!front || !front.sent) return;
    if (front.tries >= this.retries) {
      this.close();
      this.o.onFail(front.buf);
      return;
    }
    front.tries++;
    front.sentAt = this.clock.now();
    // Appendix A: congestion: half of CWND into SSTHRESH, CWND back to one.
    this.ssthresh = Math.max(1, this.cwnd / 2);
    this.cwnd = 1;
    this.stats.retransmissions++;
    this.transmit(front);
    this.armRto();
  }

  private scheduleAck(): void {
    if (this.closed || this.ackTimer) return;
    if (!this.forceAck && this.lastNrSent === this.rcvNxt) return;
    this.ackTimer = this.clock.setTimer(this.ackDelayMs, () => {
      this.ackTimer = undefined;
      if (this.forceAck || this.lastNrSent !== this.rcvNxt) this.sendZlb();
    });
  }

  private sendZlb(): void {
    const z = encodeZlb({ tunnelId: this.peerTunnelId, sessionId: 0, ns: this.sndNxt, nr: this.rcvNxt });
    this.noteNrSent();
    this.stats.zlbSent++;
    this.o.transmit(z);
  }
}

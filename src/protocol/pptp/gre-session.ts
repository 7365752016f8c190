/**
 * One call's Enhanced GRE data channel (RFC 2637 §4), sans-I/O.
 *
 * Send side: sequence numbers from 0 (§4.1), acks piggybacked on data when there is
 * something new to acknowledge, a transmit window bounded by the peer's Packet Recv.
 * Window Size (§4.2: start at half, +1 per fully acked window, halve on an ack
 * time-out) and the adaptive ack time-out of §4.4.1 (which also gives the RTT figure).
 *
 * Receive side (the pptp-linux algorithm, whose counters pptp(8) documents): in-order
 * packets go straight to the PPP layer as views of the caller's buffer; packets slightly
 * ahead are copied into a bounded pool and wait up to `reorderTimeoutMs` for the gap to
 * fill (§4.3 allows reordering by the receiver); then the gap is declared lost. Old and
 * duplicate packets are "under win", packets too far ahead "over win". Acks: piggybacked,
 * else an ack-only packet after `ackDelayMs`, or at once when half of our advertised
 * window is unacknowledged (so a window-respecting peer never stalls).
 *
 * pptp(8) --test-type / --test-rate (reorderTestType/Rate): a test mode that damages the
 * stream to the peer on purpose. Sequence numbers are still assigned in order; only the
 * order in which packets leave is permuted, every `rate` in-order packets (see
 * ReorderTestType). Held packets are copies in a pool allocated when the mode is on.
 *
 * Hot path: no allocation. Timers are armed lazily (one live timer per purpose, a
 * deadline number updated per packet). Views passed to onWrite/onPayload are valid only
 * during the call: an io layer that queues must copy.
 */
import type { Clock, Timer } from '../clock.js';
import { ConfigError } from '../../errors.js';
import { createGreHeader, GreStatus, tryDecodeInto } from '../../codec/pptp/gre.js';

/** Octets a caller must leave free in front of a payload given to `sendInPlace`. */
export const GRE_HEADROOM = 16;

/** The counters pptp(8) lists under STATISTICS, plus a few of ours (marked). */
export interface GreStats {
  rx: {
    /** GRE packets passed to PPP. */
    accepted: number;
    /** Packets never received, presumed lost. */
    lost: number;
    /** Duplicates or old sequence numbers. */
    underWin: number;
    /** Too far ahead to be reordered. */
    overWin: number;
    /** Slightly ahead: buffered for reordering, or (nobuffer) accepted at once. */
    buffered: number;
    /** The OS reported a read error (counted by the io layer through noteRxError). */
    errors: number;
    /** Shorter than the GRE header or its Payload Length implies. */
    truncated: number;
    /** Bad flags, version or protocol, or another call's Call ID. */
    invalid: number;
    /** Pure acknowledgements (no payload). */
    acks: number;
  };
  tx: {
    /** Data packets sent. */
    sent: number;
    /** onWrite reported failure (or the io layer noted one). */
    failed: number;
    /** The OS wrote less than the whole packet (noted by the io layer). */
    short: number;
    /** Ack-only packets sent. */
    acks: number;
    /** Payload larger than maxPayload. */
    oversize: number;
    /** (ours) Dropped because the transmit window was full. */
    windowFull: number;
    /** (ours) Ack time-outs (§4.4): window halved, outstanding packets given up. */
    timeouts: number;
  };
  /** Estimated round-trip time in milliseconds (§4.4.1). */
  rttMs: number;
}

/**
 * pptp(8) --test-type. After every `reorderTestRate` packets sent in order, one test:
 *  1: a single swap: ... 4 6 5 7 ...
 *  2: twelve packets (the first held, ten buffered, the next releasing them): the last
 *     goes first, the rest follow ascending: ... 4 16 5 6 ... 15 17 ... (the man page's
 *     example, "4 16 6 7 ... 15 17", leaves 5 out; it is sent, or the peer would count
 *     it lost in what is meant to be a reordering test)
 *  3: the same twelve in reverse: ... 4 16 15 14 ... 6 5 17 ...
 */
export const enum ReorderTestType {
  Off = 0,
  Swap = 1,
  Ascending = 2,
  Reverse = 3,
}

/** Packets a test of each type holds back (the releasing packet not included). */
const TEST_HELD = [0, 1, 11, 11] as const;

/**
 * Held packets leave at the latest this long after the first was held (when traffic
 * stops in the middle of a test), in the test's order as far as it got.
 */
export const REORDER_TEST_HOLD_MS = 1000;

export interface GreSessionOptions {
  clock: Clock;
  /** Our Call ID: the Key of every packet we accept must carry it (§4.1). */
  localCallId: number;
  /** The peer's Call ID, written into the Key of what we send. */
  peerCallId: number;
  /** Receive window we advertised in OCRQ/OCRP (default 64); acks go out at half of it. */
  localWindow?: number;
  /** The peer's Packet Recv. Window Size from OCRQ/OCRP (default 64; 0 = no limit). */
  peerWindow?: number;
  /** Enforce the transmit window (default true). */
  enforceWindow?: boolean;
  /** The peer's Packet Processing Delay in 1/10 s: seeds the RTT estimate (§4.4). */
  peerProcessingDelay?: number;
  /** pptp(8) --timeout: how long an ahead-of-sequence packet waits, 10..10000 ms (default 300). */
  reorderTimeoutMs?: number;
  /** pptp(8) --nobuffer: accept ahead-of-sequence packets at once, the gap is lost. */
  nobuffer?: boolean;
  /** Ack-only packet this long after unacked data when no data carries the ack (default 100). */
  ackDelayMs?: number;
  /** Packets further ahead than this are "over win" (default 300, as pptp-linux). */
  missingWindow?: number;
  /** Reorder pool slots (default 64). */
  bufferSlots?: number;
  /** Largest payload sent or buffered (default 2048). */
  maxPayload?: number;
  /** Bounds of the adaptive ack time-out (§4.4: MinTimeOut, MaxTimeOut), default 500 / 10000 ms. */
  minAckTimeoutMs?: number;
  maxAckTimeoutMs?: number;
  /** pptp(8) --test-type (default 0: packets leave in sequence order). For testing peers only. */
  reorderTestType?: ReorderTestType;
  /** pptp(8) --test-rate: packets sent in order before each test, 1.. (default 100). */
  reorderTestRate?: number;
  /** First sequence number we send (RFC 2637 §4.1: 0; other values are for tests of the 32-bit wrap). */
  firstSequence?: number;
  /** A complete GRE packet to send (no IP header). Return false if it could not be sent. */
  onWrite: (buf: Uint8Array, off: number, len: number) => boolean | void;
  /** One PPP frame, in sequence order. */
  onPayload: (buf: Uint8Array, off: number, len: number) => void;
}

const RING = 1024;
const RING_MASK = RING - 1;

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `${name} ${v}: expected ${min}..${max}`);
  return v;
}

export class GreSession {
  readonly stats: GreStats = {
    rx: { accepted: 0, lost: 0, underWin: 0, overWin: 0, buffered: 0, errors: 0, truncated: 0, invalid: 0, acks: 0 },
    tx: { sent: 0, failed: 0, short: 0, acks: 0, oversize: 0, windowFull: 0, timeouts: 0 },
    rttMs: 0,
  };
  readonly localCallId: number;
  readonly peerCallId: number;

  private readonly clock: Clock;
  private readonly onWrite: GreSessionOptions['onWrite'];
  private readonly onPayload: GreSessionOptions['onPayload'];
  private readonly hdr = createGreHeader();
  private closed = false;

  // ---- receive state
  private readonly reorderMs: number;
  private readonly nobuffer: boolean;
  private readonly missingWindow: number;
  private rxStarted = false;
  /** Next sequence number to pass to PPP. */
  private expected = 0;
  /** Highest sequence number accepted or buffered: what we acknowledge. */
  private highest = 0;
  /** Data packets taken in (accepted or buffered) since our last ack. */
  private rxSinceAck = 0;
  private readonly ackThreshold: number;
  private readonly ackDelayMs: number;
  private ackTimer: Timer | undefined;
  private ackDeadline = 0;
  private readonly slots: number;
  private readonly slotSize: number;
  /** Allocated on first use: most calls never reorder. */
  private pool: Uint8Array | undefined;
  private readonly slotSeq: Uint32Array;
  /** -1 = free. */
  private readonly slotLen: Int32Array;
  private readonly slotTime: Float64Array;
  private bufferedCount = 0;
  private reorderTimer: Timer | undefined;
  private reorderDeadline = 0;

  // ---- send state
  private readonly maxPayload: number;
  private readonly peerWindow: number;
  private readonly enforceWindow: boolean;
  private nextSeq = 0;
  /** Highest of our sequence numbers the peer acknowledged (nextSeq - 1 before any). */
  private lastAckRcvd = 0xffffffff;
  private txWindow: number;
  private ackedInWindow = 0;
  private readonly sendTimes = new Float64Array(RING);
  private rtt: number;
  private dev = 0;
  private ato: number;
  private readonly minAto: number;
  private readonly maxAto: number;
  private atoTimer: Timer | undefined;
  private atoDeadline = 0;
  private readonly ackBuf = new Uint8Array(12);
  private scratch: Uint8Array | undefined;

  // ---- send-order test (pptp(8) --test-type)
  private readonly testType: ReorderTestType;
  private readonly testRate: number;
  /** Packets sent in order since the last test. */
  private testPassed = 0;
  /** Packets held in the current test. */
  private testHeldCount = 0;
  private testPool: Uint8Array | undefined;
  private testLen: Int32Array | undefined;
  private testSeq: Uint32Array | undefined;
  private testTimer: Timer | undefined;

  constructor(o: GreSessionOptions) {
    this.clock = o.clock;
    this.localCallId = checkInt('local Call ID', o.localCallId, 0, 0xffff);
    this.peerCallId = checkInt('peer Call ID', o.peerCallId, 0, 0xffff);
    this.onWrite = o.onWrite;
    this.onPayload = o.onPayload;
    this.reorderMs = checkInt('reorder timeout (ms)', o.reorderTimeoutMs ?? 300, 10, 10_000);
    this.nobuffer = o.nobuffer ?? false;
    this.missingWindow = checkInt('missing window', o.missingWindow ?? 300, 1, 0x7fffffff);
    const localWindow = checkInt('receive window', o.localWindow ?? 64, 1, 0xffff);
    this.ackThreshold = Math.max(1, localWindow >>> 1);
    this.ackDelayMs = checkInt('ack delay (ms)', o.ackDelayMs ?? 100, 0, 10_000);
    this.slots = checkInt('buffer slots', o.bufferSlots ?? 64, 1, 4096);
    this.maxPayload = checkInt('max payload', o.maxPayload ?? 2048, 64, 0xffff);
    this.slotSize = this.maxPayload;
    this.slotSeq = new Uint32Array(this.slots);
    this.slotLen = new Int32Array(this.slots).fill(-1);
    this.slotTime = new Float64Array(this.slots);
    this.peerWindow = checkInt('peer receive window', o.peerWindow ?? 64, 0, 0xffff);
    this.enforceWindow = (o.enforceWindow ?? true) && this.peerWindow > 0;
    // §4.2.1: start at half the peer's window, at least one packet.
    this.txWindow = Math.max(1, Math.ceil(this.peerWindow / 2));
    this.testType = checkInt('reorder test type', o.reorderTestType ?? 0, 0, 3) as ReorderTestType;
    // At least one packet in order first: a receiver takes the first packet it sees as the
    // start of the stream (pptp-linux and ours do), so an early one would be 'under win'.
    this.testRate = checkInt('reorder test rate', o.reorderTestRate ?? 100, 1, 0x7fffffff);
    this.nextSeq = checkInt('first sequence number', o.firstSequence ?? 0, 0, 0xffffffff);
    this.lastAckRcvd = (this.nextSeq - 1) >>> 0;
    this.minAto = checkInt('min ack timeout (ms)', o.minAckTimeoutMs ?? 500, 1, 600_000);
    this.maxAto = checkInt('max ack timeout (ms)', o.maxAckTimeoutMs ?? 10_000, this.minAto, 600_000);
    // §4.4: RTT starts at the peer's Packet Processing Delay (tenths of a second).
    this.rtt = checkInt('processing delay', o.peerProcessingDelay ?? 0, 0, 0xffff) * 100;
    this.ato = Math.max(this.minAto, Math.min(this.rtt, this.maxAto));
    this.stats.rttMs = this.rtt;
  }

  /** Current transmit window (packets in flight allowed). */
  get window(): number {
    return this.txWindow;
  }

  /** Our packets not yet acknowledged. */
  get outstanding(): number {
    return (this.nextSeq - 1 - this.lastAckRcvd) >>> 0;
  }

  /** Packets waiting in the reorder pool. */
  get bufferedPackets(): number {
    return this.bufferedCount;
  }

  /** Current adaptive ack time-out (§4.4.1). */
  get ackTimeoutMs(): number {
    return this.ato;
  }

  /** The io layer saw `n` read errors on the GRE socket. */
  noteRxError(n = 1): void {
    this.stats.rx.errors += n;
  }

  /** `n` of the io layer's sends failed after onWrite returned (asynchronous error). */
  noteTxFailed(n = 1): void {
    this.stats.tx.failed += n;
  }

  /** The io layer wrote only part of `n` packets (or dropped them short of the kernel). */
  noteTxShort(n = 1): void {
    this.stats.tx.short += n;
  }

  /** Stop: cancel timers, drop buffered packets. Further input is ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
    this.reorderTimer?.cancel();
    this.reorderTimer = undefined;
    this.atoTimer?.cancel();
    this.atoTimer = undefined;
    this.testTimer?.cancel();
    this.testTimer = undefined;
    this.testHeldCount = 0;
    this.slotLen.fill(-1);
    this.bufferedCount = 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- send ---------------------------------------------------------------------------------

  /**
   * Send the payload at buf[off, off+len), which must have GRE_HEADROOM writable octets
   * in front: the header is written there and onWrite gets the whole packet. Returns
   * false (and counts why) if it was not sent. During a send-order test a packet may be
   * held (copied) and leave later: true then means it was taken.
   */
  sendInPlace(buf: Uint8Array, off: number, len: number): boolean {
    if (this.closed) return false;
    const tx = this.stats.tx;
    if (len > this.maxPayload) {
      tx.oversize++;
      return false;
    }
    if (this.enforceWindow && this.outstanding >= this.txWindow) {
      tx.windowFull++;
      return false;
    }
    if (this.testType !== ReorderTestType.Off) {
      if (this.testPassed >= this.testRate) {
        if (this.testHeldCount < TEST_HELD[this.testType]) return this.holdForTest(buf, off, len);
        // The releasing packet goes first, then the held ones.
        const ok = this.sendNow(buf, off, len);
        this.releaseTest();
        return ok;
      }
      if (!this.sendNow(buf, off, len)) return false;
      this.testPassed++;
      return true;
    }
    return this.sendNow(buf, off, len);
  }

  private sendNow(buf: Uint8Array, off: number, len: number): boolean {
    const tx = this.stats.tx;
    const withAck = this.ackPending();
    const rxSinceAck = this.rxSinceAck;
    const ackDeadline = this.ackDeadline;
    const hlen = withAck ? 16 : 12;
    const start = off - hlen;
    if (start < 0) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `sendInPlace needs ${hlen} octets of headroom`);
    const seq = this.nextSeq;
    this.writeDataHeader(buf, start, len, seq, withAck);
    if (withAck) {
      const a = this.highest;
      buf[start + 12] = a >>> 24;
      buf[start + 13] = (a >>> 16) & 0xff;
      buf[start + 14] = (a >>> 8) & 0xff;
      buf[start + 15] = a & 0xff;
      this.rxSinceAck = 0;
      this.ackDeadline = 0;
    }
    const now = this.clock.now();
    this.nextSeq = (seq + 1) >>> 0;
    this.sendTimes[seq & RING_MASK] = now;
    if (this.onWrite(buf, start, hlen + len) === false) {
      // It never left: give the sequence number back (a gap would make the peer wait out
      // its reorder timeout) and keep the ack owed.
      this.nextSeq = seq;
      this.rxSinceAck = rxSinceAck;
      this.ackDeadline = ackDeadline;
      if (withAck && ackDeadline === 0) this.scheduleAckTimer();
      tx.failed++;
      return false;
    }
    tx.sent++;
    if (this.atoDeadline === 0) this.armAto(now + this.ato);
    return true;
  }

  /** The 12 octets of a data packet's header (§4.1): K and S set, A if an ack follows, Ver 1. */
  private writeDataHeader(buf: Uint8Array, start: number, len: number, seq: number, withAck: boolean): void {
    buf[start] = 0x30; // K + S
    buf[start + 1] = withAck ? 0x81 : 0x01; // A? + Ver 1
    buf[start + 2] = 0x88;
    buf[start + 3] = 0x0b;
    buf[start + 4] = len >>> 8;
    buf[start + 5] = len & 0xff;
    buf[start + 6] = this.peerCallId >>> 8;
    buf[start + 7] = this.peerCallId & 0xff;
    buf[start + 8] = seq >>> 24;
    buf[start + 9] = (seq >>> 16) & 0xff;
    buf[start + 10] = (seq >>> 8) & 0xff;
    buf[start + 11] = seq & 0xff;
  }

  /**
   * A packet of a send-order test: framed with the next sequence number (no piggybacked
   * ack: the ack must not wait with it) and copied into the test pool.
   */
  private holdForTest(buf: Uint8Array, off: number, len: number): boolean {
    const start = off - 12;
    if (start < 0) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', 'sendInPlace needs 12 octets of headroom');
    const seq = this.nextSeq;
    this.writeDataHeader(buf, start, len, seq, false);
    const slotSize = 12 + this.maxPayload;
    const n = TEST_HELD[this.testType];
    const pool = (this.testPool ??= new Uint8Array(n * slotSize));
    const lens = (this.testLen ??= new Int32Array(n));
    const seqs = (this.testSeq ??= new Uint32Array(n));
    const i = this.testHeldCount++;
    pool.set(buf.subarray(start, off + len), i * slotSize);
    lens[i] = 12 + len;
    seqs[i] = seq;
    this.nextSeq = (seq + 1) >>> 0;
    if (i === 0) this.testTimer = this.clock.setTimer(REORDER_TEST_HOLD_MS, this.testTimerFired);
    return true;
  }

  /** Send the held packets in the test's order (ascending for 1 and 2, descending for 3). */
  private releaseTest(): void {
    const n = this.testHeldCount;
    this.testHeldCount = 0;
    this.testPassed = 0;
    this.testTimer?.cancel();
    this.testTimer = undefined;
    if (n === 0 || this.closed) return;
    const slotSize = 12 + this.maxPayload;
    const pool = this.testPool!;
    const tx = this.stats.tx;
    const reverse = this.testType === ReorderTestType.Reverse;
    for (let k = 0; k < n; k++) {
      const i = reverse ? n - 1 - k : k;
      const now = this.clock.now();
      this.sendTimes[this.testSeq![i] & RING_MASK] = now;
      // Later numbers are out already: a failed one cannot be given back (the peer sees a gap).
      if (this.onWrite(pool, i * slotSize, this.testLen![i]) === false) {
        tx.failed++;
        continue;
      }
      tx.sent++;
      if (this.atoDeadline === 0) this.armAto(now + this.ato);
      if (this.closed) return;
    }
  }

  private readonly testTimerFired = (): void => {
    this.testTimer = undefined;
    this.releaseTest();
  };

  /** Send a payload held anywhere: copied into an internal buffer first (no allocation). */
  send(payload: Uint8Array, off = 0, len = payload.length - off): boolean {
    if (len > this.maxPayload) {
      this.stats.tx.oversize++;
      return false;
    }
    const scratch = (this.scratch ??= new Uint8Array(GRE_HEADROOM + this.maxPayload));
    scratch.set(payload.subarray(off, off + len), GRE_HEADROOM);
    return this.sendInPlace(scratch, GRE_HEADROOM, len);
  }

  /** Send an ack-only packet now if anything is unacknowledged. */
  flushAck(): void {
    if (!this.closed && this.ackPending()) this.sendAckOnly();
  }

  private ackPending(): boolean {
    return this.rxSinceAck > 0;
  }

  private sendAckOnly(): void {
    const b = this.ackBuf;
    const a = this.highest;
    b[0] = 0x20; // K only: no payload, so no S (§4.1)
    b[1] = 0x81; // A + Ver 1
    b[2] = 0x88;
    b[3] = 0x0b;
    b[4] = 0;
    b[5] = 0;
    b[6] = this.peerCallId >>> 8;
    b[7] = this.peerCallId & 0xff;
    b[8] = a >>> 24;
    b[9] = (a >>> 16) & 0xff;
    b[10] = (a >>> 8) & 0xff;
    b[11] = a & 0xff;
    this.rxSinceAck = 0;
    this.ackDeadline = 0;
    if (this.onWrite(b, 0, 12) === false) {
      this.stats.tx.failed++;
      return;
    }
    this.stats.tx.acks++;
  }

  private readonly ackTimerFired = (): void => {
    this.ackTimer = undefined;
    if (this.closed || this.ackDeadline === 0) return;
    const now = this.clock.now();
    if (now < this.ackDeadline) {
      this.ackTimer = this.clock.setTimer(this.ackDeadline - now, this.ackTimerFired);
      return;
    }
    this.ackDeadline = 0;
    if (this.ackPending()) this.sendAckOnly();
  };

  /** After taking in a data packet: ack now (half window unacked) or arm the ack timer. */
  private scheduleAck(): void {
    this.rxSinceAck++;
    if (this.rxSinceAck >= this.ackThreshold || this.ackDelayMs === 0) {
      this.sendAckOnly();
      return;
    }
    this.scheduleAckTimer();
  }

  private scheduleAckTimer(): void {
    if (this.ackDeadline !== 0) return; // already scheduled; keep the first deadline
    this.ackDeadline = this.clock.now() + this.ackDelayMs;
    if (!this.ackTimer) this.ackTimer = this.clock.setTimer(this.ackDelayMs, this.ackTimerFired);
  }

  private armAto(deadline: number): void {
    this.atoDeadline = deadline;
    if (!this.atoTimer) this.atoTimer = this.clock.setTimer(Math.max(0, deadline - this.clock.now()), this.atoFired);
  }

  private readonly atoFired = (): void => {
    this.atoTimer = undefined;
    if (this.closed || this.atoDeadline === 0) return;
    if (this.outstanding === 0) {
      this.atoDeadline = 0;
      return;
    }
    const now = this.clock.now();
    if (now < this.atoDeadline) {
      this.atoTimer = this.clock.setTimer(this.atoDeadline - now, this.atoFired);
      return;
    }
    // §4.4.2 / §4.2.2: no retransmission; give up on what is outstanding, halve the
    // window (rounded up, at least 1) and back the time-out off.
    this.stats.tx.timeouts++;
    this.lastAckRcvd = (this.nextSeq - 1) >>> 0;
    this.txWindow = Math.max(1, Math.ceil(this.txWindow / 2));
    this.ackedInWindow = 0;
    this.ato = Math.min(this.maxAto, this.ato * 2);
    this.atoDeadline = 0;
  };

  private ackReceived(ack: number): void {
    const advance = (ack - this.lastAckRcvd) | 0;
    if (advance <= 0) return; // old or repeated ack
    // An ack beyond what we sent is bogus: ignore it (§4.1 acks "received" packets).
    if (((this.nextSeq - 1 - ack) | 0) < 0) return;
    const now = this.clock.now();
    if (((this.nextSeq - 1 - ack) >>> 0) < RING) {
      // §4.2.5: time the packet with the highest sequence number acknowledged.
      const sample = now - this.sendTimes[ack & RING_MASK];
      if (sample >= 0) this.rttSample(sample);
    }
    this.lastAckRcvd = ack;
    // §4.2.3: +1 for every window's worth acknowledged without a time-out.
    this.ackedInWindow += advance;
    if (this.ackedInWindow >= this.txWindow) {
      this.ackedInWindow -= this.txWindow;
      if (this.txWindow < this.peerWindow) this.txWindow++;
    }
    this.atoDeadline = this.outstanding > 0 ? now + this.ato : 0;
    if (this.atoDeadline !== 0 && !this.atoTimer) this.armAto(this.atoDeadline);
  }

  /** §4.4.1 with alpha 1/8, beta 1/4, chi 4. */
  private rttSample(sample: number): void {
    const diff = sample - this.rtt;
    this.dev += 0.25 * (Math.abs(diff) - this.dev);
    this.rtt += 0.125 * diff;
    this.ato = Math.max(this.minAto, Math.min(this.rtt + 4 * this.dev, this.maxAto));
    this.stats.rttMs = Math.round(this.rtt * 100) / 100;
  }

  // ---- receive ------------------------------------------------------------------------------

  /**
   * One received GRE packet (starting at the GRE header; the io layer strips the IPv4
   * header). Never throws on bad input: it is counted and dropped.
   */
  receive(buf: Uint8Array, off: number, len: number): void {
    if (this.closed) return;
    const rx = this.stats.rx;
    const h = this.hdr;
    const r = tryDecodeInto(buf, off, len, h);
    if (r < 0) {
      if (r === GreStatus.Truncated || r === GreStatus.Length) rx.truncated++;
      else rx.invalid++;
      return;
    }
    if (h.callId !== this.localCallId) {
      rx.invalid++;
      return;
    }
    if (h.hasAck) this.ackReceived(h.ack);
    if (!h.hasSequence) {
      rx.acks++;
      return;
    }
    this.dataReceived(h.sequence, buf, off + r, h.payloadLength);
  }

  /**
   * For an io fast path that already parsed the GRE header (and checked the Call ID):
   * `seq`/`ack` are -1 when absent; buf[off, off+len) is the payload.
   */
  receiveDecoded(seq: number, ack: number, buf: Uint8Array, off: number, len: number): void {
    if (this.closed) return;
    if (ack >= 0) this.ackReceived(ack >>> 0);
    if (seq < 0) {
      this.stats.rx.acks++;
      return;
    }
    this.dataReceived(seq >>> 0, buf, off, len);
  }

  private dataReceived(seq: number, buf: Uint8Array, pOff: number, pLen: number): void {
    const rx = this.stats.rx;
    if (!this.rxStarted) {
      // The first packet sets the stream (pptp-linux does the same; RFC 2637 §4.1 says
      // peers start at 0, but a peer that does not still works).
      this.rxStarted = true;
      this.expected = seq;
      this.highest = seq;
    }
    for (;;) {
      const d = (seq - this.expected) | 0;
      if (d === 0) {
        this.noteHighest(seq);
        this.expected = (seq + 1) >>> 0;
        this.deliver(buf, pOff, pLen);
        if (this.bufferedCount > 0) this.drain();
        break;
      }
      if (d < 0) {
        rx.underWin++;
        return;
      }
      if (d >= this.missingWindow) {
        rx.overWin++;
        return;
      }
      if (this.bufferedCount > 0 && this.findSlot(seq) >= 0) {
        rx.underWin++; // a duplicate of a packet already waiting
        return;
      }
      if (this.nobuffer || pLen > this.slotSize) {
        // Accept at once: everything in the gap is lost (§4.3 allows discarding). Packets
        // already waiting ahead of the gap go first, in order.
        rx.buffered++;
        if (this.bufferedCount > 0) this.releaseUpTo((seq - 1) >>> 0);
        if (this.closed) return;
        this.declareLost(seq);
        continue;
      }
      const slot = this.freeSlot();
      if (slot < 0) {
        // Pool full: the oldest gap is given up to make room (then re-judge this packet).
        this.releaseUpTo(this.lowestBufferedSeq());
        if (this.closed) return;
        continue;
      }
      rx.buffered++;
      this.noteHighest(seq);
      const pool = (this.pool ??= new Uint8Array(this.slots * this.slotSize));
      pool.set(buf.subarray(pOff, pOff + pLen), slot * this.slotSize);
      this.slotSeq[slot] = seq;
      this.slotLen[slot] = pLen;
      const now = this.clock.now();
      this.slotTime[slot] = now;
      this.bufferedCount++;
      this.armReorder(now + this.reorderMs);
      break;
    }
    if (!this.closed) this.scheduleAck();
  }

  private noteHighest(seq: number): void {
    if (((seq - this.highest) | 0) > 0) this.highest = seq;
  }

  private deliver(buf: Uint8Array, off: number, len: number): void {
    this.stats.rx.accepted++;
    if (len > 0) this.onPayload(buf, off, len);
  }

  /** Everything before `seq` that has not arrived is lost; `seq` becomes expected. */
  private declareLost(seq: number): void {
    const gap = (seq - this.expected) >>> 0;
    this.stats.rx.lost += gap;
    this.expected = seq;
  }

  /** Pass on buffered packets that are next in sequence. */
  private drain(): void {
    while (this.bufferedCount > 0 && !this.closed) {
      const s = this.findSlot(this.expected);
      if (s < 0) return;
      this.popSlot(s);
    }
  }

  private popSlot(s: number): void {
    const len = this.slotLen[s];
    const seq = this.slotSeq[s];
    this.slotLen[s] = -1;
    this.bufferedCount--;
    this.expected = (seq + 1) >>> 0;
    // The slot is free again only after the callback returns (nothing reuses it before).
    this.deliver(this.pool!, s * this.slotSize, len);
  }

  /** Release buffered packets in order up to and including `seq`, declaring gaps lost. */
  private releaseUpTo(seq: number): void {
    while (this.bufferedCount > 0 && !this.closed) {
      const low = this.lowestBufferedSeq();
      if (((low - seq) | 0) > 0) return;
      this.declareLost(low);
      this.drain();
    }
  }

  private lowestBufferedSeq(): number {
    let best = -1;
    let bestD = 0x7fffffff;
    for (let i = 0; i < this.slots; i++) {
      if (this.slotLen[i] < 0) continue;
      const d = (this.slotSeq[i] - this.expected) | 0;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best < 0 ? this.expected : this.slotSeq[best];
  }

  private findSlot(seq: number): number {
    for (let i = 0; i < this.slots; i++) if (this.slotLen[i] >= 0 && this.slotSeq[i] === seq) return i;
    return -1;
  }

  private freeSlot(): number {
    if (this.bufferedCount >= this.slots) return -1;
    for (let i = 0; i < this.slots; i++) if (this.slotLen[i] < 0) return i;
    return -1;
  }

  private armReorder(deadline: number): void {
    if (this.reorderDeadline !== 0 && this.reorderDeadline <= deadline) return;
    this.reorderDeadline = deadline;
    if (!this.reorderTimer) this.reorderTimer = this.clock.setTimer(Math.max(0, deadline - this.clock.now()), this.reorderFired);
  }

  /**
   * The reorder time-out: every buffered packet that waited reorderTimeoutMs is passed
   * on, and with it (in order) everything buffered before it; the gaps are lost.
   */
  private readonly reorderFired = (): void => {
    this.reorderTimer = undefined;
    this.reorderDeadline = 0;
    if (this.closed || this.bufferedCount === 0) return;
    const now = this.clock.now();
    let expiredSeq = -1;
    let expiredD = -1;
    for (let i = 0; i < this.slots; i++) {
      if (this.slotLen[i] < 0) continue;
      if (((this.slotSeq[i] - this.expected) | 0) < 0) {
        // Cannot happen (everything behind `expected` was passed on); never keep it around.
        this.slotLen[i] = -1;
        this.bufferedCount--;
        continue;
      }
      if (this.slotTime[i] + this.reorderMs > now) continue;
      const d = (this.slotSeq[i] - this.expected) | 0;
      if (d > expiredD) {
        expiredD = d;
        expiredSeq = this.slotSeq[i];
      }
    }
    if (expiredD >= 0) this.releaseUpTo(expiredSeq);
    if (this.closed || this.bufferedCount === 0) return;
    let next = Infinity;
    for (let i = 0; i < this.slots; i++) if (this.slotLen[i] >= 0) next = Math.min(next, this.slotTime[i] + this.reorderMs);
    this.armReorder(next);
  };
}

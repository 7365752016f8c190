/**
 * Raw GRE (IP protocol 47) sockets, one per local address (and SO_MARK), shared by every
 * PPTP client and server in the process: a raw socket sees every GRE packet for the host
 * anyway, so one read path demultiplexes to the right call.
 *
 * Each received batch is parsed only as far as the IPv4 header (IHL) here; the GRE header
 * is the protocol layer's (GreSession counts truncated/invalid ones). Packets go to the
 * listener registered for their source address and Call ID (a client), else to the
 * catch-all (a server), else they are counted as `noListener`. Listeners learn when a batch ends so they can flush
 * batched TUN writes.
 */
import { IoError } from '../../errors.js';
import type { GreSession } from '../../protocol/pptp/gre-session.js';
import { META_WORDS, RawSocket } from '../native.js';
import { TxBatch } from '../tx-batch.js';

export interface GreListener {
  /** buf[off, off+len) starts at the GRE header; `src` is the sender (host-order u32). Valid only during the call. */
  packet(buf: Uint8Array, off: number, len: number, src: number): void;
  /** The socket batch that delivered packets to this listener ended. */
  batchEnd?(): void;
}

export interface GreSocketStats {
  /** IPv4 header too short, or less than a GRE header (8 octets) after it. */
  malformed: number;
  /** No client or server wanted it. */
  noListener: number;
  /** Received whole packets. */
  packets: number;
}

/**
 * The socket's share of pptp(8)'s STATISTICS, which the protocol layer cannot see (what
 * a call's own sends returned it counts itself, as gre-tx-failed).
 */
export interface GreIoCounters {
  /** recvmmsg() failed (pptp(8) rx_errors): the addon's rxErrors. */
  rxErrors: number;
  /** The kernel refused a datagram the addon handed it (sendmmsg error: EPERM from a firewall, EMSGSIZE, ENOBUFS...): txErrors. */
  txFailed: number;
  /**
   * Taken for sending but dropped before the kernel saw it: the kernel took less than
   * asked (EAGAIN) and the socket's send queue was full. A raw socket never writes part of
   * a datagram, so this is the nearest thing to pptp(8)'s short write. txDropped, less
   * the drops send() already reported to the call.
   */
  txShort: number;
}

export class SharedGreSocket {
  readonly stats: GreSocketStats = { malformed: 0, noListener: 0, packets: 0 };
  private readonly byPeer = new Map<number, GreListener>();
  private catchAll: GreListener | undefined;
  private readonly touched: GreListener[] = [];
  private refs = 0;
  private readonly tx: TxBatch;
  /** send() calls the socket did not take (counted by the call as gre-tx-failed). */
  private notTaken = 0;

  constructor(readonly key: string, readonly sock: RawSocket, private readonly onLast: () => void) {
    this.tx = new TxBatch(sock);
    sock.onBatch = (n) => this.batch(n);
  }

  /**
   * Listen to GRE from `peer` whose Key carries `callId` (a client's call to its server;
   * several clients may share a server and a local address, RFC 2637 §4.1 Key).
   */
  addPeer(peer: number, callId: number, l: GreListener): () => void {
    const k = peer * 0x10000 + callId;
    if (this.byPeer.has(k)) throw new IoError('IO_ERR_GRE_PEER_IN_USE', `a PPTP client already uses Call ID ${callId} with this server from this address`);
    this.byPeer.set(k, l);
    this.refs++;
    return () => {
      if (this.byPeer.get(k) === l) this.byPeer.delete(k);
      this.release();
    };
  }

  /** Listen to GRE from everyone else (a server). */
  addCatchAll(l: GreListener): () => void {
    if (this.catchAll) throw new IoError('IO_ERR_GRE_PEER_IN_USE', 'a PPTP server already listens on this address');
    this.catchAll = l;
    this.refs++;
    return () => {
      if (this.catchAll === l) this.catchAll = undefined;
      this.release();
    };
  }

  /**
   * Sends one GRE packet (buf[off, off+len) from the GRE header on) to `dst`, after what
   * is queued: packets leave in the order they were given (a send-order test relies on it).
   */
  send(dst: number, buf: Uint8Array, off: number, len: number): boolean {
    if (this.tx.count > 0) this.tx.flush();
    if (this.sock.sendOne(buf, off, len, dst, 0) === 1) return true;
    this.notTaken++;
    return false;
  }

  /** The socket's error counters so far (cumulative; they survive close()). */
  ioCounters(): GreIoCounters {
    const st = this.sock.stats();
    return { rxErrors: st.rxErrors, txFailed: st.txErrors, txShort: Math.max(0, st.txDropped - this.notTaken) };
  }

  /**
   * Queues one GRE packet for the next flush() (one sendmmsg for a TUN batch). buf must
   * stay untouched until then: only views of the TUN's rx buffer qualify.
   */
  queue(dst: number, buf: Uint8Array, off: number, len: number): void {
    this.tx.add(buf, off, len, dst, 0);
  }

  flush(): void {
    this.tx.flush();
  }

  private release(): void {
    if (--this.refs <= 0) {
      this.sock.close();
      this.onLast();
    }
  }

  private batch(n: number): void {
    const meta = this.sock.rxMeta;
    const buf = this.sock.rx;
    const st = this.stats;
    const touched = this.touched;
    try {
      for (let i = 0; i < n; i++) {
        const j = i * META_WORDS;
        const off = meta[j], len = meta[j + 1], src = meta[j + 2];
        st.packets++;
        // Raw IPv4 sockets hand us the IP header: skip IHL words.
        const ihl = (buf[off] & 15) * 4;
        // Shorter than an IPv4 header plus the 8 octets every enhanced GRE header has (RFC 2637 §4.1).
        if (len < 20 || ihl < 20 || len - ihl < 8) { st.malformed++; continue; }
        // Enhanced GRE Key, low half: the Call ID.
        const g = off + ihl;
        const callId = (buf[g + 6] << 8) | buf[g + 7];
        const l = (this.byPeer.size > 0 ? this.byPeer.get(src * 0x10000 + callId) : undefined) ?? this.catchAll;
        if (!l) { st.noListener++; continue; }
        if (l.batchEnd && !touched.includes(l)) touched.push(l);
        l.packet(buf, off + ihl, len - ihl, src);
      }
    } finally {
      for (let i = 0; i < touched.length; i++) touched[i].batchEnd!();
      touched.length = 0;
    }
  }
}

const sockets = new Map<string, SharedGreSocket>();

/** The shared GRE socket for `address` (default 0.0.0.0) and `mark` (SO_MARK, pptp(8) --rtmark). */
export function greSocket(address = '0.0.0.0', mark = 0): SharedGreSocket {
  const key = `${address}/${mark}`;
  let s = sockets.get(key);
  if (!s) {
    const raw = RawSocket.open(47, { address, mark: mark || undefined });
    s = new SharedGreSocket(key, raw, () => sockets.delete(key));
    sockets.set(key, s);
  }
  return s;
}

/**
 * One call's view of its socket's error counters: what the socket counted since the call
 * began is added to the call's GreStats (rx.errors, tx.failed, tx.short) on each sync().
 * The socket is shared by every call on the same local address and mark, so an error is
 * counted for each call that was on it at the time (per socket, like pptp(8), where one
 * process owns one call and its socket).
 */
export class GreIoShare {
  private last: GreIoCounters;

  constructor(private readonly sock: SharedGreSocket) {
    this.last = sock.ioCounters();
  }

  sync(gre: GreSession): void {
    const now = this.sock.ioCounters();
    const l = this.last;
    if (now.rxErrors > l.rxErrors) gre.noteRxError(now.rxErrors - l.rxErrors);
    if (now.txFailed > l.txFailed) gre.noteTxFailed(now.txFailed - l.txFailed);
    if (now.txShort > l.txShort) gre.noteTxShort(now.txShort - l.txShort);
    this.last = now;
  }
}

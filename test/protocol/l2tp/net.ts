/**
 * In-memory datagram network on one FakeClock for the L2TP machines: every send is copied
 * and queued; `pump` delivers in order unless the `policy` drops, duplicates or holds
 * (reorders) a datagram. Nodes are reached by address (any port), so a node can move its
 * source port and still receive.
 */
import { FakeClock } from '../../../src/protocol/clock.js';
import { decodeHeader } from '../../../src/codec/l2tp/header.js';
import { L2TP_MESSAGE_TYPE_NAMES } from '../../../src/codec/l2tp/message-types.js';
import type { PeerAddress, SendFn } from '../../../src/protocol/l2tp/tunnel.js';

export interface Datagram {
  t: number;
  from: PeerAddress;
  to: PeerAddress;
  data: Uint8Array;
}

export type Verdict = 'pass' | 'drop' | 'dup' | 'hold';

export type Receiver = (buf: Uint8Array, off: number, len: number, from: PeerAddress) => void;

export class Net {
  readonly clock = new FakeClock();
  /** Every datagram sent, in order. */
  readonly sent: Datagram[] = [];
  /** Every datagram delivered, in order. */
  readonly delivered: Datagram[] = [];
  policy: (d: Datagram) => Verdict = () => 'pass';
  private readonly queue: Datagram[] = [];
  private readonly held: Datagram[] = [];
  private readonly nodes = new Map<string, Receiver>();

  attach(address: string, rx: Receiver): void {
    this.nodes.set(address, rx);
  }

  /** A SendFn for a node whose current source is `local` (mutable: change its port to move). */
  sender(local: PeerAddress): SendFn {
    return (buf, off, len, peer) => {
      const d: Datagram = { t: this.clock.now(), from: { ...local }, to: { ...peer }, data: buf.slice(off, off + len) };
      this.sent.push(d);
      this.queue.push(d);
    };
  }

  pump(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 200_000) throw new Error('net: datagram storm');
      const d = this.queue.shift()!;
      const v = this.policy(d);
      if (v === 'drop') continue;
      if (v === 'hold') {
        this.held.push(d);
        continue;
      }
      this.deliver(d);
      if (v === 'dup') this.deliver({ ...d, data: d.data.slice() });
      // A held datagram goes out right after the next one: a reorder.
      while (this.held.length > 0) this.deliver(this.held.shift()!);
    }
  }

  /** Deliver held datagrams now. */
  flushHeld(): void {
    while (this.held.length > 0) this.deliver(this.held.shift()!);
    this.pump();
  }

  run(ms: number, step = 10): void {
    const end = this.clock.now() + ms;
    this.pump();
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(step, end - this.clock.now()));
      this.pump();
    }
  }

  runUntil(pred: () => boolean, maxMs: number, step = 10): boolean {
    const end = this.clock.now() + maxMs;
    this.pump();
    while (!pred()) {
      if (this.clock.now() >= end) return false;
      this.clock.advance(step);
      this.pump();
    }
    return true;
  }

  private deliver(d: Datagram): void {
    const rx = this.nodes.get(d.to.address);
    if (!rx) return;
    this.delivered.push(d);
    rx(d.data, 0, d.data.length, d.from);
  }
}

/** "SCCRQ", "ZLB", "data" ... for a datagram (or "?" if it does not decode). */
export function kind(d: Datagram | Uint8Array): string {
  const data = d instanceof Uint8Array ? d : d.data;
  try {
    const h = decodeHeader(data);
    if (!h.isControl) return 'data';
    if (h.payloadLength === 0) return 'ZLB';
    const t = (data[h.headerLength + 6] << 8) | data[h.headerLength + 7];
    return L2TP_MESSAGE_TYPE_NAMES[t] ?? `type${t}`;
  } catch {
    return '?';
  }
}

export function header(d: Datagram) {
  return decodeHeader(d.data);
}

/** Deterministic random bytes (mulberry32) for IDs, challenges and tie breakers. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next() & 0xff;
    return out;
  };
}

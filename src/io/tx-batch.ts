/**
 * A pending batch of datagrams (or TUN packets) that all live in one buffer, sent with one
 * native call (sendmmsg, or one write per packet for a TUN) when it fills or is flushed.
 *
 * Every io path uses it the same way: received packets are views into a socket's or a
 * TUN's rx buffer, queued here as (offset, length, address, port) and sent when the batch
 * that delivered them ends. The buffer must stay untouched until then; a packet from a
 * different buffer flushes what is queued first. Nothing is allocated per packet.
 */
import { META_WORDS, type Channel } from './native.js';

/** Packets per batch: the addon reads up to 64 per wake-up, so one rx batch is one tx batch. */
export const MAX_BATCH = 64;

export class TxBatch {
  readonly meta = new Uint32Array(MAX_BATCH * META_WORDS);
  count = 0;
  buf: Uint8Array | undefined;

  constructor(readonly ch: Channel) {}

  add(buf: Uint8Array, off: number, len: number, addr = 0, port = 0): void {
    if ((this.buf !== undefined && this.buf !== buf) || this.count === MAX_BATCH) this.flush();
    this.buf = buf;
    const m = this.meta;
    const i = this.count++ * META_WORDS;
    m[i] = off;
    m[i + 1] = len;
    m[i + 2] = addr;
    m[i + 3] = port;
  }

  flush(): void {
    if (this.count > 0 && this.buf) this.ch.send(this.buf, this.meta, this.count);
    this.count = 0;
    this.buf = undefined;
  }

  /** Forget what is queued without sending it (the channel went away). */
  clear(): void {
    this.count = 0;
    this.buf = undefined;
  }
}

/**
 * PPTP control-connection stream parser (pg-protocol style): feed it TCP chunks as they
 * arrive, get whole messages back, whatever the segmentation.
 *
 * A framing error is fatal: RFC 2637 §1.4 says loss of synchronisation must close the
 * TCP connection, and the Magic Cookie must not be used to resynchronise. So after the
 * first error the parser reports it once (return value and `onError`) and ignores all
 * further input. It never throws a CodecError out of `push()`; exceptions thrown by
 * the caller's own `onMessage` are not caught.
 *
 * Memory is bounded: at most one partial message (<= maxMessageLength octets) is kept,
 * in a buffer allocated once.
 */
import { CodecError } from '../../errors.js';
import { PPTP_MAX_MESSAGE_LENGTH } from './constants.js';
import { checkFixedHeader, decode, type PptpControlMessage } from './control.js';

export interface PptpStreamParserOptions {
  /**
   * Largest Length accepted (default 220, the largest legal message, RFC 2637 §2.9).
   * A larger Length fails with PPTP_ERR_MESSAGE_TOO_LONG as soon as the header is seen.
   */
  maxMessageLength?: number;
  /** Reject non-zero reserved fields (default true), as `decode`'s `strict`. */
  strict?: boolean;
  /** Called for every complete, valid message, in order. */
  onMessage?: (msg: PptpControlMessage) => void;
  /** Called once, with the first error; the connection should then be dropped. */
  onError?: (err: CodecError) => void;
}

export class PptpStreamParser {
  private readonly maxLength: number;
  private readonly strict: boolean;
  private readonly onMessage: ((msg: PptpControlMessage) => void) | undefined;
  private readonly onError: ((err: CodecError) => void) | undefined;
  /** Holds the start of a message split across chunks. */
  private readonly pending: Uint8Array;
  private pendingLength = 0;
  private err: CodecError | null = null;

  constructor(options: PptpStreamParserOptions = {}) {
    const max = options.maxMessageLength ?? PPTP_MAX_MESSAGE_LENGTH;
    if (!Number.isInteger(max) || max < 16 || max > 0xffff) {
      throw new CodecError('PPTP_ERR_BAD_OPTION', 'maxMessageLength must be an integer 16..65535');
    }
    this.maxLength = max;
    this.strict = options.strict ?? true;
    this.onMessage = options.onMessage;
    this.onError = options.onError;
    this.pending = new Uint8Array(max);
  }

  /** The error that stopped the parser, or null. */
  get error(): CodecError | null {
    return this.err;
  }

  /** Octets of an incomplete message held back, waiting for more input. */
  get buffered(): number {
    return this.pendingLength;
  }

  /**
   * Feed one chunk. Returns the messages completed by it (also passed to `onMessage`)
   * and the error if parsing stopped (now or earlier).
   */
  push(chunk: Uint8Array): { messages: PptpControlMessage[]; error: CodecError | null } {
    const messages: PptpControlMessage[] = [];
    if (this.err !== null) return { messages, error: this.err };
    try {
      this.consume(chunk, messages);
    } catch (e) {
      // Only our own decode errors land here; onMessage runs outside this try.
      this.err = e instanceof CodecError ? e : new CodecError('PPTP_ERR_INTERNAL', String(e));
      this.pendingLength = 0;
    }
    for (const m of messages) this.onMessage?.(m);
    if (this.err !== null) this.onError?.(this.err);
    return { messages, error: this.err };
  }

  private consume(chunk: Uint8Array, out: PptpControlMessage[]): void {
    let pos = 0;
    // First complete a message already started in `pending`.
    if (this.pendingLength > 0) {
      const need = this.neededFor(this.pending, this.pendingLength);
      const take = Math.min(need - this.pendingLength, chunk.length);
      this.pending.set(chunk.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      pos = take;
      if (this.pendingLength < 8) return;
      const length = checkFixedHeader(this.pending, 0, this.maxLength);
      if (this.pendingLength < length) {
        const more = Math.min(length - this.pendingLength, chunk.length - pos);
        this.pending.set(chunk.subarray(pos, pos + more), this.pendingLength);
        this.pendingLength += more;
        pos += more;
        if (this.pendingLength < length) return;
      }
      out.push(decode(this.pending.subarray(0, length), 0, { strict: this.strict }));
      this.pendingLength = 0;
    }
    // Then whole messages straight from the chunk, without copying.
    while (chunk.length - pos >= 8) {
      const length = checkFixedHeader(chunk, pos, this.maxLength);
      if (chunk.length - pos < length) break;
      out.push(decode(chunk.subarray(pos, pos + length), 0, { strict: this.strict }));
      pos += length;
    }
    const rest = chunk.length - pos;
    if (rest > 0) {
      this.pending.set(chunk.subarray(pos), 0);
      this.pendingLength = rest;
    }
  }

  /** How many octets `pending` must hold before the next step: the header, then the message. */
  private neededFor(buf: Uint8Array, have: number): number {
    if (have < 8) return 8;
    return checkFixedHeader(buf, 0, this.maxLength);
  }
}

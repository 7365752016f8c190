/**
 * Configuration Option list: Type, Length (including both header octets), Data
 * (RFC 1661 §6). A Length below 2 or past the end of the packet is malformed; the
 * receiver discards the whole Configure packet.
 */
import { CodecError } from '../../errors.js';

export interface RawOption {
  type: number;
  /** View into the decoded buffer. */
  data: Uint8Array;
}

export function decode(buf: Uint8Array): RawOption[] {
  const out: RawOption[] = [];
  let p = 0;
  while (p < buf.length) {
    if (p + 2 > buf.length) throw new CodecError('PPP_ERR_TRUNCATED', `option header at ${p} is cut short`);
    const type = buf[p];
    const length = buf[p + 1];
    if (length < 2) throw new CodecError('PPP_ERR_OPTION_LENGTH', `option ${type} has Length ${length} (< 2)`);
    if (p + length > buf.length) throw new CodecError('PPP_ERR_TRUNCATED', `option ${type} Length ${length} runs past the packet`);
    out.push({ type, data: buf.subarray(p + 2, p + length) });
    p += length;
  }
  return out;
}

export function encodingLength(opts: readonly RawOption[]): number {
  let n = 0;
  for (const o of opts) n += 2 + o.data.length;
  return n;
}

export function encode(opts: readonly RawOption[]): Uint8Array {
  const out = new Uint8Array(encodingLength(opts));
  let p = 0;
  for (const o of opts) {
    if (!Number.isInteger(o.type) || o.type < 0 || o.type > 255) throw new CodecError('PPP_ERR_BAD_FIELD', `option type ${o.type} is not an octet`);
    if (o.data.length > 253) throw new CodecError('PPP_ERR_OVERSIZED', `option ${o.type} data of ${o.data.length} octets exceeds 253`);
    out[p] = o.type;
    out[p + 1] = o.data.length + 2;
    out.set(o.data, p + 2);
    p += 2 + o.data.length;
  }
  return out;
}

/** Re-encode one option exactly as received (for Configure-Ack/Reject echoes). */
export function encodeOne(type: number, data: Uint8Array): Uint8Array {
  return encode([{ type, data }]);
}

/** Big-endian helpers for option values. */
export function u16(data: Uint8Array, off = 0): number {
  return (data[off] << 8) | data[off + 1];
}
export function u32(data: Uint8Array, off = 0): number {
  return ((data[off] << 24) | (data[off + 1] << 16) | (data[off + 2] << 8) | data[off + 3]) >>> 0;
}
export function be16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}
export function be32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

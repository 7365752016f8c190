/**
 * LCP-style control packet: Code, Identifier, Length, Data (RFC 1661 §5). Shared by
 * LCP, IPCP, CCP and the other control protocols. Octets beyond Length are padding
 * and ignored (RFC 1661 §5); a Length beyond the received octets is a truncation.
 */
import { CodecError } from '../../errors.js';

export interface ControlPacket {
  code: number;
  id: number;
  /** A view into the decoded buffer (no copy). */
  data: Uint8Array;
}

export const HEADER_LENGTH = 4;
export const MAX_LENGTH = 0xffff;

export function decode(buf: Uint8Array, off = 0, len = buf.length - off): ControlPacket {
  if (off < 0 || len < 0 || off + len > buf.length) throw new CodecError('PPP_ERR_TRUNCATED', 'packet bounds outside buffer');
  if (len < HEADER_LENGTH) throw new CodecError('PPP_ERR_TRUNCATED', `control packet of ${len} octets is shorter than its 4-octet header`);
  const length = (buf[off + 2] << 8) | buf[off + 3];
  if (length < HEADER_LENGTH) throw new CodecError('PPP_ERR_BAD_LENGTH', `control packet Length ${length} is below 4`);
  if (length > len) throw new CodecError('PPP_ERR_TRUNCATED', `control packet Length ${length} exceeds the ${len} octets received`);
  return { code: buf[off], id: buf[off + 1], data: buf.subarray(off + 4, off + length) };
}

export function encodingLength(p: ControlPacket): number {
  return HEADER_LENGTH + p.data.length;
}

export function encodeInto(p: ControlPacket, buf: Uint8Array, off = 0): number {
  const length = encodingLength(p);
  if (length > MAX_LENGTH) throw new CodecError('PPP_ERR_OVERSIZED', `control packet of ${length} octets exceeds 65535`);
  if (off + length > buf.length) throw new CodecError('PPP_ERR_NO_SPACE', 'buffer too small for control packet');
  if (!Number.isInteger(p.code) || p.code < 0 || p.code > 255 || !Number.isInteger(p.id) || p.id < 0 || p.id > 255) {
    throw new CodecError('PPP_ERR_BAD_FIELD', 'code and identifier must be octets');
  }
  buf[off] = p.code;
  buf[off + 1] = p.id;
  buf[off + 2] = length >> 8;
  buf[off + 3] = length & 0xff;
  buf.set(p.data, off + 4);
  return length;
}

export function encode(p: ControlPacket): Uint8Array {
  const length = encodingLength(p);
  if (length > MAX_LENGTH) throw new CodecError('PPP_ERR_OVERSIZED', `control packet of ${length} octets exceeds 65535`);
  const out = new Uint8Array(length);
  encodeInto(p, out, 0);
  return out;
}

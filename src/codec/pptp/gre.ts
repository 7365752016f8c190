/**
 * Enhanced GRE (RFC 2637 §4.1), the PPTP data channel.
 *
 *   byte 0: C R K S s Recur(3)     byte 1: A Flags(4) Ver(3)     bytes 2-3: Protocol 0x880B
 *   Key = Payload Length (16) | Call ID (16), then Sequence Number if S, then Ack if A.
 *
 * PPTP fixes C=R=s=Recur=Flags=0, K=1 and Ver=1. S is set exactly when a payload is
 * carried; an ack-only packet has S=0, A=1, payload length 0. Real peers (pptp-linux,
 * pptpd) send flag words 0x3001 (K+S), 0x3081 (K+S+A) and 0x2081 (K+A).
 *
 * Hot path: `tryDecodeInto` / `decodeInto` fill a caller-owned `GreHeader` and
 * `encodeHeaderInto` writes into a caller-owned buffer; neither allocates.
 */
import { CodecError } from '../../errors.js';

/** GRE Protocol Type for PPP (RFC 2637 §4.1, [8] = RFC 1700 "PPP" ethertype). */
export const GRE_PROTOCOL_PPP = 0x880b;
/** Ver field of Enhanced GRE (RFC 2637 §4.1). */
export const GRE_VERSION_ENHANCED = 1;
/** IP protocol number of GRE. */
export const IP_PROTOCOL_GRE = 47;

/** Flag bits of the first 16 bits (RFC 2637 §4.1; bit 0 is the MSB). */
export const GreFlag = {
  /** bit 0, must be 0 */ Checksum: 0x8000,
  /** bit 1, must be 0 */ Routing: 0x4000,
  /** bit 2, must be 1 */ Key: 0x2000,
  /** bit 3, set iff a payload is present */ Sequence: 0x1000,
  /** bit 4, must be 0 */ StrictSourceRoute: 0x0800,
  /** bits 5-7, must be 0 */ RecursionMask: 0x0700,
  /** bit 8, Acknowledgment Number present */ Ack: 0x0080,
  /** bits 9-12, must be 0 */ FlagsMask: 0x0078,
  /** bits 13-15 */ VersionMask: 0x0007,
} as const;

/** Bits that must be zero in PPTP's GRE (C, R, s, Recur, Flags). */
const MUST_BE_ZERO = 0x8000 | 0x4000 | 0x0800 | 0x0700 | 0x0078;

export const GRE_MIN_HEADER_LENGTH = 8;
export const GRE_MAX_HEADER_LENGTH = 16;

/** A decoded header; reuse one instance per socket on the hot path. */
export interface GreHeader {
  callId: number;
  payloadLength: number;
  hasSequence: boolean;
  /** Valid when hasSequence. */
  sequence: number;
  hasAck: boolean;
  /** Valid when hasAck. */
  ack: number;
  /** 8, 12 or 16. */
  headerLength: number;
}

/** What to write; `sequence`/`ack` present means the S/A bit is set. */
export interface GreHeaderFields {
  callId: number;
  payloadLength: number;
  sequence?: number;
  ack?: number;
}

export function createGreHeader(): GreHeader {
  return { callId: 0, payloadLength: 0, hasSequence: false, sequence: 0, hasAck: false, ack: 0, headerLength: 0 };
}

/** Negative results of `tryDecodeInto`; `greErrorCode()` maps them to error codes. */
export const GreStatus = {
  Truncated: -1,
  Version: -2,
  Protocol: -3,
  Flags: -4,
  Length: -5,
} as const;

const STATUS_CODE: Readonly<Record<number, [string, string]>> = {
  [-1]: ['PPTP_ERR_GRE_TRUNCATED', 'GRE packet shorter than its header'],
  [-2]: ['PPTP_ERR_GRE_VERSION', 'GRE version is not 1 (Enhanced GRE)'],
  [-3]: ['PPTP_ERR_GRE_PROTOCOL', 'GRE protocol type is not 0x880B (PPP)'],
  [-4]: ['PPTP_ERR_GRE_FLAGS', 'GRE flags are not valid for PPTP (need K; C, R, s, Recur, Flags clear; S only with payload)'],
  [-5]: ['PPTP_ERR_GRE_LENGTH', 'GRE payload length runs past the end of the packet'],
};

/** The stable error code for a negative `tryDecodeInto` result. */
export function greErrorCode(status: number): string {
  return (STATUS_CODE[status] ?? ['PPTP_ERR_GRE_INTERNAL', ''])[0];
}

/** A CodecError for a negative `tryDecodeInto` result. */
export function greError(status: number): CodecError {
  const [code, message] = STATUS_CODE[status] ?? ['PPTP_ERR_GRE_INTERNAL', `unknown GRE status ${status}`];
  return new CodecError(code, message);
}

/**
 * Decode the GRE header of the `len` octets at `buf[off]` into `out` without allocating
 * or throwing. Returns the header length (8–16; the payload is
 * `buf[off + result .. off + result + out.payloadLength]`) or a negative GreStatus.
 * Octets after the payload (link padding) are allowed and ignored.
 */
export function tryDecodeInto(buf: Uint8Array, off: number, len: number, out: GreHeader): number {
  if (off < 0 || len < GRE_MIN_HEADER_LENGTH || off + len > buf.length) return GreStatus.Truncated;
  const flags = (buf[off] << 8) | buf[off + 1];
  if ((flags & GreFlag.VersionMask) !== GRE_VERSION_ENHANCED) return GreStatus.Version;
  if (((buf[off + 2] << 8) | buf[off + 3]) !== GRE_PROTOCOL_PPP) return GreStatus.Protocol;
  if ((flags & MUST_BE_ZERO) !== 0 || (flags & GreFlag.Key) === 0) return GreStatus.Flags;
  const hasSeq = (flags & GreFlag.Sequence) !== 0;
  const hasAck = (flags & GreFlag.Ack) !== 0;
  const hlen = 8 + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0);
  if (len < hlen) return GreStatus.Truncated;
  const payloadLength = (buf[off + 4] << 8) | buf[off + 5];
  // §4.1: S is 0 exactly when no payload is present (ack-only packet).
  if (!hasSeq && payloadLength !== 0) return GreStatus.Flags;
  if (payloadLength > len - hlen) return GreStatus.Length;
  out.payloadLength = payloadLength;
  out.callId = (buf[off + 6] << 8) | buf[off + 7];
  out.hasSequence = hasSeq;
  out.hasAck = hasAck;
  let p = off + 8;
  if (hasSeq) {
    out.sequence = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
    p += 4;
  } else {
    out.sequence = 0;
  }
  if (hasAck) {
    out.ack = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  } else {
    out.ack = 0;
  }
  out.headerLength = hlen;
  return hlen;
}

/** As `tryDecodeInto`, but throws a CodecError (PPTP_ERR_GRE_*) instead of returning a status. */
export function decodeInto(buf: Uint8Array, off: number, len: number, out: GreHeader): number {
  const r = tryDecodeInto(buf, off, len, out);
  if (r < 0) throw greError(r);
  return r;
}

export interface GrePacket extends GreHeader {
  /** View into the input (not a copy). */
  payload: Uint8Array;
}

/** Decode a whole GRE packet (header + payload view). Throws CodecError PPTP_ERR_GRE_*. */
export function decode(buf: Uint8Array, off = 0, len = buf.length - off): GrePacket {
  const h = createGreHeader();
  const hlen = decodeInto(buf, off, len, h);
  return { ...h, payload: buf.subarray(off + hlen, off + hlen + h.payloadLength) };
}

/** Header length for these fields: 8, +4 with a sequence number, +4 with an ack. */
export function headerLength(fields: GreHeaderFields): number {
  return 8 + (fields.sequence !== undefined ? 4 : 0) + (fields.ack !== undefined ? 4 : 0);
}

/**
 * Write the header for `fields` at `buf[off]`; returns its length (8–16). Does not
 * allocate. Throws CodecError PPTP_ERR_GRE_ENCODE if a value is out of range, if a
 * payload is given without a sequence number (§4.1), or if the buffer is too small.
 */
export function encodeHeaderInto(buf: Uint8Array, off: number, fields: GreHeaderFields): number {
  const { callId, payloadLength, sequence, ack } = fields;
  const hlen = headerLength(fields);
  if (off < 0 || buf.length - off < hlen) throw new CodecError('PPTP_ERR_GRE_ENCODE', 'buffer too small for the GRE header');
  if (!(callId >= 0 && callId <= 0xffff && Number.isInteger(callId))) throw new CodecError('PPTP_ERR_GRE_ENCODE', 'GRE Call ID must be 0..65535');
  if (!(payloadLength >= 0 && payloadLength <= 0xffff && Number.isInteger(payloadLength))) throw new CodecError('PPTP_ERR_GRE_ENCODE', 'GRE payload length must be 0..65535');
  if (sequence === undefined && payloadLength !== 0) throw new CodecError('PPTP_ERR_GRE_ENCODE', 'a GRE packet with payload needs a sequence number');
  if (sequence !== undefined && !(sequence >= 0 && sequence <= 0xffffffff && Number.isInteger(sequence))) throw new CodecError('PPTP_ERR_GRE_ENCODE', 'GRE sequence number must be a 32-bit unsigned integer');
  if (ack !== undefined && !(ack >= 0 && ack <= 0xffffffff && Number.isInteger(ack))) throw new CodecError('PPTP_ERR_GRE_ENCODE', 'GRE ack number must be a 32-bit unsigned integer');
  buf[off] = sequence !== undefined ? 0x30 : 0x20;
  buf[off + 1] = ack !== undefined ? 0x81 : 0x01;
  buf[off + 2] = 0x88;
  buf[off + 3] = 0x0b;
  buf[off + 4] = payloadLength >>> 8;
  buf[off + 5] = payloadLength;
  buf[off + 6] = callId >>> 8;
  buf[off + 7] = callId;
  let p = off + 8;
  if (sequence !== undefined) {
    buf[p] = sequence >>> 24;
    buf[p + 1] = sequence >>> 16;
    buf[p + 2] = sequence >>> 8;
    buf[p + 3] = sequence;
    p += 4;
  }
  if (ack !== undefined) {
    buf[p] = ack >>> 24;
    buf[p + 1] = ack >>> 16;
    buf[p + 2] = ack >>> 8;
    buf[p + 3] = ack;
  }
  return hlen;
}

/** A complete GRE packet (header + copy of `payload`) in a new buffer. */
export function encode(fields: Omit<GreHeaderFields, 'payloadLength'>, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const f: GreHeaderFields = { ...fields, payloadLength: payload.length };
  const out = new Uint8Array(headerLength(f) + payload.length);
  const hlen = encodeHeaderInto(out, 0, f);
  out.set(payload, hlen);
  return out;
}

/**
 * Length of the IPv4 header at `buf[off]` (IHL * 4), for raw-socket input, which
 * includes the IP header. Checks version 4, IHL >= 5, and that the header (and the
 * Total Length, if the packet is complete) fits. Throws CodecError PPTP_ERR_IPV4_*.
 */
export function ipv4HeaderLength(buf: Uint8Array, off = 0, len = buf.length - off): number {
  if (off < 0 || len < 20 || off + len > buf.length) throw new CodecError('PPTP_ERR_IPV4_TRUNCATED', 'IPv4 packet shorter than 20 octets');
  const b0 = buf[off];
  if (b0 >> 4 !== 4) throw new CodecError('PPTP_ERR_IPV4_VERSION', `IP version ${b0 >> 4} is not 4`);
  const ihl = (b0 & 15) * 4;
  if (ihl < 20) throw new CodecError('PPTP_ERR_IPV4_HEADER_LENGTH', `IPv4 IHL ${b0 & 15} is below 5`);
  if (ihl > len) throw new CodecError('PPTP_ERR_IPV4_TRUNCATED', `IPv4 header of ${ihl} octets does not fit in ${len}`);
  const total = (buf[off + 2] << 8) | buf[off + 3];
  if (total < ihl) throw new CodecError('PPTP_ERR_IPV4_HEADER_LENGTH', `IPv4 total length ${total} is below the header length ${ihl}`);
  return ihl;
}

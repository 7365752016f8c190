/**
 * L2TPv2 header (RFC 2661 §3.1):
 *
 *   |T|L|x|x|S|x|O|P|x|x|x|x| Ver |  Length (opt)  |
 *   | Tunnel ID | Session ID | Ns (opt) | Nr (opt) | Offset Size (opt) | Offset pad...
 *
 * Control messages (T=1) must have L=1 and S=1, and O=0 and P=0. Data messages carry
 * the optional fields as the bits say (xl2tpd's kernel path sends flags 0x0002, its
 * userspace path 0x4002; control messages are 0xC802). Reserved x bits are ignored on
 * receipt (§3.1). Ver 1 is L2F and Ver 3 is L2TPv3: both have their own error code so
 * callers can drop them silently.
 *
 * Hot path: `tryDecodeHeaderInto` fills a caller-owned `L2tpHeader` without allocating
 * or throwing; `encodeHeaderInto` writes into a caller-owned buffer.
 */
import { CodecError } from '../../errors.js';

/** UDP port of L2TP (RFC 2661 §8.1). */
export const L2TP_UDP_PORT = 1701;

/** Flag bits of the first 16 bits (RFC 2661 §3.1). */
export const L2tpFlag = {
  Type: 0x8000,
  Length: 0x4000,
  Sequence: 0x0800,
  Offset: 0x0200,
  Priority: 0x0100,
  VersionMask: 0x000f,
} as const;

/** Ver field values (RFC 2661 §3.1; 3 is RFC 3931). */
export const L2tpVersion = {
  L2F: 1,
  L2TPv2: 2,
  L2TPv3: 3,
} as const;

/** Control header: flags, Length, Tunnel ID, Session ID, Ns, Nr. */
export const L2TP_CONTROL_HEADER_LENGTH = 12;
/** The flag word of every control message: T, L, S, Ver 2. */
export const L2TP_CONTROL_FLAGS = 0xc802;

export interface L2tpHeader {
  /** T bit: control (true) or data message. */
  isControl: boolean;
  hasLength: boolean;
  hasSequence: boolean;
  hasOffset: boolean;
  priority: boolean;
  /** The Length field when L is set, else the datagram length given to the decoder. */
  length: number;
  tunnelId: number;
  sessionId: number;
  /** Valid when hasSequence. */
  ns: number;
  /** Valid when hasSequence (reserved in data messages, §3.1). */
  nr: number;
  /** Valid when hasOffset. */
  offsetSize: number;
  /** Octets from the start of the message to the payload (after any offset pad). */
  headerLength: number;
  /** Payload octets: `length - headerLength`. */
  payloadLength: number;
}

export function createL2tpHeader(): L2tpHeader {
  return { isControl: false, hasLength: false, hasSequence: false, hasOffset: false, priority: false, length: 0, tunnelId: 0, sessionId: 0, ns: 0, nr: 0, offsetSize: 0, headerLength: 0, payloadLength: 0 };
}

/** Negative results of `tryDecodeHeaderInto`. */
export const L2tpHeaderStatus = {
  Truncated: -1,
  VersionL2F: -2,
  VersionL2tpv3: -3,
  Version: -4,
  ControlFlags: -5,
  Length: -6,
  Offset: -7,
} as const;

const STATUS: Readonly<Record<number, [string, string]>> = {
  [-1]: ['L2TP_ERR_TRUNCATED', 'L2TP packet shorter than its header'],
  [-2]: ['L2TP_ERR_VERSION_L2F', 'Ver 1: an L2F packet, not L2TP'],
  [-3]: ['L2TP_ERR_VERSION_L2TPV3', 'Ver 3: an L2TPv3 packet, not L2TPv2'],
  [-4]: ['L2TP_ERR_VERSION', 'unknown L2TP header version'],
  [-5]: ['L2TP_ERR_CONTROL_FLAGS', 'control message without L and S set, or with O or P set'],
  [-6]: ['L2TP_ERR_BAD_LENGTH', 'L2TP Length field is smaller than the header or larger than the datagram'],
  [-7]: ['L2TP_ERR_BAD_OFFSET', 'L2TP offset padding runs past the end of the message'],
};

export function l2tpHeaderErrorCode(status: number): string {
  return (STATUS[status] ?? ['L2TP_ERR_INTERNAL', ''])[0];
}

export function l2tpHeaderError(status: number): CodecError {
  const [code, message] = STATUS[status] ?? ['L2TP_ERR_INTERNAL', `unknown L2TP header status ${status}`];
  return new CodecError(code, message);
}

/**
 * Decode the header of the datagram `buf[off .. off+len]` into `out`. Returns the
 * header length (the payload starts there and is `out.payloadLength` octets) or a
 * negative L2tpHeaderStatus. Never throws, never allocates.
 */
export function tryDecodeHeaderInto(buf: Uint8Array, off: number, len: number, out: L2tpHeader): number {
  if (off < 0 || len < 2 || off + len > buf.length) return L2tpHeaderStatus.Truncated;
  const flags = (buf[off] << 8) | buf[off + 1];
  const ver = flags & L2tpFlag.VersionMask;
  // Version first, so foreign packets of any size get their own (silent-drop) code.
  if (ver !== L2tpVersion.L2TPv2) {
    return ver === L2tpVersion.L2F ? L2tpHeaderStatus.VersionL2F : ver === L2tpVersion.L2TPv3 ? L2tpHeaderStatus.VersionL2tpv3 : L2tpHeaderStatus.Version;
  }
  if (len < 6) return L2tpHeaderStatus.Truncated;
  const isControl = (flags & L2tpFlag.Type) !== 0;
  const hasLength = (flags & L2tpFlag.Length) !== 0;
  const hasSeq = (flags & L2tpFlag.Sequence) !== 0;
  const hasOffset = (flags & L2tpFlag.Offset) !== 0;
  const priority = (flags & L2tpFlag.Priority) !== 0;
  // §3.1: L and S MUST be 1 and O and P MUST be 0 in control messages.
  if (isControl && (!hasLength || !hasSeq || hasOffset || priority)) return L2tpHeaderStatus.ControlFlags;
  let p = off + 2;
  let length = len;
  const fixed = 6 + (hasLength ? 2 : 0) + (hasSeq ? 4 : 0) + (hasOffset ? 2 : 0);
  if (len < fixed) return L2tpHeaderStatus.Truncated;
  if (hasLength) {
    length = (buf[p] << 8) | buf[p + 1];
    p += 2;
    if (length > len || length < fixed) return L2tpHeaderStatus.Length;
  }
  out.tunnelId = (buf[p] << 8) | buf[p + 1];
  out.sessionId = (buf[p + 2] << 8) | buf[p + 3];
  p += 4;
  if (hasSeq) {
    out.ns = (buf[p] << 8) | buf[p + 1];
    out.nr = (buf[p + 2] << 8) | buf[p + 3];
    p += 4;
  } else {
    out.ns = 0;
    out.nr = 0;
  }
  let hlen = fixed;
  if (hasOffset) {
    const offsetSize = (buf[p] << 8) | buf[p + 1];
    hlen += offsetSize;
    if (hlen > length) return L2tpHeaderStatus.Offset;
    out.offsetSize = offsetSize;
  } else {
    out.offsetSize = 0;
  }
  out.isControl = isControl;
  out.hasLength = hasLength;
  out.hasSequence = hasSeq;
  out.hasOffset = hasOffset;
  out.priority = priority;
  out.length = length;
  out.headerLength = hlen;
  out.payloadLength = length - hlen;
  return hlen;
}

/** As `tryDecodeHeaderInto`, throwing CodecError L2TP_ERR_* on failure. */
export function decodeHeaderInto(buf: Uint8Array, off: number, len: number, out: L2tpHeader): number {
  const r = tryDecodeHeaderInto(buf, off, len, out);
  if (r < 0) throw l2tpHeaderError(r);
  return r;
}

/** Decode a header into a new object. Throws CodecError L2TP_ERR_*. */
export function decodeHeader(buf: Uint8Array, off = 0, len = buf.length - off): L2tpHeader {
  const h = createL2tpHeader();
  decodeHeaderInto(buf, off, len, h);
  return h;
}

/** What `encodeHeaderInto` writes. Optional fields present set their bit. */
export interface L2tpHeaderFields {
  isControl?: boolean;
  tunnelId: number;
  sessionId: number;
  /** Present: L bit set and Length written as `length` (whole message, header included). */
  length?: number;
  /** Present (with nr): S bit set. */
  ns?: number;
  nr?: number;
  /** Present: O bit set, this many zero pad octets follow. */
  offsetSize?: number;
  priority?: boolean;
}

/** Header length for these fields. */
export function headerLength(f: L2tpHeaderFields): number {
  return 6 + (f.length !== undefined ? 2 : 0) + (f.ns !== undefined || f.nr !== undefined ? 4 : 0) + (f.offsetSize !== undefined ? 2 + f.offsetSize : 0);
}

function u16ok(v: number | undefined): boolean {
  return v === undefined || (Number.isInteger(v) && v >= 0 && v <= 0xffff);
}

/**
 * Write a header at `buf[off]`; returns its length. Throws CodecError
 * L2TP_ERR_ENCODE for out-of-range values, a control header without Length and
 * Ns/Nr (or with offset/priority), or a too-small buffer.
 */
export function encodeHeaderInto(buf: Uint8Array, off: number, f: L2tpHeaderFields): number {
  const seq = f.ns !== undefined || f.nr !== undefined;
  const hlen = headerLength(f);
  if (!u16ok(f.tunnelId) || !u16ok(f.sessionId) || !u16ok(f.length) || !u16ok(f.ns) || !u16ok(f.nr) || !u16ok(f.offsetSize)) {
    throw new CodecError('L2TP_ERR_ENCODE', 'L2TP header fields must be 16-bit unsigned integers');
  }
  if (f.isControl && (f.length === undefined || !seq || f.offsetSize !== undefined || f.priority)) {
    throw new CodecError('L2TP_ERR_ENCODE', 'an L2TP control header needs Length, Ns and Nr, and no offset or priority');
  }
  if (f.length !== undefined && f.length < hlen) throw new CodecError('L2TP_ERR_ENCODE', 'L2TP Length is smaller than the header');
  if (off < 0 || buf.length - off < hlen) throw new CodecError('L2TP_ERR_ENCODE', 'buffer too small for the L2TP header');
  let flags = L2tpVersion.L2TPv2;
  if (f.isControl) flags |= L2tpFlag.Type;
  if (f.length !== undefined) flags |= L2tpFlag.Length;
  if (seq) flags |= L2tpFlag.Sequence;
  if (f.offsetSize !== undefined) flags |= L2tpFlag.Offset;
  if (f.priority) flags |= L2tpFlag.Priority;
  let p = off;
  buf[p++] = flags >>> 8;
  buf[p++] = flags;
  if (f.length !== undefined) {
    buf[p++] = f.length >>> 8;
    buf[p++] = f.length;
  }
  buf[p++] = f.tunnelId >>> 8;
  buf[p++] = f.tunnelId;
  buf[p++] = f.sessionId >>> 8;
  buf[p++] = f.sessionId;
  if (seq) {
    const ns = f.ns ?? 0;
    const nr = f.nr ?? 0;
    buf[p++] = ns >>> 8;
    buf[p++] = ns;
    buf[p++] = nr >>> 8;
    buf[p++] = nr;
  }
  if (f.offsetSize !== undefined) {
    buf[p++] = f.offsetSize >>> 8;
    buf[p++] = f.offsetSize;
    buf.fill(0, p, p + f.offsetSize);
  }
  return hlen;
}

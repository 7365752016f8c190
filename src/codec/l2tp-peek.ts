/**
 * Header peeking for L2TPv2 over UDP (RFC 2661 §3.1), for the data-plane demux.
 *
 *   bits: T L x x S x O P x x x x Ver(4)     (T = control message)
 *   [Length (16) if L] Tunnel ID (16) Session ID (16) [Ns (16) Nr (16) if S]
 *   [Offset Size (16) + Offset Pad if O]
 *
 * Control messages must carry L and S (§3.1) and are handed whole to the control
 * layer; data messages (T=0) get their payload bounds here. `peekInto` fills a
 * caller-owned object and never allocates or throws (hot path); `decode` throws
 * CodecError L2TP_ERR_* for the codec API.
 */
import { CodecError } from '../errors.js';

/** Flag bits of the first 16 bits (RFC 2661 §3.1). */
export const L2tpFlag = {
  Type: 0x8000,
  Length: 0x4000,
  Sequence: 0x0800,
  Offset: 0x0200,
  Priority: 0x0100,
  VersionMask: 0x000f,
} as const;

/** Ver must be 2 for L2TPv2 (§3.1; 1 would be L2F, 3 is L2TPv3). */
export const L2TP_VERSION = 2;

export interface L2tpPeek {
  isControl: boolean;
  tunnelId: number;
  sessionId: number;
  hasSequence: boolean;
  ns: number;
  nr: number;
  /** Offset of the payload from the start of the message. */
  payloadOffset: number;
  /** Payload octets (up to Length when L is set, else to the end of the datagram). */
  payloadLength: number;
}

export function createL2tpPeek(): L2tpPeek {
  return { isControl: false, tunnelId: 0, sessionId: 0, hasSequence: false, ns: 0, nr: 0, payloadOffset: 0, payloadLength: 0 };
}

export const L2tpPeekStatus = { Truncated: -1, Version: -2, Length: -3, ControlFlags: -4 } as const;

const ERRORS: Readonly<Record<number, [string, string]>> = {
  [-1]: ['L2TP_ERR_TRUNCATED', 'L2TP message shorter than its header'],
  [-2]: ['L2TP_ERR_VERSION', 'L2TP version is not 2'],
  [-3]: ['L2TP_ERR_LENGTH', 'L2TP Length field disagrees with the datagram'],
  [-4]: ['L2TP_ERR_CONTROL_FLAGS', 'L2TP control message without the L and S bits'],
};

export function l2tpPeekError(status: number): CodecError {
  const [code, msg] = ERRORS[status] ?? ['L2TP_ERR_INTERNAL', `unknown status ${status}`];
  return new CodecError(code, msg);
}

/** Peek at the header of the `len` octets at `buf[off]`. Returns the payload offset (>0) or a negative status. */
export function peekInto(buf: Uint8Array, off: number, len: number, out: L2tpPeek): number {
  if (off < 0 || len < 6 || off + len > buf.length) return L2tpPeekStatus.Truncated;
  const flags = (buf[off] << 8) | buf[off + 1];
  if ((flags & L2tpFlag.VersionMask) !== L2TP_VERSION) return L2tpPeekStatus.Version;
  const isControl = (flags & L2tpFlag.Type) !== 0;
  const hasLen = (flags & L2tpFlag.Length) !== 0;
  const hasSeq = (flags & L2tpFlag.Sequence) !== 0;
  const hasOff = (flags & L2tpFlag.Offset) !== 0;
  // §3.1: a control message MUST have L and S set (and O clear).
  if (isControl && (!hasLen || !hasSeq || hasOff)) return L2tpPeekStatus.ControlFlags;
  let p = off + 2;
  let end = off + len;
  if (hasLen) {
    const l = (buf[p] << 8) | buf[p + 1];
    if (l > len || l < 6) return L2tpPeekStatus.Length;
    end = off + l; // Octets after Length are link padding.
    p += 2;
  }
  if (p + 4 > end) return L2tpPeekStatus.Truncated;
  out.tunnelId = (buf[p] << 8) | buf[p + 1];
  out.sessionId = (buf[p + 2] << 8) | buf[p + 3];
  p += 4;
  if (hasSeq) {
    if (p + 4 > end) return L2tpPeekStatus.Truncated;
    out.ns = (buf[p] << 8) | buf[p + 1];
    out.nr = (buf[p + 2] << 8) | buf[p + 3];
    p += 4;
  } else {
    out.ns = 0;
    out.nr = 0;
  }
  if (hasOff) {
    if (p + 2 > end) return L2tpPeekStatus.Truncated;
    const pad = (buf[p] << 8) | buf[p + 1];
    p += 2 + pad;
    if (p > end) return L2tpPeekStatus.Truncated;
  }
  out.isControl = isControl;
  out.hasSequence = hasSeq;
  out.payloadOffset = p - off;
  out.payloadLength = end - p;
  return p - off;
}

/** As peekInto, but returns a fresh object and throws CodecError L2TP_ERR_*. */
export function decode(buf: Uint8Array, off = 0, len = buf.length - off): L2tpPeek {
  const out = createL2tpPeek();
  const r = peekInto(buf, off, len, out);
  if (r < 0) throw l2tpPeekError(r);
  return out;
}

/** Bytes of the data header written by `encodeDataHeaderInto` (no L, S or O). */
export const L2TP_DATA_HEADER_LENGTH = 6;

/** Write the minimal data-message header (flags 0x0002, tunnel id, session id) at buf[off]. */
export function encodeDataHeaderInto(buf: Uint8Array, off: number, tunnelId: number, sessionId: number): number {
  if (off < 0 || off + 6 > buf.length) throw new CodecError('L2TP_ERR_ENCODE', 'buffer too small for the L2TP data header');
  if (!(tunnelId >= 0 && tunnelId <= 0xffff && sessionId >= 0 && sessionId <= 0xffff)) {
    throw new CodecError('L2TP_ERR_ENCODE', 'L2TP tunnel and session IDs must be 0..65535');
  }
  buf[off] = 0;
  buf[off + 1] = L2TP_VERSION;
  buf[off + 2] = tunnelId >>> 8;
  buf[off + 3] = tunnelId;
  buf[off + 4] = sessionId >>> 8;
  buf[off + 5] = sessionId;
  return 6;
}

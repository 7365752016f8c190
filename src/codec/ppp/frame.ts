/**
 * PPP frame header as carried inside GRE (PPTP) or L2TP: optional Address/Control
 * (FF 03, RFC 1662 §3.1; omitted under ACFC, RFC 1661 §6.6) then a 1- or 2-octet
 * Protocol field (1 octet under PFC, RFC 1661 §6.5). No HDLC flags and no FCS: the
 * tunnel already delimits frames.
 *
 * The decoder writes into a caller-owned object so the data path does not allocate.
 */
import { CodecError } from '../../errors.js';

export const ADDRESS = 0xff;
export const CONTROL = 0x03;
/** Most bytes any header takes: FF 03 + 2-octet protocol. */
export const MAX_HEADER = 4;

export interface FrameHeader {
  protocol: number;
  /** Offset of the Information field in the buffer. */
  offset: number;
  /** Length of the Information field. */
  length: number;
  /** True if the frame carried FF 03. */
  addressControl: boolean;
}

export function newHeader(): FrameHeader {
  return { protocol: 0, offset: 0, length: 0, addressControl: false };
}

/**
 * Parse the header of buf[off..off+len). `maxInfo`, when given, is the MRU: a longer
 * Information field throws PPP_ERR_TOO_LONG (RFC 1661 §6.1 - we only promised to take MRU).
 */
export function decodeHeader(buf: Uint8Array, off: number, len: number, out: FrameHeader, maxInfo?: number): FrameHeader {
  if (off < 0 || len < 0 || off + len > buf.length) throw new CodecError('PPP_ERR_TRUNCATED', 'frame bounds outside buffer');
  let p = off;
  const end = off + len;
  if (len < 1) throw new CodecError('PPP_ERR_TRUNCATED', 'empty PPP frame');
  out.addressControl = false;
  // 0xFF can never start a protocol field (0x00FF is not a valid number), so it is the address.
  if (buf[p] === ADDRESS) {
    if (len < 2) throw new CodecError('PPP_ERR_TRUNCATED', 'frame ends after address field');
    if (buf[p + 1] !== CONTROL) throw new CodecError('PPP_ERR_BAD_CONTROL', `control field 0x${buf[p + 1].toString(16)} is not 0x03`);
    p += 2;
    out.addressControl = true;
  }
  if (p >= end) throw new CodecError('PPP_ERR_TRUNCATED', 'frame has no protocol field');
  const b0 = buf[p];
  if (b0 & 1) {
    // PFC: a single odd octet is the low byte of a protocol < 0x100 (RFC 1661 §2).
    out.protocol = b0;
    p += 1;
  } else {
    if (p + 2 > end) throw new CodecError('PPP_ERR_TRUNCATED', 'frame ends inside protocol field');
    const b1 = buf[p + 1];
    // The last octet of every protocol number is odd (RFC 1661 §2).
    if (!(b1 & 1)) throw new CodecError('PPP_ERR_BAD_PROTOCOL', `protocol 0x${((b0 << 8) | b1).toString(16)} has an even low octet`);
    out.protocol = (b0 << 8) | b1;
    p += 2;
  }
  out.offset = p;
  out.length = end - p;
  if (maxInfo !== undefined && out.length > maxInfo) {
    throw new CodecError('PPP_ERR_TOO_LONG', `information field of ${out.length} octets exceeds MRU ${maxInfo}`);
  }
  return out;
}

/** Octets a header takes for this protocol with the given compressions. */
export function headerLength(protocol: number, acfc: boolean, pfc: boolean): number {
  return (acfc ? 0 : 2) + (pfc && protocol < 0x100 ? 1 : 2);
}

function checkProtocol(protocol: number): void {
  if (!Number.isInteger(protocol) || protocol < 1 || protocol > 0xffff || !(protocol & 1) || (protocol & 0x100)) {
    throw new CodecError('PPP_ERR_BAD_PROTOCOL', `invalid PPP protocol number ${protocol}`);
  }
}

/**
 * Write the header so it ends exactly at `payloadOff` (in-place framing into headroom).
 * Returns the frame's start offset. Compression is applied only where the RFC allows:
 * never ACFC/PFC on LCP (RFC 1661 §6.5, §6.6) and PFC only for protocols < 0x100.
 */
export function writeHeader(buf: Uint8Array, payloadOff: number, protocol: number, acfc = false, pfc = false): number {
  checkProtocol(protocol);
  const lcp = protocol === 0xc021;
  const a = acfc && !lcp;
  const short = pfc && !lcp && protocol < 0x100;
  const need = (a ? 0 : 2) + (short ? 1 : 2);
  const start = payloadOff - need;
  if (start < 0) throw new CodecError('PPP_ERR_NO_HEADROOM', `need ${need} octets of headroom for the PPP header`);
  let p = start;
  if (!a) {
    buf[p++] = ADDRESS;
    buf[p++] = CONTROL;
  }
  if (short) buf[p] = protocol;
  else {
    buf[p] = protocol >> 8;
    buf[p + 1] = protocol & 0xff;
  }
  return start;
}

export interface EncodeOptions {
  acfc?: boolean;
  pfc?: boolean;
}

/** Allocate one complete frame (control traffic; the data path uses writeHeader). */
export function encode(protocol: number, info: Uint8Array, opts: EncodeOptions = {}): Uint8Array {
  const lcp = protocol === 0xc021;
  const h = headerLength(protocol, !!opts.acfc && !lcp, !!opts.pfc && !lcp);
  const out = new Uint8Array(h + info.length);
  out.set(info, h);
  writeHeader(out, h, protocol, opts.acfc, opts.pfc);
  return out;
}

export function encodingLength(protocol: number, info: Uint8Array, opts: EncodeOptions = {}): number {
  const lcp = protocol === 0xc021;
  return headerLength(protocol, !!opts.acfc && !lcp, !!opts.pfc && !lcp) + info.length;
}

/** Allocating convenience decoder (tests, tools). */
export function decode(buf: Uint8Array, maxInfo?: number): { protocol: number; info: Uint8Array; addressControl: boolean } {
  const h = decodeHeader(buf, 0, buf.length, newHeader(), maxInfo);
  return { protocol: h.protocol, info: buf.subarray(h.offset, h.offset + h.length), addressControl: h.addressControl };
}

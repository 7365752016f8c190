/**
 * PAP (RFC 1334 §2.2) and CHAP (RFC 1994 §4) packet codecs: pure, bounds-checked.
 * Shared by CHAP-MD5, MS-CHAPv1 (RFC 2433 §5) and MS-CHAPv2 (RFC 2759 §4-6), which only
 * differ in what the Value and Message fields hold.
 */
import { CodecError } from '../../../errors.js';

export const PPP_PROTO_PAP = 0xc023;
export const PPP_PROTO_CHAP = 0xc223;

/** CHAP codes (RFC 1994 §4). */
export const ChapCode = { Challenge: 1, Response: 2, Success: 3, Failure: 4 } as const;
/** PAP codes (RFC 1334 §2.2). */
export const PapCode = { AuthenticateRequest: 1, AuthenticateAck: 2, AuthenticateNak: 3 } as const;

const HDR = 4;

export type ChapPacket =
  | { code: 1 | 2; id: number; value: Uint8Array; name: Uint8Array }
  | { code: 3 | 4; id: number; message: Uint8Array };

export type PapPacket =
  | { code: 1; id: number; peerId: Uint8Array; password: Uint8Array }
  | { code: 2 | 3; id: number; message: Uint8Array };

/**
 * Check the 4-byte header and return the Length field. Octets past Length are padding and
 * ignored (RFC 1661 §5); Length larger than the data is a truncated packet.
 */
function header(buf: Uint8Array, prefix: 'CHAP' | 'PAP'): number {
  if (buf.length < HDR) throw new CodecError(`${prefix}_ERR_TRUNCATED`, `${prefix} packet shorter than its 4-byte header`);
  const len = (buf[2] << 8) | buf[3];
  if (len < HDR) throw new CodecError(`${prefix}_ERR_BAD_LENGTH`, `${prefix} Length field ${len} is below 4`);
  if (len > buf.length) throw new CodecError(`${prefix}_ERR_TRUNCATED`, `${prefix} Length field ${len} exceeds the ${buf.length} bytes received`);
  return len;
}

function writeHeader(out: Uint8Array, code: number, id: number): void {
  if (out.length > 0xffff) throw new CodecError('PPP_ERR_OVERSIZED', 'authentication packet longer than 65535 bytes');
  out[0] = code;
  out[1] = id & 0xff;
  out[2] = out.length >>> 8;
  out[3] = out.length & 0xff;
}

export function decodeChap(buf: Uint8Array): ChapPacket {
  const len = header(buf, 'CHAP');
  const code = buf[0];
  const id = buf[1];
  switch (code) {
    case ChapCode.Challenge:
    case ChapCode.Response: {
      if (len < HDR + 1) throw new CodecError('CHAP_ERR_TRUNCATED', 'CHAP Challenge/Response without a Value-Size');
      const vs = buf[HDR];
      // RFC 1994 §4.1: the Value is at least one octet.
      if (vs === 0 || HDR + 1 + vs > len) {
        throw new CodecError('CHAP_ERR_BAD_VALUE_SIZE', `CHAP Value-Size ${vs} does not fit in Length ${len}`);
      }
      return { code, id, value: buf.subarray(HDR + 1, HDR + 1 + vs), name: buf.subarray(HDR + 1 + vs, len) };
    }
    case ChapCode.Success:
    case ChapCode.Failure:
      return { code, id, message: buf.subarray(HDR, len) };
    default:
      throw new CodecError('CHAP_ERR_UNKNOWN_CODE', `unknown CHAP code ${code}`);
  }
}

export function encodeChap(p: ChapPacket): Uint8Array {
  if ('value' in p) {
    if (p.value.length < 1 || p.value.length > 255) {
      throw new CodecError('CHAP_ERR_BAD_VALUE_SIZE', `CHAP value must be 1..255 bytes, got ${p.value.length}`);
    }
    const out = new Uint8Array(HDR + 1 + p.value.length + p.name.length);
    out[HDR] = p.value.length;
    out.set(p.value, HDR + 1);
    out.set(p.name, HDR + 1 + p.value.length);
    writeHeader(out, p.code, p.id);
    return out;
  }
  const out = new Uint8Array(HDR + p.message.length);
  out.set(p.message, HDR);
  writeHeader(out, p.code, p.id);
  return out;
}

export function encodingLengthChap(p: ChapPacket): number {
  return 'value' in p ? HDR + 1 + p.value.length + p.name.length : HDR + p.message.length;
}

export function decodePap(buf: Uint8Array): PapPacket {
  const len = header(buf, 'PAP');
  const code = buf[0];
  const id = buf[1];
  switch (code) {
    case PapCode.AuthenticateRequest: {
      let o = HDR;
      if (o + 1 > len) throw new CodecError('PAP_ERR_TRUNCATED', 'PAP Authenticate-Request without Peer-ID Length');
      const pl = buf[o++];
      if (o + pl + 1 > len) throw new CodecError('PAP_ERR_BAD_LENGTH', 'PAP Peer-ID Length runs past the packet');
      const peerId = buf.subarray(o, o + pl);
      o += pl;
      const wl = buf[o++];
      if (o + wl > len) throw new CodecError('PAP_ERR_BAD_LENGTH', 'PAP Passwd-Length runs past the packet');
      return { code, id, peerId, password: buf.subarray(o, o + wl) };
    }
    case PapCode.AuthenticateAck:
    case PapCode.AuthenticateNak: {
      // Some peers send Ack/Nak with no Msg-Length octet at all: treat as an empty message.
      if (len === HDR) return { code, id, message: buf.subarray(HDR, HDR) };
      const ml = buf[HDR];
      if (HDR + 1 + ml > len) throw new CodecError('PAP_ERR_BAD_LENGTH', 'PAP Msg-Length runs past the packet');
      return { code, id, message: buf.subarray(HDR + 1, HDR + 1 + ml) };
    }
    default:
      throw new CodecError('PAP_ERR_UNKNOWN_CODE', `unknown PAP code ${code}`);
  }
}

export function encodePap(p: PapPacket): Uint8Array {
  if ('peerId' in p) {
    if (p.peerId.length > 255 || p.password.length > 255) {
      throw new CodecError('PAP_ERR_OVERSIZED', 'PAP Peer-ID and Password are limited to 255 bytes');
    }
    const out = new Uint8Array(HDR + 2 + p.peerId.length + p.password.length);
    out[HDR] = p.peerId.length;
    out.set(p.peerId, HDR + 1);
    out[HDR + 1 + p.peerId.length] = p.password.length;
    out.set(p.password, HDR + 2 + p.peerId.length);
    writeHeader(out, p.code, p.id);
    return out;
  }
  if (p.message.length > 255) throw new CodecError('PAP_ERR_OVERSIZED', 'PAP message is limited to 255 bytes');
  const out = new Uint8Array(HDR + 1 + p.message.length);
  out[HDR] = p.message.length;
  out.set(p.message, HDR + 1);
  writeHeader(out, p.code, p.id);
  return out;
}

export function encodingLengthPap(p: PapPacket): number {
  return 'peerId' in p ? HDR + 2 + p.peerId.length + p.password.length : HDR + 1 + p.message.length;
}

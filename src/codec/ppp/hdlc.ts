/**
 * RFC 1662 asynchronous HDLC-like framing (the byte stream pppd speaks on a tty or pty):
 * frames between 0x7E flags, 0x7D escapes (octet XOR 0x20), FCS-16 at the end, sent
 * least significant octet first. Tunnels (GRE, L2TP) do not use it; it lets the PPP engine
 * talk to pppd over a plain byte pipe (tests against a real peer, serial links).
 *
 * Sending escapes every control character (the default ACCM, RFC 1662 §7.1), which any
 * receiver accepts whatever async-map was negotiated.
 */
import { CodecError } from '../../errors.js';

export const FLAG = 0x7e;
export const ESCAPE = 0x7d;
const FCS_INIT = 0xffff;
/** The FCS over data + its own FCS field comes out as this constant (RFC 1662 §C.2). */
const FCS_GOOD = 0xf0b8;

const FCS_TABLE = (() => {
  // Reflected CRC-CCITT, polynomial x^16 + x^12 + x^5 + 1 (0x8408 bit-reversed form).
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
    t[b] = v;
  }
  return t;
})();

export function fcs16(data: Uint8Array, off = 0, len = data.length - off, fcs = FCS_INIT): number {
  for (let i = off; i < off + len; i++) fcs = (fcs >>> 8) ^ FCS_TABLE[(fcs ^ data[i]) & 0xff];
  return fcs;
}

function needsEscape(b: number): boolean {
  return b < 0x20 || b === FLAG || b === ESCAPE;
}

/** Octets `encode` will produce for this frame. */
export function encodingLength(frame: Uint8Array): number {
  const f = (~fcs16(frame)) & 0xffff;
  let n = 2; // opening and closing flags
  for (const b of frame) n += needsEscape(b) ? 2 : 1;
  n += needsEscape(f & 0xff) ? 2 : 1;
  n += needsEscape(f >>> 8) ? 2 : 1;
  return n;
}

/** Frame one PPP frame (address/control/protocol/information, no FCS) for the wire. */
export function encode(frame: Uint8Array): Uint8Array {
  const f = (~fcs16(frame)) & 0xffff;
  const out = new Uint8Array(encodingLength(frame));
  let p = 0;
  out[p++] = FLAG;
  const put = (b: number) => {
    if (needsEscape(b)) {
      out[p++] = ESCAPE;
      out[p++] = b ^ 0x20;
    } else out[p++] = b;
  };
  for (const b of frame) put(b);
  put(f & 0xff);
  put(f >>> 8);
  out[p] = FLAG;
  return out;
}

/**
 * Decode the octets between two flags (flags excluded): un-escape, check the FCS, return
 * the frame without FCS. Throws PPP_ERR_TRUNCATED (shorter than an FCS plus one octet),
 * PPP_ERR_BAD_ESCAPE (escape at the end), PPP_ERR_BAD_FCS, PPP_ERR_TOO_LONG (over maxFrame).
 */
export function decodeFrame(body: Uint8Array, maxFrame = 65535): Uint8Array {
  const out = new Uint8Array(Math.min(body.length, maxFrame + 3));
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    let b = body[i];
    if (b === ESCAPE) {
      if (++i >= body.length) throw new CodecError('PPP_ERR_BAD_ESCAPE', 'frame ends with an escape octet');
      b = body[i] ^ 0x20;
    }
    if (n >= out.length) throw new CodecError('PPP_ERR_TOO_LONG', `async frame longer than ${maxFrame} octets`);
    out[n++] = b;
  }
  if (n < 3) throw new CodecError('PPP_ERR_TRUNCATED', `async frame of ${n} octets has no room for data and FCS`);
  if (n - 2 > maxFrame) throw new CodecError('PPP_ERR_TOO_LONG', `async frame longer than ${maxFrame} octets`);
  if (fcs16(out, 0, n) !== FCS_GOOD) throw new CodecError('PPP_ERR_BAD_FCS', 'frame check sequence mismatch');
  return out.subarray(0, n - 2);
}

/**
 * Stream decoder: feed arbitrary chunks, get whole frames. Bad frames (FCS, escape,
 * length) are dropped and counted by error code; empty inter-flag gaps are ignored.
 */
export class StreamDecoder {
  readonly errors: Record<string, number> = {};
  private buf: Uint8Array;
  private len = 0;
  private overflow = false;

  constructor(
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly maxFrame = 65535,
  ) {
    // Worst case a maximal frame fully escaped, plus FCS.
    this.buf = new Uint8Array(2 * (maxFrame + 2));
  }

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === FLAG) {
        this.end();
        continue;
      }
      if (this.len >= this.buf.length) {
        this.overflow = true;
        continue;
      }
      this.buf[this.len++] = b;
    }
  }

  private end(): void {
    if (this.overflow) {
      this.count('PPP_ERR_TOO_LONG');
    } else if (this.len > 0) {
      try {
        this.onFrame(decodeFrame(this.buf.subarray(0, this.len), this.maxFrame));
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        this.count(e.code);
      }
    }
    this.len = 0;
    this.overflow = false;
  }

  private count(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }
}

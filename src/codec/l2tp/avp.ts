/**
 * L2TPv2 AVP codec (RFC 2661 §4.1):
 *
 *   |M|H| rsvd(4) | Length(10) | Vendor ID(16) | Attribute Type(16) | Value ... |
 *
 * Length counts the 6-octet AVP header, so it is 6..1023 and must fit in the message.
 * Raw AVPs keep the value octets as they were on the wire (still hidden if H is set);
 * `decodeAvpValue` / `encodeAvpValue` convert cleartext values of the IETF attributes
 * to and from their typed form (attributes.ts).
 */
import { CodecError } from '../../errors.js';
import { RULE_BY_TYPE, type AttributeRule, type L2tpAvps } from './attributes.js';

export const AVP_HEADER_LENGTH = 6;
export const AVP_MAX_LENGTH = 1023;
export const AVP_MAX_VALUE_LENGTH = AVP_MAX_LENGTH - AVP_HEADER_LENGTH;

/** First-octet bits (RFC 2661 §4.1). */
export const AvpFlag = {
  Mandatory: 0x80,
  Hidden: 0x40,
  /** 4 reserved bits; an AVP with any set "MUST be treated as an unrecognized AVP". */
  ReservedMask: 0x3c,
} as const;

export interface RawAvp {
  mandatory: boolean;
  hidden: boolean;
  /** The 4 reserved bits (0 normally). */
  reserved: number;
  vendorId: number;
  attributeType: number;
  /** Value octets (a view into the input when decoded). */
  value: Uint8Array;
}

function fail(code: string, message: string): never {
  throw new CodecError(code, message);
}

/**
 * Split `buf[off .. end]` into AVPs. Throws CodecError L2TP_ERR_AVP_LENGTH (Length below
 * 6) or L2TP_ERR_AVP_TRUNCATED (an AVP runs past `end`). Values are views, not copies.
 */
export function decodeRawAvps(buf: Uint8Array, off = 0, end = buf.length): RawAvp[] {
  const out: RawAvp[] = [];
  let p = off;
  while (p < end) {
    if (end - p < AVP_HEADER_LENGTH) fail('L2TP_ERR_AVP_TRUNCATED', `AVP header needs 6 octets, ${end - p} left`);
    const b0 = buf[p];
    const length = ((b0 & 0x03) << 8) | buf[p + 1];
    if (length < AVP_HEADER_LENGTH) fail('L2TP_ERR_AVP_LENGTH', `AVP Length ${length} is below 6`);
    if (length > end - p) fail('L2TP_ERR_AVP_TRUNCATED', `AVP Length ${length} runs past the message (${end - p} left)`);
    out.push({
      mandatory: (b0 & AvpFlag.Mandatory) !== 0,
      hidden: (b0 & AvpFlag.Hidden) !== 0,
      reserved: (b0 & AvpFlag.ReservedMask) >> 2,
      vendorId: (buf[p + 2] << 8) | buf[p + 3],
      attributeType: (buf[p + 4] << 8) | buf[p + 5],
      value: buf.subarray(p + 6, p + length),
    });
    p += length;
  }
  return out;
}

/** Octets `avp` takes on the wire. */
export function rawAvpLength(avp: Pick<RawAvp, 'value'>): number {
  return AVP_HEADER_LENGTH + avp.value.length;
}

/** Write one AVP at `buf[off]`; returns the octets written. Throws L2TP_ERR_AVP_TOO_LONG. */
export function encodeRawAvp(avp: RawAvp, buf: Uint8Array, off: number): number {
  const length = rawAvpLength(avp);
  if (length > AVP_MAX_LENGTH) fail('L2TP_ERR_AVP_TOO_LONG', `AVP ${avp.attributeType} would be ${length} octets, at most 1023`);
  if (buf.length - off < length) fail('L2TP_ERR_ENCODE', 'buffer too small for the AVP');
  if (!(avp.vendorId >= 0 && avp.vendorId <= 0xffff) || !(avp.attributeType >= 0 && avp.attributeType <= 0xffff)) {
    fail('L2TP_ERR_ENCODE', 'AVP Vendor ID and Attribute Type must be 16-bit');
  }
  buf[off] = (avp.mandatory ? AvpFlag.Mandatory : 0) | (avp.hidden ? AvpFlag.Hidden : 0) | ((avp.reserved & 0xf) << 2) | (length >> 8);
  buf[off + 1] = length;
  buf[off + 2] = avp.vendorId >> 8;
  buf[off + 3] = avp.vendorId;
  buf[off + 4] = avp.attributeType >> 8;
  buf[off + 5] = avp.attributeType;
  buf.set(avp.value, off + 6);
  return length;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** A typed AVP value (the value type of one L2tpAvps key, or the Message Type number). */
export type AvpValue = NonNullable<L2tpAvps[keyof L2tpAvps]> | number;

/**
 * Decode the cleartext value of IETF attribute `rule.type`. Throws CodecError
 * L2TP_ERR_AVP_VALUE_LENGTH if the length breaks the RFC's rule for that attribute.
 */
export function decodeAvpValue(rule: AttributeRule, v: Uint8Array): AvpValue {
  const n = v.length;
  if (n < rule.minLength || n > rule.maxLength) {
    fail('L2TP_ERR_AVP_VALUE_LENGTH', `AVP ${rule.key} (type ${rule.type}) value of ${n} octets; expected ${rule.minLength === rule.maxLength ? rule.minLength : `${rule.minLength}..${rule.maxLength}`}`);
  }
  switch (rule.kind) {
    case 'u16':
      return rd16(v, 0);
    case 'u32':
      return rd32(v, 0);
    case 'bytes':
      return Uint8Array.prototype.slice.call(v);
    case 'string':
      return textDecoder.decode(v);
    case 'empty':
      return true;
    case 'protocolVersion':
      return { version: v[0], revision: v[1] };
    case 'proxyAuthenId':
      return v[1];
    case 'resultCode': {
      // §4.4.2: Length 8 (code only), 10 (with Error Code), or 10 + message.
      if (n === 3) fail('L2TP_ERR_AVP_VALUE_LENGTH', 'Result Code AVP value of 3 octets (Error Code is 2 octets)');
      const rc: { resultCode: number; errorCode?: number; errorMessage?: string } = { resultCode: rd16(v, 0) };
      if (n >= 4) rc.errorCode = rd16(v, 2);
      if (n > 4) rc.errorMessage = textDecoder.decode(v.subarray(4));
      return rc;
    }
    case 'q931': {
      const q: { causeCode: number; causeMessage: number; advisory?: string } = { causeCode: rd16(v, 0), causeMessage: v[2] };
      if (n > 3) q.advisory = textDecoder.decode(v.subarray(3));
      return q;
    }
    case 'callErrors':
      return {
        crcErrors: rd32(v, 2),
        framingErrors: rd32(v, 6),
        hardwareOverruns: rd32(v, 10),
        bufferOverruns: rd32(v, 14),
        timeoutErrors: rd32(v, 18),
        alignmentErrors: rd32(v, 22),
      };
    case 'accm':
      return { sendAccm: rd32(v, 2), receiveAccm: rd32(v, 6) };
  }
}

function int(key: string, x: unknown, max: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) fail('L2TP_ERR_ENCODE', `AVP ${key} must be an integer 0..${max}`);
  return x;
}

function bytesOf(key: string, x: unknown): Uint8Array {
  if (!(x instanceof Uint8Array)) fail('L2TP_ERR_ENCODE', `AVP ${key} must be a Uint8Array`);
  return x;
}

function textOf(key: string, x: unknown): Uint8Array {
  if (typeof x !== 'string') fail('L2TP_ERR_ENCODE', `AVP ${key} must be a string`);
  return textEncoder.encode(x);
}

/**
 * Encode the cleartext value of an IETF attribute from its typed form. Throws CodecError
 * L2TP_ERR_ENCODE (wrong type/range) or L2TP_ERR_AVP_VALUE_LENGTH (length rule broken).
 */
export function encodeAvpValue(rule: AttributeRule, x: unknown): Uint8Array {
  const key = rule.key;
  let v: Uint8Array;
  switch (rule.kind) {
    case 'u16':
      v = new Uint8Array(2);
      wr16(v, 0, int(key, x, 0xffff));
      break;
    case 'u32':
      v = new Uint8Array(4);
      wr32(v, 0, int(key, x, 0xffffffff));
      break;
    case 'bytes':
      v = bytesOf(key, x);
      break;
    case 'string':
      v = textOf(key, x);
      break;
    case 'empty':
      if (x !== true) fail('L2TP_ERR_ENCODE', `AVP ${key} must be true when present`);
      v = new Uint8Array(0);
      break;
    case 'protocolVersion': {
      const pv = x as { version: unknown; revision: unknown };
      v = Uint8Array.of(int(key, pv?.version, 0xff), int(key, pv?.revision, 0xff));
      break;
    }
    case 'proxyAuthenId':
      v = Uint8Array.of(0, int(key, x, 0xff));
      break;
    case 'resultCode': {
      const rc = x as { resultCode: unknown; errorCode?: unknown; errorMessage?: unknown };
      const msg = rc?.errorMessage !== undefined ? textOf(key, rc.errorMessage) : undefined;
      if (msg !== undefined && rc.errorCode === undefined) fail('L2TP_ERR_ENCODE', 'Result Code errorMessage needs an errorCode');
      v = new Uint8Array(2 + (rc?.errorCode !== undefined ? 2 : 0) + (msg?.length ?? 0));
      wr16(v, 0, int(key, rc?.resultCode, 0xffff));
      if (rc.errorCode !== undefined) wr16(v, 2, int(key, rc.errorCode, 0xffff));
      if (msg) v.set(msg, 4);
      break;
    }
    case 'q931': {
      const q = x as { causeCode: unknown; causeMessage: unknown; advisory?: unknown };
      const adv = q?.advisory !== undefined ? textOf(key, q.advisory) : new Uint8Array(0);
      v = new Uint8Array(3 + adv.length);
      wr16(v, 0, int(key, q?.causeCode, 0xffff));
      v[2] = int(key, q.causeMessage, 0xff);
      v.set(adv, 3);
      break;
    }
    case 'callErrors': {
      const c = x as Record<string, unknown>;
      v = new Uint8Array(26);
      const names = ['crcErrors', 'framingErrors', 'hardwareOverruns', 'bufferOverruns', 'timeoutErrors', 'alignmentErrors'];
      names.forEach((nm, i) => wr32(v, 2 + 4 * i, int(`${key}.${nm}`, c?.[nm], 0xffffffff)));
      break;
    }
    case 'accm': {
      const a = x as { sendAccm: unknown; receiveAccm: unknown };
      v = new Uint8Array(10);
      wr32(v, 2, int(key, a?.sendAccm, 0xffffffff));
      wr32(v, 6, int(key, a?.receiveAccm, 0xffffffff));
      break;
    }
  }
  if (v.length < rule.minLength || v.length > rule.maxLength) {
    fail('L2TP_ERR_AVP_VALUE_LENGTH', `AVP ${key} value of ${v.length} octets is outside ${rule.minLength}..${rule.maxLength}`);
  }
  return v;
}

/** The rule of an IETF attribute type, or undefined if unknown. */
export function ruleFor(vendorId: number, attributeType: number): AttributeRule | undefined {
  return vendorId === 0 ? RULE_BY_TYPE[attributeType] : undefined;
}

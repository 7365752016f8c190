/**
 * L2TPv2 control messages (RFC 2661 §3.1, §4): header + Message Type AVP + typed AVPs,
 * hidden AVPs (§4.3) and ZLB acknowledgements (a control header with no AVPs, §5.8).
 *
 * Decode rules:
 * - Message Type must be the first AVP, 2 octets, never hidden (§4.4.1). An unknown
 *   type with M set gives L2TP_ERR_UNKNOWN_MESSAGE_TYPE (clear the tunnel); with M
 *   clear, L2TP_ERR_IGNORABLE_MESSAGE_TYPE (the message may be ignored).
 * - An AVP that is not recognised (unknown IETF type, any non-zero Vendor ID, or a
 *   reserved bit set, §4.1) is passed over into `unknownAvps` unless its M bit is set:
 *   then L2TP_ERR_UNKNOWN_MANDATORY_AVP (the session or tunnel must be cleared, §4.2;
 *   `isTunnelMessage()` tells which).
 * - Errors raised after the header was read are L2tpMessageError: they carry the
 *   header (tunnel/session IDs, Ns, Nr) and what is known of the message, so the state
 *   machine can still acknowledge and answer with StopCCN or CDN.
 */
import { randomBytes } from 'node:crypto';
import { CodecError } from '../../errors.js';
import { ATTRIBUTE_RULES, L2tpAttr, RULE_BY_KEY, type AvpKey, type L2tpAvps } from './attributes.js';
import { decodeAvpValue, decodeRawAvps, encodeAvpValue, encodeRawAvp, rawAvpLength, ruleFor, type RawAvp } from './avp.js';
import { decodeHeader, encodeHeaderInto, L2TP_CONTROL_HEADER_LENGTH, type L2tpHeader } from './header.js';
import { hideAvpValue, unhideAvpValue, type Secret } from './hidden.js';
import { isKnownMessageType } from './message-types.js';

/** A decode failure with the context the state machine needs to answer. */
export class L2tpMessageError extends CodecError {
  readonly header: L2tpHeader;
  readonly messageType: number | undefined;
  /** The offending AVP, when the error is about one. */
  readonly vendorId: number | undefined;
  readonly attributeType: number | undefined;
  constructor(code: string, message: string, ctx: { header: L2tpHeader; messageType?: number; vendorId?: number; attributeType?: number }, options?: { cause?: unknown }) {
    super(code, message, options);
    this.header = ctx.header;
    this.messageType = ctx.messageType;
    this.vendorId = ctx.vendorId;
    this.attributeType = ctx.attributeType;
  }
}

export interface L2tpZlb {
  zlb: true;
  header: L2tpHeader;
}

export interface L2tpControl {
  zlb: false;
  header: L2tpHeader;
  messageType: number;
  /** The typed IETF AVPs, hidden ones already revealed. */
  avps: L2tpAvps;
  /**
   * Every AVP in wire order (Message Type included), values in cleartext. These values
   * are views into the input buffer (copy them if it is reused); `avps` holds copies.
   */
  rawAvps: RawAvp[];
  /** Unrecognised AVPs without the M bit (vendor AVPs among them), passed over. */
  unknownAvps: RawAvp[];
}

export type L2tpControlMessage = L2tpZlb | L2tpControl;

export interface L2tpDecodeOptions {
  /** Tunnel secret, needed only if the peer hides AVPs. */
  secret?: Secret;
}

/**
 * Decode one control message (a whole UDP payload; octets past the Length field are
 * ignored). Throws CodecError (header errors, L2TP_ERR_NOT_CONTROL) or L2tpMessageError.
 */
export function decodeControlMessage(buf: Uint8Array, options: L2tpDecodeOptions = {}): L2tpControlMessage {
  const header = decodeHeader(buf);
  if (!header.isControl) throw new CodecError('L2TP_ERR_NOT_CONTROL', 'L2TP data message given to the control decoder');
  if (header.payloadLength === 0) return { zlb: true, header };
  let messageType: number | undefined;
  let current: RawAvp | undefined;
  try {
    const raw = decodeRawAvps(buf, header.headerLength, header.length);
    const first = raw[0];
    if (first.vendorId !== 0 || first.attributeType !== L2tpAttr.MessageType) {
      throw new CodecError('L2TP_ERR_MISSING_MESSAGE_TYPE', 'the first AVP is not Message Type (RFC 2661 §4.4.1)');
    }
    current = first;
    if (first.hidden) throw new CodecError('L2TP_ERR_AVP_NOT_HIDEABLE', 'Message Type AVP must not be hidden');
    if (first.value.length !== 2) throw new CodecError('L2TP_ERR_AVP_VALUE_LENGTH', `Message Type AVP value of ${first.value.length} octets, expected 2`);
    messageType = (first.value[0] << 8) | first.value[1];
    if (!isKnownMessageType(messageType)) {
      if (first.mandatory) throw new CodecError('L2TP_ERR_UNKNOWN_MESSAGE_TYPE', `unknown mandatory message type ${messageType}`);
      throw new CodecError('L2TP_ERR_IGNORABLE_MESSAGE_TYPE', `unknown message type ${messageType} without the M bit`);
    }
    const avps: Record<string, unknown> = {};
    const rawAvps: RawAvp[] = [first];
    const unknownAvps: RawAvp[] = [];
    let randomVector: Uint8Array | undefined;
    for (let i = 1; i < raw.length; i++) {
      const a = raw[i];
      current = a;
      const rule = a.reserved === 0 ? ruleFor(a.vendorId, a.attributeType) : undefined;
      if (rule === undefined) {
        if (a.mandatory) {
          throw new CodecError('L2TP_ERR_UNKNOWN_MANDATORY_AVP', `unrecognised mandatory AVP vendor ${a.vendorId} attribute ${a.attributeType}`);
        }
        unknownAvps.push(a);
        rawAvps.push(a);
        continue;
      }
      if (rule.type === L2tpAttr.MessageType) throw new CodecError('L2TP_ERR_MISSING_MESSAGE_TYPE', 'a second Message Type AVP');
      let value = a.value;
      if (a.hidden) {
        if (!rule.hideable) throw new CodecError('L2TP_ERR_AVP_NOT_HIDEABLE', `AVP ${rule.key} must not be hidden (RFC 2661 §4.4)`);
        if (randomVector === undefined) throw new CodecError('L2TP_ERR_HIDDEN_NO_RANDOM_VECTOR', `hidden AVP ${rule.key} is not preceded by a Random Vector AVP (§4.3)`);
        if (options.secret === undefined) throw new CodecError('L2TP_ERR_HIDDEN_NO_SECRET', `hidden AVP ${rule.key} but no tunnel secret is configured`);
        value = unhideAvpValue(a.attributeType, a.value, options.secret, randomVector);
      }
      const typed = decodeAvpValue(rule, value);
      if (rule.type === L2tpAttr.RandomVector) randomVector = typed as Uint8Array;
      avps[rule.key] = typed;
      rawAvps.push(a.hidden ? { ...a, value } : a);
    }
    return { zlb: false, header, messageType, avps: avps as L2tpAvps, rawAvps, unknownAvps };
  } catch (e) {
    if (e instanceof CodecError && !(e instanceof L2tpMessageError)) {
      throw new L2tpMessageError(e.code, e.message, { header, messageType, vendorId: current?.vendorId, attributeType: current?.attributeType }, { cause: e });
    }
    throw e;
  }
}

export interface L2tpHideOptions {
  secret: Secret;
  /** The Random Vector (RFC 2661 §4.3 recommends at least 16 octets); sent as its AVP before the hidden ones. */
  random: Uint8Array;
  /** Which AVPs to hide (default: every AVP present that may be hidden). */
  keys?: AvpKey[];
  /** Random padding octets added inside each hidden value to mask its length (default 0). */
  padding?: number;
  /** Source of the padding octets (default crypto.randomBytes). */
  randomBytes?: (n: number) => Uint8Array;
}

export interface L2tpControlFields {
  tunnelId: number;
  sessionId: number;
  ns: number;
  nr: number;
  messageType: number;
  avps: L2tpAvps;
  /** Hide AVPs with the tunnel secret (§4.3). */
  hide?: L2tpHideOptions;
  /** Extra raw AVPs (e.g. vendor AVPs), appended as given. */
  extraAvps?: RawAvp[];
}

function u16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new CodecError('L2TP_ERR_ENCODE', `${name} must be 0..65535`);
}

/**
 * Encode a control message: Message Type AVP first (M set), then the Random Vector AVP
 * (hide.random or avps.randomVector), then the typed AVPs in attribute order with the M bit RFC 2661 requires
 * for each, then `extraAvps`. Throws CodecError L2TP_ERR_ENCODE /
 * L2TP_ERR_AVP_VALUE_LENGTH / L2TP_ERR_AVP_TOO_LONG / L2TP_ERR_MESSAGE_TOO_LONG.
 */
export function encodeControlMessage(f: L2tpControlFields): Uint8Array {
  u16('messageType', f.messageType);
  const list: RawAvp[] = [
    { mandatory: true, hidden: false, reserved: 0, vendorId: 0, attributeType: L2tpAttr.MessageType, value: Uint8Array.of(f.messageType >> 8, f.messageType & 0xff) },
  ];
  const hide = f.hide;
  // The Random Vector goes right after Message Type (as xl2tpd sends it), so it precedes
  // every hidden AVP (§4.3).
  const rv = hide?.random ?? f.avps.randomVector;
  if (hide && f.avps.randomVector !== undefined && !Buffer.from(f.avps.randomVector).equals(Buffer.from(hide.random))) {
    throw new CodecError('L2TP_ERR_ENCODE', 'avps.randomVector and hide.random differ');
  }
  if (rv !== undefined) {
    list.push({ mandatory: true, hidden: false, reserved: 0, vendorId: 0, attributeType: L2tpAttr.RandomVector, value: encodeAvpValue(RULE_BY_KEY.randomVector, rv) });
  }
  if (hide) {
    for (const k of hide.keys ?? []) {
      const rule = RULE_BY_KEY[k];
      if (rule === undefined || !rule.hideable) throw new CodecError('L2TP_ERR_AVP_NOT_HIDEABLE', `AVP ${k} may not be hidden`);
    }
  }
  const avps = f.avps as Record<string, unknown>;
  for (const rule of ATTRIBUTE_RULES) {
    if (rule.key === 'messageType' || rule.key === 'randomVector') continue;
    const x = avps[rule.key];
    if (x === undefined) continue;
    let value = encodeAvpValue(rule, x);
    const hideThis = hide !== undefined && rule.hideable && (hide.keys === undefined || hide.keys.includes(rule.key as AvpKey));
    if (hideThis) {
      const padLen = hide.padding ?? 0;
      const pad = padLen > 0 ? (hide.randomBytes ?? randomBytes)(padLen) : new Uint8Array(0);
      value = hideAvpValue(rule.type, value, hide.secret, hide.random, pad);
    }
    list.push({ mandatory: rule.mandatory, hidden: hideThis, reserved: 0, vendorId: 0, attributeType: rule.type, value });
  }
  for (const a of f.extraAvps ?? []) list.push(a);
  let total = L2TP_CONTROL_HEADER_LENGTH;
  for (const a of list) total += rawAvpLength(a);
  if (total > 0xffff) throw new CodecError('L2TP_ERR_MESSAGE_TOO_LONG', `control message would be ${total} octets`);
  const out = new Uint8Array(total);
  let p = encodeHeaderInto(out, 0, { isControl: true, length: total, tunnelId: f.tunnelId, sessionId: f.sessionId, ns: f.ns, nr: f.nr });
  for (const a of list) p += encodeRawAvp(a, out, p);
  return out;
}

/** A ZLB acknowledgement: control header, Length 12, no AVPs (RFC 2661 §5.8). */
export function encodeZlb(f: { tunnelId: number; sessionId: number; ns: number; nr: number }): Uint8Array {
  const out = new Uint8Array(L2TP_CONTROL_HEADER_LENGTH);
  encodeHeaderInto(out, 0, { isControl: true, length: L2TP_CONTROL_HEADER_LENGTH, tunnelId: f.tunnelId, sessionId: f.sessionId, ns: f.ns, nr: f.nr });
  return out;
}

/**
 * PPTP control-connection message codec (RFC 2637 §1.4, §2.1–§2.15), dns-packet style:
 * `encode(msg)`, `decode(buf)`, `encodingLength(msg)`.
 *
 * Every message has a fixed layout, so each type is described once as a table of
 * fields (name, kind, offset) and one generic reader/writer walks it. Reserved fields
 * are written as 0 and, unless `strict: false`, must read as 0 (RFC 2637 §2.x "MUST be
 * 0"; §2.16 General Error 3 covers the peer breaking that rule).
 */
import { CodecError } from '../../errors.js';
import {
  PPTP_MAGIC_COOKIE,
  PPTP_MESSAGE_LENGTH,
  PPTP_PROTOCOL_VERSION,
  PptpControlType as T,
  PptpMessageType,
} from './constants.js';

export interface StartControlConnectionRequest {
  type: typeof T.StartControlConnectionRequest;
  protocolVersion: number;
  framingCapabilities: number;
  bearerCapabilities: number;
  maxChannels: number;
  firmwareRevision: number;
  hostName: string;
  vendorName: string;
}

export interface StartControlConnectionReply {
  type: typeof T.StartControlConnectionReply;
  protocolVersion: number;
  resultCode: number;
  errorCode: number;
  framingCapabilities: number;
  bearerCapabilities: number;
  maxChannels: number;
  firmwareRevision: number;
  hostName: string;
  vendorName: string;
}

export interface StopControlConnectionRequest {
  type: typeof T.StopControlConnectionRequest;
  reason: number;
}

export interface StopControlConnectionReply {
  type: typeof T.StopControlConnectionReply;
  resultCode: number;
  errorCode: number;
}

export interface EchoRequest {
  type: typeof T.EchoRequest;
  identifier: number;
}

export interface EchoReply {
  type: typeof T.EchoReply;
  identifier: number;
  resultCode: number;
  errorCode: number;
}

export interface OutgoingCallRequest {
  type: typeof T.OutgoingCallRequest;
  callId: number;
  callSerialNumber: number;
  minimumBps: number;
  maximumBps: number;
  bearerType: number;
  framingType: number;
  receiveWindowSize: number;
  processingDelay: number;
  /** Phone Number Length is derived from this on encode. */
  phoneNumber: string;
  subaddress: string;
}

export interface OutgoingCallReply {
  type: typeof T.OutgoingCallReply;
  callId: number;
  peerCallId: number;
  resultCode: number;
  errorCode: number;
  causeCode: number;
  connectSpeed: number;
  receiveWindowSize: number;
  processingDelay: number;
  physicalChannelId: number;
}

export interface IncomingCallRequest {
  type: typeof T.IncomingCallRequest;
  callId: number;
  callSerialNumber: number;
  bearerType: number;
  physicalChannelId: number;
  /** Dialed/Dialing Number Length are derived from these on encode. */
  dialedNumber: string;
  dialingNumber: string;
  subaddress: string;
}

export interface IncomingCallReply {
  type: typeof T.IncomingCallReply;
  callId: number;
  peerCallId: number;
  resultCode: number;
  errorCode: number;
  receiveWindowSize: number;
  transmitDelay: number;
}

export interface IncomingCallConnected {
  type: typeof T.IncomingCallConnected;
  peerCallId: number;
  connectSpeed: number;
  receiveWindowSize: number;
  transmitDelay: number;
  framingType: number;
}

export interface CallClearRequest {
  type: typeof T.CallClearRequest;
  callId: number;
}

export interface CallDisconnectNotify {
  type: typeof T.CallDisconnectNotify;
  callId: number;
  resultCode: number;
  errorCode: number;
  causeCode: number;
  callStatistics: string;
}

export interface WanErrorNotify {
  type: typeof T.WanErrorNotify;
  peerCallId: number;
  crcErrors: number;
  framingErrors: number;
  hardwareOverruns: number;
  bufferOverruns: number;
  timeoutErrors: number;
  alignmentErrors: number;
}

export interface SetLinkInfo {
  type: typeof T.SetLinkInfo;
  peerCallId: number;
  sendAccm: number;
  receiveAccm: number;
}

export type PptpControlMessage =
  | StartControlConnectionRequest
  | StartControlConnectionReply
  | StopControlConnectionRequest
  | StopControlConnectionReply
  | EchoRequest
  | EchoReply
  | OutgoingCallRequest
  | OutgoingCallReply
  | IncomingCallRequest
  | IncomingCallReply
  | IncomingCallConnected
  | CallClearRequest
  | CallDisconnectNotify
  | WanErrorNotify
  | SetLinkInfo;

/** `PptpMessageOf<1>` is StartControlConnectionRequest, etc. */
export type PptpMessageOf<K extends PptpControlMessage['type']> = Extract<PptpControlMessage, { type: K }>;

// ---------------------------------------------------------------------------------
// Layout tables. Offsets are from the start of the message (header included).

type FieldKind = 'u8' | 'u16' | 'u32' | 'r8' | 'r16' | 'r32' | 'str64' | 'str128' | 'len';
/** [name, kind, offset]; for 'len' the name is the string field whose byte length it carries. */
type Field = readonly [string, FieldKind, number];

const LAYOUTS: Readonly<Record<number, readonly Field[]>> = {
  // §2.1
  [T.StartControlConnectionRequest]: [
    ['protocolVersion', 'u16', 12], ['', 'r16', 14],
    ['framingCapabilities', 'u32', 16], ['bearerCapabilities', 'u32', 20],
    ['maxChannels', 'u16', 24], ['firmwareRevision', 'u16', 26],
    ['hostName', 'str64', 28], ['vendorName', 'str64', 92],
  ],
  // §2.2
  [T.StartControlConnectionReply]: [
    ['protocolVersion', 'u16', 12], ['resultCode', 'u8', 14], ['errorCode', 'u8', 15],
    ['framingCapabilities', 'u32', 16], ['bearerCapabilities', 'u32', 20],
    ['maxChannels', 'u16', 24], ['firmwareRevision', 'u16', 26],
    ['hostName', 'str64', 28], ['vendorName', 'str64', 92],
  ],
  // §2.3
  [T.StopControlConnectionRequest]: [['reason', 'u8', 12], ['', 'r8', 13], ['', 'r16', 14]],
  // §2.4
  [T.StopControlConnectionReply]: [['resultCode', 'u8', 12], ['errorCode', 'u8', 13], ['', 'r16', 14]],
  // §2.5
  [T.EchoRequest]: [['identifier', 'u32', 12]],
  // §2.6
  [T.EchoReply]: [['identifier', 'u32', 12], ['resultCode', 'u8', 16], ['errorCode', 'u8', 17], ['', 'r16', 18]],
  // §2.7
  [T.OutgoingCallRequest]: [
    ['callId', 'u16', 12], ['callSerialNumber', 'u16', 14],
    ['minimumBps', 'u32', 16], ['maximumBps', 'u32', 20],
    ['bearerType', 'u32', 24], ['framingType', 'u32', 28],
    ['receiveWindowSize', 'u16', 32], ['processingDelay', 'u16', 34],
    ['phoneNumber', 'len', 36], ['', 'r16', 38],
    ['phoneNumber', 'str64', 40], ['subaddress', 'str64', 104],
  ],
  // §2.8
  [T.OutgoingCallReply]: [
    ['callId', 'u16', 12], ['peerCallId', 'u16', 14],
    ['resultCode', 'u8', 16], ['errorCode', 'u8', 17], ['causeCode', 'u16', 18],
    ['connectSpeed', 'u32', 20],
    ['receiveWindowSize', 'u16', 24], ['processingDelay', 'u16', 26],
    ['physicalChannelId', 'u32', 28],
  ],
  // §2.9
  [T.IncomingCallRequest]: [
    ['callId', 'u16', 12], ['callSerialNumber', 'u16', 14],
    ['bearerType', 'u32', 16], ['physicalChannelId', 'u32', 20],
    ['dialedNumber', 'len', 24], ['dialingNumber', 'len', 26],
    ['dialedNumber', 'str64', 28], ['dialingNumber', 'str64', 92], ['subaddress', 'str64', 156],
  ],
  // §2.10
  [T.IncomingCallReply]: [
    ['callId', 'u16', 12], ['peerCallId', 'u16', 14],
    ['resultCode', 'u8', 16], ['errorCode', 'u8', 17], ['receiveWindowSize', 'u16', 18],
    ['transmitDelay', 'u16', 20], ['', 'r16', 22],
  ],
  // §2.11
  [T.IncomingCallConnected]: [
    ['peerCallId', 'u16', 12], ['', 'r16', 14],
    ['connectSpeed', 'u32', 16],
    ['receiveWindowSize', 'u16', 20], ['transmitDelay', 'u16', 22],
    ['framingType', 'u32', 24],
  ],
  // §2.12
  [T.CallClearRequest]: [['callId', 'u16', 12], ['', 'r16', 14]],
  // §2.13
  [T.CallDisconnectNotify]: [
    ['callId', 'u16', 12], ['resultCode', 'u8', 14], ['errorCode', 'u8', 15],
    ['causeCode', 'u16', 16], ['', 'r16', 18],
    ['callStatistics', 'str128', 20],
  ],
  // §2.14
  [T.WanErrorNotify]: [
    ['peerCallId', 'u16', 12], ['', 'r16', 14],
    ['crcErrors', 'u32', 16], ['framingErrors', 'u32', 20], ['hardwareOverruns', 'u32', 24],
    ['bufferOverruns', 'u32', 28], ['timeoutErrors', 'u32', 32], ['alignmentErrors', 'u32', 36],
  ],
  // §2.15
  [T.SetLinkInfo]: [
    ['peerCallId', 'u16', 12], ['', 'r16', 14],
    ['sendAccm', 'u32', 16], ['receiveAccm', 'u32', 20],
  ],
};

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function fail(code: string, message: string): never {
  throw new CodecError(code, message);
}

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

function fieldSize(kind: FieldKind): number {
  switch (kind) {
    case 'u8': case 'r8': return 1;
    case 'u16': case 'r16': case 'len': return 2;
    case 'u32': case 'r32': return 4;
    case 'str64': return 64;
    case 'str128': return 128;
  }
}

/** Fixed-size string field: text up to the first NUL (RFC 2637 §2.1: "remainder ... filled with 0"). */
function readString(b: Uint8Array, o: number, size: number): string {
  let end = o;
  const limit = o + size;
  while (end < limit && b[end] !== 0) end++;
  return textDecoder.decode(b.subarray(o, end));
}

function stringBytes(name: string, value: unknown, size: number): Uint8Array {
  if (typeof value !== 'string') fail('PPTP_ERR_BAD_FIELD', `PPTP field ${name} must be a string`);
  const bytes = textEncoder.encode(value);
  if (bytes.length > size) fail('PPTP_ERR_FIELD_TOO_LONG', `PPTP field ${name} is ${bytes.length} octets, at most ${size} fit`);
  if (bytes.includes(0)) fail('PPTP_ERR_BAD_FIELD', `PPTP field ${name} must not contain NUL`);
  return bytes;
}

function checkInt(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    fail('PPTP_ERR_BAD_FIELD', `PPTP field ${name} must be an integer 0..${max}`);
  }
  return value;
}

/** Bytes `msg` takes on the wire (fixed per type). */
export function encodingLength(msg: PptpControlMessage): number {
  const len = PPTP_MESSAGE_LENGTH[msg.type as keyof typeof PPTP_MESSAGE_LENGTH];
  if (len === undefined) fail('PPTP_ERR_UNKNOWN_CONTROL_TYPE', `unknown PPTP control message type ${String(msg.type)}`);
  return len;
}

/**
 * Encode one control message. Writes into `buf` at `offset` when given (returns that
 * buffer), otherwise into a new zero-filled buffer.
 */
export function encode(msg: PptpControlMessage, buf?: Uint8Array, offset = 0): Uint8Array {
  const len = encodingLength(msg);
  const layout = LAYOUTS[msg.type];
  const out = buf ?? new Uint8Array(len);
  if (offset < 0 || out.length - offset < len) fail('PPTP_ERR_BUFFER_TOO_SMALL', `PPTP ${len}-octet message does not fit the buffer`);
  const m = msg as unknown as Record<string, unknown>;
  // Validate everything before writing, so a failed encode leaves `buf` untouched.
  const strings = new Map<string, Uint8Array>();
  for (const [name, kind] of layout) {
    if (kind === 'str64' || kind === 'str128') strings.set(name, stringBytes(name, m[name], fieldSize(kind)));
    else if (kind === 'u8') checkInt(name, m[name], 0xff);
    else if (kind === 'u16') checkInt(name, m[name], 0xffff);
    else if (kind === 'u32') checkInt(name, m[name], 0xffffffff);
  }
  out.fill(0, offset, offset + len);
  wr16(out, offset, len);
  wr16(out, offset + 2, PptpMessageType.Control);
  wr32(out, offset + 4, PPTP_MAGIC_COOKIE);
  wr16(out, offset + 8, msg.type);
  for (const [name, kind, at] of layout) {
    const o = offset + at;
    switch (kind) {
      case 'u8': out[o] = m[name] as number; break;
      case 'u16': wr16(out, o, m[name] as number); break;
      case 'u32': wr32(out, o, m[name] as number); break;
      case 'len': wr16(out, o, strings.get(name)!.length); break;
      case 'str64': case 'str128': out.set(strings.get(name)!, o); break;
      default: break; // reserved: already 0
    }
  }
  return out;
}

export interface PptpDecodeOptions {
  /** Reject non-zero reserved fields with PPTP_ERR_RESERVED (default true). */
  strict?: boolean;
}

/**
 * The Length field of the message at `offset`, or -1 if fewer than 2 octets are there.
 * For framing only: nothing else is checked.
 */
export function peekLength(buf: Uint8Array, offset = 0): number {
  return buf.length - offset < 2 ? -1 : rd16(buf, offset);
}

/**
 * Check the 8-octet fixed header (RFC 2637 §1.4) of the message at `offset`: Length
 * within [16, maxLength], PPTP Message Type 1, Magic Cookie. Returns the Length.
 * Needs at least 8 octets.
 */
export function checkFixedHeader(buf: Uint8Array, offset = 0, maxLength = 220): number {
  if (offset < 0 || buf.length - offset < 8) fail('PPTP_ERR_TRUNCATED', 'PPTP message shorter than its 8-octet header');
  const length = rd16(buf, offset);
  if (length > maxLength) fail('PPTP_ERR_MESSAGE_TOO_LONG', `PPTP message length ${length} exceeds the limit of ${maxLength}`);
  if (length < 16) fail('PPTP_ERR_BAD_LENGTH', `PPTP message length ${length} is below the minimum of 16`);
  const mtype = rd16(buf, offset + 2);
  if (mtype !== PptpMessageType.Control) fail('PPTP_ERR_BAD_MESSAGE_TYPE', `PPTP message type ${mtype} is not 1 (control)`);
  const magic = rd32(buf, offset + 4);
  if (magic !== PPTP_MAGIC_COOKIE) fail('PPTP_ERR_BAD_MAGIC', `PPTP magic cookie 0x${magic.toString(16)} is not 0x1a2b3c4d`);
  return length;
}

/**
 * Decode the control message at `offset`. Octets past its Length are not looked at.
 * Throws CodecError: PPTP_ERR_TRUNCATED, PPTP_ERR_BAD_LENGTH, PPTP_ERR_MESSAGE_TOO_LONG,
 * PPTP_ERR_BAD_MESSAGE_TYPE, PPTP_ERR_BAD_MAGIC, PPTP_ERR_UNKNOWN_CONTROL_TYPE,
 * PPTP_ERR_RESERVED.
 */
export function decode(buf: Uint8Array, offset = 0, options: PptpDecodeOptions = {}): PptpControlMessage {
  const length = checkFixedHeader(buf, offset, 0xffff);
  if (buf.length - offset < length) fail('PPTP_ERR_TRUNCATED', `PPTP message needs ${length} octets, ${buf.length - offset} present`);
  const type = rd16(buf, offset + 8);
  const layout = LAYOUTS[type];
  if (layout === undefined) fail('PPTP_ERR_UNKNOWN_CONTROL_TYPE', `unknown PPTP control message type ${type}`);
  const expected = PPTP_MESSAGE_LENGTH[type as keyof typeof PPTP_MESSAGE_LENGTH];
  if (length !== expected) fail('PPTP_ERR_BAD_LENGTH', `PPTP control message type ${type} must be ${expected} octets, Length says ${length}`);
  const strict = options.strict ?? true;
  if (strict && rd16(buf, offset + 10) !== 0) fail('PPTP_ERR_RESERVED', 'PPTP Reserved0 field is not 0');
  const m: Record<string, unknown> = { type };
  for (const [name, kind, at] of layout) {
    const o = offset + at;
    switch (kind) {
      case 'u8': m[name] = buf[o]; break;
      case 'u16': m[name] = rd16(buf, o); break;
      case 'u32': m[name] = rd32(buf, o); break;
      case 'str64': m[name] = readString(buf, o, 64); break;
      case 'str128': m[name] = readString(buf, o, 128); break;
      case 'len': break; // informational; the string is read up to its NUL
      case 'r8': case 'r16': case 'r32':
        if (strict) {
          for (let i = 0; i < fieldSize(kind); i++) {
            if (buf[o + i] !== 0) fail('PPTP_ERR_RESERVED', `PPTP reserved field at offset ${at} is not 0`);
          }
        }
        break;
    }
  }
  return m as unknown as PptpControlMessage;
}

// ---------------------------------------------------------------------------------
// Builders with the usual defaults, so callers only name what matters.

type Without<M> = Omit<M, 'type'>;

/**
 * A message of `type` with every field 0 or '' except those given, e.g.
 * `create(PptpControlType.EchoRequest, { identifier: 7 })`.
 */
export function create<K extends PptpControlMessage['type']>(type: K, fields: Partial<Without<PptpMessageOf<K>>> = {}): PptpMessageOf<K> {
  const layout = LAYOUTS[type];
  if (layout === undefined) fail('PPTP_ERR_UNKNOWN_CONTROL_TYPE', `unknown PPTP control message type ${String(type)}`);
  const m: Record<string, unknown> = { type };
  for (const [name, kind] of layout) {
    if (kind === 'u8' || kind === 'u16' || kind === 'u32') m[name] = 0;
    else if (kind === 'str64' || kind === 'str128') m[name] = '';
  }
  return { ...m, ...fields } as unknown as PptpMessageOf<K>;
}

/** SCCRQ with Protocol Version 1.0 and the given fields. */
export function sccrq(fields: Partial<Without<StartControlConnectionRequest>> = {}): StartControlConnectionRequest {
  return {
    type: T.StartControlConnectionRequest,
    protocolVersion: PPTP_PROTOCOL_VERSION,
    framingCapabilities: 0,
    bearerCapabilities: 0,
    maxChannels: 0,
    firmwareRevision: 0,
    hostName: '',
    vendorName: '',
    ...fields,
  };
}

/** SCCRP with Protocol Version 1.0, result 1 (success) and the given fields. */
export function sccrp(fields: Partial<Without<StartControlConnectionReply>> = {}): StartControlConnectionReply {
  return {
    type: T.StartControlConnectionReply,
    protocolVersion: PPTP_PROTOCOL_VERSION,
    resultCode: 1,
    errorCode: 0,
    framingCapabilities: 0,
    bearerCapabilities: 0,
    maxChannels: 0,
    firmwareRevision: 0,
    hostName: '',
    vendorName: '',
    ...fields,
  };
}

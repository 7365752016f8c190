/**
 * L2TPv2 AVP attribute types and their rules (RFC 2661 §4.4.1–§4.4.6; IANA "Layer Two
 * Tunneling Protocol (L2TP)" registry, Control Message Attribute Value Pairs 0–39).
 *
 * For each IETF attribute: the key it gets in a decoded `L2tpAvps` record, its value
 * type, the M bit the RFC requires on send, and whether it may be hidden (H bit).
 * Value lengths are those of the cleartext value (the "Length (before hiding)" - 6).
 */

export const L2tpAttr = {
  /** §4.4.1 */ MessageType: 0,
  /** §4.4.2 */ ResultCode: 1,
  /** §4.4.3 */ ProtocolVersion: 2,
  /** §4.4.3 */ FramingCapabilities: 3,
  /** §4.4.3 */ BearerCapabilities: 4,
  /** §4.4.3 */ TieBreaker: 5,
  /** §4.4.3 */ FirmwareRevision: 6,
  /** §4.4.3 */ HostName: 7,
  /** §4.4.3 */ VendorName: 8,
  /** §4.4.3 */ AssignedTunnelId: 9,
  /** §4.4.3 */ ReceiveWindowSize: 10,
  /** §4.4.3 */ Challenge: 11,
  /** §4.4.4 */ Q931CauseCode: 12,
  /** §4.4.3 */ ChallengeResponse: 13,
  /** §4.4.4 */ AssignedSessionId: 14,
  /** §4.4.4 */ CallSerialNumber: 15,
  /** §4.4.4 */ MinimumBps: 16,
  /** §4.4.4 */ MaximumBps: 17,
  /** §4.4.4 */ BearerType: 18,
  /** §4.4.4 */ FramingType: 19,
  // 20 is reserved (IANA).
  /** §4.4.4 */ CalledNumber: 21,
  /** §4.4.4 */ CallingNumber: 22,
  /** §4.4.4 */ SubAddress: 23,
  /** §4.4.4 */ TxConnectSpeed: 24,
  /** §4.4.4 */ PhysicalChannelId: 25,
  /** §4.4.5 */ InitialReceivedLcpConfReq: 26,
  /** §4.4.5 */ LastSentLcpConfReq: 27,
  /** §4.4.5 */ LastReceivedLcpConfReq: 28,
  /** §4.4.5 */ ProxyAuthenType: 29,
  /** §4.4.5 */ ProxyAuthenName: 30,
  /** §4.4.5 */ ProxyAuthenChallenge: 31,
  /** §4.4.5 */ ProxyAuthenId: 32,
  /** §4.4.5 */ ProxyAuthenResponse: 33,
  /** §4.4.6 */ CallErrors: 34,
  /** §4.4.6 */ Accm: 35,
  /** §4.4.1 */ RandomVector: 36,
  /** §4.4.4 */ PrivateGroupId: 37,
  /** §4.4.4 */ RxConnectSpeed: 38,
  /** §4.4.4 */ SequencingRequired: 39,
} as const;
export type L2tpAttr = (typeof L2tpAttr)[keyof typeof L2tpAttr];

/** Result Code AVP value (§4.4.2): Error Code and Message are optional, in that order. */
export interface L2tpResultCode {
  resultCode: number;
  errorCode?: number;
  /** UTF-8 text; only with errorCode. */
  errorMessage?: string;
}

/** Protocol Version AVP value (§4.4.3): 1.0 for RFC 2661. */
export interface L2tpProtocolVersion {
  version: number;
  revision: number;
}

/** Q.931 Cause Code AVP value (§4.4.4). */
export interface L2tpQ931Cause {
  causeCode: number;
  causeMessage: number;
  advisory?: string;
}

/** Call Errors AVP value (§4.4.6). */
export interface L2tpCallErrors {
  crcErrors: number;
  framingErrors: number;
  hardwareOverruns: number;
  bufferOverruns: number;
  timeoutErrors: number;
  alignmentErrors: number;
}

/** ACCM AVP value (§4.4.6). */
export interface L2tpAccm {
  sendAccm: number;
  receiveAccm: number;
}

/**
 * The typed AVPs of one control message (all but Message Type, which the message
 * carries separately). Absent key = AVP not present. If an AVP appears twice the last
 * one wins (Random Vector excepted: each applies to the hidden AVPs after it).
 */
export interface L2tpAvps {
  resultCode?: L2tpResultCode;
  protocolVersion?: L2tpProtocolVersion;
  /** Bit mask, L2tpFraming. */
  framingCapabilities?: number;
  /** Bit mask, L2tpBearer. */
  bearerCapabilities?: number;
  /** 8 octets. */
  tieBreaker?: Uint8Array;
  firmwareRevision?: number;
  hostName?: string;
  vendorName?: string;
  assignedTunnelId?: number;
  receiveWindowSize?: number;
  challenge?: Uint8Array;
  q931CauseCode?: L2tpQ931Cause;
  /** 16 octets. */
  challengeResponse?: Uint8Array;
  assignedSessionId?: number;
  callSerialNumber?: number;
  minimumBps?: number;
  maximumBps?: number;
  bearerType?: number;
  framingType?: number;
  calledNumber?: string;
  callingNumber?: string;
  subAddress?: string;
  txConnectSpeed?: number;
  physicalChannelId?: number;
  initialReceivedLcpConfReq?: Uint8Array;
  lastSentLcpConfReq?: Uint8Array;
  lastReceivedLcpConfReq?: Uint8Array;
  proxyAuthenType?: number;
  proxyAuthenName?: string;
  proxyAuthenChallenge?: Uint8Array;
  /** The ID octet (the reserved high octet is 0 on the wire). */
  proxyAuthenId?: number;
  proxyAuthenResponse?: Uint8Array;
  callErrors?: L2tpCallErrors;
  accm?: L2tpAccm;
  randomVector?: Uint8Array;
  privateGroupId?: string;
  rxConnectSpeed?: number;
  /** Present (true) when the AVP is there; it has no value. */
  sequencingRequired?: true;
}

export type AvpKey = keyof L2tpAvps;

export type AvpValueKind =
  | 'u16'
  | 'u32'
  | 'bytes'
  | 'string'
  | 'empty'
  | 'resultCode'
  | 'protocolVersion'
  | 'q931'
  | 'proxyAuthenId'
  | 'callErrors'
  | 'accm';

export interface AttributeRule {
  type: number;
  /** Key in L2tpAvps ('messageType' for attribute 0). */
  key: AvpKey | 'messageType';
  kind: AvpValueKind;
  /** Value of the M bit the RFC requires when sending this AVP. */
  mandatory: boolean;
  /** May the H bit be set? */
  hideable: boolean;
  /** Cleartext value length bounds, octets. */
  minLength: number;
  maxLength: number;
}

const MAX = 1023 - 6;

function r(type: number, key: AttributeRule['key'], kind: AvpValueKind, mandatory: boolean, hideable: boolean, minLength: number, maxLength: number): AttributeRule {
  return { type, key, kind, mandatory, hideable, minLength, maxLength };
}

/** One rule per IETF attribute, RFC 2661 §4.4. */
export const ATTRIBUTE_RULES: readonly AttributeRule[] = [
  r(0, 'messageType', 'u16', true, false, 2, 2),
  r(1, 'resultCode', 'resultCode', true, false, 2, MAX), // 2, 4, or 4 + message
  r(2, 'protocolVersion', 'protocolVersion', true, false, 2, 2),
  r(3, 'framingCapabilities', 'u32', true, true, 4, 4),
  r(4, 'bearerCapabilities', 'u32', true, true, 4, 4),
  r(5, 'tieBreaker', 'bytes', false, false, 8, 8),
  r(6, 'firmwareRevision', 'u16', false, true, 2, 2),
  r(7, 'hostName', 'string', true, false, 1, MAX), // "MUST be at least 1 octet"
  r(8, 'vendorName', 'string', false, true, 0, MAX),
  r(9, 'assignedTunnelId', 'u16', true, true, 2, 2),
  r(10, 'receiveWindowSize', 'u16', true, false, 2, 2),
  r(11, 'challenge', 'bytes', true, true, 1, MAX), // "one or more octets"
  r(12, 'q931CauseCode', 'q931', true, false, 3, MAX),
  r(13, 'challengeResponse', 'bytes', true, true, 16, 16),
  r(14, 'assignedSessionId', 'u16', true, true, 2, 2),
  r(15, 'callSerialNumber', 'u32', true, true, 4, 4),
  r(16, 'minimumBps', 'u32', true, true, 4, 4),
  r(17, 'maximumBps', 'u32', true, true, 4, 4),
  r(18, 'bearerType', 'u32', true, true, 4, 4),
  r(19, 'framingType', 'u32', true, true, 4, 4),
  r(21, 'calledNumber', 'string', true, true, 0, MAX),
  r(22, 'callingNumber', 'string', true, true, 0, MAX),
  r(23, 'subAddress', 'string', true, true, 0, MAX),
  r(24, 'txConnectSpeed', 'u32', true, true, 4, 4),
  r(25, 'physicalChannelId', 'u32', false, true, 4, 4),
  r(26, 'initialReceivedLcpConfReq', 'bytes', false, true, 0, MAX),
  r(27, 'lastSentLcpConfReq', 'bytes', false, true, 0, MAX),
  r(28, 'lastReceivedLcpConfReq', 'bytes', false, true, 0, MAX),
  r(29, 'proxyAuthenType', 'u16', false, true, 2, 2),
  r(30, 'proxyAuthenName', 'string', false, true, 0, MAX),
  r(31, 'proxyAuthenChallenge', 'bytes', false, true, 1, MAX),
  r(32, 'proxyAuthenId', 'proxyAuthenId', false, true, 2, 2),
  r(33, 'proxyAuthenResponse', 'bytes', false, true, 0, MAX),
  r(34, 'callErrors', 'callErrors', true, true, 26, 26),
  r(35, 'accm', 'accm', true, true, 10, 10),
  r(36, 'randomVector', 'bytes', true, false, 0, MAX),
  r(37, 'privateGroupId', 'string', false, true, 0, MAX),
  r(38, 'rxConnectSpeed', 'u32', false, true, 4, 4),
  r(39, 'sequencingRequired', 'empty', true, false, 0, 0),
];

/** Rule by IETF attribute type (undefined for unknown/reserved types). */
export const RULE_BY_TYPE: readonly (AttributeRule | undefined)[] = (() => {
  const t: (AttributeRule | undefined)[] = new Array(40).fill(undefined);
  for (const rule of ATTRIBUTE_RULES) t[rule.type] = rule;
  return t;
})();

/** Rule by L2tpAvps key. */
export const RULE_BY_KEY: Readonly<Record<string, AttributeRule>> = Object.fromEntries(ATTRIBUTE_RULES.map((x) => [x.key, x]));

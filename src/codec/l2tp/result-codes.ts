/**
 * L2TPv2 Result Code AVP values (RFC 2661 §4.4.2), the General Error codes that go in
 * its Error Code field, and Proxy Authen Type values (§4.4.5).
 */

/** Result Code in a StopCCN (RFC 2661 §4.4.2). */
export const L2tpStopCcnResult = {
  GeneralRequest: 1,
  GeneralError: 2,
  ChannelExists: 3,
  NotAuthorized: 4,
  /** Error Code then carries the highest version supported. */
  VersionNotSupported: 5,
  ShuttingDown: 6,
  FsmError: 7,
} as const;

/** Result Code in a CDN (RFC 2661 §4.4.2). */
export const L2tpCdnResult = {
  LostCarrier: 1,
  GeneralError: 2,
  Administrative: 3,
  TemporaryNoFacilities: 4,
  PermanentNoFacilities: 5,
  InvalidDestination: 6,
  NoCarrier: 7,
  Busy: 8,
  NoDialTone: 9,
  Timeout: 10,
  NoFraming: 11,
} as const;

/** General Error codes (RFC 2661 §4.4.2). */
export const L2tpGeneralError = {
  None: 0,
  NoControlConnection: 1,
  BadLength: 2,
  BadValue: 3,
  NoResources: 4,
  BadSessionId: 5,
  VendorError: 6,
  TryAnother: 7,
  /** The Error Message should name the offending AVP. */
  UnknownMandatoryAvp: 8,
} as const;

/** Proxy Authen Type values (RFC 2661 §4.4.5). */
export const L2tpProxyAuthenType = {
  Textual: 1,
  Chap: 2,
  Pap: 3,
  None: 4,
  MsChapV1: 5,
} as const;

/** Framing Capabilities / Framing Type bits (RFC 2661 §4.4.3, §4.4.4): |...|A|S|. */
export const L2tpFraming = {
  Synchronous: 1,
  Asynchronous: 2,
} as const;

/** Bearer Capabilities / Bearer Type bits (RFC 2661 §4.4.3, §4.4.4): |...|A|D|. */
export const L2tpBearer = {
  Digital: 1,
  Analog: 2,
} as const;

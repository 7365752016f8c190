/**
 * PPTP wire constants (RFC 2637). Control messages run over TCP port 1723; user data
 * runs in Enhanced GRE (IP protocol 47, §4.1).
 */

/** TCP port of the PPTP control connection (RFC 2637 §1.4). */
export const PPTP_TCP_PORT = 1723;

/** Magic Cookie of every control message header (RFC 2637 §1.4): a sync check, not a resync marker. */
export const PPTP_MAGIC_COOKIE = 0x1a2b3c4d;

/** Protocol Version 1, revision 0, as carried in SCCRQ/SCCRP (RFC 2637 §1.4). */
export const PPTP_PROTOCOL_VERSION = 0x0100;

/** PPTP Message Type field (RFC 2637 §1.4). Management messages are not defined, so only 1 is valid. */
export const PptpMessageType = {
  Control: 1,
  Management: 2,
} as const;

/** Control Message Type codes (RFC 2637 §1.4, one section each in §2.1–§2.15). */
export const PptpControlType = {
  /** §2.1 */ StartControlConnectionRequest: 1,
  /** §2.2 */ StartControlConnectionReply: 2,
  /** §2.3 */ StopControlConnectionRequest: 3,
  /** §2.4 */ StopControlConnectionReply: 4,
  /** §2.5 */ EchoRequest: 5,
  /** §2.6 */ EchoReply: 6,
  /** §2.7 */ OutgoingCallRequest: 7,
  /** §2.8 */ OutgoingCallReply: 8,
  /** §2.9 */ IncomingCallRequest: 9,
  /** §2.10 */ IncomingCallReply: 10,
  /** §2.11 */ IncomingCallConnected: 11,
  /** §2.12 */ CallClearRequest: 12,
  /** §2.13 */ CallDisconnectNotify: 13,
  /** §2.14 */ WanErrorNotify: 14,
  /** §2.15 */ SetLinkInfo: 15,
} as const;
export type PptpControlType = (typeof PptpControlType)[keyof typeof PptpControlType];

/** Short names used in logs (the conventional abbreviations). */
export const PPTP_CONTROL_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'SCCRQ',
  2: 'SCCRP',
  3: 'StopCCRQ',
  4: 'StopCCRP',
  5: 'Echo-Request',
  6: 'Echo-Reply',
  7: 'OCRQ',
  8: 'OCRP',
  9: 'ICRQ',
  10: 'ICRP',
  11: 'ICCN',
  12: 'Call-Clear-Request',
  13: 'Call-Disconnect-Notify',
  14: 'WAN-Error-Notify',
  15: 'Set-Link-Info',
};

/**
 * Every control message has a fixed size (the templates of RFC 2637 §2.1–§2.15):
 * the Length field must equal the size for the message's type.
 */
export const PPTP_MESSAGE_LENGTH: Readonly<Record<PptpControlType, number>> = {
  1: 156,
  2: 156,
  3: 16,
  4: 16,
  5: 16,
  6: 20,
  7: 168,
  8: 32,
  9: 220,
  10: 24,
  11: 28,
  12: 16,
  13: 148,
  14: 40,
  15: 24,
};

/** 8-octet fixed header + Control Message Type + Reserved0 (RFC 2637 §1.4, §2.x). */
export const PPTP_CONTROL_HEADER_LENGTH = 12;
/** Smallest legal control message (StopCCRQ/StopCCRP/Echo-Request/Call-Clear-Request). */
export const PPTP_MIN_MESSAGE_LENGTH = 16;
/** Largest legal control message (Incoming-Call-Request, RFC 2637 §2.9). */
export const PPTP_MAX_MESSAGE_LENGTH = 220;

/** Framing Capabilities bits (RFC 2637 §2.1). */
export const PptpFramingCapability = {
  Asynchronous: 1,
  Synchronous: 2,
} as const;

/** Bearer Capabilities bits (RFC 2637 §2.1). */
export const PptpBearerCapability = {
  Analog: 1,
  Digital: 2,
} as const;

/** Bearer Type of OCRQ (RFC 2637 §2.7; ICRQ §2.9 uses 1 and 2 only). */
export const PptpBearerType = {
  Analog: 1,
  Digital: 2,
  Any: 3,
} as const;

/** Framing Type of OCRQ/ICCN (RFC 2637 §2.7, §2.11; ICCN uses 1 and 2 only). */
export const PptpFramingType = {
  Asynchronous: 1,
  Synchronous: 2,
  Any: 3,
} as const;

/** Size of the NUL-padded string fields (RFC 2637 §2.1, §2.7, §2.9, §2.13). */
export const PPTP_HOST_NAME_LENGTH = 64;
export const PPTP_VENDOR_NAME_LENGTH = 64;
export const PPTP_PHONE_NUMBER_LENGTH = 64;
export const PPTP_SUBADDRESS_LENGTH = 64;
export const PPTP_CALL_STATISTICS_LENGTH = 128;

/**
 * L2TPv2 control message types, the value of the Message Type AVP (RFC 2661 §3.2;
 * IANA "Layer Two Tunneling Protocol (L2TP)" registry, Message Type AVP values).
 */
export const L2tpMessageType = {
  /** §6.1 */ SCCRQ: 1,
  /** §6.2 */ SCCRP: 2,
  /** §6.3 */ SCCCN: 3,
  /** §6.4 */ StopCCN: 4,
  // 5 reserved
  /** §6.5 */ HELLO: 6,
  /** §6.6 */ OCRQ: 7,
  /** §6.7 */ OCRP: 8,
  /** §6.8 */ OCCN: 9,
  /** §6.9 */ ICRQ: 10,
  /** §6.10 */ ICRP: 11,
  /** §6.11 */ ICCN: 12,
  // 13 reserved
  /** §6.12 */ CDN: 14,
  /** §6.13 */ WEN: 15,
  /** §6.14 */ SLI: 16,
} as const;
export type L2tpMessageType = (typeof L2tpMessageType)[keyof typeof L2tpMessageType];

export const L2TP_MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'SCCRQ',
  2: 'SCCRP',
  3: 'SCCCN',
  4: 'StopCCN',
  6: 'HELLO',
  7: 'OCRQ',
  8: 'OCRP',
  9: 'OCCN',
  10: 'ICRQ',
  11: 'ICRP',
  12: 'ICCN',
  14: 'CDN',
  15: 'WEN',
  16: 'SLI',
};

/** True for the 14 types RFC 2661 defines. */
export function isKnownMessageType(t: number): t is L2tpMessageType {
  return L2TP_MESSAGE_TYPE_NAMES[t] !== undefined;
}

/**
 * Messages about the tunnel as a whole (Session ID 0): an unknown mandatory AVP in
 * these clears the tunnel, in the others only the session (RFC 2661 §4.1 M bit).
 */
export function isTunnelMessage(t: number): boolean {
  return t === 1 || t === 2 || t === 3 || t === 4 || t === 6;
}

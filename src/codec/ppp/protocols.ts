/**
 * PPP Protocol field values (RFC 1661 §2, IANA "PPP DLL Protocol Numbers").
 * Network-layer protocols are 0x0xxx-0x3xxx, their control protocols 0x8xxx-0xbxxx,
 * link-layer control protocols 0xcxxx.
 */
export const PppProtocol = {
  IPV4: 0x0021, // RFC 1332
  MP: 0x003d, // RFC 1990 multilink fragments
  IPV6: 0x0057, // RFC 5072
  COMPRESSED: 0x00fd, // RFC 1962 compressed/encrypted datagram (MPPE, RFC 3078 §3)
  IPCP: 0x8021, // RFC 1332
  BCP: 0x8031, // RFC 3518
  IPV6CP: 0x8057, // RFC 5072
  CCP: 0x80fd, // RFC 1962
  LCP: 0xc021, // RFC 1661
  PAP: 0xc023, // RFC 1334
  LQR: 0xc025, // RFC 1989
  CHAP: 0xc223, // RFC 1994 (also MS-CHAP, RFC 2433 / RFC 2759)
  CBCP: 0xc029, // Microsoft callback control
} as const;

const NAMES: Record<number, string> = {
  0x0021: 'IPv4', 0x003d: 'MP', 0x0057: 'IPv6', 0x00fd: 'CCP-data', 0x8021: 'IPCP', 0x8031: 'BCP',
  0x8057: 'IPV6CP', 0x80fd: 'CCP', 0xc021: 'LCP', 0xc023: 'PAP', 0xc025: 'LQR', 0xc223: 'CHAP',
  0xc029: 'CBCP',
};

export function protocolName(p: number): string {
  return NAMES[p] ?? '0x' + p.toString(16).padStart(4, '0');
}

/** Control-packet codes shared by LCP and the NCPs (RFC 1661 §5, RFC 1962 §3 for 14/15). */
export const Code = {
  CONF_REQ: 1,
  CONF_ACK: 2,
  CONF_NAK: 3,
  CONF_REJ: 4,
  TERM_REQ: 5,
  TERM_ACK: 6,
  CODE_REJ: 7,
  PROTO_REJ: 8, // LCP only
  ECHO_REQ: 9, // LCP only
  ECHO_REP: 10, // LCP only
  DISCARD_REQ: 11, // LCP only
  IDENTIFICATION: 12, // LCP only, RFC 1570
  TIME_REMAINING: 13, // LCP only, RFC 1570
  RESET_REQ: 14, // CCP only, RFC 1962
  RESET_ACK: 15, // CCP only, RFC 1962
} as const;

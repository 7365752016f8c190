/**
 * The PPP replay fixtures in test/fixtures/ppp/*.json: one real pppd session
 * each (captured in the interop lab), as written by extract-ppp-fixtures.ts.
 * This module only defines the shape and loads them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** c2s: pppd client -> pppd server; s2c: server -> client. */
export type Direction = 'c2s' | 's2c';

export interface FixtureFrame {
  /** Index in the session, 0-based. */
  i: number;
  /** Milliseconds since the session's first PPP frame (capture clock, microsecond precision). */
  t: number;
  dir: Direction;
  /** PPP protocol number (after undoing address/control and protocol-field compression). */
  proto: number;
  /** Human summary, e.g. "LCP Configure-Request id=1". */
  what: string;
  /** The PPP frame exactly as carried in GRE / L2TP (may start with FF 03, may be PFC-compressed). */
  hex: string;
}

export interface PppFixture {
  name: string;
  description: string;
  transport: 'pptp' | 'l2tp';
  source: { capture: string; logs: { client: string; server: string }; generator: string; peers: string };
  client: { ip: string; [k: string]: string | number };
  server: { ip: string; [k: string]: string | number };
  credentials: { user: string; password: string; serverName: string };
  /** What each pppd said it negotiated (from its log file). */
  negotiated: { client: Record<string, string>; server: Record<string, string> };
  /** Authentication exchange decoded from the frames (hex fields), for key derivation checks. */
  auth: Record<string, string>;
  /** pppd's own "sent/rcvd [...]" trace lines and results, for cross-checking. */
  pppdTrace: { client: string[]; server: string[] };
  notes: string[];
  frames: FixtureFrame[];
}

export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/ppp/', import.meta.url));

export function loadPppFixture(name: string): PppFixture {
  return JSON.parse(readFileSync(FIXTURE_DIR + name + '.json', 'utf8')) as PppFixture;
}

export function listPppFixtures(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function frameBytes(f: FixtureFrame): Uint8Array {
  return Uint8Array.from(Buffer.from(f.hex, 'hex'));
}

/** The PPP information field (after address/control and protocol), for a frame. */
export function framePayload(f: FixtureFrame): Uint8Array {
  const b = frameBytes(f);
  let o = b[0] === 0xff && b[1] === 0x03 ? 2 : 0;
  o += (b[o]! & 1) === 1 ? 1 : 2;
  return b.subarray(o);
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

// ---- PPP naming (shared by the extractor and the replay harness) ----

const CP_CODES: Record<number, string> = {
  1: 'Configure-Request', 2: 'Configure-Ack', 3: 'Configure-Nak', 4: 'Configure-Reject',
  5: 'Terminate-Request', 6: 'Terminate-Ack', 7: 'Code-Reject', 8: 'Protocol-Reject',
  9: 'Echo-Request', 10: 'Echo-Reply', 11: 'Discard-Request', 12: 'Identification', 13: 'Time-Remaining',
  14: 'Reset-Request', 15: 'Reset-Ack',
};
const CP_NAMES: Record<number, string> = { 0xc021: 'LCP', 0x8021: 'IPCP', 0x80fd: 'CCP', 0x8057: 'IPV6CP' };
const CHAP_CODES: Record<number, string> = { 1: 'Challenge', 2: 'Response', 3: 'Success', 4: 'Failure' };
const PAP_CODES: Record<number, string> = { 1: 'Authenticate-Request', 2: 'Authenticate-Ack', 3: 'Authenticate-Nak' };

export function splitPpp(frame: Uint8Array): { proto: number; info: Uint8Array } {
  let o = frame[0] === 0xff && frame[1] === 0x03 ? 2 : 0; // RFC 1662 §3.2 address/control (ACFC: absent)
  let proto: number;
  if ((frame[o]! & 1) === 1) proto = frame[o++]!; // RFC 1661 §6.5 PFC: odd first byte = 1-byte protocol
  else {
    proto = u16(frame, o);
    o += 2;
  }
  return { proto, info: frame.subarray(o) };
}

export function describe(proto: number, info: Uint8Array): string {
  const cp = CP_NAMES[proto];
  if (cp) return `${cp} ${CP_CODES[info[0]!] ?? `code ${info[0]}`} id=${info[1]}`;
  if (proto === 0xc223) return `CHAP ${CHAP_CODES[info[0]!] ?? `code ${info[0]}`} id=${info[1]}`;
  if (proto === 0xc023) return `PAP ${PAP_CODES[info[0]!] ?? `code ${info[0]}`} id=${info[1]}`;
  if (proto === 0x0021) return `IPv4 ${info.length} bytes${info[9] === 1 ? ` ICMP type ${info[(info[0]! & 15) * 4]}` : ''}`;
  // RFC 3078 §3: 4 flag bits (A B C D) and a 12-bit coherency count.
  if (proto === 0x00fd) return `MPPE ${info.length} bytes ccount=${u16(info, 0) & 0x0fff} flags=0x${(info[0]! >> 4).toString(16)}`;
  return `protocol 0x${proto.toString(16).padStart(4, '0')} ${info.length} bytes`;
}


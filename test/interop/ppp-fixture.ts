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

/**
 * Contract between the PPP link (LCP phases) and the authentication protocols.
 * The link decides the method in LCP, then hands every PAP (0xc023) or CHAP (0xc223)
 * frame's information field to one AuthClient or AuthServer. Those are sans-I/O:
 * they emit frames through `send` and timers through the injected clock, and finish
 * with exactly one `done` call.
 */
import type { Clock } from '../../clock.js';

/** RouterOS names, as in `allow=` and `authentication=`. */
export type AuthMethod = 'pap' | 'chap' | 'mschap1' | 'mschap2';

/** Strongest first: the server offers in this order (filtered by its `authentication` list). */
export const AUTH_STRENGTH_ORDER: readonly AuthMethod[] = ['mschap2', 'mschap1', 'chap', 'pap'];

/** Key material from MS-CHAP for MPPE (RFC 3079). Never logged. */
export interface MppeKeySource {
  /**
   * This side's send and receive *start* keys (RFC 3079 §3.4 MasterSendKey/MasterReceiveKey,
   * = RADIUS MS-MPPE-Send/Recv-Key as seen by the server; 8 bytes for 40/56-bit, 16 for
   * 128-bit). Pass them unchanged to `new MppeSession({sendKey, recvKey, ...})`: MPPE itself
   * applies GetNewKeyFromSHA and the 40/56-bit salt, because every re-key (RFC 3078 §7.3)
   * needs the start key again.
   */
  startKeys(bits: 40 | 56 | 128, role: 'client' | 'server'): { send: Uint8Array; recv: Uint8Array };
}

/** What the server side asks a verifier (local secrets now, RADIUS later). */
export type AuthRequest =
  | { method: 'pap'; user: string; password: string }
  | { method: 'chap'; user: string; id: number; challenge: Uint8Array; response: Uint8Array }
  | { method: 'mschap1'; user: string; challenge: Uint8Array; ntResponse: Uint8Array; lmResponse: Uint8Array; useNt: boolean }
  | { method: 'mschap2'; user: string; authenticatorChallenge: Uint8Array; peerChallenge: Uint8Array; ntResponse: Uint8Array };

export type AuthVerdict =
  | {
      ok: true;
      /** MS-CHAPv2 only: the "S=<40 hex>" authenticator response to send in Success. */
      authenticatorResponse?: string;
      mppe?: MppeKeySource;
      message?: string;
    }
  | { ok: false; message: string; /** MS-CHAP failure code, default 691 */ code?: number };

export interface AuthVerifier {
  verify(req: AuthRequest): AuthVerdict | Promise<AuthVerdict>;
}

export type AuthResult =
  | { ok: true; method: AuthMethod; user: string; mppe?: MppeKeySource; message?: string }
  | { ok: false; method: AuthMethod; user?: string; reason: string };

export interface AuthCallbacks {
  clock: Clock;
  /** Send one frame: `protocol` is 0xc023 or 0xc223, `payload` the information field. */
  send(protocol: number, payload: Uint8Array): void;
  /** Called exactly once. */
  done(result: AuthResult): void;
  /** Optional human log line (never contains a password, hash or key). */
  log?(line: string): void;
}

/** LCP Authentication-Protocol option data (RFC 1661 §6.2, RFC 1994, RFC 2433, RFC 2759). */
export const AUTH_LCP_VALUE: Record<AuthMethod, { protocol: number; algorithm?: number }> = {
  pap: { protocol: 0xc023 },
  chap: { protocol: 0xc223, algorithm: 0x05 },
  mschap1: { protocol: 0xc223, algorithm: 0x80 },
  mschap2: { protocol: 0xc223, algorithm: 0x81 },
};

/**
 * MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759) response computations.
 */
import { timingSafeEqual } from 'node:crypto';
import { CodecError } from '../errors.js';
import { sha1 } from './hash.js';
import { challengeResponse, lmPasswordHash, ntPasswordHash, ntPasswordHashHash } from './ntlm.js';

// ---- MS-CHAPv1 (RFC 2433 §A) ----

/** NtChallengeResponse (RFC 2433 §A.1): 24 bytes. */
export function mschap1NtResponse(challenge: Uint8Array, password: string): Uint8Array {
  const h = ntPasswordHash(password);
  const r = challengeResponse(challenge, h);
  h.fill(0);
  return r;
}

/** LmChallengeResponse (RFC 2433 §A.7): 24 bytes. Obsolete; peers should send zeros and UseNT=1. */
export function mschap1LmResponse(challenge: Uint8Array, password: string): Uint8Array {
  const h = lmPasswordHash(password);
  const r = challengeResponse(challenge, h);
  h.fill(0);
  return r;
}

// ---- MS-CHAPv2 (RFC 2759 §8) ----

/**
 * The user name that enters ChallengeHash: RFC 2759 §8.2 says the name *without* any
 * "DOMAIN\" prefix (Windows clients send "DOMAIN\user" in the Response Name field).
 */
export function mschap2HashUserName(user: string): string {
  const i = user.lastIndexOf('\\');
  return i >= 0 ? user.slice(i + 1) : user;
}

/** ChallengeHash (RFC 2759 §8.2): SHA1(PeerChallenge | AuthenticatorChallenge | UserName)[0:8]. */
export function mschap2ChallengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, user: string): Uint8Array {
  if (peerChallenge.length !== 16 || authenticatorChallenge.length !== 16) {
    throw new CodecError('CRYPTO_ERR_BAD_LENGTH', 'MS-CHAPv2 challenges must be 16 bytes');
  }
  const name = Buffer.from(mschap2HashUserName(user), 'utf8');
  return sha1(peerChallenge, authenticatorChallenge, name).subarray(0, 8);
}

/** GenerateNTResponse (RFC 2759 §8.1) from the NT password hash. */
export function mschap2NtResponseFromHash(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  user: string,
  passwordHash: Uint8Array,
): Uint8Array {
  return challengeResponse(mschap2ChallengeHash(peerChallenge, authenticatorChallenge, user), passwordHash);
}

/** GenerateNTResponse (RFC 2759 §8.1) from the clear-text password. */
export function mschap2NtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  user: string,
  password: string,
): Uint8Array {
  const h = ntPasswordHash(password);
  const r = mschap2NtResponseFromHash(authenticatorChallenge, peerChallenge, user, h);
  h.fill(0);
  return r;
}

const AUTH_MAGIC1 = Buffer.from('Magic server to client signing constant', 'ascii'); // RFC 2759 §8.7, 39 bytes
const AUTH_MAGIC2 = Buffer.from('Pad to make it do more than one iteration', 'ascii'); // 41 bytes

/** The 20-byte digest behind GenerateAuthenticatorResponse (RFC 2759 §8.7). */
export function mschap2AuthenticatorDigest(
  passwordHashHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  user: string,
): Uint8Array {
  const d = sha1(passwordHashHash, ntResponse, AUTH_MAGIC1);
  const ch = mschap2ChallengeHash(peerChallenge, authenticatorChallenge, user);
  return sha1(d, ch, AUTH_MAGIC2);
}

/** GenerateAuthenticatorResponse (RFC 2759 §8.7): "S=" + 40 upper-case hex digits. */
export function mschap2AuthenticatorResponse(
  password: string,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  user: string,
): string {
  const h = ntPasswordHash(password);
  const hh = ntPasswordHashHash(h);
  h.fill(0);
  const d = mschap2AuthenticatorDigest(hh, ntResponse, peerChallenge, authenticatorChallenge, user);
  hh.fill(0);
  return 'S=' + Buffer.from(d).toString('hex').toUpperCase();
}

/**
 * CheckAuthenticatorResponse (RFC 2759 §8.8), constant time over the 20 digest bytes.
 * `received` is the server's "S=<40 hex>" string (case-insensitive hex, as peers differ).
 */
export function mschap2CheckAuthenticatorResponse(
  password: string,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  user: string,
  received: string,
): boolean {
  const got = parseAuthenticatorResponse(received);
  const want = Buffer.from(mschap2AuthenticatorResponse(password, ntResponse, peerChallenge, authenticatorChallenge, user).slice(2), 'hex');
  if (!got) {
    // Still spend the comparison so a malformed string is not faster than a wrong one.
    timingSafeEqual(want, want);
    return false;
  }
  return timingSafeEqual(got, want);
}

/** "S=<40 hex>" → 20 bytes, or undefined if malformed. */
export function parseAuthenticatorResponse(s: string): Buffer | undefined {
  if (s.length < 42 || s[0] !== 'S' || s[1] !== '=') return undefined;
  const hex = s.slice(2, 42);
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

/**
 * Windows password hashes and the DES challenge response shared by MS-CHAPv1/v2
 * (RFC 2433 §A, RFC 2759 §8). Outputs are secrets: callers must never log them.
 */
import { CodecError } from '../errors.js';
import { desEncrypt } from './des.js';
import { md4 } from './md4.js';

/** RFC 2433 §A.2: passwords are at most 256 Unicode characters. */
export const MAX_NT_PASSWORD = 256;

function checkPassword(password: string): void {
  if (password.length > MAX_NT_PASSWORD) {
    throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `password longer than ${MAX_NT_PASSWORD} characters`);
  }
}

/** NtPasswordHash: MD4 of the UTF-16LE password (RFC 2433 §A.2, RFC 2759 §8.3). */
export function ntPasswordHash(password: string): Uint8Array {
  checkPassword(password);
  const u = Buffer.from(password, 'utf16le');
  const h = md4(u);
  u.fill(0);
  return h;
}

/** HashNtPasswordHash: MD4 of the 16-byte NT hash (RFC 2759 §8.4). */
export function ntPasswordHashHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/** "KGS!@#$%", the LM hash's fixed plaintext (RFC 2433 §A.4 DesHash). */
const LM_STD_TEXT = new Uint8Array([0x4b, 0x47, 0x53, 0x21, 0x40, 0x23, 0x24, 0x25]);

/**
 * LmPasswordHash (RFC 2433 §A.3): the upper-cased password, truncated / zero-padded to 14
 * OEM bytes, each 7-byte half used as a DES key to encrypt "KGS!@#$%".
 */
export function lmPasswordHash(password: string): Uint8Array {
  checkPassword(password);
  const pw = new Uint8Array(14);
  // Latin-1 stands in for the OEM code page; LM is only meaningful for ASCII passwords anyway.
  const up = Buffer.from(password.toUpperCase(), 'latin1');
  pw.set(up.subarray(0, 14));
  up.fill(0);
  const out = new Uint8Array(16);
  out.set(desEncrypt(LM_STD_TEXT, pw.subarray(0, 7)), 0);
  out.set(desEncrypt(LM_STD_TEXT, pw.subarray(7, 14)), 8);
  pw.fill(0);
  return out;
}

/**
 * ChallengeResponse (RFC 2433 §A.5, RFC 2759 §8.5): the 16-byte hash, zero-padded to 21
 * bytes, gives three 7-byte DES keys; each encrypts the 8-byte challenge → 24 bytes.
 */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  if (challenge.length !== 8) throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `challenge must be 8 bytes, got ${challenge.length}`);
  if (passwordHash.length !== 16) throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `password hash must be 16 bytes, got ${passwordHash.length}`);
  const z = new Uint8Array(21);
  z.set(passwordHash);
  const out = new Uint8Array(24);
  out.set(desEncrypt(challenge, z.subarray(0, 7)), 0);
  out.set(desEncrypt(challenge, z.subarray(7, 14)), 8);
  out.set(desEncrypt(challenge, z.subarray(14, 21)), 16);
  z.fill(0);
  return out;
}

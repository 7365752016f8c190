/**
 * RADIUS attribute hiding: User-Password (RFC 2865 §5.2) and the salt-encrypted
 * MS-MPPE-Send-Key / MS-MPPE-Recv-Key strings (RFC 2548 §2.4.2-2.4.3). Both XOR the
 * plaintext, 16 octets at a time, with an MD5 chain keyed by the shared secret.
 */
import { CodecError } from '../errors.js';
import { md5 } from './hash.js';

const bytes = (s: Uint8Array | string): Uint8Array => (typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'utf8')) : s);

/** c(i) = p(i) XOR MD5(secret | prev), prev = first for i = 1, c(i-1) after. In place on `buf`. */
function chainEncrypt(buf: Uint8Array, secret: Uint8Array, first: Uint8Array): void {
  let prev = first;
  for (let o = 0; o < buf.length; o += 16) {
    const b = md5(secret, prev);
    for (let i = 0; i < 16; i++) buf[o + i] ^= b[i];
    prev = buf.subarray(o, o + 16);
  }
}

function chainDecrypt(buf: Uint8Array, secret: Uint8Array, first: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  let prev = first;
  for (let o = 0; o < buf.length; o += 16) {
    const b = md5(secret, prev);
    for (let i = 0; i < 16; i++) out[o + i] = buf[o + i] ^ b[i];
    prev = buf.subarray(o, o + 16);
  }
  return out;
}

/** RFC 2865 §5.2: User-Password attribute value (16..128 octets). */
export function hideUserPassword(password: Uint8Array | string, secret: Uint8Array | string, requestAuthenticator: Uint8Array): Uint8Array {
  const p = bytes(password);
  if (p.length > 128) throw new CodecError('RADIUS_ERR_OVERSIZED', 'User-Password is limited to 128 octets');
  if (requestAuthenticator.length !== 16) throw new CodecError('RADIUS_ERR_BAD_LENGTH', 'Request Authenticator must be 16 octets');
  const buf = new Uint8Array(Math.max(16, Math.ceil(p.length / 16) * 16));
  buf.set(p);
  chainEncrypt(buf, bytes(secret), requestAuthenticator);
  return buf;
}

/** Inverse of hideUserPassword; trailing NUL padding is removed. */
export function revealUserPassword(value: Uint8Array, secret: Uint8Array | string, requestAuthenticator: Uint8Array): Uint8Array {
  if (value.length < 16 || value.length > 128 || value.length % 16 !== 0) {
    throw new CodecError('RADIUS_ERR_BAD_LENGTH', `User-Password attribute must be 16..128 octets in steps of 16, got ${value.length}`);
  }
  if (requestAuthenticator.length !== 16) throw new CodecError('RADIUS_ERR_BAD_LENGTH', 'Request Authenticator must be 16 octets');
  const out = chainDecrypt(value, bytes(secret), requestAuthenticator);
  let n = out.length;
  while (n > 0 && out[n - 1] === 0) n--;
  return out.subarray(0, n);
}

/** RFC 2548 §2.4.2: Salt(2, high bit set) | encrypt(Key-Length | Key | zero padding to 16n). */
export function encryptMppeKeyAttribute(key: Uint8Array, secret: Uint8Array | string, requestAuthenticator: Uint8Array, salt: Uint8Array): Uint8Array {
  if (salt.length !== 2 || (salt[0] & 0x80) === 0) throw new CodecError('RADIUS_ERR_BAD_SALT', 'MS-MPPE key salt must be 2 octets with the high bit set');
  if (requestAuthenticator.length !== 16) throw new CodecError('RADIUS_ERR_BAD_LENGTH', 'Request Authenticator must be 16 octets');
  if (key.length > 239) throw new CodecError('RADIUS_ERR_OVERSIZED', 'MS-MPPE key too long');
  const plain = new Uint8Array(Math.ceil((key.length + 1) / 16) * 16);
  plain[0] = key.length;
  plain.set(key, 1);
  const first = new Uint8Array(18);
  first.set(requestAuthenticator);
  first.set(salt, 16);
  chainEncrypt(plain, bytes(secret), first);
  const out = new Uint8Array(2 + plain.length);
  out.set(salt);
  out.set(plain, 2);
  return out;
}

/** Inverse of encryptMppeKeyAttribute: the key. */
export function decryptMppeKeyAttribute(value: Uint8Array, secret: Uint8Array | string, requestAuthenticator: Uint8Array): Uint8Array {
  if (value.length < 18 || (value.length - 2) % 16 !== 0) {
    throw new CodecError('RADIUS_ERR_BAD_LENGTH', `MS-MPPE key attribute must be 2 + 16n octets, got ${value.length}`);
  }
  if ((value[0] & 0x80) === 0) throw new CodecError('RADIUS_ERR_BAD_SALT', 'MS-MPPE key salt lacks its high bit');
  if (requestAuthenticator.length !== 16) throw new CodecError('RADIUS_ERR_BAD_LENGTH', 'Request Authenticator must be 16 octets');
  const first = new Uint8Array(18);
  first.set(requestAuthenticator);
  first.set(value.subarray(0, 2), 16);
  const plain = chainDecrypt(value.subarray(2), bytes(secret), first);
  const n = plain[0];
  if (n + 1 > plain.length) throw new CodecError('RADIUS_ERR_BAD_LENGTH', 'MS-MPPE Key-Length exceeds the decrypted string (wrong shared secret?)');
  return plain.slice(1, 1 + n);
}

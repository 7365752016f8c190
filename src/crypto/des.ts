/**
 * Single DES-ECB with a 7-byte key, as MS-CHAP uses it (RFC 2433 §A.5 DesEncrypt).
 * OpenSSL 3 moved single DES to the legacy provider, but 3DES-EDE with K1=K2=K3 is
 * exactly single DES, so we use node:crypto `des-ede3` with the 8-byte key three times.
 */
import { createCipheriv } from 'node:crypto';
import { CodecError } from '../errors.js';

/**
 * Spread 56 key bits over 8 bytes, 7 bits each, and set odd parity in the low bit
 * (RFC 2433 §A.6 MakeKey / DES key layout). DES ignores the parity bits; we set them anyway.
 */
export function expandDesKey(key7: Uint8Array): Uint8Array {
  if (key7.length !== 7) throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `DES key must be 7 bytes, got ${key7.length}`);
  const out = new Uint8Array(8);
  out[0] = key7[0] & 0xfe;
  out[1] = ((key7[0] << 7) | (key7[1] >>> 1)) & 0xfe;
  out[2] = ((key7[1] << 6) | (key7[2] >>> 2)) & 0xfe;
  out[3] = ((key7[2] << 5) | (key7[3] >>> 3)) & 0xfe;
  out[4] = ((key7[3] << 4) | (key7[4] >>> 4)) & 0xfe;
  out[5] = ((key7[4] << 3) | (key7[5] >>> 5)) & 0xfe;
  out[6] = ((key7[5] << 2) | (key7[6] >>> 6)) & 0xfe;
  out[7] = (key7[6] << 1) & 0xfe;
  for (let i = 0; i < 8; i++) {
    let b = out[i];
    b ^= b >>> 4;
    b ^= b >>> 2;
    b ^= b >>> 1;
    // b&1 is now the parity of the top 7 bits; make the total odd.
    if ((b & 1) === 0) out[i] |= 1;
  }
  return out;
}

/** DES-ECB encrypt one 8-byte block with a 7-byte key (RFC 2433 DesEncrypt). */
export function desEncrypt(block8: Uint8Array, key7: Uint8Array): Uint8Array {
  if (block8.length !== 8) throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `DES block must be 8 bytes, got ${block8.length}`);
  const k = expandDesKey(key7);
  const k3 = new Uint8Array(24);
  k3.set(k, 0);
  k3.set(k, 8);
  k3.set(k, 16);
  const c = createCipheriv('des-ede3', k3, null);
  c.setAutoPadding(false);
  const out = c.update(block8);
  c.final();
  k3.fill(0);
  return new Uint8Array(out.buffer, out.byteOffset, 8);
}

/** CHAP with MD5 (RFC 1994 §4.1): Response = MD5(Identifier | secret | Challenge). */
import { md5 } from './hash.js';

export function chapMd5Response(identifier: number, secret: Uint8Array | string, challenge: Uint8Array): Uint8Array {
  const s = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return md5(new Uint8Array([identifier & 0xff]), s, challenge);
}

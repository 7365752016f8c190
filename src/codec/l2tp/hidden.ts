/**
 * Hidden AVP values (RFC 2661 §4.3). The cleartext is first wrapped in the Hidden AVP
 * Subformat: 2-octet original length, the value, then optional random padding. It is
 * then XORed with an MD5 chain, 16 octets at a time:
 *
 *   b1 = MD5(attribute type (2 octets) + secret + random vector)   c1 = p1 xor b1
 *   bi = MD5(secret + c(i-1))                                      ci = pi xor bi
 *
 * The last block may be short: only its octets are XORed. The random vector is the
 * value of the nearest preceding Random Vector AVP. Secrets are never logged.
 */
import { createHash } from 'node:crypto';
import { CodecError } from '../../errors.js';

export type Secret = Uint8Array | string;

export function secretBytes(secret: Secret): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

function xorChain(attributeType: number, data: Uint8Array, secret: Uint8Array, randomVector: Uint8Array, encrypt: boolean): Uint8Array {
  const out = new Uint8Array(data.length);
  let prevCipher: Uint8Array | null = null;
  for (let i = 0; i < data.length; i += 16) {
    const h = createHash('md5');
    if (prevCipher === null) {
      h.update(Uint8Array.of(attributeType >> 8, attributeType & 0xff));
      h.update(secret);
      h.update(randomVector);
    } else {
      h.update(secret);
      h.update(prevCipher);
    }
    const b = h.digest();
    const n = Math.min(16, data.length - i);
    for (let j = 0; j < n; j++) out[i + j] = data[i + j] ^ b[j];
    // The next block is keyed by this block's ciphertext, whichever way we are going.
    prevCipher = encrypt ? out.subarray(i, i + n) : data.subarray(i, i + n);
  }
  return out;
}

/**
 * Hide `value` of attribute `attributeType`. `padding` (random octets, may be empty)
 * is appended inside the subformat to mask the value's length.
 */
export function hideAvpValue(attributeType: number, value: Uint8Array, secret: Secret, randomVector: Uint8Array, padding: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (value.length > 0xffff) throw new CodecError('L2TP_ERR_ENCODE', 'hidden AVP value too long');
  const sub = new Uint8Array(2 + value.length + padding.length);
  sub[0] = value.length >> 8;
  sub[1] = value.length & 0xff;
  sub.set(value, 2);
  sub.set(padding, 2 + value.length);
  return xorChain(attributeType, sub, secretBytes(secret), randomVector, true);
}

/**
 * Recover the cleartext value of a hidden AVP. Throws CodecError
 * L2TP_ERR_HIDDEN_AVP_LENGTH when the hidden value is shorter than 2 octets or when
 * the recovered original length claims more octets than were decrypted (a wrong
 * secret or a lying peer): the length never bounds a read past the decrypted data.
 */
export function unhideAvpValue(attributeType: number, hidden: Uint8Array, secret: Secret, randomVector: Uint8Array): Uint8Array {
  if (hidden.length < 2) throw new CodecError('L2TP_ERR_HIDDEN_AVP_LENGTH', `hidden AVP value of ${hidden.length} octets has no room for the original length`);
  const sub = xorChain(attributeType, hidden, secretBytes(secret), randomVector, false);
  const originalLength = (sub[0] << 8) | sub[1];
  if (originalLength > sub.length - 2) {
    throw new CodecError('L2TP_ERR_HIDDEN_AVP_LENGTH', `hidden AVP claims ${originalLength} octets but only ${sub.length - 2} were decrypted (wrong secret?)`);
  }
  return sub.subarray(2, 2 + originalLength);
}

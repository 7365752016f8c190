/** MD5 and SHA-1 from node:crypto, over several parts (the RFCs define hashes over concatenations). */
import { createHash } from 'node:crypto';

function digest(alg: 'md5' | 'sha1', parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

export function md5(...parts: Uint8Array[]): Uint8Array {
  return digest('md5', parts);
}

export function sha1(...parts: Uint8Array[]): Uint8Array {
  return digest('sha1', parts);
}

/**
 * MD4 (RFC 1320). Needed for NtPasswordHash (RFC 2433 §A.2) and PasswordHashHash
 * (RFC 2759 §8.4); OpenSSL 3 only offers it through the legacy provider, so it lives here.
 * Inputs are small (passwords, 16-byte hashes): clarity over speed.
 */

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** MD4 digest (16 bytes) of `data`. */
export function md4(data: Uint8Array): Uint8Array {
  const bitLen = data.length * 8;
  // Pad: 0x80, zeros to 56 mod 64, then the 64-bit little-endian bit length (RFC 1320 §3.1-3.2).
  const padded = new Uint8Array(((data.length + 8) >>> 6) * 64 + 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, bitLen >>> 0, true);
  dv.setUint32(padded.length - 4, Math.floor(data.length / 0x20000000), true);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Int32Array(16);

  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = dv.getInt32(off + i * 4, true);
    const aa = a, bb = b, cc = c, dd = d;
    // Round 1: F(x,y,z) = xy | ~x z
    for (const k of [0, 4, 8, 12]) {
      a = rotl((a + ((b & c) | (~b & d)) + x[k]) | 0, 3);
      d = rotl((d + ((a & b) | (~a & c)) + x[k + 1]) | 0, 7);
      c = rotl((c + ((d & a) | (~d & b)) + x[k + 2]) | 0, 11);
      b = rotl((b + ((c & d) | (~c & a)) + x[k + 3]) | 0, 19);
    }
    // Round 2: G(x,y,z) = xy | xz | yz, constant 0x5A827999
    for (const k of [0, 1, 2, 3]) {
      a = rotl((a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5a827999) | 0, 3);
      d = rotl((d + ((a & b) | (a & c) | (b & c)) + x[k + 4] + 0x5a827999) | 0, 5);
      c = rotl((c + ((d & a) | (d & b) | (a & b)) + x[k + 8] + 0x5a827999) | 0, 9);
      b = rotl((b + ((c & d) | (c & a) | (d & a)) + x[k + 12] + 0x5a827999) | 0, 13);
    }
    // Round 3: H(x,y,z) = x ^ y ^ z, constant 0x6ED9EBA1
    for (const k of [0, 2, 1, 3]) {
      a = rotl((a + (b ^ c ^ d) + x[k] + 0x6ed9eba1) | 0, 3);
      d = rotl((d + (a ^ b ^ c) + x[k + 8] + 0x6ed9eba1) | 0, 9);
      c = rotl((c + (d ^ a ^ b) + x[k + 4] + 0x6ed9eba1) | 0, 11);
      b = rotl((b + (c ^ d ^ a) + x[k + 12] + 0x6ed9eba1) | 0, 15);
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }

  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setInt32(0, a, true);
  ov.setInt32(4, b, true);
  ov.setInt32(8, c, true);
  ov.setInt32(12, d, true);
  return out;
}

/**
 * Allocation-free SHA-1 (FIPS 180-4) for the MPPE re-key, which stateless MPPE runs on
 * every packet (RFC 3078 §7.1). node:crypto createHash() costs an object per call; this
 * reuses its buffers. Everything else uses node:crypto (hash.ts).
 */
export class Sha1 {
  private readonly w = new Int32Array(80);
  private readonly tail = new Uint8Array(128);
  private readonly tailView = new DataView(this.tail.buffer);
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  private h4 = 0;

  /** SHA-1 of `msg[off..off+len)`, written as 20 bytes at `out[outOff..]`. */
  digestInto(msg: Uint8Array, off: number, len: number, out: Uint8Array, outOff = 0): void {
    this.h0 = 0x67452301;
    this.h1 = 0xefcdab89 | 0;
    this.h2 = 0x98badcfe | 0;
    this.h3 = 0x10325476;
    this.h4 = 0xc3d2e1f0 | 0;
    const full = len & ~63;
    for (let p = 0; p < full; p += 64) this.block(msg, off + p);
    const rest = len - full;
    const tail = this.tail;
    tail.fill(0);
    for (let i = 0; i < rest; i++) tail[i] = msg[off + full + i];
    tail[rest] = 0x80;
    const tlen = rest < 56 ? 64 : 128;
    const bits = len * 8;
    this.tailView.setUint32(tlen - 8, Math.floor(bits / 0x100000000), false);
    this.tailView.setUint32(tlen - 4, bits >>> 0, false);
    this.block(tail, 0);
    if (tlen === 128) this.block(tail, 64);
    this.put(out, outOff, this.h0);
    this.put(out, outOff + 4, this.h1);
    this.put(out, outOff + 8, this.h2);
    this.put(out, outOff + 12, this.h3);
    this.put(out, outOff + 16, this.h4);
  }

  private put(out: Uint8Array, o: number, v: number): void {
    out[o] = v >>> 24;
    out[o + 1] = v >>> 16;
    out[o + 2] = v >>> 8;
    out[o + 3] = v;
  }

  private block(m: Uint8Array, p: number): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) {
      const q = p + t * 4;
      w[t] = (m[q] << 24) | (m[q + 1] << 16) | (m[q + 2] << 8) | m[q + 3];
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = (x << 1) | (x >>> 31);
    }
    let a = this.h0, b = this.h1, c = this.h2, d = this.h3, e = this.h4;
    // Four branch-free round loops (FIPS 180-4 §6.1.2): the stateless MPPE re-key hashes
    // two blocks per packet, and a per-round branch on t costs about a third of it.
    let t = 0;
    for (; t < 20; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[t]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = tmp;
    }
    for (; t < 40; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[t]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = tmp;
    }
    for (; t < 60; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) + w[t]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = tmp;
    }
    for (; t < 80; t++) {
      const tmp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + w[t]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = tmp;
    }
    this.h0 = (this.h0 + a) | 0;
    this.h1 = (this.h1 + b) | 0;
    this.h2 = (this.h2 + c) | 0;
    this.h3 = (this.h3 + d) | 0;
    this.h4 = (this.h4 + e) | 0;
  }
}

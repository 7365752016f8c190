/**
 * RC4 on a Uint8Array(256) state. This is the MPPE per-packet hot path
 * (see shared/DATAPLANE.md: as fast as C through N-API), so nothing here allocates after
 * construction: setKey() re-runs the key schedule in place and process() XORs in place.
 */
import { CodecError } from '../errors.js';

const IDENTITY = Uint8Array.from({ length: 256 }, (_, i) => i);

export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key?: Uint8Array) {
    if (key) this.setKey(key);
  }

  /** Key schedule (KSA) with `key[off..off+len)`; 1..256 bytes. */
  setKey(key: Uint8Array, off = 0, len = key.length - off): void {
    if (len < 1 || len > 256 || off < 0 || off + len > key.length) {
      throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `RC4 key must be 1..256 bytes, got ${len}`);
    }
    const s = this.s;
    s.set(IDENTITY); // one memcpy instead of 256 stores: stateless MPPE runs this twice per packet
    let j = 0;
    let k = 0;
    for (let i = 0; i < 256; i++) {
      const t = s[i];
      j = (j + t + key[off + k]) & 0xff;
      s[i] = s[j];
      s[j] = t;
      if (++k === len) k = 0;
    }
    this.i = 0;
    this.j = 0;
  }

  /** XOR the keystream into `buf[off..off+len)` in place (encrypt and decrypt are the same). */
  process(buf: Uint8Array, off = 0, len = buf.length - off): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    const end = off + len;
    for (let p = off; p < end; p++) {
      i = (i + 1) & 0xff;
      const si = s[i];
      j = (j + si) & 0xff;
      const sj = s[j];
      s[i] = sj;
      s[j] = si;
      buf[p] ^= s[(si + sj) & 0xff];
    }
    this.i = i;
    this.j = j;
  }

  /** Forget the state (after use with a key that must not linger). */
  wipe(): void {
    this.s.fill(0);
    this.i = 0;
    this.j = 0;
  }
}

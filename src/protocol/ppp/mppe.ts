/**
 * MPPE (RFC 3078) packet encryption with RFC 3079 keys, sans-I/O and allocation-free per packet.
 *
 * Wire header (RFC 3078 §3.1): |A|B|C|D| 12-bit coherency count |, A = FLUSHED (RC4 tables
 * re-initialised before this packet), D = encrypted. The encrypted data starts with the PPP
 * protocol field of the inner packet.
 *
 * Where RFC 3078 is vague this follows the behaviour of the Linux ppp_mppe driver, because
 * that is what pppd/pptpd/xl2tpd peers run and what Windows interoperates with:
 *  - the first packet carries count 0; in stateful mode it is not FLUSHED and uses the
 *    initial session key, in stateless mode every packet (the first included) is re-keyed;
 *  - stateful: the sender re-keys (RFC 3078 §7.3) before every "flag" packet (count low
 *    octet 0xFF) and before the first packet after a CCP Reset-Request, and sets FLUSHED on
 *    exactly those packets; the receiver re-keys on every FLUSHED packet;
 *  - stateful loss (§8.2): drop, ask for a Reset-Request once, discard until a FLUSHED packet,
 *    then re-key once per missed flag packet (256-count block) before the FLUSHED re-key.
 *
 * Keys given to the constructor are *start keys* (see MppeKeySource.startKeys); they never
 * appear in logs, errors or inspect output.
 */
import { inspect } from 'node:util';
import { CodecError } from '../../errors.js';
import { Rc4 } from '../../crypto/rc4.js';
import { Sha1 } from '../../crypto/sha1.js';
import { mppeKeyLength, reduceSessionKey } from '../../crypto/mppe-keys.js';

/** PPP protocol number of MPPE/CCP-compressed datagrams (RFC 1962 §4, RFC 3078 §3). */
export const PPP_PROTO_COMPRESSED = 0x00fd;
/** MPPE header bits (RFC 3078 §3.1), in the high nibble of the first header octet. */
export const MPPE_BIT_FLUSHED = 0x80; // A
export const MPPE_BIT_ENCRYPTED = 0x10; // D
/** Extra bytes MPPE puts in front of the inner packet. */
export const MPPE_OVERHEAD = 2;

export interface MppeOptions {
  bits: 40 | 56 | 128;
  stateless: boolean;
  /** Our send start key (8 bytes for 40/56-bit, 16 for 128-bit; longer keys are truncated). */
  sendKey: Uint8Array;
  /** Our receive start key. */
  recvKey: Uint8Array;
  /** stateful receiver lost sync: the link must send CCP Reset-Request */
  onResetRequest?: () => void;
}

const CCOUNT_MASK = 0xfff;

/** One direction's key state. */
class Direction {
  readonly rc4 = new Rc4();
  /** start | SHApad1 | session | SHApad2: the GetNewKeyFromSHA input, pads pre-filled. */
  readonly shaIn: Uint8Array;
  readonly session: Uint8Array;
  count = CCOUNT_MASK; // so the first packet is count 0 (as Linux does)

  constructor(startKey: Uint8Array, readonly n: number, readonly bits: 40 | 56 | 128, private readonly sha: Sha1, private readonly digest: Uint8Array) {
    this.shaIn = new Uint8Array(2 * n + 80);
    this.shaIn.set(startKey.subarray(0, n), 0);
    this.shaIn.fill(0xf2, 2 * n + 40);
    this.session = this.shaIn.subarray(n + 40, 2 * n + 40);
    // Initial session key: GetNewKeyFromSHA(start, start) then the salt (RFC 3079 §3.4/§3.5).
    this.session.set(startKey.subarray(0, n));
    this.sha.digestInto(this.shaIn, 0, this.shaIn.length, this.digest, 0);
    this.session.set(this.digest.subarray(0, n));
    reduceSessionKey(this.session, bits);
    this.rc4.setKey(this.session);
  }

  /** RFC 3078 §7.3: interim = SHA(start, session); session = RC4(interim, interim); salt; re-init RC4. */
  rekey(): void {
    const n = this.n;
    this.sha.digestInto(this.shaIn, 0, this.shaIn.length, this.digest, 0);
    const s = this.session;
    for (let i = 0; i < n; i++) s[i] = this.digest[i];
    this.rc4.setKey(s);
    this.rc4.process(s, 0, n);
    reduceSessionKey(s, this.bits);
    this.rc4.setKey(s);
  }

  wipe(): void {
    this.shaIn.fill(0);
    this.rc4.wipe();
  }
}

export class MppeSession {
  readonly stats = { encrypted: 0, decrypted: 0, dropped: 0, rekeys: 0, resetRequests: 0 };
  /** "MPPE128 stateless" | "MPPE40 stateful" | ... (RouterOS `encoding` string) */
  readonly encoding: string;

  readonly #stateless: boolean;
  readonly #tx: Direction;
  readonly #rx: Direction;
  readonly #onResetRequest: (() => void) | undefined;
  /** A Reset-Request arrived: re-key and flag the next sent packet. */
  #flushNext = false;
  /** Stateful receiver lost a packet and waits for a FLUSHED one. */
  #discard = false;

  constructor(opts: MppeOptions) {
    const { bits } = opts;
    if (bits !== 40 && bits !== 56 && bits !== 128) {
      throw new CodecError('MPPE_ERR_BAD_OPTION', `MPPE key strength must be 40, 56 or 128 bits, got ${String(bits)}`);
    }
    const n = mppeKeyLength(bits);
    if (opts.sendKey.length < n || opts.recvKey.length < n) {
      throw new CodecError('MPPE_ERR_KEY_LENGTH', `MPPE${bits} needs ${n}-byte start keys`);
    }
    const sha = new Sha1();
    const digest = new Uint8Array(20);
    this.#stateless = opts.stateless;
    this.#tx = new Direction(opts.sendKey, n, bits, sha, digest);
    this.#rx = new Direction(opts.recvKey, n, bits, sha, digest);
    this.#onResetRequest = opts.onResetRequest;
    this.encoding = `MPPE${bits} ${opts.stateless ? 'stateless' : 'stateful'}`;
  }

  /** True while a stateful receiver is discarding until the peer's next FLUSHED packet. */
  get awaitingFlush(): boolean {
    return this.#discard;
  }

  /**
   * Encrypt in place: `buf[off..off+len)` holds the PPP protocol field (2 bytes, uncompressed)
   * + data. Writes the 2-byte MPPE header at buf[off-2..off) (the caller leaves 2 bytes of
   * headroom) and returns off-2; the frame to send as protocol 0x00FD is buf[off-2 .. off+len).
   */
  encryptInPlace(buf: Uint8Array, off: number, len: number): number {
    if (off < MPPE_OVERHEAD || len < 0 || off + len > buf.length) {
      throw new CodecError('MPPE_ERR_NO_HEADROOM', 'MPPE encrypt needs 2 bytes of headroom and an in-bounds range');
    }
    const tx = this.#tx;
    const cc = (tx.count + 1) & CCOUNT_MASK;
    tx.count = cc;
    let bits = MPPE_BIT_ENCRYPTED;
    // Stateless: new key per packet (§7.1). Stateful: on flag packets (§7.2) and after a Reset-Request (§8.2).
    if (this.#stateless || (cc & 0xff) === 0xff || this.#flushNext) {
      tx.rekey();
      this.stats.rekeys++;
      this.#flushNext = false;
      bits |= MPPE_BIT_FLUSHED;
    }
    buf[off - 2] = bits | (cc >>> 8);
    buf[off - 1] = cc & 0xff;
    tx.rc4.process(buf, off, len);
    this.stats.encrypted++;
    return off - 2;
  }

  /**
   * Decrypt in place an MPPE packet (header at off, `len` bytes incl. header). Returns the
   * offset of the plaintext (PPP protocol field + data; its length is len-2), or -1 if the
   * packet must be dropped (counted in `stats`). Never throws on packet content.
   */
  decryptInPlace(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < MPPE_OVERHEAD + 1 || off + len > buf.length) return this.#drop();
    const h = buf[off];
    const cc = ((h & 0x0f) << 8) | buf[off + 1];
    const flushed = (h & MPPE_BIT_FLUSHED) !== 0;
    if ((h & MPPE_BIT_ENCRYPTED) === 0) return this.#drop();
    const rx = this.#rx;

    if (this.#stateless) {
      // Every stateless packet is FLUSHED (§3.1). Re-key (cc - last) times (§8.1); a packet
      // not newer than the last one (late, duplicate, or > half the count space ahead) cannot
      // be decrypted any more and is dropped.
      if (!flushed) return this.#drop();
      const n = (cc - rx.count) & CCOUNT_MASK;
      if (n === 0 || n > 2048) return this.#drop();
      for (let i = 0; i < n; i++) rx.rekey();
      this.stats.rekeys += n;
      rx.count = cc;
    } else {
      // A flag packet always carries FLUSHED (the sender re-keyed for it).
      if ((cc & 0xff) === 0xff && !flushed) return this.#drop();
      if (!this.#discard) {
        rx.count = (rx.count + 1) & CCOUNT_MASK;
        if (cc !== rx.count) {
          // Loss (§8.2): drop, request a reset, discard until FLUSHED.
          this.#discard = true;
          this.stats.resetRequests++;
          this.#onResetRequest?.();
          return this.#drop();
        }
      } else {
        if (!flushed) return this.#drop();
        // One key change per flag packet we missed (per 256-count block crossed).
        while ((cc & 0xf00) !== (rx.count & 0xf00)) {
          rx.rekey();
          this.stats.rekeys++;
          rx.count = (rx.count + 0x100) & CCOUNT_MASK;
        }
        this.#discard = false;
        rx.count = cc;
      }
      if (flushed) {
        rx.rekey();
        this.stats.rekeys++;
      }
    }
    rx.rc4.process(buf, off + MPPE_OVERHEAD, len - MPPE_OVERHEAD);
    this.stats.decrypted++;
    return off + MPPE_OVERHEAD;
  }

  /** A CCP Reset-Request arrived (stateful): next sent packet re-keys and carries the A (flushed) bit. */
  onPeerResetRequest(): void {
    if (!this.#stateless) this.#flushNext = true;
  }

  /**
   * A CCP Reset-Ack arrived for our request. MPPE resynchronises on the peer's FLUSHED packet,
   * not on the Ack (RFC 3078 §8.2), so there is nothing to change here; the link uses the Ack
   * only to stop retransmitting its Reset-Request.
   */
  onPeerResetAck(): void {}

  /** Zero all key material (the session is unusable afterwards). */
  destroy(): void {
    this.#tx.wipe();
    this.#rx.wipe();
  }

  #drop(): -1 {
    this.stats.dropped++;
    return -1;
  }

  toString(): string {
    return `MppeSession(${this.encoding})`;
  }

  toJSON(): object {
    return { encoding: this.encoding, stats: { ...this.stats } };
  }

  [inspect.custom](): string {
    const s = this.stats;
    return `MppeSession { ${this.encoding}, encrypted: ${s.encrypted}, decrypted: ${s.decrypted}, dropped: ${s.dropped}, rekeys: ${s.rekeys}, resetRequests: ${s.resetRequests} }`;
  }
}

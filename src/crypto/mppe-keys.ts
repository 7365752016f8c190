/**
 * MPPE key derivation (RFC 3079) and the re-key step (RFC 3078 §7.3).
 *
 * Terminology used throughout culvert: a *start key* is the per-direction master session
 * key that stays fixed for the life of the CCP session (RFC 3079 §3.4 MasterSendKey /
 * MasterReceiveKey, RADIUS MS-MPPE-Send/Recv-Key, pppd's mppe_send_key). The *session key*
 * that actually keys RC4 is derived from it by GetNewKeyFromSHA + the 40/56-bit salt, and
 * every re-key needs the start key again; so MppeSession takes start keys and derives
 * session keys itself.
 */
import { inspect } from 'node:util';
import { CodecError } from '../errors.js';
import { sha1 } from './hash.js';
import { lmPasswordHash, ntPasswordHash, ntPasswordHashHash } from './ntlm.js';
import type { MppeKeySource } from '../protocol/ppp/auth/types.js';

export type MppeBits = 40 | 56 | 128;

/** RC4 key length in bytes: 8 for 40/56-bit (salted), 16 for 128-bit (RFC 3078 §7.3). */
export function mppeKeyLength(bits: MppeBits): 8 | 16 {
  return bits === 128 ? 16 : 8;
}

/** SHApad1 / SHApad2 (RFC 3079 §3.4, RFC 3078 §7.3). */
export const SHA_PAD1 = new Uint8Array(40);
export const SHA_PAD2 = new Uint8Array(40).fill(0xf2);

const MAGIC1 = Buffer.from('This is the MPPE Master Key', 'ascii'); // 27 bytes
// Magic2 / Magic3 (RFC 3079 §3.4): the text says which side uses which direction.
const MAGIC2 = Buffer.from('On the client side, this is the send key; on the server side, it is the receive key.', 'ascii');
const MAGIC3 = Buffer.from('On the client side, this is the receive key; on the server side, it is the send key.', 'ascii');

function need(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `${what} must be ${n} bytes, got ${b.length}`);
}

/** GetMasterKey (RFC 3079 §3.4): SHA1(PasswordHashHash | NT-Response | Magic1)[0:16]. */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  need(passwordHashHash, 16, 'PasswordHashHash');
  need(ntResponse, 24, 'NT-Response');
  return sha1(passwordHashHash, ntResponse, MAGIC1).subarray(0, 16);
}

/**
 * GetAsymmetricStartKey (RFC 3079 §3.4). The server's send key is the client's receive key
 * (Magic3); the client's send key is the server's receive key (Magic2).
 */
export function getAsymmetricStartKey(masterKey: Uint8Array, length: 8 | 16, isSend: boolean, isServer: boolean): Uint8Array {
  need(masterKey, 16, 'MasterKey');
  const magic = isSend === isServer ? MAGIC3 : MAGIC2;
  return sha1(masterKey, SHA_PAD1, magic, SHA_PAD2).subarray(0, length);
}

/** GetNewKeyFromSHA (RFC 3078 §7.3 / RFC 3079 §3.3), allocating variant for key setup. */
export function getNewKeyFromSha(startKey: Uint8Array, sessionKey: Uint8Array, length: 8 | 16): Uint8Array {
  if (startKey.length < length || sessionKey.length < length) {
    throw new CodecError('CRYPTO_ERR_BAD_LENGTH', `MPPE keys must be at least ${length} bytes`);
  }
  return sha1(startKey.subarray(0, length), SHA_PAD1, sessionKey.subarray(0, length), SHA_PAD2).subarray(0, length);
}

/** 40-bit: first three octets := D1 26 9E; 56-bit: first octet := D1 (RFC 3079 §3.5, RFC 3078 §7.3). In place. */
export function reduceSessionKey(key: Uint8Array, bits: MppeBits): Uint8Array {
  if (bits === 40) {
    key[0] = 0xd1;
    key[1] = 0x26;
    key[2] = 0x9e;
  } else if (bits === 56) {
    key[0] = 0xd1;
  }
  return key;
}

/** The first RC4 session key from a start key (RFC 3079 §3.4 / §2.4 GetKey with Current = Initial). */
export function initialSessionKey(startKey: Uint8Array, bits: MppeBits): Uint8Array {
  const n = mppeKeyLength(bits);
  return reduceSessionKey(Uint8Array.from(getNewKeyFromSha(startKey, startKey, n)), bits);
}

// ---- MS-CHAPv1 (RFC 3079 §2) ----

/** RFC 3079 §2.1/2.2: the 40/56-bit start key is the first 8 octets of the LM password hash. */
export function mschap1LmStartKey(password: string): Uint8Array {
  return lmPasswordHash(password).subarray(0, 8);
}

/** Get_Start_Key (RFC 3079 §2.4): SHA1(NtPasswordHashHash | NtPasswordHashHash | Challenge)[0:16]. */
export function mschap1NtStartKey(challenge: Uint8Array, passwordHashHash: Uint8Array): Uint8Array {
  need(challenge, 8, 'MS-CHAP challenge');
  need(passwordHashHash, 16, 'PasswordHashHash');
  return sha1(passwordHashHash, passwordHashHash, challenge).subarray(0, 16);
}

// ---- MppeKeySource implementations ----

const HIDDEN = '[MppeKeySource: keys hidden]';

/** MS-CHAPv2 keys (RFC 3079 §3): asymmetric, from PasswordHashHash and the peer's NT-Response. */
export class MsChapV2KeySource implements MppeKeySource {
  readonly #master: Uint8Array;

  constructor(passwordHashHash: Uint8Array, ntResponse: Uint8Array) {
    this.#master = Uint8Array.from(getMasterKey(passwordHashHash, ntResponse));
  }

  static fromPassword(password: string, ntResponse: Uint8Array): MsChapV2KeySource {
    const h = ntPasswordHash(password);
    const hh = ntPasswordHashHash(h);
    h.fill(0);
    const src = new MsChapV2KeySource(hh, ntResponse);
    hh.fill(0);
    return src;
  }

  startKeys(bits: MppeBits, role: 'client' | 'server'): { send: Uint8Array; recv: Uint8Array } {
    const n = mppeKeyLength(bits);
    const server = role === 'server';
    return {
      send: Uint8Array.from(getAsymmetricStartKey(this.#master, n, true, server)),
      recv: Uint8Array.from(getAsymmetricStartKey(this.#master, n, false, server)),
    };
  }

  toString(): string { return HIDDEN; }
  toJSON(): string { return HIDDEN; }
  [inspect.custom](): string { return HIDDEN; }
}

/**
 * How MS-CHAPv1 derives 40/56-bit keys. `rfc3079` (default): from the LM hash (RFC 3079
 * §2.1/2.2, what Windows does). `pppd`: the first 8 octets of the NT-based 128-bit start
 * key, which is what pppd would load into the kernel; in practice pppd never gets there,
 * since it disables 40-bit MPPE after MS-CHAPv1 ("MS-CHAP LM not supported") and Linux
 * has no 56-bit MPPE. 128-bit keys are the same in both styles.
 */
export type MsChapV1KeyStyle = 'rfc3079' | 'pppd';

/** MS-CHAPv1 keys (RFC 3079 §2): the same key in both directions. */
export class MsChapV1KeySource implements MppeKeySource {
  readonly #nt: Uint8Array;
  readonly #lm: Uint8Array | undefined;

  /**
   * @param ntStartKey Get_Start_Key(challenge, NtPasswordHashHash), 16 bytes.
   * @param lmStartKey first 8 octets of the LM hash (only for style 'rfc3079').
   */
  constructor(ntStartKey: Uint8Array, lmStartKey: Uint8Array | undefined, readonly style: MsChapV1KeyStyle = 'rfc3079') {
    need(ntStartKey, 16, 'MS-CHAPv1 start key');
    if (lmStartKey) need(lmStartKey, 8, 'LM start key');
    this.#nt = Uint8Array.from(ntStartKey);
    this.#lm = lmStartKey ? Uint8Array.from(lmStartKey) : undefined;
  }

  static fromPassword(password: string, challenge: Uint8Array, style: MsChapV1KeyStyle = 'rfc3079'): MsChapV1KeySource {
    const h = ntPasswordHash(password);
    const hh = ntPasswordHashHash(h);
    h.fill(0);
    const nt = mschap1NtStartKey(challenge, hh);
    hh.fill(0);
    return new MsChapV1KeySource(nt, style === 'rfc3079' ? mschap1LmStartKey(password) : undefined, style);
  }

  startKeys(bits: MppeBits, _role: 'client' | 'server'): { send: Uint8Array; recv: Uint8Array } {
    let k: Uint8Array;
    if (bits === 128) k = this.#nt;
    else if (this.style === 'rfc3079' && this.#lm) k = this.#lm;
    else k = this.#nt.subarray(0, 8);
    return { send: Uint8Array.from(k), recv: Uint8Array.from(k) };
  }

  toString(): string { return HIDDEN; }
  toJSON(): string { return HIDDEN; }
  [inspect.custom](): string { return HIDDEN; }
}

/**
 * Start keys given directly, as a RADIUS server returns them (RFC 2548 MS-MPPE-Send-Key is
 * the authenticator's send key, MS-MPPE-Recv-Key its receive key). Keys of 16 bytes or more;
 * 40/56-bit use the first 8.
 */
export class StaticMppeKeySource implements MppeKeySource {
  readonly #serverSend: Uint8Array;
  readonly #serverRecv: Uint8Array;

  constructor(serverSendKey: Uint8Array, serverRecvKey: Uint8Array) {
    if (serverSendKey.length < 16 || serverRecvKey.length < 16) {
      throw new CodecError('CRYPTO_ERR_BAD_LENGTH', 'MPPE start keys must be at least 16 bytes');
    }
    this.#serverSend = Uint8Array.from(serverSendKey);
    this.#serverRecv = Uint8Array.from(serverRecvKey);
  }

  startKeys(bits: MppeBits, role: 'client' | 'server'): { send: Uint8Array; recv: Uint8Array } {
    const n = mppeKeyLength(bits);
    const s = this.#serverSend.slice(0, n);
    const r = this.#serverRecv.slice(0, n);
    return role === 'server' ? { send: s, recv: r } : { send: r, recv: s };
  }

  toString(): string { return HIDDEN; }
  toJSON(): string { return HIDDEN; }
  [inspect.custom](): string { return HIDDEN; }
}

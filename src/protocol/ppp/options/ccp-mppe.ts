/**
 * CCP option 18, MPPE (RFC 3078 §2.1). Supported Bits: H (0x01000000) stateless,
 * M (0x80) 56-bit, S (0x40) 128-bit, L (0x20) 40-bit, D (0x10) obsolete, C (0x01) MPPC.
 * The initiator requests everything it supports; the responder Naks with a single
 * key length, the strongest common one, plus H as its mode allows.
 */
import { CodecError } from '../../../errors.js';
import { be32, u32 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, nak, type Judgement, type OptionSpec } from './types.js';
import type { CcpContext, MppeBits, MppeChoice } from './ccp-context.js';

export const TYPE = 18;
export const BIT_H = 0x01000000;
export const BIT_M = 0x80;
export const BIT_S = 0x40;
export const BIT_L = 0x20;
export const BIT_D = 0x10;
export const BIT_C = 0x01;
export const KEY_MASK = BIT_S | BIT_M | BIT_L;
export const REFUSED = 'encryption required but peer refused MPPE';

export function maskFor(bits: readonly MppeBits[]): number {
  let m = 0;
  for (const b of bits) m |= b === 128 ? BIT_S : b === 56 ? BIT_M : BIT_L;
  return m;
}

/** The strongest single key-length bit of a mask (S > M > L), or 0. */
export function strongest(mask: number): number {
  return mask & BIT_S ? BIT_S : mask & BIT_M ? BIT_M : mask & BIT_L ? BIT_L : 0;
}

export function bitsOf(mask: number): MppeBits | undefined {
  const s = strongest(mask);
  return s === BIT_S ? 128 : s === BIT_M ? 56 : s === BIT_L ? 40 : undefined;
}

export function encode(supported: number): Uint8Array {
  return be32(supported >>> 0);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 4) throw new CodecError('PPP_ERR_OPTION_LENGTH', `MPPE option data is ${data.length} octets, expected 4`);
  return u32(data);
}

/** An agreed value: exactly one key-length bit. */
function choice(v: number): MppeChoice | undefined {
  const k = v & KEY_MASK;
  if (k === 0 || strongest(k) !== k) return undefined;
  return { bits: bitsOf(k)!, stateless: (v & BIT_H) !== 0 };
}

function requested(c: CcpContext): number {
  return c.reqMask | (c.reqStateless ? BIT_H : 0);
}

export const spec: OptionSpec<CcpContext> = {
  type: TYPE,
  name: 'MPPE',
  request: (c) => (c.offerMppe ? encode(requested(c)) : undefined),
  reset(c) {
    c.offerMppe = c.useEncryption !== 'no' && c.keysAvailable && c.allowedMask !== 0;
    c.reqMask = c.allowedMask;
    c.reqStateless = c.mode !== 'stateful';
    c.missingHintSent = false;
    c.ours = undefined;
    c.peer = undefined;
  },
  acked(c, data) {
    c.ours = choice(decode(data));
  },
  nakked(c, data) {
    if (!c.offerMppe) return;
    const v = decode(data);
    const common = v & KEY_MASK & c.allowedMask;
    if (common === 0) {
      // The peer only wants key lengths we refuse: ask for nothing (clear) or give up.
      c.offerMppe = false;
      if (c.useEncryption === 'required') c.failure ??= REFUSED;
      return;
    }
    c.reqMask = strongest(common);
    const h = (v & BIT_H) !== 0;
    if (c.mode === 'either') c.reqStateless = h;
  },
  rejected(c) {
    c.offerMppe = false;
    if (c.useEncryption === 'required') c.failure ??= REFUSED;
  },
  judge(c, data): Judgement {
    if (c.useEncryption === 'no' || !c.keysAvailable || data.length !== 4) return REJECT;
    const v = decode(data);
    const chosen = strongest(v & KEY_MASK & c.allowedMask);
    if (chosen === 0) return REJECT;
    const peerH = (v & BIT_H) !== 0;
    const h = c.mode === 'stateless' ? true : c.mode === 'stateful' ? false : peerH;
    const want = (chosen | (h ? BIT_H : 0)) >>> 0;
    // Anything else set (C: MPPC compression, D: obsolete, extra key bits) is Nak'd away.
    return v === want ? ACK : nak(encode(want));
  },
  accept(c, data) {
    c.peer = choice(decode(data));
  },
  absent(c) {
    c.peer = undefined;
  },
  missing(c) {
    // use-encryption=required and the peer's request (e.g. pppd's empty one) has no MPPE: ask for it once.
    if (c.useEncryption !== 'required' || !c.offerMppe || c.missingHintSent) return undefined;
    c.missingHintSent = true;
    return encode(requested(c));
  },
};

export function encodingName(ch: MppeChoice | undefined): string {
  return ch ? `MPPE${ch.bits} ${ch.stateless ? 'stateless' : 'stateful'}` : 'none';
}

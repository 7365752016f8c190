/**
 * LCP option 5, Magic-Number (RFC 1661 §6.4), with looped-back link detection: a
 * request carrying our own number is Nak'd with a fresh one; getting back a Nak that
 * carries the number we just Nak'd with, repeatedly, means we are talking to ourselves.
 */
import { CodecError } from '../../../errors.js';
import { be32, u32 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, nak, type Judgement, type OptionSpec } from './types.js';
import { LOOPBACK_LIMIT, type LcpContext } from './lcp-context.js';

export const TYPE = 5;
export const LOOPBACK = 'loopback detected';

export function encode(magic: number): Uint8Array {
  return be32(magic >>> 0);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 4) throw new CodecError('PPP_ERR_OPTION_LENGTH', `Magic-Number data is ${data.length} octets, expected 4`);
  return u32(data);
}

/** A random non-zero number different from `avoid` (zero is illegal, §6.4). */
export function fresh(c: LcpContext, avoid: number): number {
  for (;;) {
    const v = c.random32() >>> 0;
    if (v !== 0 && v !== avoid) return v;
  }
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'Magic-Number',
  request: (c) => (c.requestMagic ? encode(c.magic) : undefined),
  reset(c) {
    c.lastNakMagic = undefined;
    c.loopCount = 0;
  },
  nakked(c, data) {
    const v = decode(data);
    if (c.lastNakMagic !== undefined && v === c.lastNakMagic) {
      // Our own Nak came back: the loop is more likely (§6.4).
      c.loopCount++;
      if (c.loopCount >= LOOPBACK_LIMIT) c.failure ??= LOOPBACK;
    }
    c.magic = fresh(c, c.magic);
  },
  rejected(c) {
    c.requestMagic = false;
  },
  judge(c, data): Judgement {
    if (data.length !== 4) return REJECT;
    const v = decode(data);
    if (v === 0 || (c.requestMagic && v === c.magic)) {
      const hint = fresh(c, c.magic);
      c.lastNakMagic = hint;
      return nak(encode(hint));
    }
    return ACK;
  },
  accept(c, data) {
    c.peerMagic = decode(data);
  },
  absent(c) {
    c.peerMagic = 0;
  },
};

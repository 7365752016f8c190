/** LCP option 1, Maximum-Receive-Unit (RFC 1661 §6.1): two octets, what we can receive. */
import { CodecError } from '../../../errors.js';
import { be16, u16 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, nak, type Judgement, type OptionSpec } from './types.js';
import { DEFAULT_MRU, MIN_MRU, type LcpContext } from './lcp-context.js';

export const TYPE = 1;

export function encode(mru: number): Uint8Array {
  if (!Number.isInteger(mru) || mru < 0 || mru > 0xffff) throw new CodecError('PPP_ERR_BAD_FIELD', `MRU ${mru} is not a 16-bit value`);
  return be16(mru);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 2) throw new CodecError('PPP_ERR_OPTION_LENGTH', `MRU option data is ${data.length} octets, expected 2`);
  return u16(data);
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'MRU',
  request: (c) => (c.requestMru ? encode(c.mru) : undefined),
  nakked(c, data) {
    const v = decode(data);
    // The peer wants us to receive a different size; we can only go down to what we can take.
    if (v >= MIN_MRU && v <= c.maxMru) c.mru = v;
  },
  rejected(c) {
    c.requestMru = false;
    c.mru = DEFAULT_MRU;
  },
  judge(_c, data): Judgement {
    if (data.length !== 2) return REJECT;
    const v = decode(data);
    return v < MIN_MRU ? nak(encode(MIN_MRU)) : ACK;
  },
  accept(c, data) {
    c.peerMru = decode(data);
  },
  absent(c) {
    c.peerMru = DEFAULT_MRU;
  },
};

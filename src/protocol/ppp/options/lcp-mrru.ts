/**
 * LCP option 17, Multilink MRRU (RFC 1990 §5.1.1). Only negotiated when `mrru` is
 * configured (RouterOS mrru=disabled by default): otherwise the peer's offer is rejected.
 */
import { CodecError } from '../../../errors.js';
import { be16, u16 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, type Judgement, type OptionSpec } from './types.js';
import type { LcpContext } from './lcp-context.js';

export const TYPE = 17;

export function encode(mrru: number): Uint8Array {
  if (!Number.isInteger(mrru) || mrru < 0 || mrru > 0xffff) throw new CodecError('PPP_ERR_BAD_FIELD', `MRRU ${mrru} is not a 16-bit value`);
  return be16(mrru);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 2) throw new CodecError('PPP_ERR_OPTION_LENGTH', `MRRU data is ${data.length} octets, expected 2`);
  return u16(data);
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'MRRU',
  request: (c) => (c.mrru !== undefined && c.requestMrru ? encode(c.mrru) : undefined),
  acked(c) {
    c.mrruAcked = true;
  },
  nakked(c, data) {
    const v = decode(data);
    if (c.mrru !== undefined && v >= 512 && v <= c.mrru) c.mrru = v;
  },
  rejected(c) {
    c.requestMrru = false;
  },
  judge(c, data): Judgement {
    if (c.mrru === undefined || data.length !== 2) return REJECT;
    return ACK;
  },
  accept(c, data) {
    c.peerMrru = decode(data);
  },
  absent(c) {
    c.peerMrru = undefined;
  },
};

/**
 * LCP option 2, Async-Control-Character-Map (RFC 1662 §7.1). Meaningless over a tunnel
 * (no async HDLC), but pppd always asks for asyncmap 0: accept any 4-octet value.
 */
import { CodecError } from '../../../errors.js';
import { be32, u32 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, type OptionSpec } from './types.js';
import type { LcpContext } from './lcp-context.js';

export const TYPE = 2;

export function encode(map: number): Uint8Array {
  return be32(map >>> 0);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 4) throw new CodecError('PPP_ERR_OPTION_LENGTH', `ACCM option data is ${data.length} octets, expected 4`);
  return u32(data);
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'ACCM',
  request: () => undefined,
  nakked: () => {},
  rejected: () => {},
  judge: (_c, data) => (data.length === 4 ? ACK : REJECT),
  accept(c, data) {
    c.peerAccm = decode(data);
  },
  absent(c) {
    c.peerAccm = undefined;
  },
};

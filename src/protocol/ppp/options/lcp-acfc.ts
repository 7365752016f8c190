/** LCP option 8, Address-and-Control-Field-Compression (RFC 1661 §6.6): no data. */
import { CodecError } from '../../../errors.js';
import { ACK, REJECT, type OptionSpec } from './types.js';
import type { LcpContext } from './lcp-context.js';

export const TYPE = 8;

export function encode(): Uint8Array {
  return new Uint8Array(0);
}

export function decode(data: Uint8Array): true {
  if (data.length !== 0) throw new CodecError('PPP_ERR_OPTION_LENGTH', `ACFC option carries ${data.length} data octets, expected 0`);
  return true;
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'ACFC',
  request: (c) => (c.requestAcfc ? encode() : undefined),
  acked(c) {
    c.ourAcfcAcked = true;
  },
  nakked: () => {},
  rejected(c) {
    c.requestAcfc = false;
  },
  judge: (_c, data) => (data.length === 0 ? ACK : REJECT),
  accept(c) {
    c.peerAcfc = true;
  },
  absent(c) {
    c.peerAcfc = false;
  },
};

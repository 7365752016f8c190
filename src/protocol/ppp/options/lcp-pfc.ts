/** LCP option 7, Protocol-Field-Compression (RFC 1661 §6.5): no data. */
import { CodecError } from '../../../errors.js';
import { ACK, REJECT, type OptionSpec } from './types.js';
import type { LcpContext } from './lcp-context.js';

export const TYPE = 7;

export function encode(): Uint8Array {
  return new Uint8Array(0);
}

export function decode(data: Uint8Array): true {
  if (data.length !== 0) throw new CodecError('PPP_ERR_OPTION_LENGTH', `PFC option carries ${data.length} data octets, expected 0`);
  return true;
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'PFC',
  request: (c) => (c.requestPfc ? encode() : undefined),
  acked(c) {
    c.ourPfcAcked = true;
  },
  nakked: () => {},
  rejected(c) {
    c.requestPfc = false;
  },
  // We can always receive compressed protocol fields, and sending them is optional for us.
  judge: (_c, data) => (data.length === 0 ? ACK : REJECT),
  accept(c) {
    c.peerPfc = true;
  },
  absent(c) {
    c.peerPfc = false;
  },
};

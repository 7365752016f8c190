/**
 * IPCP option 3, IP-Address (RFC 1332 §3.3). The server assigns: it Naks any other
 * value (0.0.0.0 included) with the assigned address, and Naks a request that lacks
 * the option once. The client asks with 0.0.0.0 and takes the server's Nak.
 */
import { CodecError } from '../../../errors.js';
import { be32, u32 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, nak, type Judgement, type OptionSpec } from './types.js';
import type { IpcpContext } from './ipcp-context.js';

export const TYPE = 3;

export function encode(addr: number): Uint8Array {
  return be32(addr >>> 0);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 4) throw new CodecError('PPP_ERR_OPTION_LENGTH', `IP-Address data is ${data.length} octets, expected 4`);
  return u32(data);
}

export const spec: OptionSpec<IpcpContext> = {
  type: TYPE,
  name: 'IP-Address',
  request: (c) => (c.requestAddress ? encode(c.localAddress) : undefined),
  reset(c) {
    c.addressHintSent = false;
  },
  nakked(c, data) {
    const v = decode(data);
    if (v !== 0) c.localAddress = v;
  },
  rejected(c) {
    c.requestAddress = false;
  },
  judge(c, data): Judgement {
    if (data.length !== 4) return REJECT;
    const v = decode(data);
    if (c.assignAddress !== undefined) return v === c.assignAddress ? ACK : nak(encode(c.assignAddress));
    // Nothing to assign: any concrete address is the peer's business; 0.0.0.0 we cannot answer.
    return v === 0 ? REJECT : ACK;
  },
  accept(c, data) {
    c.peerAddress = decode(data);
  },
  absent(c) {
    c.peerAddress = c.assignAddress ?? 0;
  },
  missing(c) {
    if (c.assignAddress === undefined || c.addressHintSent) return undefined;
    c.addressHintSent = true;
    return encode(c.assignAddress);
  },
};

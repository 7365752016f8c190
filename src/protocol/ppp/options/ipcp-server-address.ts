/**
 * The shared shape of RFC 1877's four "server address" options: 4 octets; the
 * requester sends what it believes (0.0.0.0 = unknown), the responder Naks with the
 * right value (RFC 1877 §1).
 */
import { CodecError } from '../../../errors.js';
import { be32, u32 } from '../../../codec/ppp/options.js';
import { ACK, REJECT, nak, type Judgement, type OptionSpec } from './types.js';
import type { IpcpContext } from './ipcp-context.js';

export function encode(addr: number): Uint8Array {
  return be32(addr >>> 0);
}

export function decode(data: Uint8Array): number {
  if (data.length !== 4) throw new CodecError('PPP_ERR_OPTION_LENGTH', `server address option data is ${data.length} octets, expected 4`);
  return u32(data);
}

export function makeServerAddressOption(type: number, name: string): OptionSpec<IpcpContext> {
  return {
    type,
    name,
    request: (c) => (c.ask.has(type) ? encode(c.learned.get(type) ?? 0) : undefined),
    nakked(c, data) {
      if (c.ask.has(type)) c.learned.set(type, decode(data));
    },
    rejected(c) {
      c.ask.delete(type);
    },
    judge(c, data): Judgement {
      const mine = c.provide.get(type);
      if (mine === undefined || data.length !== 4) return REJECT;
      return decode(data) === mine ? ACK : nak(encode(mine));
    },
  };
}

/**
 * LCP option 3, Authentication-Protocol (RFC 1661 §6.2; CHAP algorithm octet RFC 1994
 * §3, MS-CHAP 0x80 RFC 2433, MS-CHAPv2 0x81 RFC 2759).
 *
 * Server: requests the strongest method of its `authentication` list; on a Nak it moves
 * to the peer's suggestion when it allows it, else to its next method. Client: Acks a
 * method in its `allow` list, otherwise Naks with the strongest one it allows.
 */
import { CodecError } from '../../../errors.js';
import { u16 } from '../../../codec/ppp/options.js';
import { AUTH_LCP_VALUE, AUTH_STRENGTH_ORDER, type AuthMethod } from '../auth/types.js';
import { ACK, REJECT, nak, type Judgement, type OptionSpec } from './types.js';
import type { LcpContext } from './lcp-context.js';

export const TYPE = 3;
export const REFUSED_ALL = 'peer refused all allowed methods';

export function encode(m: AuthMethod): Uint8Array {
  const v = AUTH_LCP_VALUE[m];
  if (!v) throw new CodecError('PPP_ERR_BAD_FIELD', `unknown authentication method ${String(m)}`);
  return v.algorithm === undefined ? Uint8Array.of(v.protocol >> 8, v.protocol & 0xff) : Uint8Array.of(v.protocol >> 8, v.protocol & 0xff, v.algorithm);
}

/** The method named by the option data, or undefined for one we do not implement (EAP, SHA-CHAP...). */
export function decode(data: Uint8Array): AuthMethod | undefined {
  if (data.length < 2) throw new CodecError('PPP_ERR_OPTION_LENGTH', `Authentication-Protocol data is ${data.length} octets, expected >= 2`);
  const proto = u16(data);
  for (const m of AUTH_STRENGTH_ORDER) {
    const v = AUTH_LCP_VALUE[m];
    if (v.protocol !== proto) continue;
    if (v.algorithm === undefined ? data.length === 2 : data.length === 3 && data[2] === v.algorithm) return m;
  }
  return undefined;
}

function strongest(list: readonly AuthMethod[], except?: Set<AuthMethod>): AuthMethod | undefined {
  return AUTH_STRENGTH_ORDER.find((m) => list.includes(m) && !except?.has(m));
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'Auth-Protocol',
  request(c) {
    if (c.role !== 'server' || c.authCurrent === undefined) return undefined;
    return encode(c.authCurrent);
  },
  reset(c) {
    c.authRefused = new Set();
    c.authCurrent = c.role === 'server' ? strongest(c.authOffer) : undefined;
    c.authAgreed = undefined;
    c.peerAuth = undefined;
    c.authRefusedByUs = false;
  },
  acked(c, data) {
    c.authAgreed = decode(data);
  },
  nakked(c, data) {
    if (c.role !== 'server' || c.authCurrent === undefined) return;
    c.authRefused.add(c.authCurrent);
    let suggested: AuthMethod | undefined;
    try {
      suggested = decode(data);
    } catch {
      suggested = undefined;
    }
    const next =
      suggested !== undefined && c.authOffer.includes(suggested) && !c.authRefused.has(suggested)
        ? suggested
        : strongest(c.authOffer, c.authRefused);
    if (next === undefined) c.failure ??= REFUSED_ALL;
    else c.authCurrent = next;
  },
  rejected(c) {
    // We must authenticate the peer; a peer that will not is refused (RFC 1661 §6.2).
    if (c.role === 'server') c.failure ??= REFUSED_ALL;
  },
  judge(c, data): Judgement {
    if (c.role === 'server') return REJECT; // we do not authenticate ourselves to a client
    if (data.length < 2) return REJECT;
    const m = decode(data);
    if (m !== undefined && c.allow.includes(m)) return ACK;
    c.authRefusedByUs = true;
    const mine = strongest(c.allow);
    return mine === undefined ? REJECT : nak(encode(mine));
  },
  accept(c, data) {
    c.peerAuth = decode(data);
    c.authRefusedByUs = false;
  },
  absent(c) {
    c.peerAuth = undefined;
  },
};

/**
 * LCP option 19, Endpoint-Discriminator (RFC 1990 §5.1.3): Class octet + address.
 * Only meaningful with multilink, so only negotiated when MRRU is configured.
 */
import { CodecError } from '../../../errors.js';
import { ACK, REJECT, type Judgement, type OptionSpec } from './types.js';
import type { LcpContext } from './lcp-context.js';

export const TYPE = 19;
/** Address length limits per class (RFC 1990 §5.1.3); class 0 has none. */
const CLASS_LIMITS: Record<number, [number, number]> = { 0: [0, 0], 1: [0, 20], 2: [4, 4], 3: [6, 6], 4: [0, 20], 5: [0, 15] };

export interface Endpoint {
  klass: number;
  address: Uint8Array;
}

export function encode(e: Endpoint): Uint8Array {
  const lim = CLASS_LIMITS[e.klass];
  if (!lim || e.address.length < lim[0] || e.address.length > lim[1]) {
    throw new CodecError('PPP_ERR_BAD_FIELD', `endpoint discriminator class ${e.klass} with ${e.address.length} octets is invalid`);
  }
  const out = new Uint8Array(1 + e.address.length);
  out[0] = e.klass;
  out.set(e.address, 1);
  return out;
}

export function decode(data: Uint8Array): Endpoint {
  if (data.length < 1) throw new CodecError('PPP_ERR_OPTION_LENGTH', 'Endpoint-Discriminator has no class octet');
  const klass = data[0];
  const lim = CLASS_LIMITS[klass];
  const n = data.length - 1;
  if (!lim || n < lim[0] || n > lim[1]) throw new CodecError('PPP_ERR_OPTION_LENGTH', `Endpoint-Discriminator class ${klass} with ${n} octets is invalid`);
  return { klass, address: data.slice(1) };
}

export const spec: OptionSpec<LcpContext> = {
  type: TYPE,
  name: 'Endpoint-Discriminator',
  request: (c) => (c.mrru !== undefined && c.endpoint && c.requestEndpoint ? encode(c.endpoint) : undefined),
  nakked: () => {},
  rejected(c) {
    c.requestEndpoint = false;
  },
  judge(c, data): Judgement {
    if (c.mrru === undefined) return REJECT;
    decode(data); // malformed -> CodecError -> rejected by the negotiator
    return ACK;
  },
  accept(c, data) {
    c.peerEndpoint = decode(data);
  },
  absent(c) {
    c.peerEndpoint = undefined;
  },
};

/** MS-CHAPv1 (RFC 2433, CHAP algorithm 0x80). */
import { mschap1NtResponse } from '../../../crypto/mschap.js';
import { MsChapV1KeySource } from '../../../crypto/mppe-keys.js';
import type { ChapAlgorithm } from './chap.js';
import { msChapFailure } from './mschap2.js';

/** Response Value (RFC 2433 §5): LM-Response(24) | NT-Response(24) | Flags (1 = use NT). */
const VALUE_LEN = 49;

export const mschap1: ChapAlgorithm = {
  method: 'mschap1',
  challengeLength: 8,
  acceptsChallenge: (v) => v.length === 8,
  answer: (_id, challenge, opts) => {
    const value = new Uint8Array(VALUE_LEN);
    // The LM response is obsolete and weak: send zeros and set UseNT, as current Windows does.
    value.set(mschap1NtResponse(challenge, opts.password), 24);
    value[48] = 1;
    return {
      value,
      checkSuccess: () => undefined,
      mppe: MsChapV1KeySource.fromPassword(opts.password, challenge, opts.mschap1Keys ?? 'rfc3079'),
    };
  },
  request: (_id, challenge, value, user) =>
    value.length === VALUE_LEN
      ? {
          method: 'mschap1',
          user,
          challenge,
          lmResponse: value.slice(0, 24),
          ntResponse: value.slice(24, 48),
          useNt: (value[48] & 1) === 1,
        }
      : undefined,
  successMessage: (v) => v.message ?? 'Access granted',
  failureMessage: (v, challenge) => msChapFailure(v, challenge),
};

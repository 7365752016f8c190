/** MS-CHAPv2 (RFC 2759, CHAP algorithm 0x81). */
import { mschap2CheckAuthenticatorResponse, mschap2NtResponse } from '../../../crypto/mschap.js';
import { MsChapV2KeySource } from '../../../crypto/mppe-keys.js';
import { defaultRandom, REASON_SERVER_MISMATCH } from './common.js';
import type { ChapAlgorithm } from './chap.js';
import type { AuthVerdict } from './types.js';

/** Response Value (RFC 2759 §4): Peer-Challenge(16) | Reserved(8, zero) | NT-Response(24) | Flags(1, zero). */
const VALUE_LEN = 49;

/**
 * MS-CHAP Failure text (RFC 2433 §5 / RFC 2759 §6): "E=691 R=0 C=<challenge hex> V=3 M=...".
 * R=0: we do not offer a retry; the same text for unknown user and wrong password.
 */
export function msChapFailure(v: AuthVerdict & { ok: false }, challenge: Uint8Array): string {
  const c = Buffer.from(challenge).toString('hex').toUpperCase();
  return `E=${v.code ?? 691} R=0 C=${c} V=3 M=${v.message || 'Authentication failure'}`;
}

export const mschap2: ChapAlgorithm = {
  method: 'mschap2',
  challengeLength: 16,
  acceptsChallenge: (v) => v.length === 16,
  answer: (_id, challenge, opts) => {
    const peerChallenge = Uint8Array.from((opts.random ?? defaultRandom)(16));
    const nt = mschap2NtResponse(challenge, peerChallenge, opts.user, opts.password);
    const value = new Uint8Array(VALUE_LEN);
    value.set(peerChallenge, 0);
    value.set(nt, 24);
    return {
      value,
      // RFC 2759 §5: the client MUST check the authenticator response (mutual authentication).
      checkSuccess: (message) =>
        mschap2CheckAuthenticatorResponse(opts.password, nt, peerChallenge, challenge, opts.user, message) ? undefined : REASON_SERVER_MISMATCH,
      mppe: MsChapV2KeySource.fromPassword(opts.password, nt),
    };
  },
  request: (_id, challenge, value, user) =>
    value.length === VALUE_LEN
      ? { method: 'mschap2', user, authenticatorChallenge: challenge, peerChallenge: value.slice(0, 16), ntResponse: value.slice(24, 48) }
      : undefined,
  successMessage: (v) => (v.authenticatorResponse ? `${v.authenticatorResponse} M=${v.message ?? 'Access granted'}` : undefined),
  failureMessage: (v, challenge) => msChapFailure(v, challenge),
};

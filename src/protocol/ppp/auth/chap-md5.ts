/** CHAP with MD5 (RFC 1994, algorithm 5). */
import { chapMd5Response } from '../../../crypto/chap.js';
import type { ChapAlgorithm } from './chap.js';

export const chapMd5: ChapAlgorithm = {
  method: 'chap',
  // RFC 1994 §2.3 leaves the length open; 16 octets like pppd's minimum.
  challengeLength: 16,
  acceptsChallenge: (v) => v.length >= 1,
  answer: (id, challenge, opts) => ({
    value: chapMd5Response(id, opts.password, challenge),
    checkSuccess: () => undefined,
  }),
  request: (id, challenge, value, user) => (value.length === 16 ? { method: 'chap', user, id, challenge, response: value } : undefined),
  successMessage: (v) => v.message ?? 'Access granted',
  failureMessage: (v) => v.message || 'Access denied',
};

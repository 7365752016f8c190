/**
 * Tunnel authentication (RFC 2661 §5.1.1): a CHAP-style (RFC 1994) response to the
 * Challenge AVP, Response = MD5(ID + secret + challenge), where ID is the low octet of
 * the Message Type of the message carrying the Challenge Response AVP: 2 for an SCCRP
 * (answering the SCCRQ's challenge), 3 for an SCCCN (answering the SCCRP's).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { secretBytes, type Secret } from './hidden.js';

export function challengeResponse(responseMessageType: number, secret: Secret, challenge: Uint8Array): Uint8Array {
  const h = createHash('md5');
  h.update(Uint8Array.of(responseMessageType & 0xff));
  h.update(secretBytes(secret));
  h.update(challenge);
  return new Uint8Array(h.digest());
}

/** Constant-time check of a received Challenge Response AVP value. */
export function verifyChallengeResponse(responseMessageType: number, secret: Secret, challenge: Uint8Array, response: Uint8Array): boolean {
  const expected = challengeResponse(responseMessageType, secret, challenge);
  if (response.length !== expected.length) return false;
  return timingSafeEqual(expected, response);
}

/**
 * LocalVerifier: checks every method against locally stored clear-text secrets (RouterOS
 * /ppp secret). Unknown users are checked against a dummy password so that they cost the
 * same and fail the same way as a wrong password; comparisons are constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { chapMd5Response } from '../../../crypto/chap.js';
import { mschap1LmResponse, mschap1NtResponse, mschap2AuthenticatorResponse, mschap2HashUserName, mschap2NtResponse } from '../../../crypto/mschap.js';
import { MsChapV1KeySource, MsChapV2KeySource, type MsChapV1KeyStyle } from '../../../crypto/mppe-keys.js';
import type { AuthRequest, AuthVerdict, AuthVerifier } from './types.js';

export interface LocalSecret {
  password: string;
}

export interface LocalVerifierOptions {
  /** MS-CHAPv1 40/56-bit MPPE keys: 'rfc3079' (LM-based, default) or 'pppd'. */
  mschap1Keys?: MsChapV1KeyStyle;
  /** Accept MS-CHAPv1 responses with UseNT=0 (LM response only). Default false: LM is broken. */
  allowLmResponse?: boolean;
  /** Failure text (the same for every reason). */
  failureMessage?: string;
  successMessage?: string;
}

const DUMMY_PASSWORD = '\u0000culvert-no-such-user\u0000';

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    // Different lengths: compare a against itself so timing does not depend on where it differs.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class LocalVerifier implements AuthVerifier {
  constructor(
    private readonly lookup: (user: string) => LocalSecret | undefined,
    private readonly opts: LocalVerifierOptions = {},
  ) {}

  private find(user: string, stripDomain: boolean): { password: string; known: boolean } {
    let s = this.lookup(user);
    if (!s && stripDomain) {
      const bare = mschap2HashUserName(user);
      if (bare !== user) s = this.lookup(bare);
    }
    return s ? { password: s.password, known: true } : { password: DUMMY_PASSWORD, known: false };
  }

  verify(req: AuthRequest): AuthVerdict {
    const fail: AuthVerdict = { ok: false, message: this.opts.failureMessage ?? 'Authentication failure' };
    const okMessage = this.opts.successMessage;
    switch (req.method) {
      case 'pap': {
        const { password, known } = this.find(req.user, false);
        const match = eq(sha256(password), sha256(req.password));
        return known && match ? { ok: true, ...(okMessage ? { message: okMessage } : {}) } : fail;
      }
      case 'chap': {
        const { password, known } = this.find(req.user, false);
        const want = chapMd5Response(req.id, password, req.challenge);
        const match = eq(want, req.response);
        return known && match ? { ok: true, ...(okMessage ? { message: okMessage } : {}) } : fail;
      }
      case 'mschap1': {
        const { password, known } = this.find(req.user, true);
        if (req.challenge.length !== 8) return fail;
        let match: boolean;
        if (req.useNt) match = eq(mschap1NtResponse(req.challenge, password), req.ntResponse);
        else match = !!this.opts.allowLmResponse && eq(mschap1LmResponse(req.challenge, password), req.lmResponse);
        if (!known || !match) return fail;
        return {
          ok: true,
          mppe: MsChapV1KeySource.fromPassword(password, req.challenge, this.opts.mschap1Keys ?? 'rfc3079'),
          ...(okMessage ? { message: okMessage } : {}),
        };
      }
      case 'mschap2': {
        const { password, known } = this.find(req.user, true);
        if (req.authenticatorChallenge.length !== 16 || req.peerChallenge.length !== 16 || req.ntResponse.length !== 24) return fail;
        const want = mschap2NtResponse(req.authenticatorChallenge, req.peerChallenge, req.user, password);
        const match = eq(want, req.ntResponse);
        if (!known || !match) return fail;
        return {
          ok: true,
          authenticatorResponse: mschap2AuthenticatorResponse(password, req.ntResponse, req.peerChallenge, req.authenticatorChallenge, req.user),
          mppe: MsChapV2KeySource.fromPassword(password, req.ntResponse),
          ...(okMessage ? { message: okMessage } : {}),
        };
      }
      default:
        return fail;
    }
  }
}

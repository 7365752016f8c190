/**
 * The CHAP engine (RFC 1994) shared by CHAP-MD5, MS-CHAPv1 (RFC 2433) and MS-CHAPv2
 * (RFC 2759). The algorithm plug-ins (chap-md5.ts, mschap1.ts, mschap2.ts) say how long the
 * challenge is, how to answer it, how to build the verifier request, and what Success and
 * Failure carry.
 */
import { ChapCode, decodeChap, encodeChap, PPP_PROTO_CHAP } from './packet.js';
import {
  defaultRandom,
  MachineBase,
  printable,
  REASON_FAILED,
  REASON_TIMEOUT,
  sameBytes,
  text,
  utf8,
  type AuthClientOptions,
  type AuthServerOptions,
} from './common.js';
import { settle } from './pap.js';
import type { AuthMethod, AuthRequest, AuthVerdict, MppeKeySource } from './types.js';

/** What the client remembers about the Response it sent, for checking Success. */
export interface ClientAnswer {
  value: Uint8Array;
  /** Checks the Success message; returns a failure reason or undefined if fine. */
  checkSuccess(message: string): string | undefined;
  mppe?: MppeKeySource;
}

export interface ChapAlgorithm {
  readonly method: AuthMethod;
  /** Challenge length the server sends; undefined = any length the client accepts (>= 1). */
  readonly challengeLength: number;
  /** Whether a received challenge has an acceptable size. */
  acceptsChallenge(value: Uint8Array): boolean;
  /** Client: compute the Response Value. */
  answer(id: number, challenge: Uint8Array, opts: AuthClientOptions): ClientAnswer;
  /** Server: turn a Response into a verifier request, or undefined if its Value is malformed. */
  request(id: number, challenge: Uint8Array, value: Uint8Array, user: string): AuthRequest | undefined;
  /** Server: Success message text for an accepted verdict, or undefined if the verdict lacks what we need. */
  successMessage(verdict: AuthVerdict & { ok: true }): string | undefined;
  /** Server: Failure message text. */
  failureMessage(verdict: AuthVerdict & { ok: false }, challenge: Uint8Array): string;
}

export class ChapClient extends MachineBase {
  private last: { id: number; challenge: Uint8Array; answer: ClientAnswer; frame: Uint8Array } | undefined;
  private readonly name: Uint8Array;

  constructor(private readonly alg: ChapAlgorithm, private readonly opts: AuthClientOptions) {
    super(opts, alg.method, PPP_PROTO_CHAP);
    this.name = utf8(opts.user);
  }

  /** The authenticator drives retransmission (RFC 1994 §4.1); we only bound the wait. */
  protected onStart(): void {
    this.armDeadline();
  }

  private armDeadline(): void {
    this.arm(this.restartMs * this.maxTries, () => this.finish({ ok: false, method: this.method, user: this.opts.user, reason: REASON_TIMEOUT }));
  }

  protected onFrame(payload: Uint8Array): boolean {
    const p = decodeChap(payload);
    switch (p.code) {
      case ChapCode.Challenge: {
        if (!this.alg.acceptsChallenge(p.value)) return false;
        const last = this.last;
        if (last && last.id === p.id && sameBytes(last.challenge, p.value)) {
          // A retransmitted Challenge: our Response was lost; send the very same one again.
          this.send(last.frame);
          return true;
        }
        const challenge = Uint8Array.from(p.value);
        const answer = this.alg.answer(p.id, challenge, this.opts);
        const frame = encodeChap({ code: ChapCode.Response, id: p.id, value: answer.value, name: this.name });
        this.last = { id: p.id, challenge, answer, frame };
        this.log(`answering Challenge id=${p.id} from ${printable(text(p.name))}`);
        this.send(frame);
        if (!this.result) this.armDeadline();
        return true;
      }
      case ChapCode.Success: {
        const last = this.last;
        if (!last || last.id !== p.id) return false;
        if (this.result) return true; // a repeated Success (or a re-authentication's): nothing to do
        const message = text(p.message);
        const bad = last.answer.checkSuccess(message);
        if (bad) {
          this.finish({ ok: false, method: this.method, user: this.opts.user, reason: bad });
          return true;
        }
        const m = successText(message);
        this.finish({
          ok: true,
          method: this.method,
          user: this.opts.user,
          ...(last.answer.mppe ? { mppe: last.answer.mppe } : {}),
          ...(m ? { message: m } : {}),
        });
        return true;
      }
      case ChapCode.Failure: {
        const last = this.last;
        if (!last || last.id !== p.id) return false;
        if (this.result) return true;
        this.log(`server says ${printable(text(p.message))}`);
        this.finish({ ok: false, method: this.method, user: this.opts.user, reason: REASON_FAILED });
        return true;
      }
      default:
        return false;
    }
  }
}

/** The human part of a Success message: MS-CHAP's "M=..." or the whole text. */
function successText(message: string): string {
  const m = /(?:^|\s)M=(.*)$/s.exec(message);
  return (m ? m[1] : message.startsWith('S=') ? '' : message).trim();
}

export class ChapServer extends MachineBase {
  private id = 0;
  private challenge: Uint8Array = new Uint8Array(0);
  private challengeFrame: Uint8Array = new Uint8Array(0);
  private tries = 0;
  private verifying = false;
  /** Our Success/Failure, re-sent verbatim when the peer repeats its Response (RFC 1994 §4.1). */
  private reply: Uint8Array | undefined;
  private readonly random: (n: number) => Uint8Array;

  constructor(private readonly alg: ChapAlgorithm, private readonly opts: AuthServerOptions) {
    super(opts, alg.method, PPP_PROTO_CHAP);
    this.random = opts.random ?? defaultRandom;
  }

  protected onStart(): void {
    this.id = this.random(1)[0];
    const n = this.alg.method === 'chap' && this.opts.chapChallengeLength ? Math.min(255, Math.max(1, this.opts.chapChallengeLength | 0)) : this.alg.challengeLength;
    this.challenge = Uint8Array.from(this.random(n));
    this.challengeFrame = encodeChap({ code: ChapCode.Challenge, id: this.id, value: this.challenge, name: utf8(this.opts.name) });
    this.transmit();
  }

  /** RFC 1994 §4.1: the Challenge is retransmitted with the restart timer until a Response comes. */
  private transmit(): void {
    if (this.tries >= this.maxTries) {
      this.finish({ ok: false, method: this.method, reason: REASON_TIMEOUT });
      return;
    }
    this.tries++;
    this.send(this.challengeFrame);
    this.arm(this.restartMs, () => this.transmit());
  }

  protected onFrame(payload: Uint8Array): boolean {
    const p = decodeChap(payload);
    if (p.code !== ChapCode.Response || p.id !== this.id) return false;
    if (this.reply) {
      this.send(this.reply);
      return true;
    }
    if (this.verifying || this.result) return false;
    const user = text(p.name);
    const req = this.alg.request(p.id, this.challenge, p.value, user);
    if (!req) return false;
    this.verifying = true;
    this.guardVerifier();
    settle(
      () => this.opts.verifier.verify(req),
      (verdict) => this.onVerdict(user, verdict),
      (e) => {
        this.log(`verifier error: ${e instanceof Error ? e.message : String(e)}`);
        this.onVerdict(user, { ok: false, message: 'Authentication failure' });
      },
    );
    return true;
  }

  /** A verifier that never answers (RADIUS server gone) must not hang the link. */
  private guardVerifier(): void {
    this.arm(this.restartMs * this.maxTries, () => {
      this.log('verifier did not answer');
      this.finish({ ok: false, method: this.method, reason: REASON_TIMEOUT });
    });
  }

  private onVerdict(user: string, verdict: AuthVerdict): void {
    this.verifying = false;
    if (this.stopped || this.result) return;
    const success = verdict.ok ? this.alg.successMessage(verdict) : undefined;
    if (verdict.ok && success === undefined) {
      this.log('verifier accepted but gave no MS-CHAPv2 authenticator response; failing');
      verdict = { ok: false, message: 'Authentication failure' };
    }
    if (verdict.ok && success !== undefined) {
      this.reply = encodeChap({ code: ChapCode.Success, id: this.id, message: utf8(success) });
      this.send(this.reply);
      this.finish({
        ok: true,
        method: this.method,
        user,
        ...(verdict.mppe ? { mppe: verdict.mppe } : {}),
        ...(verdict.message ? { message: verdict.message } : {}),
      });
      return;
    }
    this.reply = encodeChap({
      code: ChapCode.Failure,
      id: this.id,
      message: utf8(this.alg.failureMessage(verdict as AuthVerdict & { ok: false }, this.challenge)),
    });
    this.send(this.reply);
    this.finish({ ok: false, method: this.method, user, reason: REASON_FAILED });
  }
}

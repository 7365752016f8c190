/** PAP (RFC 1334 §2), both roles. The password crosses the link in clear: prefer CHAP variants. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodePap, encodePap, PapCode, PPP_PROTO_PAP } from './packet.js';
import {
  MachineBase,
  printable,
  REASON_FAILED,
  REASON_TIMEOUT,
  text,
  utf8,
  type AuthClientOptions,
  type AuthServerOptions,
} from './common.js';
import type { AuthVerdict } from './types.js';

export class PapClient extends MachineBase {
  private id = 0;
  private tries = 0;
  private readonly sentIds = new Set<number>();
  private readonly request: { peerId: Uint8Array; password: Uint8Array };

  constructor(private readonly opts: AuthClientOptions) {
    super(opts, 'pap', PPP_PROTO_PAP);
    this.request = { peerId: utf8(opts.user), password: utf8(opts.password) };
  }

  protected onStart(): void {
    this.transmit();
  }

  /** RFC 1334 §2.2.1: retransmit with the restart timer; each request gets a new Identifier. */
  private transmit(): void {
    if (this.tries >= this.maxTries) {
      this.finish({ ok: false, method: 'pap', user: this.opts.user, reason: REASON_TIMEOUT });
      return;
    }
    this.tries++;
    this.id = (this.id + 1) & 0xff;
    this.sentIds.add(this.id);
    this.send(encodePap({ code: PapCode.AuthenticateRequest, id: this.id, ...this.request }));
    this.arm(this.restartMs, () => this.transmit());
  }

  protected onFrame(payload: Uint8Array): boolean {
    const p = decodePap(payload);
    if (p.code === PapCode.AuthenticateRequest || !this.sentIds.has(p.id) || this.result) return false;
    const message = text(p.message);
    if (message) this.log(`server says ${printable(message)}`);
    if (p.code === PapCode.AuthenticateAck) {
      this.finish({ ok: true, method: 'pap', user: this.opts.user, ...(message ? { message } : {}) });
    } else {
      this.finish({ ok: false, method: 'pap', user: this.opts.user, reason: REASON_FAILED });
    }
    return true;
  }
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

export class PapServer extends MachineBase {
  private verifying = false;
  /** After the verdict: the credentials' digest and the answer, to re-answer retransmissions. */
  private answered: { digest: Buffer; code: 2 | 3; message: Uint8Array } | undefined;

  constructor(private readonly opts: AuthServerOptions) {
    super(opts, 'pap', PPP_PROTO_PAP);
  }

  /** The peer must authenticate within restart × tries (pppd's pap-timeout is similar). */
  protected onStart(): void {
    this.arm(this.restartMs * this.maxTries, () => this.finish({ ok: false, method: 'pap', reason: REASON_TIMEOUT }));
  }

  protected onFrame(payload: Uint8Array): boolean {
    const p = decodePap(payload);
    if (p.code !== PapCode.AuthenticateRequest || this.verifying) return false;
    const digest = sha256(Buffer.concat([Buffer.from([p.peerId.length]), p.peerId, p.password]));
    if (this.answered) {
      // A retransmission (our Ack/Nak was lost): the same answer, under its new Identifier.
      if (!timingSafeEqual(digest, this.answered.digest)) return false;
      this.send(encodePap({ code: this.answered.code, id: p.id, message: this.answered.message }));
      return true;
    }
    if (this.result) return false;
    const user = text(p.peerId);
    const password = text(p.password);
    this.verifying = true;
    // A verifier that never answers (RADIUS server gone) must not hang the link.
    this.arm(this.restartMs * this.maxTries, () => {
      this.log('verifier did not answer');
      this.finish({ ok: false, method: 'pap', user, reason: REASON_TIMEOUT });
    });
    const onVerdict = (verdict: AuthVerdict) => {
      this.verifying = false;
      if (this.stopped || this.result) return;
      const code = verdict.ok ? PapCode.AuthenticateAck : PapCode.AuthenticateNak;
      const message = utf8(verdict.message ?? (verdict.ok ? 'Login ok' : 'Login incorrect'));
      this.answered = { digest, code, message: message.subarray(0, 255) };
      this.send(encodePap({ code, id: p.id, message: this.answered.message }));
      this.finish(
        verdict.ok
          ? { ok: true, method: 'pap', user, ...(verdict.mppe ? { mppe: verdict.mppe } : {}), ...(verdict.message ? { message: verdict.message } : {}) }
          : { ok: false, method: 'pap', user, reason: REASON_FAILED },
      );
    };
    settle(() => this.opts.verifier.verify({ method: 'pap', user, password }), onVerdict, (e) => {
      this.log(`verifier error: ${e instanceof Error ? e.message : String(e)}`);
      onVerdict({ ok: false, message: 'Login incorrect' });
    });
    return true;
  }
}

/**
 * Run `fn`; call `ok` synchronously for a plain result or when its promise settles, `fail`
 * (synchronously too) if it throws or rejects. A verifier may be local (sync) or RADIUS (async).
 */
export function settle<T>(fn: () => T | Promise<T>, ok: (t: T) => void, fail: (e: unknown) => void): void {
  let v: T | Promise<T>;
  try {
    v = fn();
  } catch (e) {
    fail(e);
    return;
  }
  if (v && typeof (v as Promise<T>).then === 'function') (v as Promise<T>).then(ok, fail);
  else ok(v as T);
}

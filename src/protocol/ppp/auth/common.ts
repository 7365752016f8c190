/**
 * What every authentication machine shares: the restart timer, exactly-once `done`,
 * frame dropping with a counter, and the public { start, receive, stop } shape.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { CodecError } from '../../../errors.js';
import type { Timer } from '../../clock.js';
import type { AuthCallbacks, AuthMethod, AuthResult, AuthVerifier } from './types.js';
import type { MsChapV1KeyStyle } from '../../../crypto/mppe-keys.js';

/** RFC 1661 §4.6 defaults, used by RFC 1334/1994 for their retransmissions. */
export const DEFAULT_RESTART_MS = 3000;
export const DEFAULT_MAX_TRIES = 10;

export const REASON_FAILED = 'authentication failed';
export const REASON_TIMEOUT = 'authentication timed out';
export const REASON_SERVER_MISMATCH = 'server authenticator response mismatch (the server does not know our password)';

export interface AuthTimingOptions {
  /** Restart timer (default 3000 ms). */
  restartMs?: number;
  /** Transmissions before giving up (default 10). */
  maxTries?: number;
}

export interface AuthClientOptions extends AuthCallbacks, AuthTimingOptions {
  user: string;
  password: string;
  /** Random bytes (MS-CHAPv2 peer challenge); default node:crypto randomBytes. */
  random?: (n: number) => Uint8Array;
  /** MS-CHAPv1 40/56-bit MPPE key derivation (see MsChapV1KeyStyle); default 'rfc3079'. */
  mschap1Keys?: MsChapV1KeyStyle;
}

export interface AuthServerOptions extends AuthCallbacks, AuthTimingOptions {
  /** Our CHAP name, sent in Challenges. */
  name: string;
  verifier: AuthVerifier;
  /** Random bytes (challenges, first identifier); default node:crypto randomBytes. */
  random?: (n: number) => Uint8Array;
  /** CHAP-MD5 only: challenge length, 1..255 (default 16). MS-CHAP lengths are fixed. */
  chapChallengeLength?: number;
}

export interface AuthMachine {
  start(): void;
  /** One PAP/CHAP frame's information field. Never throws on frame content. */
  receive(protocol: number, payload: Uint8Array): void;
  /** Cancel timers and ignore everything afterwards; `done` is not called after stop(). */
  stop(): void;
  /** `dropped`: frames ignored as malformed, unexpected or stale. */
  readonly stats: { received: number; dropped: number };
  /** The result once `done` was called. */
  readonly result: AuthResult | undefined;
}

export const defaultRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export abstract class MachineBase implements AuthMachine {
  readonly stats = { received: 0, dropped: 0 };
  result: AuthResult | undefined;
  protected stopped = false;
  protected started = false;
  private timer: Timer | undefined;
  protected readonly restartMs: number;
  protected readonly maxTries: number;

  constructor(
    protected readonly cb: AuthCallbacks & AuthTimingOptions,
    readonly method: AuthMethod,
    protected readonly protocol: number,
  ) {
    this.restartMs = cb.restartMs ?? DEFAULT_RESTART_MS;
    this.maxTries = cb.maxTries ?? DEFAULT_MAX_TRIES;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.onStart();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  receive(protocol: number, payload: Uint8Array): void {
    if (this.stopped) return;
    this.stats.received++;
    if (protocol !== this.protocol || !this.started) {
      this.drop('frame for another protocol or before start');
      return;
    }
    let ok: boolean;
    try {
      ok = this.onFrame(payload);
    } catch (e) {
      // Malformed frames are the peer's problem, never the link's: count and drop.
      if (e instanceof CodecError) {
        this.drop(`malformed frame (${e.code})`);
        return;
      }
      throw e;
    }
    if (!ok) this.drop('unexpected frame');
  }

  /** Handle a frame; return false when it was ignored. May throw CodecError for malformed input. */
  protected abstract onFrame(payload: Uint8Array): boolean;
  protected abstract onStart(): void;

  protected drop(why: string): void {
    this.stats.dropped++;
    this.log(`dropped ${why}`);
  }

  protected log(line: string): void {
    this.cb.log?.(`${this.method}: ${line}`);
  }

  protected send(payload: Uint8Array): void {
    if (!this.stopped) this.cb.send(this.protocol, payload);
  }

  protected arm(ms: number, fn: () => void): void {
    this.cancelTimer();
    this.timer = this.cb.clock.setTimer(ms, () => {
      this.timer = undefined;
      if (!this.stopped) fn();
    });
  }

  protected cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Machines hold the password (client) or challenge state: never print their fields. */
  toString(): string {
    const state = this.result ? (this.result.ok ? 'succeeded' : `failed: ${this.result.reason}`) : this.stopped ? 'stopped' : this.started ? 'running' : 'idle';
    return `${this.constructor.name}(${this.method}, ${state}, received ${this.stats.received}, dropped ${this.stats.dropped})`;
  }

  toJSON(): object {
    return { method: this.method, stats: { ...this.stats }, ok: this.result?.ok };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  protected finish(r: AuthResult): void {
    if (this.result || this.stopped) return;
    this.cancelTimer();
    this.result = r;
    this.log(r.ok ? `succeeded${r.user !== undefined ? ` for '${r.user}'` : ''}` : `failed: ${r.reason}`);
    this.cb.done(r);
  }
}

/** UTF-8 text helpers for names and messages. */
export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
export const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
/** A peer-provided string made safe for one log line. */
export const printable = (s: string, max = 80): string => JSON.stringify(s.length > max ? s.slice(0, max) + '…' : s);

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

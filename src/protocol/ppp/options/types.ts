/**
 * One Configuration Option's negotiation rules (accel-ppp style: one file per option).
 * `C` is the control protocol's negotiation context (what we want, what the peer got).
 */
export type Judgement =
  | { kind: 'ack' }
  /** Nak with the value we would accept instead (RFC 1661 §5.3). */
  | { kind: 'nak'; hint: Uint8Array }
  | { kind: 'reject' };

export const ACK: Judgement = Object.freeze({ kind: 'ack' });
export const REJECT: Judgement = Object.freeze({ kind: 'reject' });
export function nak(hint: Uint8Array): Judgement {
  return { kind: 'nak', hint };
}

export interface OptionSpec<C> {
  readonly type: number;
  readonly name: string;
  /** Data for our Configure-Request, or undefined to leave the option out. */
  request(c: C): Uint8Array | undefined;
  /** The peer acknowledged our whole request: commit our value. */
  acked?(c: C, data: Uint8Array): void;
  /** The peer Nak'd (or suggested) this option with `data`. */
  nakked(c: C, data: Uint8Array): void;
  /** The peer rejected this option: do not ask again. */
  rejected(c: C): void;
  /** Judge the peer's requested value. A malformed value should be rejected. */
  judge(c: C, data: Uint8Array): Judgement;
  /** We are about to Ack the peer's request that contained `data`: record the peer's value. */
  accept?(c: C, data: Uint8Array): void;
  /** We are about to Ack a request without this option: the peer takes the default. */
  absent?(c: C): void;
  /** The peer's request lacks this option: a hint to Nak with (RFC 1661 §5.3 allows it), or undefined. */
  missing?(c: C): Uint8Array | undefined;
  /** The link (re)starts negotiation: reset per-negotiation state. */
  reset?(c: C): void;
}

/** Every context carries a failure slot: an option that makes negotiation hopeless sets it. */
export interface NegotiationContext {
  failure?: string;
}

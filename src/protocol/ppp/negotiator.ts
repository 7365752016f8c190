/**
 * Turns a list of OptionSpecs into the option-content half of an FsmHandler:
 * build our Configure-Request, judge the peer's, and apply Ack/Nak/Reject replies.
 */
import { Code } from '../../codec/ppp/protocols.js';
import * as options from '../../codec/ppp/options.js';
import { CodecError } from '../../errors.js';
import type { RequestJudgement } from './fsm.js';
import type { NegotiationContext, OptionSpec } from './options/types.js';

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Negotiator<C extends NegotiationContext> {
  private readonly byType = new Map<number, OptionSpec<C>>();
  private lastSent: Uint8Array = new Uint8Array(0);
  private lastSentTypes = new Set<number>();

  constructor(readonly specs: readonly OptionSpec<C>[], readonly ctx: C) {
    for (const s of specs) this.byType.set(s.type, s);
  }

  reset(): void {
    for (const s of this.specs) s.reset?.(this.ctx);
  }

  buildRequest(): Uint8Array {
    const list: options.RawOption[] = [];
    for (const s of this.specs) {
      const d = s.request(this.ctx);
      if (d) list.push({ type: s.type, data: d });
    }
    this.lastSent = options.encode(list);
    this.lastSentTypes = new Set(list.map((o) => o.type));
    return this.lastSent;
  }

  judgeRequest(data: Uint8Array, naksAsRejects: boolean): RequestJudgement | undefined {
    let list: options.RawOption[];
    try {
      list = options.decode(data);
    } catch (e) {
      if (e instanceof CodecError) return undefined;
      throw e;
    }
    const rejects: options.RawOption[] = [];
    const naks: options.RawOption[] = [];
    const seen = new Set<number>();
    for (const o of list) {
      const s = this.byType.get(o.type);
      // A repeated option is not something we can agree to twice (RFC 1661 §6: each option once).
      if (!s || seen.has(o.type)) {
        rejects.push(o);
        continue;
      }
      seen.add(o.type);
      let j;
      try {
        j = s.judge(this.ctx, o.data);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        j = { kind: 'reject' as const };
      }
      if (j.kind === 'reject') rejects.push(o);
      else if (j.kind === 'nak') {
        if (naksAsRejects) rejects.push(o); // Max-Failure reached: stop haggling (RFC 1661 §4.6)
        else naks.push({ type: o.type, data: j.hint });
      }
    }
    if (rejects.length) return { code: Code.CONF_REJ, data: options.encode(rejects) };
    if (!naksAsRejects) {
      for (const s of this.specs) {
        if (seen.has(s.type) || !s.missing) continue;
        const hint = s.missing(this.ctx);
        if (hint) naks.push({ type: s.type, data: hint });
      }
    }
    if (naks.length) return { code: Code.CONF_NAK, data: options.encode(naks) };
    // Acceptable as a whole: commit the peer's values.
    for (const o of list) this.byType.get(o.type)!.accept?.(this.ctx, o.data);
    for (const s of this.specs) if (!seen.has(s.type)) s.absent?.(this.ctx);
    return { code: Code.CONF_ACK, data };
  }

  ackReceived(data: Uint8Array): boolean {
    if (!equalBytes(data, this.lastSent)) return false;
    for (const o of options.decode(data)) this.byType.get(o.type)?.acked?.(this.ctx, o.data);
    return true;
  }

  nakReceived(data: Uint8Array): boolean {
    let list: options.RawOption[];
    try {
      list = options.decode(data);
    } catch (e) {
      if (e instanceof CodecError) return false;
      throw e;
    }
    for (const o of list) {
      try {
        this.byType.get(o.type)?.nakked(this.ctx, o.data);
      } catch (e) {
        // A hint we cannot parse is ignored; we keep asking for what we asked for.
        if (!(e instanceof CodecError)) throw e;
      }
    }
    return true;
  }

  rejectReceived(data: Uint8Array): boolean {
    let list: options.RawOption[];
    try {
      list = options.decode(data);
    } catch (e) {
      if (e instanceof CodecError) return false;
      throw e;
    }
    // A Reject may only name options we sent (RFC 1661 §5.4); otherwise it is invalid.
    for (const o of list) if (!this.lastSentTypes.has(o.type)) return false;
    for (const o of list) this.byType.get(o.type)?.rejected(this.ctx);
    return true;
  }
}

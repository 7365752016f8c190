/**
 * Pieces both tunnel runtimes (PPTP, L2TP) share: redial back-off, RouterOS value
 * parsing, the monitor/print formatting of a PppInterface, and the dial-on-demand
 * placeholder addresses.
 */
import type { ItemView } from '../../mgmt/runtime.js';
import type { AuthMethod } from '../../protocol/ppp/auth/types.js';
import type { UseEncryption } from '../../protocol/ppp/options/ccp-context.js';
import { formatDuration, type PppInterface } from '../ppp-interface.js';

export { formatDuration };

/** Redial delays: 1, 2, 4 ... capped at 60 s; reset() after a connection that came up. */
export class Backoff {
  private next: number;
  constructor(private readonly firstMs = 1000, private readonly maxMs = 60_000) {
    this.next = firstMs;
  }
  /** The delay to wait now; the one after doubles. */
  take(): number {
    const d = this.next;
    this.next = Math.min(this.maxMs, this.next * 2);
    return d;
  }
  reset(): void {
    this.next = this.firstMs;
  }
}

export function yes(v: string | undefined): boolean {
  return v === 'yes' || v === 'true';
}

/** `1460` -> 1460; `disabled`/empty -> undefined. */
export function intOrUndefined(v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === 'disabled') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** RouterOS seconds (`60`, `60s`, `1m`) -> seconds. */
export function seconds(v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (/^\d+$/.test(v)) return Number(v);
  let total = 0;
  const re = /(\d+)(w|d|h|m|s)/g;
  let m: RegExpExecArray | null;
  let any = false;
  while ((m = re.exec(v))) {
    any = true;
    total += Number(m[1]) * ({ w: 604800, d: 86400, h: 3600, m: 60, s: 1 } as const)[m[2] as 'w' | 'd' | 'h' | 'm' | 's'];
  }
  return any ? total : dflt;
}

export function authList(v: string | undefined, dflt: AuthMethod[]): AuthMethod[] {
  if (!v) return dflt;
  return v.split(',').map((s) => s.trim()).filter((s): s is AuthMethod => s === 'pap' || s === 'chap' || s === 'mschap1' || s === 'mschap2');
}

/**
 * The effective use-encryption of a profile by name (RouterOS: `default` inherits from the
 * built-in `default` profile, whose use-encryption is no).
 */
export function profileUseEncryption(profiles: readonly ItemView[], name: string): UseEncryption {
  const p = profiles.find((x) => x.values.name === name);
  const d = profiles.find((x) => x.values.name === 'default');
  const pick = (v: string | undefined): UseEncryption | undefined => (v === 'no' || v === 'yes' || v === 'required' ? v : undefined);
  if (!p) return name === 'default-encryption' ? 'yes' : 'no';
  return pick(p.values['use-encryption']) ?? pick(d?.values['use-encryption']) ?? 'no';
}

let placeholders = 0;

/**
 * Seed 000 (dial-on-demand): "route with gateway address from 10.112.112.0/24 network will
 * be added while connection is not established". Each call hands out the next pair from
 * one process-wide sequence, so PPTP and L2TP clients never share one (`index` is kept
 * for callers; it no longer picks the pair).
 */
export function placeholderFor(index?: number): { local: string; peer: string } {
  void index;
  const n = (placeholders++ % 126) * 2 + 2;
  return { local: `10.112.112.${n}`, peer: `10.112.112.${n + 1}` };
}

/** Monitor fields of a PppInterface, with the status text RouterOS shows. */
export function monitorFields(iface: PppInterface | undefined, status: string, reason?: string): Record<string, string> {
  const m = iface ? iface.monitor() : {};
  m.status = status === 'terminated' && reason ? `terminated - ${reason}` : status;
  return m;
}

/** Values of a live session for print rows (mtu, uptime, encoding). */
export function liveValues(iface: PppInterface | undefined): { mtu: string; uptime: string; encoding: string } {
  const m = iface?.monitor() ?? {};
  return { mtu: m.mtu ?? '', uptime: m.uptime ?? '', encoding: m.encoding ?? '' };
}

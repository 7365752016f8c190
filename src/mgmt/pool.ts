/**
 * IP pool allocator for `/ip pool`: hands out the lowest free address of a pool's
 * ranges, falls through to `next-pool` when full, reclaims on release, and reports
 * exhaustion with a typed error. Pure and in memory (leases do not survive a restart,
 * just as sessions do not).
 */
import { ConfigError } from '../errors.js';
import { intToIp, ipToInt, networkOf } from './types.js';

export interface PoolDef {
  name: string;
  ranges: string;
  nextPool?: string;
}

interface Span {
  lo: number;
  hi: number;
}

export function parseRanges(ranges: string): Span[] {
  const out: Span[] = [];
  for (const part of ranges.split(',')) {
    if (part === '') continue;
    const dash = part.indexOf('-');
    if (dash >= 0) out.push({ lo: ipToInt(part.slice(0, dash)), hi: ipToInt(part.slice(dash + 1)) });
    else if (part.includes('/')) {
      const [a, l] = part.split('/');
      const len = Number(l);
      const base = ipToInt(networkOf(a, len));
      const size = 2 ** (32 - len);
      // A subnet pool skips the network and broadcast addresses when it has them.
      if (len <= 30) out.push({ lo: base + 1, hi: base + size - 2 });
      else out.push({ lo: base, hi: base + size - 1 });
    } else out.push({ lo: ipToInt(part), hi: ipToInt(part) });
  }
  return out;
}

export class PoolManager {
  private defs = new Map<string, PoolDef>();
  /** pool name -> allocated address (as int) -> owner (user name) */
  private used = new Map<string, Map<number, string>>();

  /** Replace the pool definitions (after a config change); leases of surviving pools are kept. */
  update(defs: readonly PoolDef[]): void {
    this.defs = new Map(defs.map((d) => [d.name, d]));
    for (const name of [...this.used.keys()]) if (!this.defs.has(name)) this.used.delete(name);
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  /** Allocate an address from `name` (or its next-pool chain). Throws POOL_ERR_EXHAUSTED / POOL_ERR_NO_SUCH_POOL. */
  allocate(name: string, owner = ''): { pool: string; address: string } {
    const seen = new Set<string>();
    let cur: string | undefined = name;
    while (cur !== undefined && !seen.has(cur)) {
      seen.add(cur);
      const def = this.defs.get(cur);
      if (!def) throw new ConfigError('POOL_ERR_NO_SUCH_POOL', `ip pool ${cur} does not exist`);
      let used = this.used.get(cur);
      if (!used) this.used.set(cur, (used = new Map()));
      for (const s of parseRanges(def.ranges)) {
        for (let a = s.lo; a <= s.hi; a++) {
          if (!used.has(a)) {
            used.set(a, owner);
            return { pool: cur, address: intToIp(a) };
          }
        }
      }
      cur = def.nextPool;
    }
    throw new ConfigError('POOL_ERR_EXHAUSTED', `ip pool ${name} is exhausted: no free address${seen.size > 1 ? ` (next-pool chain ${[...seen].join(' -> ')})` : ''}`);
  }

  /** Return an address to its pool. Releasing twice or an unknown address is a no-op. */
  release(pool: string, address: string): void {
    this.used.get(pool)?.delete(ipToInt(address));
  }

  /** Addresses in use per pool. */
  usedCount(pool: string): number {
    return this.used.get(pool)?.size ?? 0;
  }

  /** Every lease, for `/ip pool used`. */
  leases(): { pool: string; address: string; owner: string }[] {
    const out: { pool: string; address: string; owner: string }[] = [];
    for (const [pool, m] of this.used) for (const [a, owner] of [...m].sort((x, y) => x[0] - y[0])) out.push({ pool, address: intToIp(a), owner });
    return out;
  }
}

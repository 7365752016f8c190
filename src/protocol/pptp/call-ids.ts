/**
 * Call ID allocation and the server's call registry.
 *
 * RFC 2637 §3.2.2 only asks that Call IDs be unique per PAC-PNS pair, but the GRE Key
 * field is the only thing that ties a data packet to a call, so a predictable ID lets a
 * blind attacker inject PPP frames. IDs are therefore drawn from a CSPRNG, never 0 (some
 * stacks treat 0 as "unset"), never a live one, and not one released a moment ago (late
 * GRE packets of the old call must not land in a new one).
 */
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../../errors.js';

export interface CallIdAllocatorOptions {
  /** Uniform random 16-bit values; default node:crypto. Tests may pass a seeded source. */
  random16?: () => number;
  /** Released IDs kept out of circulation (default 1024). */
  quarantine?: number;
}

function cryptoRandom16(): () => number {
  // Draw in batches: one syscall-backed randomBytes per 256 IDs.
  let pool = randomBytes(512);
  let pos = 0;
  return () => {
    if (pos >= pool.length) {
      pool = randomBytes(512);
      pos = 0;
    }
    const v = (pool[pos] << 8) | pool[pos + 1];
    pos += 2;
    return v;
  };
}

export class CallIdAllocator {
  private readonly live = new Set<number>();
  private readonly recent: number[] = [];
  private readonly recentSet = new Set<number>();
  private readonly random16: () => number;
  private readonly quarantine: number;
  private cursor = 1;

  constructor(o: CallIdAllocatorOptions = {}) {
    this.random16 = o.random16 ?? cryptoRandom16();
    this.quarantine = Math.max(0, Math.min(o.quarantine ?? 1024, 16384));
    this.cursor = (this.random16() % 0xffff) + 1;
  }

  get size(): number {
    return this.live.size;
  }

  isLive(id: number): boolean {
    return this.live.has(id);
  }

  /** A fresh Call ID 1..65535. Throws ProtocolError PPTP_ERR_NO_CALL_ID when all are taken. */
  allocate(): number {
    // Random probing first; fall back to a scan so a nearly full space still terminates.
    for (let i = 0; i < 64; i++) {
      const id = this.random16() & 0xffff;
      if (id !== 0 && !this.live.has(id) && !this.recentSet.has(id)) return this.take(id);
    }
    // Next-fit from where the last scan stopped, so filling the space stays linear.
    const start = this.cursor;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < 0xffff; k++) {
        const id = ((start - 1 + k) % 0xffff) + 1;
        if (this.live.has(id)) continue;
        if (pass === 0 && this.recentSet.has(id)) continue;
        this.cursor = (id % 0xffff) + 1;
        return this.take(id);
      }
    }
    throw new ProtocolError('PPTP_ERR_NO_CALL_ID', 'no free PPTP Call ID');
  }

  /** Return an ID; it stays out of circulation for a while. */
  release(id: number): void {
    if (!this.live.delete(id)) return;
    if (this.quarantine === 0) return;
    this.recent.push(id);
    this.recentSet.add(id);
    if (this.recent.length > this.quarantine) this.recentSet.delete(this.recent.shift()!);
  }

  private take(id: number): number {
    this.live.add(id);
    return id;
  }
}

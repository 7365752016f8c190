/**
 * The injected clock of every sans-I/O state machine. Protocol code never calls
 * Date.now() or setTimeout() itself: it asks the clock, so tests drive time with
 * FakeClock and the io layer supplies RealClock.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds unless cancelled. */
  setTimer(ms: number, fn: () => void): Timer;
}

/** Deterministic clock for tests: time moves only when advance() is called. */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private pending: { at: number; seq: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.pending.push(entry);
    return { cancel: () => { entry.live = false; } };
  }

  /** Advance time by `ms`, firing due timers in order (timers set while firing are honoured). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: (typeof this.pending)[number] | undefined;
      for (const p of this.pending) {
        if (!p.live || p.at > end) continue;
        if (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq)) next = p;
      }
      if (!next) break;
      next.live = false;
      this.t = next.at;
      next.fn();
    }
    this.pending = this.pending.filter((p) => p.live);
    this.t = end;
  }

  /** Number of live timers (for tests asserting that a machine cleaned up). */
  get timerCount(): number {
    return this.pending.filter((p) => p.live).length;
  }
}

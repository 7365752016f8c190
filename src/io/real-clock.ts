import type { Clock, Timer } from '../protocol/clock.js';

/** The wall clock for production: performance.now() and unref'd timers. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): Timer {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return { cancel: () => clearTimeout(h) };
  }
}

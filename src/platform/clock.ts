import { performance } from 'node:perf_hooks';

/** Every rule takes `now`; the running bot reads it from a clock so tests can control time. */
export interface Clock {
  now(): Date;
  /** Milliseconds on a clock that never goes back (for deadlines measured in the process, not on the calendar). */
  elapsed(): number;
}

export const systemClock: Clock = { now: () => new Date(), elapsed: () => performance.now() };

/** A clock that only moves when told to, for tests and benchmarks. */
export class ManualClock implements Clock {
  private current: number;
  private moved = 0;
  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  /** Moves on with every step forward of the calendar time (never back). */
  elapsed(): number {
    return this.moved;
  }
  set(to: Date | string): void {
    const next = new Date(to).getTime();
    this.moved += Math.max(0, next - this.current);
    this.current = next;
  }
  advance(ms: number): void {
    this.moved += Math.max(0, ms);
    this.current += ms;
  }
}

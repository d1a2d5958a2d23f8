/**
 * Keeping one sender from costing everyone else. Both limits here are in memory, per instance: that
 * is enough for their purpose (a flood is refused before it costs a storage call, and one sender
 * cannot fill the error log), and with several instances a sender gets at most that many times the
 * rate. Nothing that must be exact (places, approvals) depends on them.
 */

/** Above this many senders tracked, those who have been quiet long enough to be back at full allowance are forgotten. */
const MAX_TRACKED = 10_000;

export interface PressLimits {
  /** Commands and clicks a person may send in a burst. */
  readonly burst: number;
  /** The allowance refills at this many a second. */
  readonly perSecond: number;
  /** A person refused is told to slow down at most once in this many milliseconds. */
  readonly tellEveryMs: number;
}

export const DEFAULT_PRESS_LIMITS: PressLimits = { burst: 60, perSecond: 20, tellEveryMs: 10_000 };

/** A token bucket per person for commands and clicks. */
export class PressLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; toldAt: number }>();

  constructor(
    private readonly limits: PressLimits,
    /** Milliseconds on a monotonic clock. */
    private readonly now: () => number,
  ) {}

  /** Takes one press for `sender`: allowed, or refused (and whether to tell them, at most once a window). */
  take(sender: string): { allowed: true } | { allowed: false; tell: boolean } {
    const now = this.now();
    if (this.buckets.size > MAX_TRACKED) this.forgetQuiet(now);
    const bucket = this.buckets.get(sender) ?? { tokens: this.limits.burst, at: now, toldAt: -Infinity };
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limits.perSecond);
    bucket.at = now;
    this.buckets.set(sender, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const tell = now - bucket.toldAt >= this.limits.tellEveryMs;
    if (tell) bucket.toldAt = now;
    return { allowed: false, tell };
  }

  private forgetQuiet(now: number): void {
    for (const [sender, b] of this.buckets) {
      const full = b.tokens + ((now - b.at) / 1000) * this.limits.perSecond >= this.limits.burst;
      if (full && now - b.toldAt >= this.limits.tellEveryMs) this.buckets.delete(sender);
    }
  }
}

/** Error lines one sender may cause in a window; the rest are counted and the count goes on the next line let through. */
export class LogLimiter {
  private readonly senders = new Map<string, { windowStart: number; lines: number; suppressed: number }>();

  constructor(
    private readonly linesPerWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Undefined: suppress this line. Otherwise log it, with the number of lines suppressed before it. */
  allow(sender: string): { suppressed: number } | undefined {
    const now = this.now();
    if (this.senders.size > MAX_TRACKED) {
      for (const [key, s] of this.senders) if (now - s.windowStart >= this.windowMs && s.suppressed === 0) this.senders.delete(key);
    }
    let s = this.senders.get(sender);
    if (!s || now - s.windowStart >= this.windowMs) {
      const suppressed = s?.suppressed ?? 0;
      s = { windowStart: now, lines: 0, suppressed: 0 };
      this.senders.set(sender, s);
      s.lines += 1;
      return { suppressed };
    }
    if (s.lines >= this.linesPerWindow) {
      s.suppressed += 1;
      return undefined;
    }
    s.lines += 1;
    return { suppressed: 0 };
  }
}

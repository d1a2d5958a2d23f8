/**
 * Delivery rules for everything Together sends to Teams, pure: what a connector answer means, how
 * long to wait before trying again (Retry-After, backoff with jitter), when to give up, and the
 * pacing that keeps the bot inside Teams' rate limits. One policy for every message and card update
 * (the outbox's sender and the announcement fan-out alike). Time is passed in (ms); randomness is
 * passed in (0 ≤ random < 1).
 */

import { isTransient } from '../connectorRequest';

export type Verdict = 'ok' | 'retry' | 'permanent';

/** What a connector answer means for one recipient: the platform's rule for which answers are worth another try. */
export function classify(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok';
  if (isTransient(status)) return 'retry';
  return 'permanent';
}

export function describeStatus(status: number, code?: string): string {
  const known: Record<number, string> = {
    0: 'no answer from Teams',
    400: 'Teams refused the message as malformed',
    401: "Teams refused the bot's credentials",
    403: 'the bot may not post there (removed from the conversation, blocked, or MessageWritesBlocked)',
    404: 'the conversation no longer exists',
    412: 'Teams was busy (412)',
    413: 'the message is too large for Teams',
    429: 'Teams throttled the bot (429)',
    500: 'Teams had an internal error',
    502: 'Teams gateway error (502)',
    503: 'Teams was unavailable (503)',
    504: 'Teams gateway timeout (504)',
  };
  const base = known[status] ?? `Teams answered HTTP ${status}`;
  return code ? `${base} [${code.slice(0, 60)}]` : base;
}

// ------------------------------------------------------------------------------------------------
// Retrying

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. Capped at an hour. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(3_600_000, Math.round(Number(text) * 1000));
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(3_600_000, Math.max(0, at - nowMs));
}

export interface RetryPolicy {
  /** First backoff (before jitter). */
  readonly baseMs: number;
  /** Longest backoff (before jitter). */
  readonly capMs: number;
  /** Attempts in all, the first included (after the last, the outbox keeps the item as a `failed` row). */
  readonly maxAttempts: number;
}

/**
 * Exponential backoff with "equal jitter": half the exponential step fixed, half random, so retries
 * of many items spread out but none comes back almost at once. A Retry-After is a floor (Teams says
 * when it will take more), with up to 20 % jitter on top so throttled items do not all return in
 * the same millisecond. `attempt` is the attempt that just failed (1 = the first send).
 */
export function backoffMs(attempt: number, retryAfterMs: number | undefined, random: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = step / 2 + (step / 2) * random;
  if (retryAfterMs === undefined) return Math.round(jittered);
  return Math.round(Math.max(jittered, retryAfterMs + retryAfterMs * 0.2 * random));
}


/**
 * The one retry policy: up to 10 answered attempts over about two minutes, backing off from a quarter
 * of a second to a minute (a Retry-After is always honoured). Short first steps: every request
 * already waits its turn at the app's rate (gate.ts), so a quick retry cannot flood Teams, and a
 * send's last few retried messages are what its sender waits for.
 */
export const DEFAULT_RETRY: RetryPolicy = { baseMs: 250, capMs: 60_000, maxAttempts: 10 };


export type Next =
  | { readonly kind: 'sent' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'poison'; readonly reason: string };

/** What to do after attempt number `attempt` got `status`. */
export function afterAttempt(attempt: number, status: number, retryAfterMs: number | undefined, random: number, policy: RetryPolicy = DEFAULT_RETRY, code?: string): Next {
  switch (classify(status)) {
    case 'ok':
      return { kind: 'sent' };
    case 'permanent':
      return { kind: 'failed', reason: describeStatus(status, code) };
    case 'retry':
      if (attempt >= policy.maxAttempts) return { kind: 'poison', reason: `${describeStatus(status, code)}; gave up after ${attempt} attempts` };
      return { kind: 'retry', delayMs: backoffMs(attempt, retryAfterMs, random, policy) };
  }
}

// ------------------------------------------------------------------------------------------------
// Pacing

/**
 * A pacer for Teams' limits, which count requests in any window of one second. It lets a request go
 * when fewer than `limit` went in the last `windowMs` (measured from when each really went, never
 * from a schedule made in advance), and at least `minGapMs` after the one before, so requests are
 * spread out rather than sent in bursts.
 *
 * For `perSecond` r: limit = max(1, ⌊r⌋) per window of max(1000, 1000·limit/r) ms, plus `guardMs`
 * (so no second ever holds more than ⌊r⌋, and instances' shares never add up to more than the app's rate). The guard
 * covers the difference in travel time between two requests: requests that left `windowMs` apart
 * may arrive up to `guardMs` closer, and Teams counts arrivals. After a pause (a long GC, a busy
 * moment) it catches up at up to 4/3 of the rate (minGapMs = 3/4 of the mean gap), never beyond
 * `limit` in a window.
 */
export class Pacer {
  private readonly went: number[] = [];
  private limit = 1;
  private windowMs = 1000;
  private minGapMs = 0;
  private heldUntil = -Infinity;
  private perSecond = 1;

  constructor(
    perSecond: number,
    private readonly guardMs = 25,
  ) {
    this.setRate(perSecond);
  }

  get rate(): number {
    return this.perSecond;
  }

  setRate(perSecond: number): void {
    const r = Math.max(perSecond, 0.001);
    this.perSecond = r;
    this.limit = Math.max(1, Math.floor(r));
    this.windowMs = Math.max(1000, (1000 * this.limit) / r) + this.guardMs;
    this.minGapMs = 750 / r;
  }

  /** How long to wait before the next request may go (0 = now). */
  waitMs(nowMs: number): number {
    const last = this.went[this.went.length - 1];
    let at = Math.max(nowMs, this.heldUntil, last === undefined ? -Infinity : last + this.minGapMs);
    if (this.went.length >= this.limit) {
      // The limit-th most recent must have left the window.
      const oldest = this.went[this.went.length - this.limit]!;
      at = Math.max(at, oldest + this.windowMs);
    }
    return Math.max(0, at - nowMs);
  }

  /** A request goes now. */
  take(nowMs: number): void {
    this.went.push(nowMs);
    if (this.went.length > this.limit * 2 + 8) this.went.splice(0, this.went.length - this.limit);
  }

  /** Nobody goes before `untilMs` (a Retry-After). */
  holdUntil(untilMs: number): void {
    this.heldUntil = Math.max(this.heldUntil, untilMs);
  }

  /** Nothing is due beyond `nowMs`, and nothing went within the window. */
  idle(nowMs: number): boolean {
    const last = this.went[this.went.length - 1];
    return this.heldUntil <= nowMs && (last === undefined || last + this.windowMs <= nowMs);
  }
}

/** One pacer per key (per conversation), forgetting keys that have been idle a while. */
export class KeyedPacer {
  private readonly pacers = new Map<string, Pacer>();
  private lastSweepMs = 0;

  constructor(
    private readonly perSecond: number,
    private readonly guardMs = 25,
  ) {}

  get(key: string, nowMs: number): Pacer {
    let pacer = this.pacers.get(key);
    if (!pacer) {
      pacer = new Pacer(this.perSecond, this.guardMs);
      this.pacers.set(key, pacer);
    }
    if (nowMs - this.lastSweepMs > 10_000) {
      this.lastSweepMs = nowMs;
      for (const [k, p] of this.pacers) if (k !== key && p.idle(nowMs - 2_000)) this.pacers.delete(k);
    }
    return pacer;
  }

  get size(): number {
    return this.pacers.size;
  }
}

/**
 * How the app-wide rate is shared between instances: each instance that has work takes an equal
 * share (an instance with nothing to send takes none). `active` counts this instance.
 */
export function instanceShare(globalPerSecond: number, active: number): number {
  return globalPerSecond / Math.max(1, active);
}

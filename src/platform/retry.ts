/** Retrying calls to Teams: Retry-After, and exponential backoff with jitter (pure). */

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
  /** Attempts in all, the first included (the fan-out then sends an item to its poison queue). */
  readonly maxAttempts: number;
}

/**
 * Exponential backoff with "equal jitter": half the exponential step fixed, half random, so retries
 * of many items spread out but none comes back almost at once. A Retry-After is a floor (Teams says
 * when it will take more), with up to 20 % jitter on top so throttled items do not all return in
 * the same millisecond. `attempt` is the attempt that just failed (1 = the first send).
 */
export function backoffMs(attempt: number, retryAfterMs: number | undefined, random: number, policy: RetryPolicy): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = step / 2 + (step / 2) * random;
  if (retryAfterMs === undefined) return Math.round(jittered);
  return Math.round(Math.max(jittered, retryAfterMs + retryAfterMs * 0.2 * random));
}


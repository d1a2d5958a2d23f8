import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logging';
import { statusOf } from '../platform/storage/tables';
import type { Aggregate, OfferPolicy } from './model';
import { applyAll, counts, type Applied, type Intent, type Outcome } from './rules';
import { cloneAggregate, type Loaded, type Post, type TeachMeetStore } from './store';

/**
 * A per-event queue that commits every waiting change together. Requests for one event wait while a
 * commit is in flight; the next commit takes all of them (up to 99 sign-up rows per transaction),
 * applies the pure rules in arrival order (a duplicate of the same request has no second effect) and
 * writes them in one entity-group transaction under the event row's ETag. The event's state is kept
 * between commits, so a commit costs one storage call; if another instance changed the event first
 * (412), the state is reloaded and the batch applied again. The cache is only a shortcut: the ETag
 * decides.
 */

export interface Committed {
  readonly outcome: Outcome;
  /** The event as committed (a snapshot safe to read). */
  readonly agg: Aggregate;
  readonly posts: readonly Post[];
}

export interface CommitHooks {
  /** Before a batch that makes offers is committed: make sure the offers are followed up even after a crash. */
  beforeOffers(eventId: string, applied: Applied, agg: Aggregate): Promise<void>;
  /** After each commit: update cards, send notices. Must not throw. */
  afterCommit(eventId: string, applied: Applied, agg: Aggregate, posts: readonly Post[], before: Aggregate): void;
}

interface Waiting {
  readonly intent: Intent;
  resolve(value: Committed): void;
  reject(err: unknown): void;
}

interface EventLine {
  readonly waiting: Waiting[];
  running: boolean;
}

const MAX_ROWS = 99;
/**
 * How long a batch keeps retrying after ETag conflicts. Another instance that is busy with the same
 * event commits from its cached state (one call) while this one must reload (two), so it can win many
 * rounds in a row; a sign-up must not be dropped for that, only for storage that keeps failing.
 */
const RETRY_FOR_MS = 10_000;
const MAX_BACKOFF_MS = 40;
/**
 * During a rush an event is committed at most this often, so each commit carries everything that
 * arrived meanwhile (through HTTP, sign-ups trickle in over a second or more, and committing as soon as
 * the last commit is back takes ~2 rows a time: hundreds of transactions). The first change after a
 * quiet spell is committed at once; a full batch (99 rows) never waits.
 */
const COMMIT_GAP_MS = 100;
/**
 * After an ETag conflict another instance is committing the same event. For a while this instance
 * then commits less often (each commit carrying more, so the two take fewer turns) and reads the
 * event before committing rather than trying its cached copy, which the other instance has almost
 * certainly moved on (a doomed attempt costs a call and a reload).
 */
const CONTENDED_FOR_MS = 3_000;
const CONTENDED_GAP_MS = 200;

export class TeachMeetQueue {
  private readonly lines = new Map<string, EventLine>();
  private readonly cache = new Map<string, Loaded>();
  /** When each event's last commit started (kept past its line, so the next arrival in a rush waits too). */
  private readonly lastCommit = new Map<string, number>();
  /** Until when each event counts as contended (another instance committing it too). */
  private readonly contendedUntil = new Map<string, number>();
  /** For benchmarks: ETag conflicts seen. */
  conflicts = 0;

  constructor(
    private readonly store: TeachMeetStore,
    private readonly clock: Clock,
    private readonly policy: OfferPolicy,
    private readonly hooks: CommitHooks,
    private readonly logger: Logger,
  ) {}

  /** Queues a change; resolves once it is committed (or found to change nothing). Rejects with 'missing' for an unknown event. */
  submit(eventId: string, intent: Intent): Promise<Committed> {
    return new Promise((resolve, reject) => {
      let line = this.lines.get(eventId);
      if (!line) {
        line = { waiting: [], running: false };
        this.lines.set(eventId, line);
      }
      line.waiting.push({ intent, resolve, reject });
      if (!line.running) void this.drain(eventId, line);
    });
  }

  /** The event as stored now (fresh read), for views that do not change anything. */
  async read(eventId: string): Promise<Loaded | undefined> {
    const loaded = await this.store.load(eventId);
    if (loaded) this.cache.set(eventId, loaded);
    return loaded;
  }

  /** The event as this instance last committed or read it (no storage call); undefined if it has none. */
  latest(eventId: string): Aggregate | undefined {
    return this.cache.get(eventId)?.agg;
  }

  forget(eventId: string): void {
    this.cache.delete(eventId);
  }

  private async drain(eventId: string, line: EventLine): Promise<void> {
    line.running = true;
    try {
      while (line.waiting.length > 0) {
        const gap = this.contended(eventId) ? CONTENDED_GAP_MS : COMMIT_GAP_MS;
        const wait = (this.lastCommit.get(eventId) ?? -Infinity) + gap - performance.now();
        if (wait > 0 && line.waiting.length < MAX_ROWS) await sleep(wait);
        const batch = line.waiting.splice(0, MAX_ROWS);
        this.lastCommit.set(eventId, performance.now());
        await this.commitBatch(eventId, batch, line);
      }
    } finally {
      line.running = false;
      if (line.waiting.length === 0) {
        this.lines.delete(eventId);
        const at = this.lastCommit.get(eventId);
        setTimeout(() => {
          if (!this.lines.has(eventId) && this.lastCommit.get(eventId) === at) this.lastCommit.delete(eventId);
        }, CONTENDED_GAP_MS).unref();
      } else void this.drain(eventId, line);
    }
  }

  private async commitBatch(eventId: string, batch: Waiting[], line?: EventLine): Promise<void> {
    const started = performance.now();
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (attempt > 0 && performance.now() - started > RETRY_FOR_MS) {
          throw new Error(`TeachMeet ${eventId}: gave up after ${attempt} conflicting attempts`);
        }
        if (attempt === 0 && this.contended(eventId)) this.cache.delete(eventId);
        const cached = this.cache.get(eventId);
        const base = cached ?? (await this.store.load(eventId));
        if (!base) {
          batch.forEach((w) => w.reject(new UnknownEvent(eventId)));
          return;
        }
        this.cache.set(eventId, base);
        const working = cloneAggregate(base.agg);
        const now = this.clock.now();
        const applied = applyAll(working, batch.map((w) => w.intent), now, this.policy);
        if (applied.changed.size > MAX_ROWS) {
          // Rare (offers cascading): split the batch and commit the halves in turn.
          const half = Math.ceil(batch.length / 2);
          await this.commitBatch(eventId, batch.slice(0, half));
          await this.commitBatch(eventId, batch.slice(half));
          return;
        }
        if (applied.changed.size === 0 && !applied.eventChanged) {
          if (cached) {
            // Nothing to write, so no ETag will check the cached state: confirm it with a fresh read.
            this.cache.delete(eventId);
            continue;
          }
          batch.forEach((w, i) => w.resolve({ outcome: applied.outcomes[i]!, agg: base.agg, posts: base.posts }));
          return;
        }
        working.event.version += 1;
        try {
          if (applied.notices.some((n) => n.kind === 'offer')) await this.hooks.beforeOffers(eventId, applied, working);
          const c = counts(working);
          const presenting = c.presenting[2] + c.presenting[5] + c.presenting[7];
          const etag = await this.store.commit(working, base.etag, applied.changed, { attending: c.attending, waiting: c.waiting + c.offered, presenting });
          const committed: Loaded = { agg: working, etag, posts: base.posts };
          this.cache.set(eventId, committed);
          batch.forEach((w, i) => w.resolve({ outcome: applied.outcomes[i]!, agg: working, posts: base.posts }));
          this.hooks.afterCommit(eventId, applied, working, base.posts, base.agg);
          return;
        } catch (err) {
          const status = statusOf(err);
          if (status === 412 || status === 404 || status === 409) {
            // Someone else (another instance) changed the event first: start again from what is stored,
            // after a short random pause, taking in the requests that arrived meanwhile.
            this.conflicts += 1;
            this.cache.delete(eventId);
            this.contendedUntil.set(eventId, performance.now() + CONTENDED_FOR_MS);
            await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt));
            if (line && batch.length < MAX_ROWS) batch.push(...line.waiting.splice(0, MAX_ROWS - batch.length));
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      this.cache.delete(eventId);
      this.logger.error({ err: { message: (err as Error).message }, eventId }, 'TeachMeet commit failed');
      batch.forEach((w) => w.reject(err));
    }
  }

  private contended(eventId: string): boolean {
    const until = this.contendedUntil.get(eventId);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.contendedUntil.delete(eventId);
    return false;
  }

  /** Remembers a newly posted card copy so later updates reach it. */
  async addPost(eventId: string, post: Post): Promise<void> {
    await this.store.addPost(eventId, post);
    const cached = this.cache.get(eventId);
    if (cached) this.cache.set(eventId, { ...cached, posts: [...cached.posts, post] });
  }
}

export class UnknownEvent extends Error {
  constructor(readonly eventId: string) {
    super(`unknown TeachMeet ${eventId}`);
  }
}

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logging';
import { stampOf } from '../platform/outbox/kernel';
import type { Effect, Outbox } from '../platform/outbox/outbox';
import type { Aggregate, OfferPolicy } from './model';
import { applyAll, counts, MAX_ROWS, type Applied, type Intent, type Outcome } from './rules';
import { cloneAggregate, TEACHMEETS_TABLE, type Loaded, type Post, type TeachMeetStore } from './store';

/**
 * A per-event queue that commits every waiting change together. Requests for one event wait while a
 * commit is in flight; the next commit takes all of them (up to 99 sign-up rows per transaction),
 * applies the pure rules in arrival order (a duplicate of the same request has no second effect) and
 * writes them with their effects (the outbox's rows: card updates, messages, reminders) in one
 * entity-group transaction under the event row's ETag: the platform's commit kernel, batched per key,
 * as TeachMeet rushes need (500 clicks for 50 places). The event's state is kept
 * between commits, so a commit costs one storage call; if another instance changed the event first
 * (412), the state is reloaded and the batch applied again. The cache is only a shortcut: the ETag
 * decides.
 *
 * Two instances in one rush: the instance that loses an ETag conflict stands back for that event. It
 * holds its requests until its own stream pauses (or for at most a second), then reads the event once
 * and commits everything it holds in chained transactions, while the other instance goes on committing
 * from its cache undisturbed. Taking turns commit by commit would cost both a read before every commit.
 *
 * Each commit also writes, on the event row, how many more changes its instance still holds for the
 * event (`queued`). An instance that has just read the event and finds that another instance wrote it
 * and is about to commit again waits for it to finish before committing (then reads once more), rather
 * than committing in between: that would make one of them fail and read again, and in a rush where both
 * hold several batches they would take turns failing. The pause is this instance's own estimate (its
 * commit time, per batch the other holds), bounded as standing back is; if the event has not moved
 * since the last such pause, the other instance is not committing after all and this one goes ahead.
 * The hint only decides who waits: the ETag still decides every commit.
 */

export interface Committed {
  readonly outcome: Outcome;
  /** The event as committed (a snapshot safe to read). */
  readonly agg: Aggregate;
  readonly posts: readonly Post[];
  /** Settles when this instance has delivered the change's effects (absent when nothing changed). */
  readonly delivered?: Promise<void>;
}

export interface CommitHooks {
  /** Before a batch that makes offers is committed: the sweeps at their expiry are planned. */
  beforeOffers(eventId: string, applied: Applied, agg: Aggregate): Promise<void>;
  /** The effects of a batch (committed with it): the card's copies updated, people told, reminders kept in step. */
  effects(eventId: string, applied: Applied, agg: Aggregate, posts: readonly Post[], before: Aggregate): Promise<Effect[]>;
  /** After each commit (offers left for a sweep). Must not throw. */
  afterCommit(eventId: string, applied: Applied): void;
}

interface Waiting {
  readonly intent: Intent;
  /** performance.now() when it was queued. */
  readonly at: number;
  resolve(value: Committed): void;
  reject(err: unknown): void;
}

interface EventLine {
  readonly waiting: Waiting[];
  running: boolean;
  /** performance.now() of the latest request queued. */
  lastArrival: number;
  /** Ends the drain's current wait early (a full batch is waiting). */
  wake?: () => void;
}

/**
 * How long a batch keeps retrying after ETag conflicts. Another instance that is busy with the same
 * event commits from its cached state (one call) while this one must reload (two), so it can win many
 * rounds in a row; a sign-up must not be dropped for that, only for storage that keeps failing.
 */
const RETRY_FOR_MS = 10_000;
const MAX_BACKOFF_MS = 40;
/**
 * During a rush a commit waits for more to arrive, so each carries many sign-ups (through HTTP they
 * trickle in over a second or more; committing as soon as the last commit is back takes ~2 rows a
 * time: hundreds of transactions). It waits until COMMIT_GAP_MS after the last commit started (or
 * after the first request arrived, when there was no commit lately), until 99 rows are waiting, or
 * until nothing has arrived for QUIET_MS (the rush is over, or it was one click: answer it now). So a
 * lone click waits QUIET_MS, and the first commit of a rush carries a full batch, not one row.
 */
const COMMIT_GAP_MS = 200;
const QUIET_MS = 20;
/**
 * After an ETag conflict another instance is committing the same event. For a while this instance then
 * stands back: it holds its requests until none has arrived for STANDBY_QUIET_MS (the rush has paused;
 * longer than QUIET_MS, so the other instance's last commit usually goes first) or the oldest has
 * waited STANDBY_HOLD_MS, then reads once and commits all it holds back to back.
 */
const CONTENDED_FOR_MS = 3_000;
/**
 * An instance whose last commits of an event went through is the one committing the rush; a conflict
 * then means the instance standing back has just committed what it held, so it reads and carries on
 * rather than standing back too.
 */
const LEADING_STREAK = 2;
const STANDBY_QUIET_MS = 40;
const STANDBY_HOLD_MS = 1_000;
/** Weight of the latest commit in this instance's running estimate of how long a commit takes. */
const COMMIT_TIME_WEIGHT = 0.3;

export class TeachMeetQueue {
  private readonly lines = new Map<string, EventLine>();
  private readonly cache = new Map<string, Loaded>();
  /** When each event's last commit started (kept past its line, so the next arrival in a rush waits too). */
  private readonly lastCommit = new Map<string, number>();
  /** Until when each event counts as contended (another instance committing it too). */
  private readonly contendedUntil = new Map<string, number>();
  /** Commits of each event that succeeded since this instance last met a conflict on it. */
  private readonly streak = new Map<string, number>();
  /** When this instance last stood back for each event. */
  private readonly standingSince = new Map<string, number>();
  /** The version of each event this instance wrote last (a version it reads back is its own). */
  private readonly wrote = new Map<string, number>();
  /** This instance's running estimate of one commit's round trip (ms), for how long another instance's queued batches take. */
  private commitMs: number | undefined;
  /**
   * For benchmarks and tests: ETag conflicts seen, times this instance stood back for an event, and
   * times it waited for another instance that had more to commit.
   */
  conflicts = 0;
  standbys = 0;
  waits = 0;

  constructor(
    private readonly store: TeachMeetStore,
    private readonly outbox: Outbox,
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
        line = { waiting: [], running: false, lastArrival: 0 };
        this.lines.set(eventId, line);
      }
      const at = performance.now();
      line.lastArrival = at;
      line.waiting.push({ intent, at, resolve, reject });
      if (line.waiting.length >= MAX_ROWS) line.wake?.();
      if (!line.running) void this.drain(eventId, line);
    });
  }

  /** A TeachMeet this instance has just created (as stored, under `etag`): its first change need not read it. */
  created(loaded: Loaded): void {
    this.cache.set(loaded.agg.event.id, loaded);
  }

  /** The event as stored now (fresh read), for views that do not change anything. */
  async read(eventId: string): Promise<Loaded | undefined> {
    const loaded = await this.store.load(eventId);
    // A read that started before a commit of this instance's and ended after it must not put the older state back.
    const cached = this.cache.get(eventId);
    if (loaded && (!cached || loaded.agg.event.version >= cached.agg.event.version)) this.cache.set(eventId, loaded);
    return loaded;
  }

  /**
   * The event at version `v` or later: as this instance last committed or read it when that is recent
   * enough (no storage call), else as stored (another commit, here or elsewhere, may have landed before
   * this instance noted it). Undefined for an unknown event.
   */
  async atLeast(eventId: string, v: number): Promise<Aggregate | undefined> {
    const cached = this.cache.get(eventId)?.agg;
    return cached && cached.event.version >= v ? cached : (await this.read(eventId))?.agg;
  }

  /** Whether changes to the event are waiting or being committed here. */
  busy(eventId: string): boolean {
    return this.lines.has(eventId);
  }

  forget(eventId: string): void {
    this.cache.delete(eventId);
  }

  private async drain(eventId: string, line: EventLine): Promise<void> {
    line.running = true;
    try {
      while (line.waiting.length > 0) {
        if (this.contended(eventId)) {
          const due = line.waiting[0]!.at + STANDBY_HOLD_MS;
          // The other instance went first with a batch like the one this instance lost with; as the clicks
          // are shared out between instances, it probably holds about as many more as this one holds:
          // reading before it has committed them would only find it still committing.
          const theirs = line.waiting.length - MAX_ROWS;
          const notBefore = Math.min(due, (this.standingSince.get(eventId) ?? 0) + (theirs > 0 ? this.toCommit(theirs) : 0));
          if (notBefore > performance.now()) await sleep(notBefore - performance.now());
          await this.until(line, { quietMs: STANDBY_QUIET_MS, due, rows: Infinity });
          // One fresh read (the other instance has moved the event on), then everything held, back to back
          // (what arrives meanwhile waits for the next pause).
          this.cache.delete(eventId);
          const last = line.waiting[line.waiting.length - 1];
          while (line.waiting.includes(last!)) {
            this.lastCommit.set(eventId, performance.now());
            await this.commitBatch(eventId, line.waiting.splice(0, MAX_ROWS), line);
          }
          continue;
        }
        await this.until(line, { quietMs: QUIET_MS, due: (this.lastCommit.get(eventId) ?? line.waiting[0]!.at) + COMMIT_GAP_MS, rows: MAX_ROWS });
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
        }, COMMIT_GAP_MS).unref();
      } else void this.drain(eventId, line);
    }
  }

  private async commitBatch(eventId: string, batch: Waiting[], line?: EventLine): Promise<void> {
    const started = performance.now();
    /** The version this batch last waited on (another instance had more to commit). */
    let waitedOn: number | undefined;
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (attempt > 0 && performance.now() - started > RETRY_FOR_MS) {
          throw new Error(`TeachMeet ${eventId}: gave up after ${attempt} conflicting attempts`);
        }
        const cached = this.cache.get(eventId);
        const base = cached ?? (await this.store.load(eventId));
        if (!base) {
          batch.forEach((w) => w.reject(new UnknownEvent(eventId)));
          return;
        }
        this.cache.set(eventId, base);
        if (!cached && line) {
          const pause = this.letThemFinish(eventId, base, batch, waitedOn);
          if (pause > 0) {
            // Another instance wrote this version and still has changes waiting: let it commit them, then read again.
            this.waits += 1;
            waitedOn = base.agg.event.version;
            this.cache.delete(eventId);
            await sleep(pause);
            if (batch.length < MAX_ROWS) batch.push(...line.waiting.splice(0, MAX_ROWS - batch.length));
            continue;
          }
        }
        // Requests that arrived during the read go in this commit too.
        if (!cached && line && batch.length < MAX_ROWS) batch.push(...line.waiting.splice(0, MAX_ROWS - batch.length));
        const working = cloneAggregate(base.agg);
        const now = this.clock.now();
        const applied = applyAll(working, batch.map((w) => w.intent), now, this.policy);
        if (applied.changed.size > MAX_ROWS) {
          // The rules keep one change within MAX_ROWS (offers beyond it wait for a sweep), so this is a batch
          // of many changes: split it and commit the halves in turn.
          if (batch.length === 1) throw new Error(`TeachMeet ${eventId}: one change touches ${applied.changed.size} sign-ups`);
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
        const effects = await this.hooks.effects(eventId, applied, working, base.posts, base.agg);
        if (1 + applied.changed.size + effects.length > 100) {
          // The effects of many changes do not fit beside their rows: commit the halves in turn.
          if (batch.length === 1) throw new Error(`TeachMeet ${eventId}: one change needs ${1 + applied.changed.size + effects.length} rows`);
          const half = Math.ceil(batch.length / 2);
          await this.commitBatch(eventId, batch.slice(0, half));
          await this.commitBatch(eventId, batch.slice(half));
          return;
        }
        if (applied.notices.some((n) => n.kind === 'offer')) await this.hooks.beforeOffers(eventId, applied, working);
        const c = counts(working);
        const presenting = c.presenting[2] + c.presenting[5] + c.presenting[7];
        const rows = this.store.commitRows(working, base.etag, applied.changed, { attending: c.attending, waiting: c.waiting + c.offered, presenting }, line?.waiting.length ?? 0);
        const sent = performance.now();
        const done = await this.outbox.commit(TEACHMEETS_TABLE, eventId, { rows }, effects, stampOf(working.event.version));
        this.timed(performance.now() - sent);
        if (done) {
          const committed: Loaded = { agg: working, etag: done.etags[0] ?? '', posts: base.posts };
          this.cache.set(eventId, committed);
          this.wrote.set(eventId, working.event.version);
          if (this.wrote.size > 10_000) this.wrote.delete(this.wrote.keys().next().value!);
          this.streak.set(eventId, (this.streak.get(eventId) ?? 0) + 1);
          batch.forEach((w, i) => w.resolve({ outcome: applied.outcomes[i]!, agg: working, posts: base.posts, delivered: done.delivered }));
          this.hooks.afterCommit(eventId, applied);
          return;
        }
        // Someone else (another instance) changed the event first: start again from what is stored,
        // after a short random pause, taking in the requests that arrived meanwhile.
        this.conflicts += 1;
        this.cache.delete(eventId);
        const standing = this.contended(eventId);
        const leading = (this.streak.get(eventId) ?? 0) >= LEADING_STREAK;
        this.streak.set(eventId, 0);
        if (!standing && !leading) {
          // Another instance is committing this event: stand back (the drain holds these until the rush pauses).
          this.contendedUntil.set(eventId, performance.now() + CONTENDED_FOR_MS);
          this.standingSince.set(eventId, performance.now());
          if (line) {
            this.standbys += 1;
            line.waiting.unshift(...batch);
            return;
          }
        }
        // Standing back already (or this instance has been committing the event and the other has just
        // committed what it held): read and try again now.
        await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt));
        if (line && batch.length < MAX_ROWS) batch.push(...line.waiting.splice(0, MAX_ROWS - batch.length));
        continue;
      }
    } catch (err) {
      this.cache.delete(eventId);
      this.logger.error({ err: { message: (err as Error).message }, eventId }, 'TeachMeet commit failed');
      batch.forEach((w) => w.reject(err));
    }
  }

  /**
   * How long to wait before committing on `base` (just read): 0 unless another instance wrote it and
   * still has changes queued for the event (then about as long as it needs to commit them), and the
   * oldest request of the batch may still wait. Not again on a version this batch has already waited on:
   * the other instance did not commit meanwhile, so it is not about to.
   */
  private letThemFinish(eventId: string, base: Loaded, batch: readonly Waiting[], waitedOn: number | undefined): number {
    const version = base.agg.event.version;
    if (!base.queued || version === this.wrote.get(eventId) || version === waitedOn) return 0;
    const oldest = Math.min(...batch.map((w) => w.at));
    const left = oldest + STANDBY_HOLD_MS - performance.now();
    return Math.max(0, Math.min(left, this.toCommit(base.queued) + Math.random() * 10));
  }

  /**
   * About how long another instance (running this queue) takes to commit `queued` changes it holds:
   * each full batch as soon as its last commit is back, the rest within COMMIT_GAP_MS of its last
   * commit (requests still trickle in: the instance is answering the batch before), at this instance's
   * commit time each.
   */
  private toCommit(queued: number): number {
    const full = Math.floor(queued / MAX_ROWS);
    const rest = queued % MAX_ROWS > 0 ? COMMIT_GAP_MS : 0;
    return (full + 1) * this.commitTime() + rest;
  }

  /** How long one commit takes here, as lately measured. */
  private commitTime(): number {
    return this.commitMs ?? 50;
  }

  private timed(ms: number): void {
    this.commitMs = this.commitMs === undefined ? ms : this.commitMs + COMMIT_TIME_WEIGHT * (ms - this.commitMs);
  }

  /** Waits until `due`, until `rows` requests are waiting, or until none has arrived for `quietMs`. */
  private async until(line: EventLine, when: { quietMs: number; due: number; rows: number }): Promise<void> {
    for (;;) {
      const now = performance.now();
      if (now >= when.due || line.waiting.length >= when.rows) return;
      const quiet = now - line.lastArrival;
      if (quiet >= when.quietMs) {
        // A long synchronous stretch makes a busy stream look quiet: let waiting I/O in, then look again.
        await new Promise((resolve) => setImmediate(resolve));
        if (performance.now() - line.lastArrival >= when.quietMs) return;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(when.quietMs - quiet, when.due - now));
        line.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      line.wake = undefined;
    }
  }

  private contended(eventId: string): boolean {
    const until = this.contendedUntil.get(eventId);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.contendedUntil.delete(eventId);
    this.standingSince.delete(eventId);
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


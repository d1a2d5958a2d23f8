import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logging';
import type { RowWrite } from '../storage/transaction';
import type { Effect, Outbox } from './outbox';

/**
 * The commit kernel's batching option (kernel.ts makes one change a commit): for an aggregate that
 * many people change at once, such as a TeachMeet's 500 clicks for 50 places, every change waiting for
 * one key is committed together. Committing them one by one would cost each a read and a write, and
 * the writes would collide under the ETag; here a commit carries up to `maxBatch` changes in one
 * entity-group transaction, and the aggregate as committed is kept, so the next commit costs one
 * storage call. The cache is only a shortcut: the head row's ETag decides every commit.
 *
 * A batch, start to end:
 *  1. `submit(key, intent)` queues the change on the key's line; the line's drain waits for more to
 *     arrive (COMMIT_GAP_MS after the last commit started, until `maxBatch` are waiting, or until none
 *     has arrived for QUIET_MS: a lone click waits QUIET_MS, the first commit of a rush a full batch);
 *  2. the aggregate as this instance last committed or read it (else one read; requests that arrived
 *     during the read join the batch);
 *  3. the aggregate's pure decision on the batch, in arrival order (`decide`): nothing changes (a
 *     cached state is then confirmed by a fresh read, as no ETag will check it), too big for one
 *     transaction (the batch is split in halves, committed in turn), or the rows and effects to write;
 *  4. one commit through the outbox: the rows and the effects in one transaction under the ETag. Each
 *     change's promise settles with its own outcome, the state committed and the delivery to come;
 *  5. on a conflict (another instance changed the aggregate first), read and decide again, for up to
 *     RETRY_FOR_MS: a change is not dropped for losing races, only for storage that keeps failing.
 *
 * Two instances in one rush. The instance that loses a conflict stands back for that key: it holds its
 * requests until its own stream pauses (or for at most STANDBY_HOLD_MS), then reads once and commits
 * everything it holds in chained transactions, while the other goes on committing from its cache.
 * Taking turns commit by commit would cost both a read before every commit. Each commit also writes,
 * on the head row, how many more changes its instance still holds for the key (`queued`, passed to
 * `decide`). An instance that has just read a version another instance wrote with changes still queued
 * lets it finish first (its own estimate of how long that takes), then reads once more, rather than
 * committing in between: in a rush where both hold several batches they would otherwise take turns
 * failing. If the aggregate has not moved since such a pause, the other is not committing after all
 * and this one goes ahead. The hint only decides who waits: the ETag still decides every commit.
 */

/** What an aggregate tells the batching kernel about itself; its rules stay its own. */
export interface BatchedAggregate<S extends Stored, I, O> {
  /** For messages and logs ("TeachMeet"). */
  readonly name: string;
  /** The table the aggregate and its effects are committed to; its key is the partition. */
  readonly table: string;
  /** The most changes one commit carries. */
  readonly maxBatch: number;
  /** The aggregate as stored with its head row's ETag, or undefined for an unknown key. */
  load(key: string): Promise<S | undefined>;
  /** The aggregate's revision (grows with every commit). */
  version(state: S): number;
  /** How many more changes the instance that committed this state said it still held (the hint). */
  queued(state: S): number;
  /**
   * The changes applied in order to `base` (a decision: pure but for reading what the effects need).
   * `queued()`: how many more changes this instance holds for the key now, to write on the head row.
   */
  decide(key: string, base: S, intents: readonly I[], queued: () => number): Promise<Step<S, O>>;
}

/** An aggregate as held: whatever it is, with its head row's ETag. */
export interface Stored {
  readonly etag: string;
}

export type Step<S, O> =
  /** Nothing changes; each change's outcome. */
  | { readonly kind: 'same'; readonly outcomes: readonly O[] }
  /** The batch changes too much for one commit: commit its halves in turn (`why`: what one change alone would touch). */
  | { readonly kind: 'split'; readonly why: string }
  | {
      readonly kind: 'write';
      /** The aggregate after the commit (its ETag is filled in from the commit). */
      readonly next: S;
      /**
       * Whole-row writes (storage/transaction.ts). The first is the head row, written under the ETag it
       * was read with (`ifMatch`); its new ETag is held with `next` and guards the next commit.
       */
      readonly rows: readonly RowWrite[];
      readonly effects: readonly Effect[];
      /** Orders this commit's effects after earlier ones (the aggregate's revision, zero-padded). */
      readonly stamp: string;
      readonly outcomes: readonly O[];
      /** Runs once the decision is final, right before the commit (plan timers it needs). */
      readonly prepare?: () => Promise<void>;
      /** Runs after the commit. Must not throw. */
      readonly committed?: () => void;
    };

/** One change's result. */
export interface Settled<S, O> {
  readonly outcome: O;
  /** The aggregate as committed (or as read, when nothing changed). */
  readonly state: S;
  /** Settles when this instance has delivered the commit's effects (absent when nothing changed). */
  readonly delivered?: Promise<void>;
}

/** A change submitted for a key that is not stored. */
export class MissingAggregate extends Error {
  constructor(
    readonly what: string,
    readonly key: string,
  ) {
    super(`unknown ${what} ${key}`);
  }
}

/** An entity-group transaction holds at most this many rows. */
const TRANSACTION_ROWS = 100;
/**
 * How long a batch keeps retrying after ETag conflicts. Another instance that is busy with the same
 * key commits from its cached state (one call) while this one must reload (two), so it can win many
 * rounds in a row; a change must not be dropped for that, only for storage that keeps failing.
 */
const RETRY_FOR_MS = 10_000;
const MAX_BACKOFF_MS = 40;
/** See the story above, step 1: through HTTP a rush trickles in over a second or more. */
const COMMIT_GAP_MS = 200;
const QUIET_MS = 20;
/**
 * After a conflict, for CONTENDED_FOR_MS, this instance stands back: it holds its requests until none
 * has arrived for STANDBY_QUIET_MS (longer than QUIET_MS, so the other instance's last commit usually
 * goes first) or the oldest has waited STANDBY_HOLD_MS, then reads once and commits all it holds.
 */
const CONTENDED_FOR_MS = 3_000;
/**
 * An instance whose last commits of a key went through is the one committing the rush; a conflict
 * then means the instance standing back has just committed what it held, so it reads and carries on
 * rather than standing back too.
 */
const LEADING_STREAK = 2;
const STANDBY_QUIET_MS = 40;
const STANDBY_HOLD_MS = 1_000;
/** Weight of the latest commit in this instance's running estimate of how long a commit takes. */
const COMMIT_TIME_WEIGHT = 0.3;
/** Versions this instance wrote, remembered per key (a version it reads back is its own). */
const REMEMBER_WRITES = 10_000;

interface Waiting<S, I, O> {
  readonly intent: I;
  /** performance.now() when it was queued. */
  readonly at: number;
  resolve(value: Settled<S, O>): void;
  reject(err: unknown): void;
}

interface Line<S, I, O> {
  readonly waiting: Waiting<S, I, O>[];
  running: boolean;
  /** performance.now() of the latest request queued. */
  lastArrival: number;
  /** Ends the drain's current wait early (a full batch is waiting). */
  wake?: () => void;
}

export class Batches<S extends Stored, I, O> {
  private readonly lines = new Map<string, Line<S, I, O>>();
  private readonly cache = new Map<string, S>();
  /** For each key with a batch being decided or committed: the amendments made meanwhile. */
  private readonly amending = new Map<string, ((state: S) => S)[]>();
  /** When each key's last commit started (kept past its line, so the next arrival in a rush waits too). */
  private readonly lastCommit = new Map<string, number>();
  /** Until when each key counts as contended (another instance committing it too). */
  private readonly contendedUntil = new Map<string, number>();
  /** Commits of each key that succeeded since this instance last met a conflict on it. */
  private readonly streak = new Map<string, number>();
  /** When this instance last stood back for each key. */
  private readonly standingSince = new Map<string, number>();
  /** The version of each key this instance wrote last. */
  private readonly wrote = new Map<string, number>();
  /** This instance's running estimate of one commit's round trip (ms). */
  private commitMs: number | undefined;
  /** For benchmarks and tests: conflicts met, times this instance stood back, times it let another finish. */
  conflicts = 0;
  standbys = 0;
  waits = 0;

  constructor(
    private readonly aggregate: BatchedAggregate<S, I, O>,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
  ) {}

  /** Queues a change; settles once it is committed (or found to change nothing). Rejects with MissingAggregate for an unknown key. */
  submit(key: string, intent: I): Promise<Settled<S, O>> {
    return new Promise((resolve, reject) => {
      let line = this.lines.get(key);
      if (!line) {
        line = { waiting: [], running: false, lastArrival: 0 };
        this.lines.set(key, line);
      }
      const at = performance.now();
      line.lastArrival = at;
      line.waiting.push({ intent, at, resolve, reject });
      if (line.waiting.length >= this.aggregate.maxBatch) line.wake?.();
      if (!line.running) void this.drain(key, line);
    });
  }

  /** The aggregate as stored now (a fresh read), remembered unless this instance already holds a later version. */
  async read(key: string): Promise<S | undefined> {
    const loaded = await this.aggregate.load(key);
    if (loaded) this.remember(key, loaded);
    return loaded;
  }

  /** The aggregate as this instance last committed or read it, if it holds it. */
  held(key: string): S | undefined {
    return this.cache.get(key);
  }

  /** Holds `state` (just stored or read, with its ETag), unless this instance already holds a later version. */
  remember(key: string, state: S): void {
    // A read that started before a commit of this instance's and ended after it must not put the older state back.
    const cached = this.cache.get(key);
    if (!cached || this.aggregate.version(state) >= this.aggregate.version(cached)) this.cache.set(key, state);
  }

  /**
   * Changes what is held for the key without a commit (a part of the aggregate its ETag does not cover,
   * such as where its card was posted). A commit in flight applies it to what it holds afterwards too.
   */
  amend(key: string, change: (state: S) => S): void {
    const cached = this.cache.get(key);
    if (cached) this.cache.set(key, change(cached));
    this.amending.get(key)?.push(change);
  }

  forget(key: string): void {
    this.cache.delete(key);
  }

  /** Forgets every aggregate held (rows were rewritten outside this kernel, e.g. by an erasure): each is read again when next needed. */
  forgetAll(): void {
    this.cache.clear();
  }

  /** Whether changes to the key are waiting or being committed here. */
  busy(key: string): boolean {
    return this.lines.has(key);
  }

  private get maxBatch(): number {
    return this.aggregate.maxBatch;
  }

  private async drain(key: string, line: Line<S, I, O>): Promise<void> {
    line.running = true;
    try {
      while (line.waiting.length > 0) {
        if (this.contended(key)) {
          const due = line.waiting[0]!.at + STANDBY_HOLD_MS;
          // The other instance went first with a batch like the one this instance lost with; as the clicks
          // are shared out between instances, it probably holds about as many more as this one holds:
          // reading before it has committed them would only find it still committing.
          const theirs = line.waiting.length - this.maxBatch;
          const notBefore = Math.min(due, (this.standingSince.get(key) ?? 0) + (theirs > 0 ? this.toCommit(theirs) : 0));
          if (notBefore > performance.now()) await sleep(notBefore - performance.now());
          await this.until(line, { quietMs: STANDBY_QUIET_MS, due, rows: Infinity });
          // One fresh read (the other instance has moved the aggregate on), then everything held, back to
          // back (what arrives meanwhile waits for the next pause).
          this.cache.delete(key);
          const last = line.waiting[line.waiting.length - 1];
          while (line.waiting.includes(last!)) {
            this.lastCommit.set(key, performance.now());
            await this.commitBatch(key, line.waiting.splice(0, this.maxBatch), line);
          }
          continue;
        }
        await this.until(line, { quietMs: QUIET_MS, due: (this.lastCommit.get(key) ?? line.waiting[0]!.at) + COMMIT_GAP_MS, rows: this.maxBatch });
        const batch = line.waiting.splice(0, this.maxBatch);
        this.lastCommit.set(key, performance.now());
        await this.commitBatch(key, batch, line);
      }
    } finally {
      line.running = false;
      if (line.waiting.length === 0) {
        this.lines.delete(key);
        const at = this.lastCommit.get(key);
        setTimeout(() => {
          if (!this.lines.has(key) && this.lastCommit.get(key) === at) this.lastCommit.delete(key);
        }, COMMIT_GAP_MS).unref();
      } else void this.drain(key, line);
    }
  }

  /** Takes requests that arrived meanwhile into the batch, up to a full batch. */
  private topUp(batch: Waiting<S, I, O>[], line: Line<S, I, O> | undefined): void {
    if (line && batch.length < this.maxBatch) batch.push(...line.waiting.splice(0, this.maxBatch - batch.length));
  }

  private async commitBatch(key: string, batch: Waiting<S, I, O>[], line?: Line<S, I, O>): Promise<void> {
    const { name } = this.aggregate;
    const started = performance.now();
    /** The version this batch last waited on (another instance had more to commit). */
    let waitedOn: number | undefined;
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (attempt > 0 && performance.now() - started > RETRY_FOR_MS) {
          throw new Error(`${name} ${key}: gave up after ${attempt} conflicting attempts`);
        }
        const cached = this.cache.get(key);
        // Amendments from here on are not in `base`: they are applied again to what this commit leaves held.
        this.amending.set(key, []);
        const base = cached ?? (await this.aggregate.load(key));
        if (!base) {
          batch.forEach((w) => w.reject(new MissingAggregate(name, key)));
          return;
        }
        this.cache.set(key, base);
        if (!cached && line) {
          const pause = this.letThemFinish(key, base, batch, waitedOn);
          if (pause > 0) {
            // Another instance wrote this version and still has changes waiting: let it commit them, then read again.
            this.waits += 1;
            waitedOn = this.aggregate.version(base);
            this.cache.delete(key);
            await sleep(pause);
            this.topUp(batch, line);
            continue;
          }
          // Requests that arrived during the read go in this commit too.
          this.topUp(batch, line);
        }
        const step = await this.aggregate.decide(
          key,
          base,
          batch.map((w) => w.intent),
          () => line?.waiting.length ?? 0,
        );
        if (step.kind === 'same') {
          if (cached) {
            // Nothing to write, so no ETag will check the cached state: confirm it with a fresh read.
            this.cache.delete(key);
            continue;
          }
          batch.forEach((w, i) => w.resolve({ outcome: step.outcomes[i]!, state: base }));
          return;
        }
        if (step.kind === 'split' || step.rows.length + step.effects.length > TRANSACTION_ROWS) {
          if (batch.length === 1) throw new Error(`${name} ${key}: one change ${step.kind === 'split' ? step.why : `needs ${step.rows.length + step.effects.length} rows, more than a transaction holds`}`);
          const half = Math.ceil(batch.length / 2);
          await this.commitBatch(key, batch.slice(0, half));
          await this.commitBatch(key, batch.slice(half));
          return;
        }
        if (!step.rows[0]?.ifMatch) throw new Error(`${name} ${key}: the head row must be written under the ETag it was read with`);
        await step.prepare?.();
        const sent = performance.now();
        const done = await this.outbox.commit(this.aggregate.table, key, { rows: step.rows }, step.effects, step.stamp);
        this.timed(performance.now() - sent);
        if (done) {
          // What was amended while this commit was decided and written (`base` was amended, not `next`).
          const next = (this.amending.get(key) ?? []).reduce((state, change) => change(state), { ...step.next, etag: done.etags[0]! } as S);
          this.cache.set(key, next);
          this.wrote.set(key, this.aggregate.version(next));
          if (this.wrote.size > REMEMBER_WRITES) this.wrote.delete(this.wrote.keys().next().value!);
          this.streak.set(key, (this.streak.get(key) ?? 0) + 1);
          batch.forEach((w, i) => w.resolve({ outcome: step.outcomes[i]!, state: next, delivered: done.delivered }));
          step.committed?.();
          return;
        }
        // Someone else (another instance) changed the aggregate first: start again from what is stored,
        // after a short random pause, taking in the requests that arrived meanwhile.
        this.conflicts += 1;
        this.cache.delete(key);
        const standing = this.contended(key);
        const leading = (this.streak.get(key) ?? 0) >= LEADING_STREAK;
        this.streak.set(key, 0);
        if (!standing && !leading) {
          // Another instance is committing this key: stand back (the drain holds these until the rush pauses).
          this.contendedUntil.set(key, performance.now() + CONTENDED_FOR_MS);
          this.standingSince.set(key, performance.now());
          if (line) {
            this.standbys += 1;
            line.waiting.unshift(...batch);
            return;
          }
        }
        // Standing back already (or this instance has been committing the key and the other has just
        // committed what it held): read and try again now.
        await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt));
        this.topUp(batch, line);
      }
    } catch (err) {
      this.cache.delete(key);
      this.logger.error({ err: { message: (err as Error).message }, aggregate: name, key }, `${name} commit failed`);
      batch.forEach((w) => w.reject(err));
    } finally {
      this.amending.delete(key);
    }
  }

  /**
   * How long to wait before committing on `base` (just read): 0 unless another instance wrote it and
   * still has changes queued for the key (then about as long as it needs to commit them), and the
   * oldest request of the batch may still wait. Not again on a version this batch has already waited on:
   * the other instance did not commit meanwhile, so it is not about to.
   */
  private letThemFinish(key: string, base: S, batch: readonly Waiting<S, I, O>[], waitedOn: number | undefined): number {
    const version = this.aggregate.version(base);
    const queued = this.aggregate.queued(base);
    if (!queued || version === this.wrote.get(key) || version === waitedOn) return 0;
    const oldest = Math.min(...batch.map((w) => w.at));
    const left = oldest + STANDBY_HOLD_MS - performance.now();
    return Math.max(0, Math.min(left, this.toCommit(queued) + Math.random() * 10));
  }

  /**
   * About how long another instance takes to commit `queued` changes it holds: each full batch as soon
   * as its last commit is back, the rest within COMMIT_GAP_MS of its last commit (requests still trickle
   * in: the instance is answering the batch before), at this instance's commit time each.
   */
  private toCommit(queued: number): number {
    const full = Math.floor(queued / this.maxBatch);
    const rest = queued % this.maxBatch > 0 ? COMMIT_GAP_MS : 0;
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
  private async until(line: Line<S, I, O>, when: { quietMs: number; due: number; rows: number }): Promise<void> {
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

  private contended(key: string): boolean {
    const until = this.contendedUntil.get(key);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.contendedUntil.delete(key);
    this.standingSince.delete(key);
    return false;
  }
}

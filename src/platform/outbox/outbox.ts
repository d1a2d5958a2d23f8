import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { Activity, ConversationReference } from 'botbuilder';
import type { Clock } from '../clock';
import type { ConversationStore } from '../conversations/store';
import type { Deadline, DeadlineRegistry } from '../deadlines/types';
import { isErased } from '../identity';
import type { InTheirChat } from '../inventory';
import type { Logger } from '../logging';
import { ConnectorError, NoLongerHolds, type PersonAddress, type Proactive, type SentMessage } from '../proactive';
import { statusOf, type Tables } from '../storage/tables';
import { replaceRows, type RowWrite } from '../storage/transaction';
import type { Timers } from '../timers';
import { afterAttempt, DEFAULT_RETRY, describeStatus } from './delivery';

/**
 * The outbox: everything a change tells people is written with the change, in the same entity-group
 * transaction, and delivered from there by one path, whatever happens to the instance in between.
 *
 * Why: a message sent after a commit by the instance that committed is lost if that instance stops
 * between the two, and nothing repairs it. Here the commit is the promise to tell.
 *
 * A change, start to end:
 *  1. the capability's rule decides the next state and the change's effects (tell a person, post to
 *     a conversation, update a shared card, do something idempotent such as syncing a deadline);
 *     the capability turns them into messages (words in its cards.ts);
 *  2. before committing, a due-index pointer (a Timers row, kind `outbox`, due RECOVER_AFTER_MS from
 *     now) names the aggregate's partition: if this instance dies after the commit, any instance's
 *     scheduler finds the partition through it, never by scanning tables. One pointer serves every
 *     commit to that partition in the next RECOVER_AFTER_MS (kept in memory, rewritten when older, and
 *     looked at again after a commit that took long). A pointer that comes due when the partition owes
 *     nothing ends there: a partition costs the scheduler one run per burst of commits, not one a
 *     minute for ever;
 *  3. commit: the aggregate's rows and one row per effect (RowKey `out|…`) in one transaction under
 *     the head row's ETag. A card update's row is keyed by the card, so a newer commit replaces an
 *     unsent older version: a shared card is only ever updated to its latest state;
 *  4. deliver (in the background, on the committing instance: at once, or, while the instance is
 *     answering many people, once they have been answered, waiting at most YIELD_AT_MOST_MS): take the partition's lease
 *     (row `out|lease`, under its ETag, LEASE_MS, renewed while sending), read the pending effects in
 *     commit order (the first READ_AT_MOST of them: a send to thousands is not held in memory whole), send them (to one person or conversation in order; to different ones side by
 *     side) through Proactive (the one send gate and the one retry policy), delete each row as soon as
 *     it is delivered (under its ETag), read again until nothing is pending, give the lease back; a
 *     message's `then` that fails turns its row into that step alone (ThenStep): never sent again,
 *     the step is retried like a send, and later rows to the same target wait behind it;
 *  5. a send that fails for a moment and would wait longer than Proactive waits is kept on the row
 *     (attempts, notBefore) and the pointer is set for then; one that fails for good (403, 404), or
 *     after DEFAULT_RETRY.maxAttempts, stays as a `failed` row with the reason (the poison path,
 *     purged with the delivery logs) and is logged.
 *
 * What a crash can do: an effect sent but not yet deleted when the process dies is sent again by
 * whoever drains the partition next (a duplicate, only for sends in flight at the crash). An effect
 * committed and not sent is sent within RECOVER_AFTER_MS plus one scheduler tick by any instance
 * (after a restart, or at once on another running instance). Nothing committed is lost.
 */

/** An aggregate's rows for a commit: the SDK's actions, or whole-row writes (transaction.ts, for a rush's many small commits). */
export type Rows = readonly TransactionAction[] | { readonly rows: readonly RowWrite[] };

export const OUTBOX_TIMER = 'outbox';
const PREFIX = 'out|';
const LEASE_ROW = 'out|lease';
/** A shared card's row is keyed by the card, not stamped (see effectEntity). */
const CARD_PREFIX = 'out|card|';
/** How long after a commit a pointer becomes due, if nobody has delivered by then. */
export const RECOVER_AFTER_MS = 60_000;
/** A pointer is rewritten when the one written before would be due sooner than this. */
const POINTER_MARGIN_MS = 20_000;
const LEASE_MS = 60_000;
/** Rounds (read what is owed, send it) in one drain before it leaves the rest to the pointer. */
const MAX_ROUNDS = 20_000;
/** How long an instance whose commit found the lease held keeps asking for it, before leaving it to the pointer. */
const HELD_RETRY_MS = 10_000;
/** Targets sent to side by side in one drain (each in order). */
const PARALLEL_TARGETS = 64;
/** A string property holds at most 64 KiB (32K UTF-16 units): bodies are split. */
const CHUNK = 30_000;
const CHUNKS = ['body', 'body2', 'body3', 'body4', 'body5', 'body6'] as const;
/** Recipients of a `tellMany` made into single `tell` rows per transaction (with the cursor's row: 100). */
const EXPAND_AT_MOST = 99;
/**
 * While this many people or more are waiting for the instance's answer (a rush), a delivery waits
 * for them to be answered first: its sends only start then (Teams takes them at the app's rate
 * anyway), and reading, rendering and sending would take the processor from the answers. Fewer than
 * this (one person's turn that awaits its own change's delivery) never waits.
 */
const ANSWERING_MANY = 8;
/** The longest a delivery waits for the answers, however busy the instance stays. */
const YIELD_AT_MOST_MS = 3_000;
const YIELD_STEP_MS = 25;
/**
 * Owed effects a drain reads (and holds, parsed) per round: the first ones in commit order, so order
 * per target holds. An announcement to 5,000 is 5,000 rows with a card of up to ~28 KB each (~45 KB
 * of heap each once parsed): all at once would be ~230 MB for as long as the round takes.
 */
const READ_AT_MOST = 250;

type Reference = Partial<ConversationReference>;
type Json = unknown;

/** What an effect does once committed. */
export type Effect =
  /**
   * A personal message, in the person's 1:1 chat (opened with their Teams id if need be; `via` is any
   * conversation in their tenant). `still` names a check the capability registered (`outbox.onCheck`):
   * asked when the message is taken up and again once its turn at the send gate has come (right before
   * it leaves: it may have waited there for seconds, or for Teams to open the chat), and when it says
   * the message no longer holds (the person cancelled the place it confirms), the message is dropped.
   */
  | { readonly kind: 'tell'; readonly to: PersonAddress; readonly via?: Reference; readonly activity: Partial<Activity>; readonly then?: Then; readonly still?: Then; readonly record?: Recorded }
  /**
   * One message to many people (a change everyone signed up hears of): stored as one row, so a change
   * that tells hundreds is still one small transaction; delivered by turning it into one `tell` row per
   * person, EXPAND_AT_MOST at a time, each step in one transaction with the cursor (no one told twice,
   * no one left out, across crashes).
   */
  | { readonly kind: 'tellMany'; readonly to: readonly PersonAddress[]; readonly via?: Reference; readonly activity: Partial<Activity>; readonly still?: Then }
  /** A new message in a conversation the bot is in (by its stored reference, or the one given); `still` and `record` as for `tell`. */
  | { readonly kind: 'post'; readonly conversationId: string; readonly reference?: Reference; readonly activity: Partial<Activity>; readonly then?: Then; readonly still?: Then; readonly record?: Recorded }
  /**
   * A shared card's new state: replaces the message `activityId`; only the latest committed state is
   * sent. Either the card itself (`activity`), or `render`: a renderer the capability registered
   * (`outbox.onRender`) makes it from the latest state when its turn comes, so a rush renders the card
   * once per update sent rather than once per commit, and not in the clicks' turns.
   */
  | { readonly kind: 'update'; readonly reference: Reference; readonly activityId: string; readonly activity?: Partial<Activity>; readonly render?: Then }
  /** The deadline registry learns what is now awaited, done or no longer needed (idempotent). */
  | { readonly kind: 'deadlines'; readonly register: readonly Deadline[]; readonly complete: readonly string[]; readonly cancel: readonly string[] }
  /** Something idempotent the capability does after the commit, by a handler it registered. */
  | { readonly kind: 'do'; readonly handler: string; readonly data: Json };

/**
 * A handler the capability registered, called with `data` and where the message went, after it was
 * delivered. If it throws, it is called again later (the message is not sent again), under the one
 * retry policy: it must be idempotent.
 */
export interface Then {
  readonly handler: string;
  readonly data: Json;
}

/**
 * The outbox's own step (no capability commits it): a delivered message whose `then` failed. Its row
 * becomes this step, in the same place (so later rows to the same target still wait behind it) and
 * for the same target, and the drain calls the `then` again with where the message went, under the
 * one retry policy, until it succeeds or is given up (a `failed` row). The message is not sent again.
 */
interface ThenStep {
  readonly kind: 'then';
  /** The delivered message's target (see targetKey). */
  readonly target: string;
  readonly then: Then;
  readonly sent: SentMessage | undefined;
}

/** What an outbox row holds: an effect a change committed, or the outbox's own follow-up step. */
type Stored = Effect | ThenStep;

/**
 * Where a message's outcome is kept: a row of the aggregate in the same partition (`row`, its RowKey),
 * into which OUTCOME_FIELDS are merged in the same transaction that settles the message: sent (with
 * its activity id), failed (with Teams' status and the reason; the row is then the poison record and
 * the effect's own row goes), or cancelled (its `still` said it no longer holds). A message to
 * thousands (an announcement) is reported from these rows. `notify` names a handler told afterwards,
 * with `{ partitionKey, row }` (e.g. to refresh a report); it may be called more than once.
 */
export interface Recorded {
  readonly row: string;
  readonly notify?: string;
  /**
   * The capability must hear of the outcome even across a crash (it acts on it: proposals share a card
   * elsewhere): the notify is written as a step in the transaction that records the outcome, and
   * removed once it has run. Without it the notify is called after the outcome is stored, and a crash
   * in between skips it (fine for a report that is refreshed anyway).
   */
  readonly durable?: boolean;
}

/** What `record` writes on the aggregate's row. */
export interface Outcome {
  readonly state: 'sent' | 'failed' | 'cancelled';
  readonly attempts: number;
  /** Teams' last answer (0: none, or not sent). */
  readonly lastStatus: number;
  readonly reason: string;
  readonly activityId: string;
  /** ISO time it was settled. */
  readonly doneAt: string;
}

export type Handler = (data: Json, sent?: SentMessage) => Promise<void>;
/** Whether a message still holds (see `still`): `to` is the person a `tell` goes to (none for a `post`). */
export type Check = (data: Json, to?: PersonAddress) => Promise<boolean>;
/** A shared card as it should look now (see `render`); undefined: nothing to update. */
export type Renderer = (data: Json) => Promise<Partial<Activity> | undefined>;

export interface OutboxDeps {
  readonly tables: Tables;
  readonly timers: Timers;
  readonly proactive: Proactive;
  readonly conversations: ConversationStore;
  readonly deadlines: DeadlineRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * How many people the instance is answering right now (turns in flight): deliveries wait while
   * there are many (see ANSWERING_MANY). `yieldAtMostMs` (tests) replaces YIELD_AT_MOST_MS.
   */
  readonly answering?: { readonly turns: () => number; readonly yieldAtMostMs?: number };
}

export interface OutboxStats {
  delivered: number;
  /** Messages that no longer held when their turn came (`still`). */
  dropped: number;
  failed: number;
  deferred: number;
  drains: number;
}

interface Pending {
  readonly rowKey: string;
  readonly etag: string;
  readonly effect: Stored;
  readonly attempts: number;
  readonly notBefore: number;
  /** A `tellMany`: how many of its people were made into `tell` rows already. */
  readonly offset: number;
}

class Halted extends Error {}

export class Outbox {
  readonly stats: OutboxStats = { delivered: 0, failed: 0, deferred: 0, drains: 0, dropped: 0 };
  private readonly handlers = new Map<string, Handler>();
  private readonly checks = new Map<string, Check>();
  private readonly renderers = new Map<string, Renderer>();
  private readonly pointers = new Map<string, number>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly holder = randomBytes(6).toString('hex');
  private halted = false;
  private paused = false;

  constructor(private readonly deps: OutboxDeps) {}

  /** Registers what a `do` effect or a `then` calls; names are the capability's (e.g. `proposals.deadlines`). */
  on(name: string, handler: Handler): void {
    if (this.handlers.has(name)) throw new Error(`outbox handler ${name} registered twice`);
    this.handlers.set(name, handler);
  }

  /** Registers a renderer an `update` names in `render`. */
  onRender(name: string, renderer: Renderer): void {
    if (this.renderers.has(name)) throw new Error(`outbox renderer ${name} registered twice`);
    this.renderers.set(name, renderer);
  }

  /** Registers a check a `tell` names in `still`. */
  onCheck(name: string, check: Check): void {
    if (this.checks.has(name)) throw new Error(`outbox check ${name} registered twice`);
    this.checks.set(name, check);
  }

  /**
   * Commits `actions` (the aggregate's rows, the head under its ETag) and one row per effect in one
   * transaction in `partitionKey` of `table`, then delivers in the background. `stamp` orders this
   * commit's effects after earlier ones (the aggregate's revision, zero-padded). Returns false when
   * someone else committed first (412, 409 or 404: nothing was written); other errors are thrown.
   * `delivered` settles when this instance has delivered what it could (tests and turns that want
   * the messages out before they answer may await it).
   */
  async commit(table: string, partitionKey: string, actions: Rows, effects: readonly Effect[], stamp: string): Promise<{ delivered: Promise<void>; etags: string[] } | false> {
    this.check();
    const rows = effects.map((effect, i) => effectEntity(partitionKey, effect, stamp, i, this.deps.clock.now()));
    if (rows.length > 0) await this.point(table, partitionKey);
    this.check();
    const client = this.deps.tables.client(table);
    let etags: string[] = [];
    try {
      if ('rows' in actions) {
        // Whole-row writes (the TeachMeet rush's own transaction format); effect rows are inserted or replaced.
        etags = await replaceRows(client, [...actions.rows, ...rows.map(({ partitionKey: pk, rowKey, ...values }): RowWrite => ({ partitionKey: pk, rowKey, values }))]);
      } else {
        await client.submitTransaction([...actions, ...rows.map((row): TransactionAction => ['upsert', row, 'Replace'])]);
      }
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409 || status === 404) return false;
      throw err;
    }
    if (rows.length > 0 && !this.halted) {
      // A commit that took long: the pointer it counted on may have come due, and found nothing, before it landed.
      await this.point(table, partitionKey).catch((err) => this.deps.logger.warn({ err: { message: (err as Error).message }, table }, 'outbox: could not renew the pointer after a slow commit'));
    }
    return { delivered: rows.length > 0 ? this.deliver(table, partitionKey) : Promise.resolve(), etags };
  }

  /**
   * The greatest stamp among the effects `partitionKey` still owes (undefined: none owed), read by
   * RowKey only. For a capability with no revision for the partition: a stamp made greater than this
   * just before committing (a hybrid logical clock) sorts a change that followed another (it read the
   * other's result) after it, whatever the instances' clocks say; effects already delivered no longer
   * matter for order. Card rows are keyed by the card and carry no stamp.
   */
  async latestStamp(table: string, partitionKey: string): Promise<string | undefined> {
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${PREFIX} and RowKey lt ${'out}'} and state eq 'pending'`;
    let latest: string | undefined;
    for await (const row of this.deps.tables.client(table).listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      const key = String(row.rowKey);
      if (key.startsWith(CARD_PREFIX)) continue;
      const stamp = key.slice(PREFIX.length).split('|')[0]!;
      if (latest === undefined || stamp > latest) latest = stamp;
    }
    return latest;
  }

  /**
   * The timer handler: a pointer came due. When the partition owes nothing (it was delivered, the
   * usual case), the pointer has done its work and ends here. Otherwise a new pointer is set first (so
   * a crash of this instance while delivering still leaves one), then the partition is delivered in the
   * background: the scheduler's tick (and every other timer behind it) does not wait for a long delivery.
   */
  async recover(key: string): Promise<void> {
    const bar = key.indexOf('|');
    if (bar <= 0) return;
    const table = key.slice(0, bar);
    const partitionKey = key.slice(bar + 1);
    this.pointers.delete(key);
    if ((await owedIn(this.deps.tables.client(table), partitionKey)) === 0) return;
    await this.point(table, partitionKey);
    void this.deliver(table, partitionKey);
  }

  /**
   * Delivers what a partition owes, unless another instance holds its lease (then the pointer is set
   * for when that lease runs out). Never throws: failures are logged and left to the pointer.
   */
  deliver(table: string, partitionKey: string): Promise<void> {
    const key = `${table}|${partitionKey}`;
    const running = this.draining.get(key);
    if (running) {
      this.again.add(key);
      return running;
    }
    const run = (async () => {
      await this.afterAnswers();
      do {
        this.again.delete(key);
        await this.drain(table, partitionKey).catch((err) => {
          if (err instanceof Halted) return;
          this.deps.logger.warn({ err: { message: (err as Error).message }, table }, 'outbox: delivery interrupted; the pointer will bring it back');
        });
      } while (this.again.has(key) && !this.halted);
    })().finally(() => this.draining.delete(key));
    this.draining.set(key, run);
    return run;
  }

  /**
   * While the instance is answering many people, until they have been answered (at most
   * YIELD_AT_MOST_MS, in real time: it is about this process's share of the processor).
   */
  private async afterAnswers(): Promise<void> {
    const answering = this.deps.answering;
    if (!answering || answering.turns() < ANSWERING_MANY) return;
    const until = performance.now() + (answering.yieldAtMostMs ?? YIELD_AT_MOST_MS);
    while (answering.turns() >= ANSWERING_MANY && performance.now() < until && !this.halted) await sleep(YIELD_STEP_MS);
  }

  /** Waits for every delivery under way on this instance. */
  async settle(): Promise<void> {
    while (this.draining.size > 0) await Promise.allSettled([...this.draining.values()]);
  }

  /** For tests: behave as if the process had died this instant. Nothing more is sent or written. */
  halt(): void {
    this.halted = true;
  }

  /** For tests: commit, but deliver nothing (a crash right after the commit); `halt()` then makes it final. */
  pause(): void {
    this.paused = true;
  }

  private check(): void {
    if (this.halted) throw new Halted('halted');
  }

  /** Step 2: the due-index pointer, written before the commit it covers. */
  private async point(table: string, partitionKey: string): Promise<void> {
    const key = `${table}|${partitionKey}`;
    const now = this.deps.clock.now().getTime();
    if ((this.pointers.get(key) ?? 0) - now >= POINTER_MARGIN_MS) return;
    const due = now + RECOVER_AFTER_MS;
    await this.deps.timers.schedule(OUTBOX_TIMER, key, new Date(due));
    this.pointers.set(key, due);
    if (this.pointers.size > 10_000) this.pointers.delete(this.pointers.keys().next().value as string);
  }

  private async drain(table: string, partitionKey: string): Promise<void> {
    if (this.paused) return;
    this.check();
    const client = this.deps.tables.client(table);
    let lease = await this.takeLease(client, partitionKey);
    if (lease.held) {
      // Someone else is delivering. This instance asks again for a while: the holder may finish just
      // before this commit's effects were written, and they should not wait for the pointer. (This
      // commit's own pointer covers them if both stop.) Giving up, it sets the pointer for when the
      // holder's lease ends.
      const giveUpAt = Date.now() + HELD_RETRY_MS;
      while (lease.held && Date.now() < giveUpAt) {
        await sleep(100 + Math.floor(Math.random() * 200));
        this.check();
        lease = await this.takeLease(client, partitionKey);
      }
      if (lease.held) {
        await this.deps.timers.schedule(OUTBOX_TIMER, `${table}|${partitionKey}`, new Date(lease.until + 1_000));
        return;
      }
    }
    this.stats.drains += 1;
    const held = new HeldLease(lease.etag, () => this.deps.clock.now().getTime(), (etag) => this.renewLease(client, partitionKey, etag));
    const sending = new Sending(PARALLEL_TARGETS, (group) => this.sendGroup(client, partitionKey, group, held));
    try {
      for (let round = 0; ; round += 1) {
        this.check();
        held.ensure();
        sending.rethrow();
        const read = sending.reading();
        const pending = await this.pending(client, partitionKey);
        if (round >= MAX_ROUNDS && pending.length > 0) {
          // Not finished in this drain (a very long one): the pointer brings it back.
          await this.deps.timers.schedule(OUTBOX_TIMER, `${table}|${partitionKey}`, new Date(this.deps.clock.now().getTime() + 1_000));
          return;
        }
        const added = sending.add(dueInOrder(pending, this.deps.clock.now().getTime()), read);
        if (sending.idle) {
          // Nothing on its way and nothing to send now: what is left waits for its time (the pointer).
          const later = Math.min(...pending.map((p) => p.notBefore).filter((t) => t > this.deps.clock.now().getTime()));
          if (Number.isFinite(later)) await this.deps.timers.schedule(OUTBOX_TIMER, `${table}|${partitionKey}`, new Date(later));
          return;
        }
        // Read again once the sends waiting for a turn run low (so the gate always has the next ones),
        // or, when this read found nothing new, once something on its way has ended.
        await sending.progress(added === 0 ? 'one' : 'low');
      }
    } finally {
      // Given back only once every send of this drain has ended.
      await sending.stop();
      await held.stop();
      if (!this.halted && !held.lost) await this.releaseLease(client, partitionKey, held.etag);
    }
  }

  /** One target's effects, in commit order; the first that is kept for later holds the rest back. */
  private async sendGroup(client: TableClient, partitionKey: string, group: readonly Pending[], held: HeldLease): Promise<void> {
    for (const item of group) {
      this.check();
      held.ensure();
      if ((await this.sendOne(client, partitionKey, item)) !== 'done') return;
    }
  }

  private async sendOne(client: TableClient, partitionKey: string, item: Pending): Promise<'done' | 'kept'> {
    const { effect } = item;
    if (effect.kind === 'tellMany') return this.expand(client, partitionKey, item);
    const dropped = async (): Promise<'done' | 'kept'> => {
      this.stats.dropped += 1;
      return this.settled(client, partitionKey, item, this.outcome('cancelled', item.attempts, 0, 'no longer to be sent'));
    };
    // To someone erased (a record that outlived them names their pseudonym): nobody to reach, nothing to ask Teams.
    if (toErased(effect)) return dropped();
    // Asked now, and again when the message's turn to leave comes (a send may wait seconds at the gate).
    const still = (effect.kind === 'tell' || effect.kind === 'post') && effect.still ? effect.still : undefined;
    const holds = still ? () => this.stillHolds(still, effect.kind === 'tell' ? effect.to : undefined) : undefined;
    if (holds && !(await holds())) return dropped();
    let sent: SentMessage | undefined;
    try {
      sent = await this.perform(effect, holds);
      this.check();
    } catch (err) {
      if (err instanceof Halted || this.halted) throw new Halted('halted');
      if (err instanceof NoLongerHolds) return dropped();
      return this.failed(client, partitionKey, item, err);
    }
    if (effect.kind === 'then') {
      await this.settled(client, partitionKey, item, this.outcome('sent', item.attempts + 1, 0, '')); // its row goes
      return 'done';
    }
    const outcome = this.outcome('sent', item.attempts + (sent?.attempts ?? 1), 201, '', sent?.activityId ?? '');
    this.stats.delivered += 1;
    const then = effect.kind === 'tell' || effect.kind === 'post' ? effect.then : undefined;
    const handler = then ? this.handlers.get(then.handler) : undefined;
    if (then && handler) {
      // Delivered, so never sent again: if the step fails, it is kept on the message's row and retried by the drain.
      const kept = await this.runStep(partitionKey, { kind: 'then', target: targetKey(effect), then, sent }, item.rowKey, () => handler(then.data, sent));
      if (kept) {
        await this.settled(client, partitionKey, item, outcome, kept);
        return 'kept'; // later rows to this target wait behind the step
      }
    }
    return this.settled(client, partitionKey, item, outcome);
  }

  private outcome(state: Outcome['state'], attempts: number, lastStatus: number, reason: string, activityId = ''): Outcome {
    return { state, attempts, lastStatus, reason, activityId, doneAt: this.deps.clock.now().toISOString() };
  }

  /**
   * A row delivered (or no longer owed, or failed for good with a `record`) goes at once, under its
   * ETag: a card's newer state committed meanwhile stays, to be sent. With a `record`, the outcome is
   * merged into the aggregate's row in the same transaction (if that row is gone, erased, the
   * effect's row goes alone). `next`: the row is not deleted but becomes this (a step still owed
   * after the message, see ThenStep), under its ETag. A `notify` that fails is kept as a step of its
   * own right after the message's row ('kept': later rows to the target wait behind it) and tried again
   * under the one retry policy, as a failed `then` is.
   */
  private async settled(client: TableClient, partitionKey: string, item: Pending, outcome: Outcome, next?: Record<string, unknown> & { partitionKey: string; rowKey: string }): Promise<'done' | 'kept'> {
    this.check();
    const record = item.effect.kind === 'tell' || item.effect.kind === 'post' ? item.effect.record : undefined;
    const ignoreGone = (err: unknown) => {
      if (statusOf(err) !== 404 && statusOf(err) !== 412) throw err;
    };
    const settle = (): Promise<unknown> => (next ? client.updateEntity(next, 'Replace', { etag: item.etag }) : client.deleteEntity(partitionKey, item.rowKey, { etag: item.etag }));
    if (record) {
      const stepKey = `${item.rowKey}|notify`;
      const step: ThenStep | undefined = record.notify ? { kind: 'then', target: targetKey(item.effect), then: { handler: record.notify, data: { partitionKey, row: record.row } }, sent: undefined } : undefined;
      const owed = step && record.durable ? effectEntity(partitionKey, step, '', 0, this.deps.clock.now(), undefined, stepKey) : undefined;
      const recorded = await client
        .submitTransaction([
          // Unconditional: a message's row is its own (only a card's row is ever replaced by a newer one).
          next ? ['update', next, 'Replace'] : ['delete', { partitionKey, rowKey: item.rowKey }],
          ['update', { partitionKey, rowKey: record.row, ...outcome }, 'Merge'],
          ...(owed ? [['upsert', owed, 'Replace'] as TransactionAction] : []),
        ])
        .then(() => true, (err: unknown) => (ignoreGone(err), false));
      if (!recorded) await settle().catch(ignoreGone);
      const notify = step ? this.handlers.get(step.then.handler) : undefined;
      if (!step || !notify || (owed && !recorded)) return 'done'; // (a durable notify about a row that is gone, erased: nothing to tell)
      const kept = await this.runStep(partitionKey, step, stepKey, () => notify(step.then.data));
      if (kept) {
        await client.upsertEntity(kept, 'Replace');
        return 'kept';
      }
      if (owed) await client.deleteEntity(partitionKey, stepKey).catch(ignoreGone);
      return 'done';
    }
    await settle().catch(ignoreGone);
    return 'done';
  }

  /**
   * Runs a step after a delivered message (its `then`, or its record's `notify`). Undefined when it ran;
   * when it threw, the row (at `rowKey`) that keeps it to be tried again under the one retry policy.
   */
  private async runStep(partitionKey: string, step: ThenStep, rowKey: string, run: () => Promise<void>): Promise<(Record<string, string | number> & { partitionKey: string; rowKey: string }) | undefined> {
    try {
      await run();
      return undefined;
    } catch (err) {
      if (err instanceof Halted || this.halted) throw new Halted('halted');
      const { retry, values } = this.verdict(0, err, step);
      if (retry) this.deps.logger.warn({ err: { message: (err as Error).message }, handler: step.then.handler }, 'outbox: a step after a delivered message failed; it is kept and tried again');
      return { ...effectEntity(partitionKey, step, '', 0, this.deps.clock.now(), undefined, rowKey), ...values };
    }
  }

  private async perform(effect: Stored, still?: () => Promise<boolean>): Promise<SentMessage | undefined> {
    const { proactive } = this.deps;
    switch (effect.kind) {
      case 'tell':
        return proactive.reachPerson(effect.to, effect.via, effect.activity, still);
      case 'tellMany':
        throw new Error('tellMany is expanded, not performed');
      case 'post': {
        const reference = effect.reference ?? (await this.deps.conversations.conversation(effect.conversationId))?.reference;
        if (!reference) throw new ConnectorError(404, 'NoConversation', 'the bot has no stored reference for that conversation');
        return proactive.post(reference, effect.activity, still);
      }
      case 'update': {
        const renderer = effect.render ? this.renderers.get(effect.render.handler) : undefined;
        if (effect.render && !renderer) throw new ConnectorError(0, 'NoRenderer', `no outbox renderer ${effect.render.handler} in this instance`);
        const activity = renderer ? await renderer(effect.render!.data) : effect.activity;
        if (activity) await proactive.update(effect.reference, effect.activityId, activity);
        return undefined;
      }
      case 'deadlines':
        for (const item of effect.register) await this.deps.deadlines.register(item);
        for (const id of effect.complete) await this.deps.deadlines.complete(id);
        for (const id of effect.cancel) await this.deps.deadlines.cancel(id);
        return undefined;
      case 'do':
      case 'then': {
        const [name, data] = effect.kind === 'do' ? [effect.handler, effect.data] : [effect.then.handler, effect.then.data];
        const handler = this.handlers.get(name);
        if (!handler) throw new ConnectorError(0, 'NoHandler', `no outbox handler ${name} in this instance`);
        await handler(data, effect.kind === 'then' ? effect.sent : undefined);
        return undefined;
      }
    }
  }

  /** Asks the capability whether a message still holds; one it cannot answer (no check here, or it failed) is sent. */
  private async stillHolds(still: Then, to: PersonAddress | undefined): Promise<boolean> {
    const check = this.checks.get(still.handler);
    if (!check) return true;
    try {
      return await check(still.data, to);
    } catch (err) {
      this.deps.logger.warn({ err: { message: (err as Error).message }, check: still.handler }, 'outbox: a check failed; sending anyway');
      return true;
    }
  }

  /**
   * A `tellMany` becomes one `tell` row per person (keyed after it, so they keep its place in commit
   * order), EXPAND_AT_MOST at a time: each step writes the rows and the shortened list (or deletes it)
   * in one transaction under its ETag, so a crash between steps neither repeats nor skips anyone.
   * Returns 'kept': the new rows are sent in the drain's next round.
   */
  private async expand(client: TableClient, partitionKey: string, item: Pending): Promise<'kept'> {
    if (item.effect.kind !== 'tellMany') return 'kept';
    const { via, activity, still } = item.effect;
    // Someone erased gets no row of their own (see toErased).
    const to = item.effect.to.filter((person) => !isErased(person.aadObjectId));
    const { offset } = item;
    const now = this.deps.clock.now();
    const step = to.slice(0, EXPAND_AT_MOST);
    const rest = to.slice(EXPAND_AT_MOST);
    const tells = step.map((person, i) => effectEntity(partitionKey, { kind: 'tell', to: person, via, activity, still }, item.rowKey.slice(PREFIX.length), offset + i, now, item.rowKey));
    const cursor: TransactionAction =
      rest.length > 0
        ? ['update', { ...effectEntity(partitionKey, { ...item.effect, to: rest }, '', 0, now, undefined, item.rowKey), offset: offset + step.length }, 'Replace', { etag: item.etag }]
        : ['update', { partitionKey, rowKey: item.rowKey, state: 'expanded' }, 'Replace', { etag: item.etag }];
    try {
      await client.submitTransaction([cursor, ...tells.map((row): TransactionAction => ['upsert', row, 'Replace'])]);
      this.stats.dropped += item.effect.to.length - to.length;
    } catch (err) {
      if (statusOf(err) !== 412 && statusOf(err) !== 404) throw err;
    }
    if (rest.length === 0) await client.deleteEntity(partitionKey, item.rowKey).catch(() => undefined);
    return 'kept';
  }

  /**
   * Step 5, decided by the one retry policy: after `attempts` failed tries and now `err`, what the row
   * records (kept for later, with notBefore; or failed for good, or after too many tries).
   */
  private verdict(attempts: number, err: unknown, effect: Stored): { retry: boolean; status: number; values: Record<string, string | number> } {
    const status = err instanceof ConnectorError ? err.statusCode : 0;
    const code = err instanceof ConnectorError ? err.code : undefined;
    // Every request counts against the one policy, those Proactive made in memory included.
    const attempt = attempts + (err instanceof ConnectorError ? Math.max(1, err.attempts) : 1);
    const now = this.deps.clock.now().getTime();
    // A request that can never go (nowhere to send it, no handler for it here) is not worth another try.
    const hopeless = code === 'NoServiceUrl' || code === 'NoConversation' || code === 'NoHandler' || code === 'NoRenderer';
    const retryAfterMs = err instanceof ConnectorError ? err.retryAfterMs : undefined;
    const next = hopeless ? { kind: 'failed' as const, reason: describeStatus(status, code) } : afterAttempt(attempt, status === 0 && !(err instanceof ConnectorError) ? 500 : status, retryAfterMs, Math.random(), DEFAULT_RETRY, code);
    const reason = err instanceof ConnectorError ? describeStatus(status, code) : (err as Error).message;
    if (next.kind === 'retry') {
      this.stats.deferred += 1;
      return { retry: true, status, values: { attempts: attempt, lastStatus: status, reason: `${reason}; retrying`, notBefore: now + next.delayMs } };
    }
    const values = { attempts: attempt, lastStatus: status, reason: next.kind === 'sent' ? reason : next.reason, state: 'failed', doneAt: new Date(now).toISOString() };
    this.stats.failed += 1;
    this.deps.logger.warn({ kind: effect.kind, status, reason: values.reason }, effect.kind === 'then' ? 'outbox: a step after a delivered message was given up' : 'outbox: a message could not be delivered');
    return { retry: false, status, values };
  }

  /** Step 5: kept for later (a passing failure) or recorded as failed (for good, or too many tries). */
  private async failed(client: TableClient, partitionKey: string, item: Pending, err: unknown): Promise<'kept'> {
    const { retry, status, values } = this.verdict(item.attempts, err, item.effect);
    if (!retry && (item.effect.kind === 'tell' || item.effect.kind === 'post') && item.effect.record) {
      await this.settled(client, partitionKey, item, this.outcome('failed', Number(values.attempts), status, String(values.reason)));
      return 'kept'; // nothing later to this target goes before the step a failed notify may have left
    }
    await client.updateEntity({ partitionKey, rowKey: item.rowKey, ...values }, 'Merge', { etag: item.etag }).catch((e) => {
      // Replaced by a newer version (a card) or removed (erasure): nothing to record.
      if (statusOf(e) !== 412 && statusOf(e) !== 404) throw e;
    });
    return 'kept';
  }

  private async pending(client: TableClient, partitionKey: string): Promise<Pending[]> {
    const out: Pending[] = [];
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${PREFIX} and RowKey lt ${'out}'} and state eq 'pending'`;
    // In key (commit) order, a page of READ_AT_MOST at a time (not the service's 1,000): the rest are read in a later round.
    pages: for await (const page of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: READ_AT_MOST })) {
      for (const row of page) {
        const effect = parseEffect(row);
        if (!effect) {
          this.deps.logger.warn({ table: client.tableName }, 'outbox: an effect row does not parse; left alone');
          continue;
        }
        out.push({ rowKey: String(row.rowKey), etag: String(row.etag), effect, attempts: Number(row.attempts ?? 0), notBefore: Number(row.notBefore ?? 0), offset: Number(row.offset ?? 0) });
        if (out.length >= READ_AT_MOST) break pages;
      }
    }
    return out.sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0));
  }

  private async takeLease(client: TableClient, partitionKey: string): Promise<{ held: false; etag: string } | { held: true; until: number }> {
    const now = this.deps.clock.now().getTime();
    const entity = { partitionKey, rowKey: LEASE_ROW, holder: this.holder, until: now + LEASE_MS };
    try {
      const row = await client.getEntity<{ holder?: unknown; until?: unknown }>(partitionKey, LEASE_ROW);
      const until = typeof row.until === 'number' ? row.until : 0;
      if (row.holder && row.holder !== this.holder && until > now) return { held: true, until };
      const updated = await client.updateEntity(entity, 'Replace', { etag: row.etag });
      return { held: false, etag: updated.etag ?? '' };
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409) return { held: true, until: now + LEASE_MS };
      if (status !== 404) throw err;
    }
    try {
      return { held: false, etag: (await client.createEntity(entity)).etag ?? '' };
    } catch (err) {
      if (statusOf(err) === 409) return { held: true, until: now + LEASE_MS };
      throw err;
    }
  }

  private async renewLease(client: TableClient, partitionKey: string, etag: string): Promise<string> {
    const updated = await client.updateEntity({ partitionKey, rowKey: LEASE_ROW, holder: this.holder, until: this.deps.clock.now().getTime() + LEASE_MS }, 'Replace', { etag });
    return updated.etag ?? '';
  }

  /** Gives the lease back by deleting its row (under its ETag): a delivered partition keeps no outbox rows. */
  private async releaseLease(client: TableClient, partitionKey: string, etag: string): Promise<void> {
    await client.deleteEntity(partitionKey, LEASE_ROW, { etag }).catch((err) => {
      if (statusOf(err) !== 412 && statusOf(err) !== 404) this.deps.logger.warn({ status: statusOf(err) }, 'outbox: could not give a lease back; it runs out by itself');
    });
  }
}

/**
 * An outbox row with one person taken out, for erasure: 'delete' when the row is a message to them
 * alone (or to nobody else left), or one whose outcome is recorded on a row that is about them
 * (`recordedAbout`: an announcement posted to their personal chat names neither their id nor their
 * name, but its recipient row does); the row without them when it is a message to many that lists
 * them; and the row as it was otherwise (whatever names them in its text is then scrubbed like any row).
 */
export function withoutRecipient(row: Readonly<Record<string, unknown>>, aadObjectId: string, recordedAbout: (rowKey: string) => boolean = () => false, inTheirChat: InTheirChat = () => false): Record<string, unknown> | 'delete' {
  const aad = aadObjectId.toLowerCase();
  const effect = parseEffect(row as Record<string, unknown>);
  if (!effect) return { ...row };
  if ((effect.kind === 'tell' || effect.kind === 'post') && effect.record && recordedAbout(effect.record.row)) return 'delete';
  if (effect.kind === 'tell') return effect.to.aadObjectId.toLowerCase() === aad ? 'delete' : { ...row };
  // A post or a card update in their personal chat goes; one in a channel or group chat is for everyone
  // there and stays (its conversation reference may name them as who posted it: erasure scrubs that).
  if (effect.kind === 'post') return inTheirChat(effect.conversationId) || inTheirChat(effect.reference?.conversation?.id) ? 'delete' : { ...row };
  if (effect.kind === 'update') return inTheirChat(effect.reference.conversation?.id) ? 'delete' : { ...row };
  if (effect.kind !== 'tellMany') return String(row.target ?? '').toLowerCase().includes(aad) ? 'delete' : { ...row };
  const to = effect.to.filter((p) => p.aadObjectId.toLowerCase() !== aad);
  if (to.length === effect.to.length) return { ...row };
  if (to.length === 0) return 'delete';
  const rewritten = effectEntity(String(row.partitionKey), { ...effect, to }, '', 0, new Date(String(row.createdAt ?? new Date(0).toISOString())), undefined, String(row.rowKey));
  // Keep how far its fan-out went and its delivery state; the list and its body are new.
  const kept = Object.fromEntries(Object.entries(row).filter(([k]) => !(k in rewritten) && !CHUNKS.includes(k as (typeof CHUNKS)[number])));
  return { ...kept, ...rewritten, state: row.state ?? 'pending', attempts: row.attempts ?? 0, notBefore: row.notBefore ?? 0 };
}

/**
 * Whether a message goes to someone erased: a `tell` to a pseudonym, or a `post` to a conversation
 * whose id is one (their personal chat's, replaced). Records that outlive a person name their pseudonym
 * (a proposal's proposer, a swap offer's author), and rules still address them; Teams has nobody
 * behind it, so such a message is dropped as no longer holding: no request, no failed row, no warning.
 */
function toErased(effect: Stored): boolean {
  if (effect.kind === 'tell') return isErased(effect.to.aadObjectId);
  if (effect.kind === 'post') return isErased(effect.conversationId) || isErased(effect.reference?.conversation?.id);
  return false;
}

/** How many effects a partition still owes (for checks: the benchmark's invariants, tests). */
export async function owedIn(client: TableClient, partitionKey: string): Promise<number> {
  let n = 0;
  const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${PREFIX} and RowKey lt ${'out}'} and state eq 'pending'`;
  for await (const _ of client.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) n += 1;
  return n;
}

/** Rows in an aggregate's partition that belong to the outbox (a partition's own readers skip them). */
export function isOutboxRow(rowKey: string): boolean {
  return rowKey.startsWith(PREFIX);
}

/** The fields an outbox row stores, for each table that holds effects (see the data inventory). */
export const OUTBOX_FIELDS: Readonly<Record<string, string>> = {
  kind: 'outbox: what the effect does (tell a person, post, update a card, a follow-up step)',
  target: 'outbox: whom or where it goes (an Entra object id and Teams id, or a conversation)',
  body: 'outbox: the message to send (its card), or the follow-up step',
  body2: 'outbox: the rest of a long message',
  body3: 'outbox: the rest of a long message',
  then: 'outbox: what to record once it is sent (e.g. where a card was posted)',
  state: "outbox: 'pending' until delivered (then the row is deleted), or 'failed'",
  attempts: 'outbox: tries that failed',
  lastStatus: "outbox: Teams' last answer",
  reason: 'outbox: why it failed, in words',
  notBefore: 'outbox: not tried again before then (ms since 1970)',
  doneAt: 'outbox: when it failed for good',
  createdAt: 'outbox: when the change was committed',
  holder: "outbox: the instance delivering this partition's effects (lease row)",
  until: "outbox: until when it holds the lease (ms since 1970)",
  body4: 'outbox: the rest of a long message',
  body5: 'outbox: the rest of a long message',
  body6: 'outbox: the rest of a long message',
  offset: 'outbox: how many of a message-to-many\'s people have been given their own row',
};

function targetKey(effect: Stored): string {
  switch (effect.kind) {
    case 'tell':
      return `person:${effect.to.aadObjectId.toLowerCase()}`;
    case 'tellMany':
      return 'many';
    case 'post':
      return `conversation:${effect.conversationId}`;
    case 'update':
      return `card:${effect.activityId}`;
    case 'deadlines':
      return 'deadlines';
    case 'do':
      return `do:${effect.handler}`;
    case 'then':
      return effect.target;
  }
}

/**
 * An effect's row. Keys: a card's row is keyed by the card (a newer commit replaces an unsent older
 * state: coalesced); a `tell` made from a `tellMany` is keyed after it (`after`), keeping its place
 * in commit order; `rowKey` rewrites a row in place (a `tellMany`'s shortened list).
 */
function effectEntity(partitionKey: string, effect: Stored, stamp: string, i: number, now: Date, after?: string, rowKey?: string): Record<string, string | number> & { partitionKey: string; rowKey: string } {
  const key =
    rowKey ??
    (after
      ? `${after}|${String(i).padStart(5, '0')}`
      : effect.kind === 'update'
        ? `${CARD_PREFIX}${encodeURIComponent(effect.activityId).slice(0, 600)}`
        : `${PREFIX}${stamp}|${String(i).padStart(3, '0')}`);
  const { kind } = effect;
  let target: unknown;
  let body: unknown;
  let then: unknown;
  switch (effect.kind) {
    case 'tell':
      target = { to: effect.to, via: effect.via, still: effect.still, record: effect.record };
      body = effect.activity;
      then = effect.then;
      break;
    case 'tellMany':
      target = { via: effect.via, still: effect.still };
      body = { to: effect.to, activity: effect.activity };
      break;
    case 'post':
      target = { conversationId: effect.conversationId, reference: effect.reference, still: effect.still, record: effect.record };
      body = effect.activity;
      then = effect.then;
      break;
    case 'update':
      target = { reference: effect.reference, activityId: effect.activityId, render: effect.render };
      body = effect.activity;
      break;
    case 'deadlines':
      target = {};
      body = { register: effect.register, complete: effect.complete, cancel: effect.cancel };
      break;
    case 'do':
      target = { handler: effect.handler };
      body = effect.data;
      break;
    case 'then':
      target = { target: effect.target };
      body = effect.sent;
      then = effect.then;
      break;
  }
  const text = JSON.stringify(body ?? null);
  if (text.length > CHUNK * CHUNKS.length) throw new Error(`an outbox message is too long to store (${text.length} characters)`);
  const entity: Record<string, string | number> & { partitionKey: string; rowKey: string } = {
    partitionKey,
    rowKey: key,
    kind,
    target: JSON.stringify(target),
    state: 'pending',
    attempts: 0,
    notBefore: 0,
    createdAt: now.toISOString(),
    then: then === undefined ? '' : JSON.stringify(then),
  };
  CHUNKS.forEach((name, n) => {
    const part = text.slice(n * CHUNK, (n + 1) * CHUNK);
    if (n === 0 || part) entity[name] = part;
  });
  return entity;
}

function parseEffect(row: Record<string, unknown>): Stored | undefined {
  try {
    const target = JSON.parse(String(row.target ?? 'null')) as Record<string, unknown> | null;
    const body = JSON.parse(CHUNKS.map((name) => (typeof row[name] === 'string' ? (row[name] as string) : '')).join('')) as unknown;
    const then = typeof row.then === 'string' && row.then ? (JSON.parse(row.then) as Then) : undefined;
    if (!target) return undefined;
    switch (row.kind) {
      case 'tell':
        return { kind: 'tell', to: target.to as PersonAddress, via: target.via as Reference | undefined, activity: body as Partial<Activity>, then, still: target.still as Then | undefined, record: target.record as Recorded | undefined };
      case 'tellMany': {
        const b = body as { to?: PersonAddress[]; activity?: Partial<Activity> };
        return { kind: 'tellMany', to: b.to ?? [], via: target.via as Reference | undefined, activity: b.activity ?? {}, still: target.still as Then | undefined };
      }
      case 'post':
        return { kind: 'post', conversationId: String(target.conversationId), reference: target.reference as Reference | undefined, activity: body as Partial<Activity>, then, still: target.still as Then | undefined, record: target.record as Recorded | undefined };
      case 'update':
        return { kind: 'update', reference: target.reference as Reference, activityId: String(target.activityId), activity: (body ?? undefined) as Partial<Activity> | undefined, render: target.render as Then | undefined };
      case 'deadlines': {
        const b = body as { register?: (Deadline & { dueAt: string })[]; complete?: string[]; cancel?: string[] };
        return { kind: 'deadlines', register: (b.register ?? []).map((d) => ({ ...d, dueAt: new Date(d.dueAt) })), complete: b.complete ?? [], cancel: b.cancel ?? [] };
      }
      case 'do':
        return { kind: 'do', handler: String(target.handler), data: body };
      case 'then':
        return then ? { kind: 'then', target: String(target.target), then, sent: (body ?? undefined) as SentMessage | undefined } : undefined;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/**
 * What may go now, in commit order per target: a row not yet due (kept after a passing failure) holds
 * back every later row to the same person or conversation; a message to many holds back later
 * messages to each of its people until it has been made into their own rows (which sort right after
 * it, so they go first).
 */
function dueInOrder(pending: readonly Pending[], now: number): Pending[] {
  const blocked = new Set<string>();
  const due: Pending[] = [];
  for (const p of pending) {
    const keys = p.effect.kind === 'tellMany' ? p.effect.to.map((t) => `person:${t.aadObjectId.toLowerCase()}`) : [targetKey(p.effect)];
    const held = p.notBefore > now || keys.some((k) => blocked.has(k));
    if (!held) due.push(p);
    for (const k of keys) if (held || p.effect.kind === 'tellMany') blocked.add(k);
  }
  return due;
}

/**
 * A drain's sends, streamed (step 4): each read of what is owed adds the effects not already on their
 * way, grouped by target (a person or conversation), and up to `width` targets are sent to side by
 * side, each in commit order. A target that has effects on their way takes no more from a later read
 * until they have ended (its later rows are read again then), so order per target holds across reads;
 * and the drain reads again while sends are still going, so a send to thousands has no pause between
 * reads for the slowest send of the last one.
 */
class Sending {
  /** Rows this drain holds (waiting for a worker, or on their way); they are still stored until settled. */
  private readonly taken = new Set<string>();
  /** Targets with effects waiting or on their way. */
  private readonly busy = new Set<string>();
  /**
   * Rows this drain has finished with (delivered, or kept for later), by the number of reads started
   * when it did: a read that began before may still list them as they were, and must not take them again.
   */
  private readonly finished = new Map<string, number>();
  private reads = 0;
  private readonly waiting: Pending[][] = [];
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;
  private failed = false;

  constructor(
    private readonly width: number,
    private readonly send: (group: readonly Pending[]) => Promise<void>,
  ) {}

  get idle(): boolean {
    return this.running.size === 0 && this.waiting.length === 0;
  }

  /** A read of what is owed begins: its number, for `add`. */
  reading(): number {
    this.reads += 1;
    return this.reads;
  }

  /** Takes what read `read` found due and new (in commit order); returns how many effects it took. */
  add(due: readonly Pending[], read: number): number {
    for (const [rowKey, at] of this.finished) if (at < read) this.finished.delete(rowKey);
    const groups = new Map<string, Pending[]>();
    for (const p of due) {
      if (this.taken.has(p.rowKey) || this.finished.has(p.rowKey)) continue;
      const key = targetKey(p.effect);
      const group = groups.get(key);
      if (group) group.push(p);
      else if (!this.busy.has(key)) groups.set(key, [p]);
    }
    let added = 0;
    for (const [key, group] of groups) {
      this.busy.add(key);
      for (const p of group) this.taken.add(p.rowKey);
      this.waiting.push(group);
      added += group.length;
    }
    this.launch();
    return added;
  }

  /** Waits until the waiting sends run low ('low'), or until at least one on its way has ended ('one'). */
  async progress(until: 'low' | 'one'): Promise<void> {
    do {
      if (this.running.size === 0) return;
      await Promise.race(this.running);
      this.launch();
    } while (until === 'low' && !this.failed && this.waiting.length > this.width);
  }

  /** Throws the first failure of a send (after which nothing more starts). */
  rethrow(): void {
    if (this.failed) throw this.failure;
  }

  /** Waits for every send on its way; nothing more starts. */
  async stop(): Promise<void> {
    this.waiting.length = 0;
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private launch(): void {
    while (!this.failed && this.running.size < this.width && this.waiting.length > 0) {
      const group = this.waiting.shift()!;
      const key = targetKey(group[0]!.effect);
      const run: Promise<void> = this.send(group)
        .catch((err: unknown) => {
          if (!this.failed) {
            this.failed = true;
            this.failure = err;
          }
        })
        .finally(() => {
          this.running.delete(run);
          this.busy.delete(key);
          for (const p of group) {
            this.taken.delete(p.rowKey);
            this.finished.set(p.rowKey, this.reads);
          }
        });
      this.running.add(run);
    }
  }
}

/**
 * A drain's lease on its partition, kept alive by its own timer for as long as the drain runs, however
 * long one send takes: renewed once a third of LEASE_MS has passed on the bot's clock (looked at every
 * second), so another instance never takes over a partition whose sends are still on their way. If a
 * renewal finds the lease gone (someone took it after a stall), the drain stops at its next step.
 */
class HeldLease {
  lost = false;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private renewedAt: number;

  constructor(
    public etag: string,
    private readonly now: () => number,
    private readonly renew: (etag: string) => Promise<string>,
  ) {
    this.renewedAt = now();
    this.timer = setInterval(() => {
      if (this.now() - this.renewedAt < LEASE_MS / 3) return;
      this.renewedAt = this.now();
      this.renewing = this.renewing.then(async () => {
        if (this.lost) return;
        try {
          this.etag = await this.renew(this.etag);
        } catch (err) {
          if (statusOf(err) === 412 || statusOf(err) === 404) this.lost = true;
        }
      });
    }, 1_000);
    this.timer.unref();
  }

  /** Throws when the lease was lost: nothing more may be sent under it. */
  ensure(): void {
    if (this.lost) throw new Error('outbox: the lease on this partition was lost; its holder now delivers');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }
}


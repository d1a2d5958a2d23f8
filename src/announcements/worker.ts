import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import type { Logger } from '../platform/logging';
import type { Queues } from '../platform/storage/queues';
import { statusOf } from '../platform/storage/tables';
import type { Activity, Connector, ConnectorResult } from './connector';
import { afterAttempt, DEFAULT_RETRY, describeStatus, parseRetryAfter, type RetryPolicy } from '../platform/outbox/delivery';
import type { SendGate } from '../platform/outbox/gate';
import type { RecipientRow, Status, Target } from './model';
import type { AnnouncementStore } from './store';

/**
 * The fan-out worker; one runs in every instance. It takes work items (one per recipient
 * conversation) from an Azure Storage Queue and sends, keeping to Teams' limits and recording each
 * recipient's outcome in Table Storage.
 *
 * One item, start to end:
 *  1. receive it with a visibility timeout (the lease): no other instance sees it meanwhile. An item
 *     queued by a dispatch carries the recipient row's ETag and target, so the row need not be read;
 *     an item that comes back (after a crash, a lapsed lease, a second dispatch) has its row read:
 *     sent, failed or cancelled already → the item is deleted, nothing is sent again;
 *  2. claim the row under its ETag (claimBy, claimUntil): of two holders of copies of one item only
 *     one sends; a row claimed by someone else whose claim has not run out is left to them (the item
 *     comes back after their claim);
 *  3. wait for a turn at the one send gate every request to Teams passes (platform/outbox/gate.ts:
 *     7 a second per conversation, and this instance's share of the app's rate, shared with every
 *     other message and card update the bot sends). The turn is taken right before the request
 *     leaves; if the wait was long, the claim is first renewed under its ETag, and if someone else
 *     has the recipient by then, nothing is sent;
 *  4. send (one HTTP request, no hidden retries), record the outcome and the attempt on the row, and
 *     only then delete the item (in the background: the row is the commit point). 429/412/5xx: back
 *     off (exponential, jittered, at least Retry-After) and try again while holding the item (a long
 *     wait is left to the queue instead); 403/404: record the failure; after maxAttempts answered
 *     attempts the item goes to the poison queue and the recipient is recorded as failed.
 *
 * What a crash can do: between Teams accepting a message and the row saying "sent" there is a
 * window of one storage write (milliseconds). If the process dies inside it, the claim and the lease
 * run out, another worker finds the row pending and sends again: that recipient gets it twice. Nobody
 * whose send was recorded is sent to again, and nobody is lost (the item is deleted only after the
 * outcome is recorded). The same holds for a send whose answer never arrived (a timeout): Teams may
 * have delivered it, and it is retried.
 */

export const WORK_QUEUE = 'announce-send';
export const POISON_QUEUE = 'announce-send-poison';

export interface Timing {
  now(): number;
  /** Waits `ms`; rejects when `signal` aborts. `why` lets tests shorten backoffs and polls, never pacing. */
  sleep(ms: number, signal: AbortSignal, why: 'pace' | 'backoff' | 'poll'): Promise<void>;
  random(): number;
}

export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
  random: () => Math.random(),
};

export interface FanoutTuning {
  /** The send gate's (startTogether builds it from these): requests per second for the whole app, shared by the instances that are sending (Teams: about 50). */
  readonly ratePerSecond: number;
  /** The send gate's: messages per second to one conversation (Teams: 7). */
  readonly perConversationPerSecond: number;
  readonly retry: RetryPolicy;
  /** Queue visibility timeout and claim length. */
  readonly leaseMs: number;
  /** Backoffs longer than this are waited out in the queue (the item is made invisible) rather than in memory. */
  readonly holdMaxMs: number;
  /**
   * The send gate's: added to each one-second window the pacer counts, for the difference in travel time between
   * requests (Teams counts arrivals). Costs guardMs/1000 of the rate; too small, and jitter turns
   * into 429s (retried, so nothing is lost).
   */
  readonly guardMs: number;
  /** How many seconds of sending (at this instance's share) to hold; see FanoutWorker.maxInFlight. */
  readonly prefetchSeconds: number;
  /** Idle polling: starts at pollMinMs, doubles up to pollMaxMs while the queue stays empty. */
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  readonly requestTimeoutMs: number;
  /** How often the coordinator's copy is refreshed while sending (at most). */
  readonly reportIntervalMs: number;
  /** The send gate's: how often a sending instance says so, to share the app's rate. */
  readonly heartbeatMs: number;
  /** How long a worker trusts what it read of an announcement (its status: a cancel reaches other instances within this). */
  readonly statusTtlMs: number;
  readonly timing: Timing;
}

export const DEFAULT_TUNING: FanoutTuning = {
  ratePerSecond: 50,
  perConversationPerSecond: 7,
  retry: DEFAULT_RETRY,
  leaseMs: 60_000,
  holdMaxMs: 30_000,
  prefetchSeconds: 20,
  guardMs: 10,
  pollMinMs: 250,
  pollMaxMs: 5_000,
  requestTimeoutMs: 30_000,
  reportIntervalMs: 3_000,
  heartbeatMs: 5_000,
  statusTtlMs: 1_000,
  timing: realTiming,
};

/** A work item: announcement id, recipient row key, and (when queued fresh) the row's ETag and target, so a first attempt need not read the row. */
interface Item {
  readonly a: string;
  readonly r: string;
  readonly e?: string;
  readonly t?: Target;
}

interface Lease {
  readonly messageId: string;
  popReceipt: string;
  until: number;
}

export interface WorkerDeps {
  readonly queues: Queues;
  readonly store: AnnouncementStore;
  readonly connector: Connector;
  /** The one gate every request to Teams passes (the app's rate, shared with every other sender). */
  readonly gate: SendGate;
  readonly logger: Logger;
  readonly tuning: FanoutTuning;
  /** The announcement's status and the message recipients get (cached briefly by the caller). */
  content(id: string): Promise<{ status: Status; activity: Activity } | undefined>;
  /** A recipient's outcome was recorded (refresh the report). */
  progressed(id: string): void;
  /** A personal chat was opened for a person: remember it for next time. */
  openedChat(target: Extract<Target, { kind: 'person' }>, result: ConnectorResult): Promise<void>;
}

export interface WorkerStats {
  requests: number;
  sent: number;
  failed: number;
  retried: number;
  poisoned: number;
  cancelled: number;
  duplicatesSkipped: number;
}

class Stopped extends Error {}
class ClaimLost extends Error {}

export class FanoutWorker {
  readonly instanceId = randomBytes(6).toString('hex');
  readonly stats: WorkerStats = { requests: 0, sent: 0, failed: 0, retried: 0, poisoned: 0, cancelled: 0, duplicatesSkipped: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  private readonly deleting = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly work: QueueClient;
  private readonly poison: QueueClient;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stopping = false;
  private halted = false;
  private emptyPolls = 0;

  private readonly whenAborted: Promise<void>;

  constructor(private readonly deps: WorkerDeps) {
    // Every held item may wait on this signal at once (pacing, backoff).
    setMaxListeners(0, this.abort.signal);
    this.whenAborted = new Promise((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    this.work = deps.queues.client(WORK_QUEUE);
    this.poison = deps.queues.client(POISON_QUEUE);
  }

  /** This instance's share of the app's rate now. */
  get rate(): number {
    return this.deps.gate.rate;
  }

  /** Items held (being sent, waiting for a slot or backing off). */
  get holding(): number {
    return this.inFlight.size;
  }

  /** Receives that found the queue empty so far (tests wait for one after their work). */
  get idlePolls(): number {
    return this.emptyPolls;
  }

  start(): void {
    if (this.running || this.stopping) return;
    this.running = this.loop().catch((err) => this.deps.logger.error({ err: { message: (err as Error).message } }, 'announcement worker stopped on an error'));
  }

  /** New work was queued here: poll now rather than at the next idle poll. */
  kick(): void {
    this.wake?.();
  }

  /**
   * Stops taking work. Items waiting for a slot or a backoff are handed back at once (claim cleared,
   * item visible again) for the next instance; sends already on the wire finish and are recorded.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.wake?.();
    await this.running;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (!this.halted) await Promise.race([Promise.allSettled([...this.deleting]), sleep(5_000, undefined, { ref: false })]);
  }

  /**
   * For tests: behave as if the process had died this instant. Nothing more is sent or recorded,
   * nothing is handed back: held items reappear when their lease runs out, claims lapse.
   */
  halt(): void {
    this.halted = true;
    this.stopping = true;
    this.abort.abort();
    this.wake?.();
  }

  /** Waits for a turn at the send gate to send to `conversation`; throws Stopped when the worker stops first. */
  async pace(conversation: string, lane: 'card' | 'message' = 'message', again = false): Promise<void> {
    try {
      await this.deps.gate.turn(conversation, lane, this.abort.signal, again);
    } catch (err) {
      if (this.abort.signal.aborted) throw new Stopped();
      throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving

  /**
   * Items held at once: `prefetchSeconds` of sending at this instance's share. Enough that a pause of
   * the queue service (a latency spike, a 503, an emulator's clean-up) does not stop the sending,
   * well within the lease, and shared fairly when several instances have work (the share shrinks).
   */
  private maxInFlight(): number {
    return Math.max(16, Math.ceil(this.rate * this.deps.tuning.prefetchSeconds));
  }

  private async loop(): Promise<void> {
    const { tuning, logger } = this.deps;
    let idle = tuning.pollMinMs;
    while (!this.stopping) {
      try {
        await this.deps.queues.ensure([WORK_QUEUE, POISON_QUEUE]);
      } catch (err) {
        logger.warn({ err: { message: (err as Error).message } }, 'announcement queues not reachable; retrying');
        if (!(await this.nap(Math.min(tuning.pollMaxMs, idle * 2)))) break;
        continue;
      }
      const room = this.maxInFlight() - this.inFlight.size;
      // Receive in batches: with only a slot or two free, wait for more to finish rather than poll for one item at a time.
      if (room < Math.min(32, Math.ceil(this.maxInFlight() / 4))) {
        await Promise.race([...this.inFlight, this.aborted()]);
        continue;
      }
      let messages: DequeuedMessageItem[];
      try {
        const received = await this.work.receiveMessages({ numberOfMessages: Math.min(32, room), visibilityTimeout: this.leaseSeconds(), abortSignal: this.abort.signal });
        messages = received.receivedMessageItems;
      } catch (err) {
        if (this.stopping) break;
        logger.warn({ err: { message: (err as Error).message }, status: statusOf(err) }, 'could not receive announcement work; retrying');
        if (!(await this.nap(idle))) break;
        continue;
      }
      if (this.stopping) {
        // Received just as we stopped: hand them straight back.
        await Promise.all(messages.map((m) => (this.halted ? undefined : this.work.updateMessage(m.messageId, m.popReceipt, undefined, 0).catch(() => undefined))));
        break;
      }
      if (messages.length === 0) {
        this.emptyPolls += 1;
        if (!(await this.nap(idle))) break;
        idle = Math.min(tuning.pollMaxMs, idle * 2);
        continue;
      }
      idle = tuning.pollMinMs;
      for (const message of messages) this.track(this.handle(message));
      // Beyond two seconds of work in hand, fill the buffer gradually (at most twice the send rate), so
      // the claims for a big send are spread out rather than all written at once.
      if (this.inFlight.size > 2 * this.rate) {
        try {
          await tuning.timing.sleep((messages.length / (2 * this.rate)) * 1000, this.abort.signal, 'poll');
        } catch {
          break;
        }
      }
    }
  }

  private track(p: Promise<void>): void {
    const wrapped = p.catch((err) => {
      if (!this.halted) this.deps.logger.error({ err: { message: (err as Error).message } }, 'announcement work item failed; it will come back after its lease');
    });
    this.inFlight.add(wrapped);
    void wrapped.finally(() => this.inFlight.delete(wrapped));
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.deps.tuning.leaseMs / 1000));
  }

  /** Sleeps between polls; false when stopping. Woken early by kick(). */
  private nap(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', finish);
        if (this.wake === finish) this.wake = undefined;
        resolve(!this.stopping);
      };
      const timer = setTimeout(finish, ms);
      this.abort.signal.addEventListener('abort', finish, { once: true });
      this.wake = finish;
    });
  }

  private aborted(): Promise<void> {
    return this.whenAborted;
  }

  // ---------------------------------------------------------------------------------------------
  // One item

  private async handle(message: DequeuedMessageItem): Promise<void> {
    const lease: Lease = { messageId: message.messageId, popReceipt: message.popReceipt, until: this.deps.tuning.timing.now() + this.deps.tuning.leaseMs };
    const item = parseItem(message.messageText);
    if (!item) {
      await this.toPoison({ text: message.messageText.slice(0, 2000) }, 'unreadable work item');
      await this.remove(lease);
      return;
    }
    try {
      await this.process(item, lease, message.dequeueCount);
    } catch (err) {
      if (err instanceof Stopped || this.halted) return;
      throw err;
    }
  }

  private async process(item: Item, lease: Lease, dequeueCount: number): Promise<void> {
    const { store, connector, tuning } = this.deps;
    const t = tuning.timing;
    const token = `${this.instanceId}.${randomBytes(4).toString('hex')}`;
    // Fresh from dispatch: the row as it was written (if it changed since, the claim fails on its ETag and the row is read).
    let row: RecipientRow | undefined =
      item.e && item.t
        ? { key: item.r, label: '', schoolId: '', target: item.t, state: 'pending', attempts: 0, lastStatus: 0, reason: '', activityId: '', doneAt: '', claimBy: '', claimUntil: 0, etag: item.e }
        : await store.recipient(item.a, item.r);
    for (;;) {
      this.check();
      if (!row || row.state !== 'pending') {
        if (row) this.stats.duplicatesSkipped += 1;
        await this.remove(lease);
        return;
      }
      if (!(await this.stillWanted(item, row, lease))) return;
      const now = t.now();
      if (row.claimBy && row.claimBy !== token && row.claimUntil > now) {
        // Another worker holds this recipient: look again when its claim runs out (it will be sent or released by then).
        await this.defer(lease, row.claimUntil - now + 1_000);
        return;
      }
      // Attempts are sends that got an answer. An item redelivered again and again without one (a worker
      // dying on it each time) is given up on as well, with room for redeliveries after a lapsed lease.
      if (row.attempts >= tuning.retry.maxAttempts || dequeueCount > 2 * tuning.retry.maxAttempts + 5) {
        await this.giveUp(item, row, lease, row.lastStatus ? `${describeStatus(row.lastStatus)}; gave up after ${row.attempts} attempts` : `gave up after ${Math.max(row.attempts, dequeueCount)} tries`);
        return;
      }
      const etag = await store.claim(item.a, row, token, now + tuning.leaseMs);
      this.check();
      if (etag === undefined) {
        row = await store.recipient(item.a, item.r);
        continue;
      }
      const attempt = row.attempts + 1;
      row = { ...row, claimBy: token, claimUntil: now + tuning.leaseMs, etag };

      const content = await this.deps.content(item.a);
      this.check();
      if (!content || content.status === 'cancelled') {
        await this.cancelled(item, row, lease);
        return;
      }
      await this.keepLease(lease);

      let result: ConnectorResult;
      let held = row;
      try {
        // The turn (rate limits) is taken inside the call, right before the request leaves. The claim
        // must still be ours and last the whole request: after a long wait for the turn it is renewed
        // (under its ETag) first, and if someone else has taken the recipient meanwhile, nothing is sent.
        const key = paceKey(held.target);
        result = await connector.send(held.target, content.activity, async () => {
          await this.pace(key, 'message', attempt > 1);
          const now = t.now();
          if (held.claimUntil - now < tuning.requestTimeoutMs + 1_000) {
            const renewed = await store.renew(item.a, held, token, now + tuning.leaseMs);
            if (renewed === undefined) throw new ClaimLost();
            held = { ...held, etag: renewed, claimUntil: now + tuning.leaseMs };
          }
        });
      } catch (err) {
        if (this.halted) throw new Stopped();
        if (err instanceof ClaimLost) {
          // Another worker took this recipient while we waited (our claim ran out): it is theirs now.
          this.stats.duplicatesSkipped += 1;
          return;
        }
        if (this.stopping) {
          await this.release(item, held, lease);
          return;
        }
        throw err;
      }
      row = { ...held, attempts: attempt };
      this.stats.requests += 1;
      this.check(); // a "crash" with the answer on its way: nothing recorded (the window described above)
      const retryAfter = parseRetryAfter(result.retryAfter, t.now());
      const next = afterAttempt(attempt, result.status, retryAfter, t.random(), tuning.retry, result.code);
      switch (next.kind) {
        case 'sent':
          await store.record(item.a, row.key, { state: 'sent', attempts: attempt, lastStatus: result.status, activityId: result.activityId ?? '', doneAt: new Date(t.now()).toISOString(), reason: '', claimBy: '', claimUntil: 0 });
          this.stats.sent += 1;
          if (row.target.kind === 'person') await this.deps.openedChat(row.target, result).catch(() => undefined);
          await this.remove(lease);
          this.deps.progressed(item.a);
          return;
        case 'failed':
          await store.record(item.a, row.key, { state: 'failed', attempts: attempt, lastStatus: result.status, reason: next.reason, doneAt: new Date(t.now()).toISOString(), claimBy: '', claimUntil: 0 });
          this.stats.failed += 1;
          await this.remove(lease);
          this.deps.progressed(item.a);
          return;
        case 'poison':
          await this.giveUp(item, { ...row, lastStatus: result.status }, lease, next.reason);
          return;
        case 'retry': {
          this.stats.retried += 1;
          if (result.status === 429 && retryAfter !== undefined) this.deps.gate.hold(paceKey(row.target), this.deps.gate.clock() + retryAfter);
          const reason = `${describeStatus(result.status, result.code)}; retrying`;
          if (next.delayMs > tuning.holdMaxMs) {
            // A long wait is kept by the queue, not in memory: the item reappears when it is due.
            await store.record(item.a, row.key, { attempts: attempt, lastStatus: result.status, reason, claimBy: '', claimUntil: 0 });
            await this.defer(lease, next.delayMs);
            return;
          }
          const newEtag = await store.record(item.a, row.key, { attempts: attempt, lastStatus: result.status, reason });
          row = { ...row, lastStatus: result.status, reason, etag: newEtag };
          try {
            await t.sleep(next.delayMs, this.abort.signal, 'backoff');
          } catch {
            await this.release(item, row, lease);
            return;
          }
        }
      }
    }
  }

  /** Throws when the instance "died" (tests) so nothing more is done for the item. */
  private check(): void {
    if (this.halted) throw new Stopped();
  }

  private async stillWanted(item: Item, row: RecipientRow, lease: Lease): Promise<boolean> {
    const content = await this.deps.content(item.a);
    this.check();
    if (content && content.status !== 'cancelled') return true;
    await this.cancelled(item, row, lease);
    return false;
  }

  private async cancelled(item: Item, row: RecipientRow, lease: Lease): Promise<void> {
    await this.deps.store.record(item.a, row.key, { state: 'cancelled', doneAt: new Date(this.deps.tuning.timing.now()).toISOString(), claimBy: '', claimUntil: 0 });
    this.stats.cancelled += 1;
    await this.remove(lease);
    this.deps.progressed(item.a);
  }

  private async giveUp(item: Item, row: RecipientRow, lease: Lease, reason: string): Promise<void> {
    // A row taken straight from the item has no label: read it, so the poison queue says who it was for.
    const label = row.label || (await this.deps.store.recipient(item.a, item.r).catch(() => undefined))?.label || '';
    await this.toPoison({ a: item.a, r: item.r, label, attempts: row.attempts, lastStatus: row.lastStatus }, reason);
    await this.deps.store.record(item.a, row.key, { state: 'failed', attempts: row.attempts, lastStatus: row.lastStatus, reason: `${reason} (moved to the poison queue)`, doneAt: new Date(this.deps.tuning.timing.now()).toISOString(), claimBy: '', claimUntil: 0 });
    this.stats.poisoned += 1;
    this.stats.failed += 1;
    await this.remove(lease);
    this.deps.progressed(item.a);
  }

  private async toPoison(content: Record<string, unknown>, reason: string): Promise<void> {
    await this.poison.sendMessage(JSON.stringify({ ...content, reason, at: new Date(this.deps.tuning.timing.now()).toISOString() }), { messageTimeToLive: -1 });
    this.deps.logger.warn({ reason, announcement: content.a }, 'announcement work item moved to the poison queue');
  }

  /** Hands an item back for someone else now (stopping): claim cleared, item visible at once. */
  private async release(item: Item, row: RecipientRow, lease: Lease): Promise<void> {
    if (this.halted) return;
    await this.deps.store.record(item.a, row.key, { claimBy: '', claimUntil: 0 }).catch(() => undefined);
    await this.work.updateMessage(lease.messageId, lease.popReceipt, undefined, 0).catch(() => undefined);
  }

  /**
   * Deletes a finished item. The recipient's row already says what happened (that is the commit
   * point), so the delete is clean-up and does not hold a send slot: if it is slow or fails, or the
   * process dies first, the item comes back, finds the row finished and is deleted then.
   */
  private async remove(lease: Lease): Promise<void> {
    const deleting = this.work
      .deleteMessage(lease.messageId, lease.popReceipt)
      .then(() => undefined)
      .catch((err) => {
        if (statusOf(err) !== 404 && !this.halted) this.deps.logger.warn({ status: statusOf(err) }, 'could not delete a finished announcement item; it will be deleted when it comes back');
      });
    this.deleting.add(deleting);
    void deleting.finally(() => this.deleting.delete(deleting));
    // Bounded: if deletes fall far behind, wait for some before taking more work.
    if (this.deleting.size > 2 * this.maxInFlight() + 1_000) await Promise.race(this.deleting);
  }

  private async defer(lease: Lease, ms: number): Promise<void> {
    await this.work.updateMessage(lease.messageId, lease.popReceipt, undefined, Math.max(1, Math.ceil(ms / 1000))).catch((err) => {
      if (statusOf(err) !== 404) throw err;
    });
  }

  /** Keeps the item invisible while it is held: extends the lease once half of it has gone. */
  private async keepLease(lease: Lease): Promise<void> {
    const { leaseMs, timing } = this.deps.tuning;
    const now = timing.now();
    if (lease.until - now > leaseMs / 2) return;
    try {
      const updated = await this.work.updateMessage(lease.messageId, lease.popReceipt, undefined, this.leaseSeconds());
      lease.popReceipt = updated.popReceipt ?? lease.popReceipt;
      lease.until = now + leaseMs;
    } catch (err) {
      // The item went back to the queue (a long backoff outlived the lease): the claim still protects
      // the send; the other copy will find the row finished and be deleted.
      if (statusOf(err) !== 404) throw err;
    }
  }
}

/** Pacing key: one conversation (a person without a chat yet is their own). */
export function paceKey(target: Target): string {
  return target.kind === 'conversation' ? target.conversationId : `person:${target.aadObjectId}`;
}

function parseItem(text: string): Item | undefined {
  try {
    const v = JSON.parse(text) as { a?: unknown; r?: unknown; e?: unknown; t?: unknown };
    if (typeof v.a !== 'string' || !/^an[0-9a-f]{10}$/.test(v.a) || typeof v.r !== 'string' || !v.r.startsWith('r|') || v.r.length >= 1000) return undefined;
    const t = v.t as Partial<Target> | undefined;
    const target =
      t && typeof t.serviceUrl === 'string' && typeof t.botId === 'string' && typeof t.tenantId === 'string' && ((t.kind === 'conversation' && typeof t.conversationId === 'string') || (t.kind === 'person' && typeof t.aadObjectId === 'string'))
        ? (t as Target)
        : undefined;
    return typeof v.e === 'string' && target ? { a: v.a, r: v.r, e: v.e, t: target } : { a: v.a, r: v.r };
  } catch {
    return undefined;
  }
}

/** The queue message for one recipient; with the row's ETag and target when they are known to be current. */
export function workItem(announcementId: string, recipientKey: string, fresh?: { etag: string; target: Target }): string {
  return JSON.stringify(fresh ? { a: announcementId, r: recipientKey, e: fresh.etag, t: fresh.target } : { a: announcementId, r: recipientKey });
}

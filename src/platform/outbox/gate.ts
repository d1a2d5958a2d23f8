import { odata, type TableClient } from '@azure/data-tables';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logging';
import { statusOf, type Tables } from '../storage/tables';
import { instanceShare, KeyedPacer, Pacer } from './delivery';

/**
 * The one gate every request to Teams passes through, in every instance: personal messages, channel
 * posts, shared-card updates and the announcement fan-out alike.
 *
 * Why one: Teams limits a bot to about 50 requests a second per app (TEAMS_SEND_RATE) and 7 a second
 * per conversation. With a pacer per sender, each instance's senders each took the whole app rate,
 * so N busy instances could offer Teams (N+1)× its limit and be answered with 429s.
 *
 * A request, start to end:
 *  1. it waits behind earlier requests to the same conversation (in order), then for that
 *     conversation's pacer (7 a second, and any Retry-After Teams gave it);
 *  2. it waits for a turn at the app's rate, in its lane: shared cards (what everyone is looking at)
 *     before personal messages, but never more than CARDS_IN_A_ROW cards while a message waits;
 *  3. a turn is counted from when it is granted (right before the request leaves), never from a
 *     schedule made in advance, so a stalled moment never turns into a burst;
 *  4. the app's rate is shared between instances that are sending: while busy, an instance keeps a
 *     heartbeat row (table Outbox, partition `senders`) and takes rate ÷ (instances with a live
 *     heartbeat). An instance that starts sending takes the least rate until its first heartbeat has
 *     read the others' rows, then only what they leave, so the others step down before it steps up
 *     (their last second at the old rate can still overlap its first at the new: a few over, which
 *     Teams answers with 429s, retried). The row of an instance that died (three heartbeats past its
 *     time) is deleted by whichever instance counts next. One heartbeat at a time: when storage is
 *     slower than the heartbeat, the next waits rather than piling up.
 */

export const OUTBOX_TABLE = 'Outbox';
const SENDERS = 'senders';

export type Lane = 'card' | 'message';

const CARDS_IN_A_ROW = 3;

export interface GateOptions {
  /** Requests a second for the whole app, shared by the instances that are sending (Teams: about 50). */
  readonly ratePerSecond: number;
  /** Messages a second to one conversation (Teams: 7). */
  readonly perConversationPerSecond?: number;
  /** Added to each one-second window, for the spread in travel time (Teams counts arrivals). */
  readonly guardMs?: number;
  readonly heartbeatMs?: number;
  readonly now?: () => number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
}

export class SendGate {
  readonly instanceId = randomBytes(6).toString('hex');
  private readonly app: Pacer;
  private readonly perConversation: KeyedPacer;
  private readonly conversationTurns = new Map<string, Promise<void>>();
  private readonly waiting: Record<Lane, Waiter[]> = { card: [], message: [] };
  private readonly now: () => number;
  private readonly heartbeatMs: number;
  private readonly full: number;
  private table: TableClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  /** A heartbeat is on its way to storage (the next waits for it: slow storage must not pile them up). */
  private inBeat = false;
  private cardsInARow = 0;
  private lastBusy = -Infinity;
  private registered = false;
  private stopped = false;
  private dead = false;
  private granted = 0;
  private joining = false;
  /** The least rate an instance sends at while it waits for the others to step down (2 % of the app's). */
  private readonly least: number;

  constructor(
    options: GateOptions,
    private readonly tables?: Tables,
    private readonly logger?: Logger,
  ) {
    this.full = options.ratePerSecond;
    this.least = options.ratePerSecond * 0.02;
    this.now = options.now ?? (() => performance.now());
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.app = new Pacer(options.ratePerSecond, options.guardMs ?? 10);
    this.perConversation = new KeyedPacer(options.perConversationPerSecond ?? 7, options.guardMs ?? 10);
  }

  /** This instance's share of the app's rate now (requests a second). */
  get rate(): number {
    return this.app.rate;
  }

  /** Requests waiting for a turn at the app's rate. */
  get backlog(): number {
    return this.waiting.card.length + this.waiting.message.length;
  }

  /** Turns granted so far (for tests and the benchmark). */
  get turns(): number {
    return this.granted;
  }

  /** Starts the heartbeats that share the app's rate (without storage, the instance takes the whole rate). */
  start(): void {
    if (!this.tables || this.beatTimer || this.stopped) return;
    this.table = this.tables.client(OUTBOX_TABLE);
    this.beatTimer = setInterval(() => {
      if (this.inBeat) return;
      this.beating = this.beatOnce().catch((err) => this.logger?.warn({ err: { message: (err as Error).message } }, 'send heartbeat failed'));
    }, this.heartbeatMs);
    this.beatTimer.unref();
  }

  /** For tests: the process died; nothing more leaves (waiting requests never go) and no more heartbeats (its row runs out by itself). */
  halt(): void {
    this.stopped = true;
    this.dead = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.beatTimer = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.beatTimer = undefined;
    await this.beating;
    if (this.registered && this.table) await this.table.deleteEntity(SENDERS, this.instanceId).catch(() => undefined);
    this.registered = false;
  }

  /** Teams said to wait (429 with Retry-After) for this conversation: nothing goes to it before `untilMs` (on this gate's clock). */
  hold(conversation: string, untilMs: number): void {
    this.perConversation.get(conversation, this.now()).holdUntil(untilMs);
  }

  /** The gate's clock (ms), for Retry-After deadlines. */
  clock(): number {
    return this.now();
  }

  /**
   * Resolves when a request to `conversation` may leave now. Rejects (and takes no turn) when `signal`
   * aborts first. Turns to one conversation are granted in the order they were asked for. A retry
   * (`again`) goes to the front of its lane: it has waited its turn once already, and a send's last
   * stragglers are what keeps its sender waiting.
   */
  async turn(conversation: string, lane: Lane, signal?: AbortSignal, again = false): Promise<void> {
    const before = this.conversationTurns.get(conversation) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const chained = before.then(() => mine);
    this.conversationTurns.set(conversation, chained);
    try {
      await before;
      const own = this.perConversation.get(conversation, this.now());
      for (let wait = own.waitMs(this.now()); wait > 0; wait = own.waitMs(this.now())) await pause(wait, signal);
      await this.appTurn(lane, signal, again);
      own.take(this.now());
    } finally {
      done();
      if (this.conversationTurns.get(conversation) === chained) this.conversationTurns.delete(conversation);
    }
  }

  private appTurn(lane: Lane, signal?: AbortSignal, again = false): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    if (this.dead) return new Promise(() => undefined); // a dead process: never
    this.busy();
    if (!this.timer && this.backlog === 0 && this.app.waitMs(this.now()) === 0) {
      // Nobody waits: it goes at once (and counts in no lane's run).
      this.app.take(this.now());
      this.granted += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = signal
        ? {
            resolve,
            reject,
            signal,
            onAbort: () => {
              const queue = this.waiting[lane];
              const i = queue.indexOf(waiter);
              if (i >= 0) queue.splice(i, 1);
              reject(signal.reason ?? new Error('aborted'));
            },
          }
        : { resolve, reject };
      if (waiter.onAbort) signal!.addEventListener('abort', waiter.onAbort, { once: true });
      if (again) this.waiting[lane].unshift(waiter);
      else this.waiting[lane].push(waiter);
      this.arm();
    });
  }

  private arm(): void {
    if (this.timer || this.backlog === 0) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, this.app.waitMs(this.now())));
  }

  private release(): void {
    this.timer = undefined;
    // A timer may fire a little early against the clock; granting then would go faster than the rate.
    if (this.app.waitMs(this.now()) > 0) {
      this.arm();
      return;
    }
    const messageDue = this.waiting.message.length > 0 && (this.waiting.card.length === 0 || this.cardsInARow >= CARDS_IN_A_ROW);
    const lane: Lane = messageDue ? 'message' : 'card';
    const next = this.waiting[lane].shift();
    if (next) {
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      this.grant(lane);
      next.resolve();
    }
    this.arm();
  }

  private grant(lane: Lane): void {
    this.cardsInARow = lane === 'card' ? this.cardsInARow + 1 : 0;
    this.app.take(this.now());
    this.granted += 1;
  }

  private busy(): void {
    this.lastBusy = this.now();
    // The first request after a quiet spell registers at once, so the others learn of this instance by
    // their next heartbeat; until its share is known it sends at the least rate, not over the others'.
    if (!this.registered && this.table && !this.stopped && !this.joining) {
      this.joining = true;
      this.setRate(this.least);
      // If storage cannot be read, others may be using the whole rate: this instance stays at the least
      // until a heartbeat gets through (the next, a heartbeat from now).
      this.beating = (this.inBeat ? this.beating : this.beatOnce())
        .catch((err) => this.logger?.warn({ err: { message: (err as Error).message } }, 'send heartbeat failed; sending at the least rate until one gets through'))
        .finally(() => (this.joining = false));
    }
  }

  /**
   * One heartbeat: while sending (a request in the last two heartbeats, or requests waiting) this
   * instance reads the live rows of the others (busy until a time still to come, with the rate each
   * uses) and takes its share of the app's rate (the rate over the live instances), but never more
   * than the others leave: an instance that has not yet seen a newcomer is still at its old rate, so
   * the newcomer waits for it to step down (a heartbeat) rather than both going over Teams' limit.
   * Then its own row says "busy until three heartbeats from now, at this rate". Once quiet, the row
   * goes and the share is the whole rate again (taken back at the next request).
   */
  private async beatOnce(): Promise<void> {
    this.inBeat = true;
    try {
      await this.beat();
    } finally {
      this.inBeat = false;
    }
  }

  private async beat(): Promise<void> {
    const table = this.table;
    if (!table || this.stopped) return;
    const wall = Date.now();
    const busy = this.now() - this.lastBusy < 2 * this.heartbeatMs || this.backlog > 0;
    if (busy) {
      let active = 1;
      let others = 0;
      for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${SENDERS}`, select: ['RowKey', 'busyUntil', 'rate'] } })) {
        if (row.rowKey === this.instanceId) continue;
        const busyUntil = typeof row.busyUntil === 'number' ? row.busyUntil : 0;
        if (busyUntil > wall) {
          active += 1;
          others += typeof row.rate === 'number' && row.rate >= 0 ? row.rate : instanceShare(this.full, 2);
        }
        // An instance that died while sending never removed its row: long run out, any instance clears it.
        else if (busyUntil < wall - 3 * this.heartbeatMs && typeof row.rowKey === 'string') await table.deleteEntity(SENDERS, row.rowKey).catch(() => undefined);
      }
      const rate = Math.max(this.least, Math.min(instanceShare(this.full, active), this.full - others));
      this.setRate(rate);
      this.registered = true;
      await table.upsertEntity({ partitionKey: SENDERS, rowKey: this.instanceId, busyUntil: wall + 3 * this.heartbeatMs, rate }, 'Replace');
    } else if (this.registered) {
      this.registered = false;
      await table.deleteEntity(SENDERS, this.instanceId).catch((err) => {
        if (statusOf(err) !== 404) throw err;
      });
      this.setRate(this.full);
    }
  }

  private setRate(rate: number): void {
    if (Math.abs(rate - this.app.rate) < 1e-9) return;
    this.app.setRate(rate);
    // Waiters were timed for the old rate.
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.arm();
    }
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

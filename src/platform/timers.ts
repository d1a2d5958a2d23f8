import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Clock } from './clock';
import type { Logger } from './logging';
import { encodeKey, parseRow, statusOf, type Tables } from './storage/tables';

/**
 * Durable timers, keyed by when they are due (PartitionKey = UTC day, RowKey = due time + kind + key),
 * so a tick reads only what is due. A timer is claimed under its ETag before it runs and deleted after,
 * so with several instances each runs once, and a crash between claim and delete leads to a retry
 * when the claim lapses, not a loss. Handlers must be idempotent: they look at stored state and do
 * what is still to do.
 */

export const TIMERS_TABLE = 'Timers';

const Row = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  kind: z.string(),
  key: z.string(),
  dueAt: z.string().datetime(),
  claimedUntil: z.string().default(''),
  etag: z.string(),
});

export type TimerHandler = (key: string, now: Date) => Promise<void>;

export interface DueTimer {
  readonly kind: string;
  readonly key: string;
  readonly dueAt: Date;
}

export class Timers {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(TIMERS_TABLE);
  }

  /** Idempotent: the same kind, key and time is one timer. */
  async schedule(kind: string, key: string, dueAt: Date): Promise<void> {
    const dueIso = dueAt.toISOString();
    await this.table.upsertEntity({ partitionKey: dueIso.slice(0, 10), rowKey: `${dueIso}|${kind}|${encodeKey(key)}`, kind, key, dueAt: dueIso, claimedUntil: '' }, 'Replace');
  }

  /** Timers due at `now`: reads only partitions up to today and rows up to now. */
  async due(now: Date, limit = 200): Promise<z.infer<typeof Row>[]> {
    const nowIso = now.toISOString();
    const out: z.infer<typeof Row>[] = [];
    const filter = odata`PartitionKey le ${nowIso.slice(0, 10)} and RowKey le ${`${nowIso}|~`}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const parsed = parseRow(Row, row, this.logger, TIMERS_TABLE);
      if (parsed) out.push(parsed);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Runs every due timer once across all instances. Returns how many ran. */
  async runDue(now: Date, handlers: ReadonlyMap<string, TimerHandler>, leaseMs = 120_000): Promise<number> {
    let ran = 0;
    for (const timer of await this.due(now)) {
      if (timer.claimedUntil && timer.claimedUntil > now.toISOString()) continue;
      const handler = handlers.get(timer.kind);
      if (!handler) continue;
      let etag: string;
      try {
        const claimed = await this.table.updateEntity({ partitionKey: timer.partitionKey, rowKey: timer.rowKey, claimedUntil: new Date(now.getTime() + leaseMs).toISOString() }, 'Merge', { etag: timer.etag });
        etag = claimed.etag ?? '';
      } catch (err) {
        if (statusOf(err) === 412 || statusOf(err) === 404) continue; // another instance has it
        throw err;
      }
      try {
        await handler(timer.key, now);
      } catch (err) {
        this.logger.error({ err: { message: (err as Error).message }, kind: timer.kind }, 'timer failed; it will be retried when its claim lapses');
        continue;
      }
      await this.table.deleteEntity(timer.partitionKey, timer.rowKey, { etag }).catch((err) => {
        if (statusOf(err) !== 404 && statusOf(err) !== 412) throw err;
      });
      ran += 1;
    }
    return ran;
  }
}

/** Work a capability does on every tick (e.g. the nudge round); it claims what it does itself. */
export type TickJob = (now: Date) => Promise<unknown>;

/** Ticks in every running instance; nothing lives in memory across ticks. */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly timers: Timers,
    private readonly handlers: ReadonlyMap<string, TimerHandler>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly jobs: readonly TickJob[] = [],
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.tick().catch((err) => this.logger.error({ err: { message: (err as Error).message } }, 'scheduler tick failed'));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Runs the due timers, then each job; a failure in one does not stop the others (the first is rethrown). */
  async tick(): Promise<number> {
    const now = this.clock.now();
    let failure: unknown;
    let ran = 0;
    try {
      ran = await this.timers.runDue(now, this.handlers);
    } catch (err) {
      failure = err;
    }
    for (const job of this.jobs) {
      try {
        await job(now);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return ran;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { odata, type TableClient } from '@azure/data-tables';
import type { Logger } from './logging';
import { statusOf, type Tables } from './storage/tables';

/**
 * Deliveries Teams repeats. Teams sends an activity again when the first delivery was not answered in
 * time (its retry after 15 s), possibly to another instance, so every instance records each message
 * it takes on in Table Storage, insert-if-absent on (conversation, activity id): the instance whose
 * insert succeeds runs the turn; any other delivery of it is a repeat and is answered without running
 * it again. (Button presses are idempotent by design and not recorded here: see bot.ts.)
 *
 * Rows are partitioned by the UTC day they arrived. A delivery is looked up in its day's partition,
 * and in the day before's during the first hour of a day (a retry just after midnight); so a delivery
 * is remembered for at least an hour and until the end of the next UTC day. The scheduler deletes the
 * partitions from before yesterday, a bounded batch per tick.
 */

export const INBOUND_TABLE = 'Inbound';

/** How long a repeat waits for the first delivery to finish, so it can give the same answer. */
const WAIT_FOR_FIRST_MS = 10_000;
const POLL_MS = 100;
/** Table Storage strings hold 32K UTF-16 characters; a larger answer is not kept (the repeat gets an empty one). */
const MAX_RESPONSE_CHARS = 30_000;
/** Rows deleted per scheduler tick at most. */
const CLEAN_BATCH = 500;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export type Delivery =
  | {
      readonly kind: 'first';
      /** Records that the turn finished, with the invoke response it gave (if any). */
      finish(response?: unknown): Promise<void>;
      /** The turn failed: forget the delivery, so Teams' retry runs it again. */
      release(): Promise<void>;
    }
  | {
      readonly kind: 'repeat';
      /** The first delivery's invoke response, if it finished within the wait and had one. */
      readonly response?: unknown;
    };

interface Row {
  partitionKey: string;
  rowKey: string;
  done: boolean;
  response?: string;
}

export class InboundLog {
  private readonly table: TableClient;

  constructor(
    tables: Tables,
    private readonly logger: Logger,
  ) {
    this.table = tables.client(INBOUND_TABLE);
  }

  /** Claims the delivery of `activityId` in `conversationId`, arriving at `now`. */
  async claim(conversationId: string, activityId: string, now: Date): Promise<Delivery> {
    const rowKey = createHash('sha256').update(`${conversationId}\n${activityId}`).digest('hex');
    // A first delivery that failed is released; its retry claims again (twice at most, then it is left).
    for (let attempt = 0; attempt < 3; attempt++) {
      if (now.getTime() % DAY_MS < HOUR_MS) {
        const before = dayKey(new Date(now.getTime() - DAY_MS));
        if (await this.exists(before, rowKey)) {
          const seen = await this.waitForFirst(before, rowKey);
          if (seen) return seen;
          continue;
        }
      }
      const partitionKey = dayKey(now);
      try {
        await this.table.createEntity<Row>({ partitionKey, rowKey, done: false });
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
        const seen = await this.waitForFirst(partitionKey, rowKey);
        if (seen) return seen;
        continue;
      }
      return this.first(partitionKey, rowKey);
    }
    return { kind: 'repeat' };
  }

  private first(partitionKey: string, rowKey: string): Delivery {
    return {
      kind: 'first',
      finish: async (response) => {
        const json = response === undefined ? undefined : JSON.stringify(response);
        const entity: Row = { partitionKey, rowKey, done: true };
        if (json !== undefined && json.length <= MAX_RESPONSE_CHARS) entity.response = json;
        await this.table.updateEntity(entity, 'Merge').catch((err: Error) => this.logger.warn({ err: { message: err.message } }, 'could not record a finished delivery'));
      },
      release: async () => {
        await this.table.deleteEntity(partitionKey, rowKey).catch((err: Error) => this.logger.warn({ err: { message: err.message } }, 'could not release a failed delivery'));
      },
    };
  }

  /** Deletes up to a batch of rows from before yesterday; returns how many. */
  async cleanUp(now: Date): Promise<number> {
    const keep = dayKey(new Date(now.getTime() - DAY_MS));
    const old: { partitionKey: string; rowKey: string }[] = [];
    for await (const row of this.table.listEntities<Row>({ queryOptions: { filter: odata`PartitionKey lt ${keep}`, select: ['PartitionKey', 'RowKey'] } })) {
      old.push({ partitionKey: row.partitionKey!, rowKey: row.rowKey! });
      if (old.length >= CLEAN_BATCH) break;
    }
    for (const row of old) {
      await this.table.deleteEntity(row.partitionKey, row.rowKey).catch((err) => {
        if (statusOf(err) !== 404) throw err;
      });
    }
    return old.length;
  }

  private async exists(partitionKey: string, rowKey: string): Promise<boolean> {
    try {
      await this.table.getEntity(partitionKey, rowKey);
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /**
   * A repeat: waits (briefly) for the first delivery to finish, to give its answer. Undefined when the
   * first delivery's row is gone (it failed and was released), so this one may run it.
   */
  private async waitForFirst(partitionKey: string, rowKey: string): Promise<Delivery | undefined> {
    const until = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      let row: Row | undefined;
      try {
        row = await this.table.getEntity<Row>(partitionKey, rowKey);
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        return undefined;
      }
      if (row.done) return { kind: 'repeat', response: row.response ? (JSON.parse(row.response) as unknown) : undefined };
      if (Date.now() >= until) return { kind: 'repeat' };
      await sleep(POLL_MS);
    }
  }
}

function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10);
}

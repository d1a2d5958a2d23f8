import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import type { Tables } from '../src/platform/storage/tables';

/**
 * Names every storage request a Together instance makes (table, operation, which rows) so the bench can
 * say what costs what, and whether it belongs to the sign-up turn or to the follow-ups (confirmation
 * messages, the shared card refresh). Added as one more pipeline policy on the instance's own
 * TableClients, inside the instance's own process (bench/instance.ts reports the counts over IPC); it
 * does not change what they send, and it only looks at the URL (cheap enough for the timed runs).
 * It also tracks requests in flight, so the process can tell when its storage has gone quiet.
 *
 * The sign-up/follow-up split leans on two counters of today's TeachMeet queue (queue.read, bookkeeping);
 * an instance without them (delivery is being rewritten, issue 14) still gets every call counted, with
 * partition queries and transactions then counted on the sign-up path (an over-count, never an under-count).
 * A table this file does not know is counted on the sign-up path too.
 */

export type Phase = 'turn' | 'follow-up';

export interface OpCount {
  readonly label: string;
  readonly phase: Phase;
  count: number;
  notFound: number;
}

export class StorageOps {
  private readonly ops = new Map<string, OpCount>();
  /** Storage requests sent and not yet answered, and when the last one started or ended (Date.now()). */
  inFlight = 0;
  lastActivity = 0;
  private readonly attached = new Set<string>();

  /** Adds the naming policy to the instance's client for each table (once per client). */
  attach(tables: Tables, names: readonly string[]): void {
    for (const name of names) {
      const client = tables.client(name);
      const id = `${name}@${client.url}`;
      if (this.attached.has(id)) continue;
      this.attached.add(id);
      const policy: PipelinePolicy = {
        name: `benchStorageOps.${name}`,
        sendRequest: async (request, next) => {
          const { label, phase } = classify(name, request);
          const key = `${phase}\u0000${label}`;
          let op = this.ops.get(key);
          if (!op) {
            op = { label, phase, count: 0, notFound: 0 };
            this.ops.set(key, op);
          }
          op.count += 1;
          this.inFlight += 1;
          this.lastActivity = Date.now();
          try {
            const response = await next(request);
            if (response.status === 404) op.notFound += 1;
            return response;
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode === 404) op.notFound += 1;
            throw err;
          } finally {
            this.inFlight -= 1;
            this.lastActivity = Date.now();
          }
        },
      };
      client.pipeline.addPolicy(policy);
    }
  }

  reset(): void {
    this.ops.clear();
    this.freshReads = 0;
    this.bookkeepingFrom = this.bookkeepingOf?.bookkeeping ?? 0;
  }

  /** Call once the run is over (splits the partition queries), then read snapshot/total. */
  finish(): void {
    this.split();
  }

  snapshot(): OpCount[] {
    return [...this.ops.values()].map((o) => ({ ...o })).sort((a, b) => (a.phase === b.phase ? b.count - a.count : a.phase === 'turn' ? -1 : 1));
  }

  total(phase?: Phase): number {
    let n = 0;
    for (const op of this.ops.values()) if (!phase || op.phase === phase) n += op.count;
    return n;
  }

  /**
   * The TeachMeets partition query is made by the queue before a commit (its first, or after an ETag
   * conflict) and by `queue.read` (the card refresh re-reading what another instance committed, offers).
   * Counting `queue.read` calls (one query each) tells them apart without looking at call stacks (the
   * Azure pipeline loses async stacks) or async hooks (which would slow the timed run).
   */
  countFreshReads(queue: { read: (eventId: string) => Promise<unknown> }): void {
    const original = queue.read.bind(queue);
    queue.read = (eventId: string) => {
      this.freshReads += 1;
      return original(eventId);
    };
  }

  private freshReads = 0;

  /**
   * The queue's commits that only record notices or offers as sent are follow-ups (after a confirmation
   * has gone), not the sign-up path; the queue counts them, as it sends them, so they can be told apart.
   */
  countBookkeeping(queue: { bookkeeping: number }): void {
    this.bookkeepingOf = queue;
    this.bookkeepingFrom = queue.bookkeeping;
  }

  private bookkeepingOf: { bookkeeping: number } | undefined;
  private bookkeepingFrom = 0;

  /** Moves the partition queries made through queue.read, and the bookkeeping commits, to the follow-ups. */
  private split(): void {
    const commits = this.ops.get(`turn\u0000${COMMIT}`);
    const bookkeeping = Math.min((this.bookkeepingOf?.bookkeeping ?? 0) - this.bookkeepingFrom, commits?.count ?? 0);
    if (commits && bookkeeping > 0) {
      commits.count -= bookkeeping;
      if (commits.count === 0) this.ops.delete(`turn\u0000${COMMIT}`);
      this.ops.set(`follow-up\u0000${BOOKKEEPING}`, { label: BOOKKEEPING, phase: 'follow-up', count: bookkeeping, notFound: 0 });
    }
    const key = `turn\u0000${PARTITION_QUERY}`;
    const all = this.ops.get(key);
    if (!all) return;
    const fresh = Math.min(this.freshReads, all.count);
    this.ops.delete(key);
    if (all.count - fresh > 0) this.ops.set(`turn\u0000${QUEUE_LOAD}`, { label: QUEUE_LOAD, phase: 'turn', count: all.count - fresh, notFound: all.notFound });
    if (fresh > 0) this.ops.set(`follow-up\u0000${FRESH_READ}`, { label: FRESH_READ, phase: 'follow-up', count: fresh, notFound: 0 });
    this.freshReads = 0;
  }

  /** Calls on the TeachMeets table only: the queue's loads and commits. */
  teachMeetsTable(): number {
    let n = 0;
    for (const op of this.ops.values()) if (op.label.startsWith('TeachMeets') && op.phase === 'turn') n += op.count;
    return n;
  }
}

const PARTITION_QUERY = 'TeachMeets: query event partition';
const COMMIT = 'TeachMeets: transaction (queue commit)';
const BOOKKEEPING = 'TeachMeets: transaction (confirmations or offers recorded as sent)';
const QUEUE_LOAD = 'TeachMeets: query event partition (queue load: first commit or after a conflict)';
const FRESH_READ = 'TeachMeets: query event partition (queue.read by card refresh/offers)';

function classify(table: string, request: PipelineRequest): { label: string; phase: Phase } {
  const url = new URL(request.url);
  const path = decodeURIComponent(url.pathname);
  const method: string = request.method;
  if (path.endsWith('/$batch')) {
    return { label: `${table}: transaction${table === 'TeachMeets' ? ' (queue commit)' : ''}`, phase: 'turn' };
  }
  const point = /\(PartitionKey='([^']*)',RowKey='([^']*)'\)$/.exec(path);
  const pk = point?.[1] ?? '';
  const rk = point?.[2] ?? '';
  const filter = url.searchParams.get('$filter') ?? '';
  const verb = method === 'GET' ? (point ? 'read' : 'query') : method === 'PUT' ? 'upsert' : method === 'MERGE' || method === 'PATCH' ? 'merge' : method === 'POST' ? 'insert' : method.toLowerCase();

  switch (table) {
    case 'Directory': {
      if (rk.startsWith('person|')) return { label: `Directory: ${verb} person row (identity of the clicker)`, phase: 'turn' };
      if (!point && filter.includes("'person|'")) return { label: 'Directory: query all person rows (directory snapshot)', phase: 'turn' };
      if (!point && filter.includes("'school|'")) {
        // Read for the clicker's own card and for the shared-card refresh alike (one 30 s copy per instance).
        return { label: 'Directory: query school list (card data: clicker\'s card or shared-card refresh)', phase: 'turn' };
      }
      return { label: `Directory: ${verb} ${point ? 'row' : 'query'}`, phase: 'turn' };
    }
    case 'Conversations': {
      if (pk === 'personal') {
        return { label: `Conversations: ${verb} personal chat reference (confirmation message)`, phase: 'follow-up' };
      }
      if (pk === 'chat') return { label: `Conversations: ${verb} channel reference (beforeTurn remember)`, phase: 'turn' };
      return { label: `Conversations: ${verb}`, phase: 'turn' };
    }
    case 'TeachMeets': {
      // Split afterwards into queue loads and fresh reads (see split()).
      if (!point && filter.startsWith('PartitionKey eq')) return { label: PARTITION_QUERY, phase: 'turn' };
      if (point && rk === 'event' && method === 'GET' && (url.searchParams.get('$select') ?? '').includes('version')) {
        return { label: 'TeachMeets: read event row version (card refresh: did another instance move it on?)', phase: 'follow-up' };
      }
      return { label: `TeachMeets: ${verb} ${rk === 'event' ? 'event row' : 'row'}`, phase: 'turn' };
    }
    case 'Deadlines': {
      // The day-before reminder kept in step with each changed sign-up (TeachMeetService.syncReminders, a follow-up).
      const item = pk === 'item' || pk.startsWith('item|');
      const row = item ? 'item row' : pk.startsWith('due|') ? 'due row' : 'row';
      const why = method === 'GET' && item ? ' (register, or cancel for someone not confirmed)' : '';
      return { label: `Deadlines: ${verb} ${row}${why} (reminder registry)`, phase: 'follow-up' };
    }
    default:
      return { label: `${table}: ${verb}`, phase: 'turn' };
  }
}


import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { odata, type TransactionAction } from '@azure/data-tables';
import { loadConfig } from '../src/config';
import { NudgeService } from '../src/nudges/service';
import { NUDGES_TABLE, NudgeStore } from '../src/nudges/store';
import { createAdapter } from '../src/platform/bot';
import { ManualClock } from '../src/platform/clock';
import { CONVERSATIONS_TABLE, ConversationStore } from '../src/platform/conversations/store';
import { DEADLINES_TABLE, DeadlineStore, dueKeyOf, entityOf, itemKeyOf, type StoredDeadline } from '../src/platform/deadlines/store';
import { DIRECTORY_TABLE, DirectoryStore } from '../src/platform/directory/store';
import { createLogger } from '../src/platform/logging';
import { Outbox } from '../src/platform/outbox/outbox';
import { Proactive } from '../src/platform/proactive';
import { startAzurite } from '../src/platform/storage/azurite';
import { Tables } from '../src/platform/storage/tables';
import { Timers, TIMERS_TABLE } from '../src/platform/timers';
import { TeamsSimulator } from '../test/support/simulator';
import { EntityCounter, inParallel } from './seeding';

/**
 * The nudges section of `npm run bench`: one scheduler tick over a registry of BENCH_NUDGE_TOTAL
 * (100,000) stored deadlines of which BENCH_NUDGE_DUE (50) are due, against reading the whole table,
 * and against a query on the item rows' next-nudge time (what a registry not keyed by due time would
 * run: few entities come back, but the service reads every item row to find them), all in the
 * same run on the same tables.
 *
 * The due items are registered through the registry and planned by a first tick, as a capability's
 * would be; the rest are seeded straight into the tables in entity-group transactions (100 rows
 * each), due on later days and later today. The tick sends its 50 digests to a Teams simulator
 * standing in for the Bot Connector. "Entities read" counts the entities storage returned to the
 * instance (every row of every query page, every point read that found its row), from the responses.
 *
 * Call `benchNudges()` (it starts its own Azurite unless given a connection string); run this file on
 * its own with `node dist/bench/nudges.js`.
 */

export interface NudgesBenchOptions {
  /** Azure Storage / Azurite connection string; omitted: an in-memory Azurite is started and stopped. */
  readonly connectionString?: string;
  readonly total?: number;
  readonly due?: number;
  /** Where the table goes (default: stdout). */
  readonly log?: (line: string) => void;
}

export interface NudgesBenchResult {
  readonly total: number;
  readonly due: number;
  readonly seedMs: number;
  readonly tick: {
    readonly ms: number;
    /** Entities read from the Deadlines table (finding and claiming what is due). */
    readonly deadlineEntities: number;
    /** Entities read from every table (also the policy, the people's chat references, …). */
    readonly allEntities: number;
    readonly requests: number;
    readonly messages: number;
  };
  /** The tick's own query for what is due, alone. */
  readonly dueQuery: { readonly ms: number; readonly entities: number };
  readonly fullScan: { readonly ms: number; readonly entities: number };
  readonly nextAtQuery: { readonly ms: number; readonly entities: number };
  readonly goalMet: boolean;
}

const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};

export async function benchNudges(options: NudgesBenchOptions = {}): Promise<NudgesBenchResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const total = options.total ?? intEnv('BENCH_NUDGE_TOTAL', 100_000);
  const dueCount = Math.min(options.due ?? intEnv('BENCH_NUDGE_DUE', 50), total);
  const azurite = options.connectionString ? undefined : await startAzurite();
  const connectionString = options.connectionString ?? azurite!.connectionString;
  const sim = await TeamsSimulator.start();
  try {
    const logger = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));
    const loaded = loadConfig({ PARTNERSHIP_NAME: 'Riverside Schools Together', LOG_LEVEL: 'warn' });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const tables = new Tables({ connectionString }, `b${randomBytes(4).toString('hex')}`);
    await tables.ensure([DEADLINES_TABLE, NUDGES_TABLE, DIRECTORY_TABLE, CONVERSATIONS_TABLE, TIMERS_TABLE]);
    const counter = new EntityCounter('benchNudgeEntities');
    for (const table of [DEADLINES_TABLE, NUDGES_TABLE, DIRECTORY_TABLE, CONVERSATIONS_TABLE, TIMERS_TABLE]) counter.attach(tables.client(table), table);

    // Mon 23 Nov 2026 10:00 the due items are registered; the measured tick is Fri 27 Nov 08:00, their 7-day nudge.
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    const deadlines = new DeadlineStore(tables, clock, logger);
    const conversations = new ConversationStore(tables, logger);
    const proactive = new Proactive(createAdapter(loaded.config), '', conversations, logger);
    const outbox = new Outbox({ tables, timers: new Timers(tables, logger), proactive, conversations, deadlines, clock, logger });
    const service = new NudgeService({ deadlines, store: new NudgeStore(tables, logger), directory: new DirectoryStore(tables, [], logger), conversations, proactive, outbox, clock, logger, partnershipName: 'Riverside Schools Together', batch: Math.max(200, dueCount * 2) });

    const seedStarted = performance.now();
    for (let i = 0; i < dueCount; i += 1) {
      const user = sim.user(`rep${i}`, `Rep ${i}`);
      const chat = sim.personalChat(user);
      await conversations.rememberPersonal(user.aadObjectId, { channelId: 'msteams', serviceUrl: sim.serviceUrl, conversation: { id: chat.id, name: '', conversationType: 'personal', tenantId: sim.tenantId, isGroup: false }, bot: { id: sim.bot.id, name: sim.bot.name }, user: { id: user.id, name: user.name } }, user.name);
      await deadlines.register({
        id: `bench:due:${i}`,
        capability: 'bench',
        who: { kind: 'person', aadObjectId: user.aadObjectId, teamsId: user.id, name: user.name },
        what: `Approve 'Project ${i}' for School ${i % 20}`,
        dueAt: new Date('2026-12-04T17:00:00Z'),
        actions: [{ title: 'Approve for my school', verb: 'proposal.approve', data: { proposalId: `pr${String(i).padStart(10, '0')}`, version: '1' } }],
        essential: true,
      });
    }
    const planned = await service.tick(clock.now());
    if (planned.claimed !== dueCount) throw new Error(`bench: planned ${planned.claimed} of ${dueCount} due items`);

    // The rest: due later today (after 08:00) and on the days after, as if planned long ago.
    const measureAt = new Date('2026-11-27T08:00:00Z');
    const rest = total - dueCount;
    const byPartition = new Map<string, TransactionAction[]>();
    const add = (partitionKey: string, entity: Record<string, unknown>) => {
      let list = byPartition.get(partitionKey);
      if (!list) byPartition.set(partitionKey, (list = []));
      list.push(['create', entity as never]);
    };
    for (let i = 0; i < rest; i += 1) {
      const laterToday = i % 50 === 0;
      const nextAt = laterToday ? new Date(measureAt.getTime() + (1 + (i % 480)) * 60_000) : new Date(measureAt.getTime() + (1 + (i % 365)) * 86_400_000 + (i % 9) * 3_600_000);
      const record: StoredDeadline = {
        id: `bench:later:${i}`,
        capability: 'bench',
        who: { kind: 'schoolReps', schoolId: `s${i % 20}` },
        what: `Approve 'Project ${i}' for School ${i % 20}`,
        schoolId: `s${i % 20}`,
        dueAt: new Date(nextAt.getTime() + 7 * 86_400_000),
        actions: [{ title: 'Approve for my school', verb: 'proposal.approve', data: { proposalId: `pr${String(i).padStart(10, '0')}`, version: '1' } }],
        essential: true,
        kind: 'deadline',
        status: 'open',
        registeredAt: new Date('2026-11-01T10:00:00Z'),
        progress: {},
        nextAt,
        rev: 1,
      };
      const entity = entityOf(record);
      const due = dueKeyOf(record);
      add(itemKeyOf(record.id).partitionKey, { ...itemKeyOf(record.id), ...entity, duePk: due.partitionKey, dueRk: due.rowKey, claimedUntil: '' });
      add(due.partitionKey, { ...due, ...entity, indexEtag: '', writtenAt: '2026-11-01T10:00:00.000Z' });
    }
    const batches: TransactionAction[][] = [];
    for (const list of byPartition.values()) for (let start = 0; start < list.length; start += 100) batches.push(list.slice(start, start + 100));
    const table = tables.client(DEADLINES_TABLE);
    await inParallel(batches, 16, async (batch) => {
      await table.submitTransaction(batch);
    });
    const seedMs = performance.now() - seedStarted;

    // Baselines first (the tick moves the due items on).
    counter.reset();
    let started = performance.now();
    let scanned = 0;
    for await (const _ of table.listEntities()) scanned += 1;
    const fullScan = { ms: performance.now() - started, entities: counter.byTable.get(DEADLINES_TABLE) ?? 0 };
    if (scanned !== total * 2) log(`(note: the full scan saw ${scanned} rows, expected ${total * 2})`);

    counter.reset();
    started = performance.now();
    let found = 0;
    const filter = odata`PartitionKey ge ${'item|'} and PartitionKey lt ${'item}'} and status eq ${'open'} and nextAt ne ${''} and nextAt le ${measureAt.toISOString()}`;
    for await (const _ of table.listEntities({ queryOptions: { filter } })) found += 1;
    const nextAtQuery = { ms: performance.now() - started, entities: counter.byTable.get(DEADLINES_TABLE) ?? 0 };
    if (found !== dueCount) log(`(note: the next-nudge query found ${found}, expected ${dueCount})`);

    counter.reset();
    started = performance.now();
    const dueRows = await deadlines.due(measureAt, Math.max(200, dueCount * 2));
    const dueQuery = { ms: performance.now() - started, entities: counter.byTable.get(DEADLINES_TABLE) ?? 0 };
    if (dueRows.length !== dueCount) log(`(note: the due query found ${dueRows.length}, expected ${dueCount})`);

    sim.clearRecords();
    counter.reset();
    clock.set(measureAt);
    started = performance.now();
    const report = await service.tick(measureAt);
    const tickMs = performance.now() - started;
    const tick = {
      ms: tickMs,
      deadlineEntities: counter.byTable.get(DEADLINES_TABLE) ?? 0,
      allEntities: counter.total(),
      requests: counter.requests,
      messages: sim.sent.filter((s) => s.method === 'POST').length,
    };
    if (report.messages !== dueCount || tick.messages !== dueCount) log(`(note: the tick sent ${report.messages} digests, the connector got ${tick.messages}; expected ${dueCount})`);
    const goalMet = tick.deadlineEntities <= dueCount + 10;

    const ms = (v: number) => `${v.toFixed(0)} ms`;
    const rows = [
      ['', 'entities read', 'time', 'storage requests'],
      ['the tick\'s query for what is due (due rows up to now)', String(dueQuery.entities), ms(dueQuery.ms), '1'],
      [`one whole nudge tick: finds ${dueCount}, claims, commits and delivers ${tick.messages} digests, refiles`, `${tick.deadlineEntities} Deadlines (${tick.allEntities} all tables)`, ms(tick.ms), String(tick.requests)],
      ['full-table scan of Deadlines', String(fullScan.entities), ms(fullScan.ms), '-'],
      ['filter on the item rows\' next-nudge time (not a key) *', String(nextAtQuery.entities), ms(nextAtQuery.ms), '-'],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    log('');
    log(`== Nudges: one scheduler tick over ${total.toLocaleString('en-GB')} stored deadlines, ${dueCount} due (seeded in ${(seedMs / 1000).toFixed(1)} s) ==`);
    for (const [i, r] of rows.entries()) {
      log(r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | '));
      if (i === 0) log(widths.map((w) => '-'.repeat(w)).join('-|-'));
    }
    log(`the whole tick reads ${(fullScan.entities / Math.max(1, tick.deadlineEntities)).toFixed(0)}× fewer Deadlines entities than a full scan; the scan alone takes ${(fullScan.ms / Math.max(1, tick.ms)).toFixed(1)}× as long as the whole tick, ${(fullScan.ms / Math.max(1, dueQuery.ms)).toFixed(0)}× as long as the tick's query`);
    log(`goal: Deadlines entities read by the tick ≤ due + 10 = ${dueCount + 10}: ${tick.deadlineEntities} → ${goalMet ? 'met' : 'NOT met'}`);
    log('* what a registry not keyed by due time would query: 50 come back, but Table Storage reads every item row to find them (Azurite filters in memory, so its time here flatters it)');
    log('(all tables adds the policy row, the lease row, each person\'s stored chat reference (read to address the digest, and again to send it) and the outbox reading back what it delivers; the tick writes a claim and a refiled due row per item, and one transaction of day records and digests per 25 people)');
    return { total, due: dueCount, seedMs, tick, dueQuery, fullScan, nextAtQuery, goalMet };
  } finally {
    await sim.stop();
    await azurite?.stop();
  }
}

if (require.main === module) {
  benchNudges().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

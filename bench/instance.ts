import { Writable } from 'node:stream';
import { loadConfig } from '../src/config';
import { startTogether, TABLES, type Together } from '../src/index';
import { createLogger } from '../src/platform/logging';
import { Tables } from '../src/platform/storage/tables';
import { startBareBot, type BareBot } from './bareBot';
import { combine, noCardRefresh, noNotices, type Tweak } from './diagnostics';
import { StorageOps, type OpCount } from './storageOps';

/**
 * One bot for the benchmark, in its own process, as a deployment runs it: a Together instance or the
 * bare bot (bench/bareBot.ts). The load generator (bench/run.ts, bench/fanout.ts) talks to it only over
 * HTTP (Bot Framework activities to its /api/messages; it sends to whatever serviceUrl they carry); this
 * process only reports, over IPC, what the load generator cannot see from outside: its own storage calls
 * (bench/storageOps.ts, counted here, in the process that makes them) and warnings it logged.
 *
 * The process lives for the whole bench and starts a fresh instance (fresh tables) for each run, so a
 * measured run meets code the JIT has already compiled, as a long-running deployment's would.
 *
 * On its own (for a look by hand): `node dist/bench/instance.js together <connectionString> [port]`
 * starts a Together instance (local mode, tables prefixed `bench`) and prints `ready <url>`;
 * `node dist/bench/instance.js bare [port]` the bare bot.
 */

export type InstanceSpec =
  | {
      readonly kind: 'together';
      readonly connectionString: string;
      readonly tablePrefix: string;
      /** Entra object ids of the coordinators. */
      readonly coordinators: readonly string[];
      /** TEAMS_SEND_RATE (the config's default when absent). */
      readonly sendRate?: number;
      /** Lift the per-person press limit (the throughput scenario's coordinator posts 100 events in seconds). */
      readonly liftPressLimits?: boolean;
      /** Diagnostics only (bench/diagnostics.ts), applied before the instance answers anything. */
      readonly tweaks?: readonly ('noCardRefresh' | 'noNotices')[];
      readonly logLevel?: 'info' | 'warn';
      readonly port?: number;
    }
  | { readonly kind: 'bare'; readonly port?: number }
  /** The bare bot plus one (missing) row read per click from this table (calibration). */
  | { readonly kind: 'bareRead'; readonly connectionString: string; readonly tablePrefix: string; readonly port?: number };

/** Storage calls this process made since the last reset (a Together instance; zero for the bare bots). */
export interface InstanceCounts {
  /** Tables.callCount delta. */
  readonly calls: number;
  readonly ops: OpCount[];
  readonly turnCalls: number;
  readonly followUpCalls: number;
  readonly teachMeetCalls: number;
  /** ETag conflicts seen by the TeachMeet queue (NaN when the instance no longer has one). */
  readonly conflicts: number;
  /** Warnings and errors logged since the last reset (first 300 characters of each). */
  readonly problems: string[];
}

export type ToInstance =
  | { readonly type: 'start'; readonly id: number; readonly spec: InstanceSpec }
  /** Wait for storage to go quiet, then zero the counts. */
  | { readonly type: 'reset'; readonly id: number }
  /** Wait for storage to go quiet, then report the counts. */
  | { readonly type: 'counts'; readonly id: number }
  /** Diagnostics: put these people into the instance's 30 s directory copy (no person read per click). */
  | { readonly type: 'warm'; readonly id: number; readonly people: readonly { aadObjectId: string; name: string }[] }
  | { readonly type: 'stop'; readonly id: number };

export type FromInstance =
  | { readonly type: 'ok'; readonly id: number; readonly url?: string; readonly counts?: InstanceCounts }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

interface Running {
  readonly url: string;
  close(): Promise<void>;
  readonly together?: Together;
  readonly ops?: StorageOps;
  callsFrom: number;
  conflictsFrom: number;
}

const TWEAKS: Record<string, Tweak> = { noCardRefresh, noNotices };
let problems: string[] = [];

/** Production log level, written nowhere; warnings and errors are kept to report. */
function sinkLogger(level: 'info' | 'warn') {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString();
      if (/"level":(40|50|60)/.test(text)) for (const line of text.split('\n')) if (/"level":(40|50|60)/.test(line)) problems.push(line.slice(0, 300));
      done();
    },
  });
  return createLogger(level, stream);
}

/** The queue's counters where the instance still has them (duck-typed: delivery is being rewritten). */
function queueOf(together: Together): { conflicts?: number; bookkeeping?: number; read?: (eventId: string) => Promise<unknown> } | undefined {
  return (together.teachmeets as unknown as { queue?: { conflicts?: number; bookkeeping?: number; read?: (eventId: string) => Promise<unknown> } }).queue;
}

export async function startInstance(spec: InstanceSpec): Promise<Running> {
  if (spec.kind === 'bare' || spec.kind === 'bareRead') {
    let probe: Tables | undefined;
    if (spec.kind === 'bareRead') {
      probe = new Tables({ connectionString: spec.connectionString }, spec.tablePrefix);
      await probe.ensure(['Probe']);
    }
    const bot: BareBot = await startBareBot({ readEach: probe?.client('Probe'), port: spec.port });
    return {
      url: bot.url,
      callsFrom: 0,
      conflictsFrom: 0,
      async close() {
        await bot.close();
        await probe?.dropAll(['Probe']).catch(() => undefined);
      },
    };
  }
  const loaded = loadConfig({
    PARTNERSHIP_NAME: 'Riverside Schools Together',
    LOG_LEVEL: spec.logLevel ?? 'info',
    COORDINATORS: spec.coordinators.join(','),
    ...(spec.sendRate ? { TEAMS_SEND_RATE: String(spec.sendRate) } : {}),
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  // One coordinator posts every event of the throughput scenario in seconds, which the per-person limit
  // (20 a second) would rightly slow down; the clicks measured come from distinct people, for whom the
  // limit never trips, so lifting it changes nothing measured.
  const pressLimits = spec.liftPressLimits ? { burst: 1_000_000, perSecond: 1_000_000, tellEveryMs: 10_000 } : undefined;
  const together = await startTogether({
    config: loaded.config,
    storage: { connectionString: spec.connectionString },
    logger: sinkLogger(spec.logLevel ?? 'info'),
    schedulerIntervalMs: 0,
    tablePrefix: spec.tablePrefix,
    port: spec.port ?? 0,
    host: '127.0.0.1',
    pressLimits,
  });
  if (spec.tweaks?.length) combine(...spec.tweaks.map((t) => TWEAKS[t]!))(together);
  const ops = new StorageOps();
  ops.attach(together.tables, TABLES);
  const queue = queueOf(together);
  if (queue?.read) ops.countFreshReads(queue as { read: (eventId: string) => Promise<unknown> });
  if (typeof queue?.bookkeeping === 'number') ops.countBookkeeping(queue as { bookkeeping: number });
  return {
    url: `${together.url}/api/messages`,
    together,
    ops,
    callsFrom: together.tables.callCount,
    conflictsFrom: queue?.conflicts ?? NaN,
    close: () => together.close(),
  };
}

/**
 * Until this instance's storage has gone quiet: what the instance still owes (its own settle, where it
 * has one), then no storage request in flight and none started for `quietMs`.
 */
async function quiesce(r: Running, quietMs = 300, maxMs = 15_000): Promise<void> {
  const started = Date.now();
  const settle = (r.together?.teachmeets as unknown as { settle?: () => Promise<void> } | undefined)?.settle;
  if (settle && r.together) await settle.call(r.together.teachmeets);
  if (!r.ops) return;
  while (Date.now() - started < maxMs) {
    if (r.ops.inFlight === 0 && Date.now() - r.ops.lastActivity >= quietMs) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function countsOf(r: Running): InstanceCounts {
  const out = problems;
  problems = [];
  if (!r.together || !r.ops) return { calls: 0, ops: [], turnCalls: 0, followUpCalls: 0, teachMeetCalls: 0, conflicts: 0, problems: out };
  r.ops.finish();
  const queue = queueOf(r.together);
  return {
    calls: r.together.tables.callCount - r.callsFrom,
    ops: r.ops.snapshot(),
    turnCalls: r.ops.total('turn'),
    followUpCalls: r.ops.total('follow-up'),
    teachMeetCalls: r.ops.teachMeetsTable(),
    conflicts: (queue?.conflicts ?? NaN) - r.conflictsFrom,
    problems: out,
  };
}

function reset(r: Running): void {
  problems = [];
  r.ops?.reset();
  if (r.together) {
    r.callsFrom = r.together.tables.callCount;
    r.conflictsFrom = queueOf(r.together)?.conflicts ?? NaN;
  }
}

// ------------------------------------------------------------------------------------------------
// The process

async function serveIpc(): Promise<void> {
  let running: Running | undefined;
  const send = (m: FromInstance) => process.send!(m);
  process.on('message', (m: ToInstance) => {
    void (async () => {
      try {
        switch (m.type) {
          case 'start':
            if (running) await running.close();
            running = undefined;
            running = await startInstance(m.spec);
            send({ type: 'ok', id: m.id, url: running.url });
            return;
          case 'reset':
            if (running) {
              await quiesce(running);
              reset(running);
            }
            send({ type: 'ok', id: m.id });
            return;
          case 'counts':
            if (running) await quiesce(running);
            send({ type: 'ok', id: m.id, counts: running ? countsOf(running) : undefined });
            return;
          case 'warm':
            if (running?.together) for (const p of m.people) await running.together.directory.resolve(p.aadObjectId, p.name, 30_000);
            send({ type: 'ok', id: m.id });
            return;
          case 'stop':
            await running?.close();
            running = undefined;
            send({ type: 'ok', id: m.id });
            return;
        }
      } catch (err) {
        send({ type: 'error', id: m.id, message: (err as Error).stack ?? String(err) });
      }
    })();
  });
  process.on('disconnect', () => {
    void (running?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  process.send!({ type: 'ok', id: 0 } satisfies FromInstance);
  process.stdout.write(`ready pid ${process.pid}\n`);
}

if (require.main === module) {
  if (process.send) {
    void serveIpc();
  } else {
    const [kind, a, b] = process.argv.slice(2);
    const spec: InstanceSpec =
      kind === 'together'
        ? { kind: 'together', connectionString: a ?? '', tablePrefix: 'bench', coordinators: [], port: b ? Number(b) : 0 }
        : { kind: 'bare', port: a ? Number(a) : 0 };
    startInstance(spec).then(
      (r) => process.stdout.write(`ready ${r.url}\n`),
      (err: unknown) => {
        process.stderr.write(`instance failed: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  }
}

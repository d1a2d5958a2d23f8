import { runFanoutSection } from './fanout';
import { benchNudges } from './nudges';
import { benchImpact } from './impact';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { TABLES } from '../src/index';
import { createLogger } from '../src/platform/logging';
import { startAzurite, type EmbeddedAzurite } from '../src/platform/storage/azurite';
import { Tables } from '../src/platform/storage/tables';
import { waitPosition } from '../src/teachmeets/rules';
import { TeachMeetStore } from '../src/teachmeets/store';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../test/support/cardActions';
import { TeamsSimulator, type SimUser, type TurnResult } from '../test/support/simulator';
import type { InstanceSpec } from './instance';
import { addSchool, connectorQuiet, createEvent, fire, followUpsSeen, median, percentile, SOCKETS, type Click, type PostedEvent } from './load';
import { BotProcess, childPid, processCpuMs } from './processes';
import type { OpCount } from './storageOps';

/**
 * `npm run bench`: every figure from this one run, side by side, with ratios against a bare bot
 * (bench/bareBot.ts) measured in the same run on the same requests. Times are measured, never asserted;
 * invariants are checked after every run and printed PASS/FAIL.
 *
 * Why the processes are laid out as they are: a user's deployment runs each bot instance in its own
 * process, and the people clicking and Teams itself are elsewhere. A load generator sharing the bots'
 * event loop would hide part of their cost in the ratio (its own work and theirs take turns on one
 * thread, so the bare bot and Together are both slowed by the same load generator and the ratio
 * shrinks towards 1), and a connector sharing the bots' loop would see their pauses as bursts. So:
 *
 *  1. This process is the load generator. It starts Azurite (child processes), then one process per bot
 *     from bench/instance.ts: the bare bot, the bare bot with one storage read per click (calibration)
 *     and two Together processes. Each says "ready" over IPC; the bots are started once and each run
 *     starts a fresh instance inside them (fresh tables, a new port), so measured runs meet warm code,
 *     as a long-running deployment does.
 *  2. It talks to the bots only over HTTP, as Teams does: the Teams simulator (test/support/simulator.ts)
 *     in this process posts real Bot Framework activities (a coordinator adds a school, creates and posts
 *     TeachMeets; teachers press Attend, all at once, over keep-alive connections), and its connector
 *     half, at the serviceUrl the activities carry, receives the card updates and personal messages.
 *     For the rush it only records (no limits), so it stays here; what the bots send does not delay
 *     their answers, which are what "settled" times.
 *  3. Settled = every click answered. Follow-ups done = what the users see: every confirmation and each
 *     shared card's final counts have reached the simulated Teams (read from its records, not asked of
 *     the bots), so the figure stays meaningful whatever delivery looks like inside.
 *  4. Storage calls are counted where they are made: inside each bot process, on its own table clients
 *     (bench/storageOps.ts), reset once setup has gone quiet and reported over IPC after the run once
 *     the instance's storage is quiet again. The sign-up path (≤ 15 for 500 → 50) is the sum over the
 *     instances. What is stored is then checked by this process through its own client (not counted).
 *  5. CPU per click = load generator + bots + Azurite's table service, from /proc, against the bare
 *     bot's (load generator + bare bot); the parts are shown separately.
 *  6. Other sections: nudges and impact measure entities read and report time in this process (they
 *     count reads inside one process and compare with a scan, not with the bare bot); fan-out
 *     (bench/fanout.ts) runs Together in bench/instance.ts processes against a rate-enforcing connector
 *     in its own process (bench/fanoutConnector.ts), so the clock that counts requests per second is
 *     never paused by the bots or by the load generator.
 *
 * The machine is shared (2 cores here, with other work): figures are noisy; compare ratios from one run,
 * and look at the CPU columns, which load on the machine moves less than times.
 *
 * Settings (environment): BENCH_SECTIONS (teachmeets,nudges,fanout,impact; default all);
 * BENCH_REPS (default 3) runs of each scenario, medians reported;
 * BENCH_RUSH (500) clicks for one event with BENCH_PLACES (50) places;
 * BENCH_EVENTS (100) × BENCH_PER_EVENT (10) clicks, BENCH_EVENT_PLACES (5) places each, for throughput;
 * BENCH_DIAG=1 adds investigation rows (parts switched off from outside src/: bench/diagnostics.ts);
 * BENCH_SOCKETS (500) keep-alive connections for the load generator, 0 = a new connection per click;
 * BENCH_BUDGET_S (300): no new rep starts after that, so the run stops by itself in a few minutes;
 * fan-out settings are in bench/fanout.ts.
 */

const REPS = intEnv('BENCH_REPS', 3);
const RUSH = intEnv('BENCH_RUSH', 500);
const PLACES = intEnv('BENCH_PLACES', 50);
const EVENTS = intEnv('BENCH_EVENTS', 100);
const PER_EVENT = intEnv('BENCH_PER_EVENT', 10);
const EVENT_PLACES = intEnv('BENCH_EVENT_PLACES', 5);
const WARMUP = 200;
/** No new rep is started once the run has taken this long (or would, judging by the last rep). */
const BUDGET_MS = intEnv('BENCH_BUDGET_S', 300) * 1000;
/** Which sections run (BENCH_SECTIONS=teachmeets,nudges,fanout,impact; default all). */
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'teachmeets,nudges,fanout,impact').split(',').map((x) => x.trim()));

const GOAL_CALLS = 15;
const GOAL_SETTLE_RATIO = 1.5;
const GOAL_THROUGHPUT_RATIO = 0.5;

function intEnv(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

// ------------------------------------------------------------------------------------------------
// Plumbing

/**
 * CPU time (ms) used so far by each process taking part (Linux /proc): the load generator (this process,
 * with the Teams simulator), the bots under test (their own processes) and Azurite's table service.
 */
interface CpuMark {
  readonly loadGenerator: number;
  readonly bots: number;
  readonly azurite: number;
  /** Connections the kernel could not queue for accept (a server too busy to accept): machine-wide. */
  readonly overflows: number;
}

let azuritePid: number | undefined | null = null;
function azuriteTablePid(): number | undefined {
  if (azuritePid === null) azuritePid = childPid(`table${'/'}main.js`);
  return azuritePid;
}

/** TCP listen-queue overflows so far on this machine (Linux /proc/net/netstat; NaN elsewhere). */
function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      if (!lines[i]!.startsWith('TcpExt:')) continue;
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      const at = names.indexOf('ListenOverflows');
      return at > 0 ? Number(values[at]) : NaN;
    }
  } catch {
    // not Linux
  }
  return NaN;
}

function cpuMark(bots: readonly BotProcess[]): CpuMark {
  const usage = process.cpuUsage();
  return { loadGenerator: (usage.user + usage.system) / 1000, bots: bots.reduce((a, b) => a + b.cpuMs(), 0), azurite: processCpuMs(azuriteTablePid()), overflows: listenOverflows() };
}

function cpuSince(mark: CpuMark, bots: readonly BotProcess[]): CpuMark {
  const now = cpuMark(bots);
  return { loadGenerator: now.loadGenerator - mark.loadGenerator, bots: now.bots - mark.bots, azurite: now.azurite - mark.azurite, overflows: now.overflows - mark.overflows };
}

// ------------------------------------------------------------------------------------------------
// Invariants

interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

interface EventRun {
  readonly event: PostedEvent;
  readonly clicks: readonly { user: SimUser; result: TurnResult }[];
}

/** Reads what is stored (through its own client, not counted against the instances) and checks every invariant. */
async function verify(store: TeachMeetStore, sim: TeamsSimulator, runs: readonly EventRun[]): Promise<Check[]> {
  const summaries = new Map((await store.events()).map((s) => [s.event.id, s]));
  const bad = { confirmed: [] as string[], waiting: [] as string[], twice: [] as string[], told: [] as string[], tally: [] as string[], confirmations: [] as string[], recorded: [] as string[], card: [] as string[], answered: [] as string[] };
  const personalOf = new Map<string, string>();
  for (const run of runs) for (const c of run.clicks) personalOf.set(sim.personalChat(c.user).id, c.user.aadObjectId);
  const confirmationsTo = new Map<string, number>();
  const otherPersonalTo = new Map<string, number>();
  for (const s of sim.sent) {
    if (s.method !== 'POST') continue;
    const aad = personalOf.get(s.conversationId);
    if (!aad) continue;
    const text = adaptiveCardsOf(s.activity).map((c) => cardText(c)).join('\n');
    const map = text.includes('Your place is confirmed') ? confirmationsTo : otherPersonalTo;
    map.set(aad, (map.get(aad) ?? 0) + 1);
  }
  let totalConfirmed = 0;
  let totalWaiting = 0;
  let notStored = 0;

  for (const run of runs) {
    const { event } = run;
    const loaded = await store.load(event.eventId);
    if (!loaded) {
      bad.confirmed.push(`${event.eventId}: not found`);
      continue;
    }
    const signUps = [...loaded.agg.signUps.values()];
    const owed = await store.owed(event.eventId);
    if (owed > 0) bad.recorded.push(`${event.eventId}: ${owed} message(s) or card update(s) still owed`);
    // Normally every click is stored; if some never got an answer (a reset connection), the storage
    // invariants are checked over the sign-ups that were stored, and the lost answers fail their own check.
    const n = signUps.length;
    const expectedConfirmed = Math.min(event.places, n);
    const expectedWaiting = n - expectedConfirmed;
    const confirmed = signUps.filter((s) => s.status === 'confirmed');
    const waiting = signUps.filter((s) => s.status === 'waiting');
    totalConfirmed += confirmed.length;
    totalWaiting += waiting.length;
    if (confirmed.length !== expectedConfirmed) bad.confirmed.push(`${event.eventId}: ${confirmed.length} confirmed, expected ${expectedConfirmed}`);

    const numbers = waiting.map((s) => s.waitNumber ?? -1).sort((a, b) => a - b);
    const unique = new Set(numbers).size === numbers.length;
    const gapless = numbers.every((v, i) => v === (numbers[0] ?? 0) + i) && !numbers.includes(-1);
    const ranks = waiting.map((s) => waitPosition(loaded.agg, s.aadObjectId) ?? -1).sort((a, b) => a - b);
    const ranksOk = ranks.every((r, i) => r === i + 1);
    if (waiting.length !== expectedWaiting || !unique || !gapless || !ranksOk) {
      bad.waiting.push(`${event.eventId}: ${waiting.length} waiting (expected ${expectedWaiting}), numbers unique=${unique} gapless=${gapless} positions 1..n=${ranksOk}`);
    }

    const clickers = new Set(run.clicks.map((c) => c.user.aadObjectId));
    const extra = signUps.filter((s) => !clickers.has(s.aadObjectId));
    const answeredMissing = run.clicks.filter((c) => c.result.status === 200 && !loaded.agg.signUps.has(c.user.aadObjectId));
    const otherStatus = signUps.filter((s) => s.status !== 'confirmed' && s.status !== 'waiting');
    if (extra.length || answeredMissing.length || otherStatus.length || clickers.size !== run.clicks.length) {
      bad.twice.push(`${event.eventId}: ${signUps.length} rows for ${clickers.size} people (${extra.length} unknown, ${answeredMissing.length} answered but not stored, ${otherStatus.length} other status)`);
    }
    if (signUps.length !== clickers.size) notStored += clickers.size - signUps.length;

    const toldPositions: number[] = [];
    for (const c of run.clicks) {
      const card = invokeResponseCard(c.result.body);
      if (c.result.status !== 200 || !card) {
        bad.answered.push(`${c.user.key}: HTTP ${c.result.status} ${JSON.stringify(c.result.body).slice(0, 120)}`);
        continue;
      }
      const text = cardText(card);
      const s = loaded.agg.signUps.get(c.user.aadObjectId);
      if (s?.status === 'confirmed') {
        if (!text.includes("You're attending.")) bad.told.push(`${c.user.key}: confirmed but told ${JSON.stringify(text.match(/You're[^\n]*/)?.[0] ?? '?')}`);
      } else if (s?.status === 'waiting') {
        const told = Number(/you're number (\d+) on the waitlist/i.exec(text)?.[1] ?? NaN);
        toldPositions.push(told);
        if (told !== waitPosition(loaded.agg, s.aadObjectId)) bad.told.push(`${c.user.key}: told waitlist ${told}, stored position ${waitPosition(loaded.agg, s.aadObjectId)}`);
      } else {
        bad.told.push(`${c.user.key}: no stored sign-up`);
      }
    }
    if (new Set(toldPositions).size !== toldPositions.length) bad.told.push(`${event.eventId}: two people told the same waitlist position`);

    const summary = summaries.get(event.eventId);
    if (!summary || summary.attending !== confirmed.length || summary.waiting !== waiting.length) {
      bad.tally.push(`${event.eventId}: event row says ${summary?.attending}/${summary?.waiting}, rows say ${confirmed.length}/${waiting.length}`);
    }

    for (const s of confirmed) {
      const got = confirmationsTo.get(s.aadObjectId) ?? 0;
      if (got !== 1) bad.confirmations.push(`${s.aadObjectId.slice(0, 8)}: ${got} confirmations`);
    }
    for (const s of waiting) {
      const got = (confirmationsTo.get(s.aadObjectId) ?? 0) + (otherPersonalTo.get(s.aadObjectId) ?? 0);
      if (got !== 0) bad.confirmations.push(`${s.aadObjectId.slice(0, 8)} (waiting): ${got} personal messages`);
    }


    const updates = sim.sent.filter((s) => s.method === 'PUT' && s.activityId === event.activityId);
    const last = updates.at(-1);
    const lastText = last ? adaptiveCardsOf(last.activity).map((c) => cardText(c)).join('\n') : '';
    const wantPlaces = `${event.places - confirmed.length} of ${event.places} left`;
    const wantWaiting = waiting.length === 0 ? 'Nobody waiting' : `${waiting.length} waiting`;
    if (!lastText.includes(wantPlaces) || !lastText.includes(wantWaiting)) {
      const shown = `${/\d+ of \d+ left/.exec(lastText)?.[0] ?? '?'}, ${/\d+ waiting|Nobody waiting/.exec(lastText)?.[0] ?? '?'}`;
      bad.card.push(`${event.eventId}: last of ${updates.length} updates shows "${shown}", stored "${wantPlaces}, ${wantWaiting}"`);
    }
  }

  const nEvents = runs.length;
  const per = nEvents === 1 ? '' : ` in each of ${nEvents} events`;
  const expectedC = runs.reduce((a, r) => a + Math.min(r.event.places, r.clicks.length), 0);
  const expectedW = runs.reduce((a, r) => a + r.clicks.length - Math.min(r.event.places, r.clicks.length), 0);
  const line = (name: string, list: string[], ok: string) => ({ name, pass: list.length === 0, detail: list.length === 0 ? ok : `${list.length} problem(s): ${list.slice(0, 3).join('; ')}` });
  return [
    line(`exactly ${nEvents === 1 ? runs[0]!.event.places : EVENT_PLACES} confirmed${per}`, bad.confirmed, `${totalConfirmed} confirmed (${expectedC} clicks' worth)`),
    line(`the rest waiting, unique gapless positions${per}`, bad.waiting, `${totalWaiting} waiting (${expectedW} clicks' worth), positions 1..n`),
    line('nobody twice (one row per person, only clickers)', bad.twice, notStored ? `one row per person; ${notStored} clicker(s) not stored` : 'one row per clicker'),
    line('every click answered 200 with a card', bad.answered, `${runs.reduce((a, r) => a + r.clicks.length, 0)} answered`),
    line('each person told their stored status/position', bad.told, 'attending/waitlist position as stored'),
    line('event row tallies match the rows', bad.tally, 'attending/waiting counters match'),
    line('one confirmation per confirmed person, none to waiting', bad.confirmations, `${[...confirmationsTo.values()].reduce((a, b) => a + b, 0)} confirmations`),
    line('shared card ends showing the stored counts', bad.card, 'last update shows final counts'),
    line('nothing left owed in the outbox (every message and card update delivered)', bad.recorded, 'none owed'),
  ];
}

// ------------------------------------------------------------------------------------------------
// Scenarios

interface TogetherRun {
  readonly instances: number;
  readonly requests: number;
  readonly answeredMs: number;
  /**
   * From the first click until the users can see the follow-ups: every confirmed person's "Your place is
   * confirmed" message and each shared card showing the final counts have reached the simulated Teams.
   */
  readonly followUpsMs: number;
  readonly p50: number;
  readonly p95: number;
  /** Tables.callCount deltas summed over the instances (each counted in its own process). */
  readonly calls: number;
  readonly turnCalls: number;
  readonly followUpCalls: number;
  readonly teachMeetCalls: number;
  readonly conflicts: number;
  readonly ops: OpCount[];
  readonly connector: { updates: number; personalPosts: number; createdConversations: number; other: number };
  readonly checks: Check[];
  readonly problems: string[];
  readonly cpu: CpuMark;
}

interface BareRun {
  readonly requests: number;
  readonly answeredMs: number;
  readonly p50: number;
  readonly p95: number;
  readonly ok: number;
  readonly cpu: CpuMark;
}

/** Set up before the clock starts, to take one cost out at a time (the "what costs what" rows). */
export interface RunOptions {
  /** Each clicker's directory entry is already in the instance's 30 s copy (no person read per click). */
  readonly warmIdentities?: boolean;
  /** For investigations (not used by `npm run bench`): applied in each instance's process before the clock starts. */
  readonly tweaks?: readonly ('noCardRefresh' | 'noNotices')[];
}

export class Bench {
  constructor(
    private readonly azurite: EmbeddedAzurite,
    /** The bare bot, in its own process. */
    private readonly bare: BotProcess,
    /** One process per Together instance (the ×2 runs use the first two). */
    private readonly pool: readonly BotProcess[],
  ) {}

  /** The bare bot answering the same kind of clicks (Attend on the same card), all at once. */
  async bareRun(requests: number, bot: BotProcess = this.bare): Promise<BareRun> {
    const sim = await TeamsSimulator.start();
    try {
      const channel = sim.channel('Riverside Schools Together', 'TeachMeets');
      const event = await this.anyEventCard();
      const clicks: Click[] = Array.from({ length: requests }, (_, i) => ({ endpoint: bot.url, user: sim.user(`teacher${i}`, `Teacher ${i}`), channel, event }));
      const mark = cpuMark([bot]);
      const fired = await fire(sim, clicks);
      const cpu = cpuSince(mark, [bot]);
      const ok = fired.results.filter((r) => r.status === 200 && invokeResponseCard(r.body)).length;
      return { requests, answeredMs: fired.answeredMs, p50: percentile(fired.answeredAt, 50), p95: percentile(fired.answeredAt, 95), ok, cpu };
    } finally {
      await sim.stop();
    }
  }

  private cachedCard: PostedEvent | undefined;
  /** A real TeachMeet card (from a throwaway Together), so the bare bot gets byte-for-byte the same clicks. */
  private async anyEventCard(): Promise<PostedEvent> {
    if (this.cachedCard) return this.cachedCard;
    const run = await this.setup(1, 1, 50);
    this.cachedCard = run.events[0]!;
    await run.close();
    return this.cachedCard;
  }

  /**
   * Fresh tables, `instances` Together instances on them (each in its process), a simulator, a school
   * and `events` posted TeachMeets, all through HTTP as a coordinator would.
   */
  private async setup(instances: number, events: number, places: number, options: RunOptions = {}) {
    if (instances > this.pool.length) throw new Error(`setup: ${instances} instances asked for, ${this.pool.length} processes started`);
    const prefix = `b${randomBytes(4).toString('hex')}`;
    const sim = await TeamsSimulator.start();
    const coordinator = sim.user('cora', 'Cora Whitfield');
    const channel = sim.channel('Riverside Schools Together', 'TeachMeets');
    const bots = this.pool.slice(0, instances);
    const spec: InstanceSpec = { kind: 'together', connectionString: this.azurite.connectionString, tablePrefix: prefix, coordinators: [coordinator.aadObjectId], liftPressLimits: true, tweaks: options.tweaks };
    for (const b of bots) await b.run(spec);
    const endpoint = (i: number) => bots[i % bots.length]!.url;
    const schoolId = await addSchool(sim, endpoint(0), coordinator, channel, 'Oakfield Academy');
    const posted: PostedEvent[] = [];
    // Created through the first instance one after the other (setup, not measured): the form's message id
    // becomes each event's shared card, so two creations must not overlap in the connector's records.
    for (let i = 0; i < events; i += 1) posted.push(await createEvent(sim, endpoint(0), coordinator, channel, schoolId, places, `TeachMeet ${i + 1}`));
    await connectorQuiet(sim);
    const verifyTables = new Tables({ connectionString: this.azurite.connectionString }, prefix);
    return {
      sim,
      channel,
      bots,
      endpoint,
      events: posted,
      store: new TeachMeetStore(verifyTables, createLogger('silent')),
      async close() {
        for (const b of bots) await b.stopInstance();
        await sim.stop();
        await verifyTables.dropAll(TABLES).catch(() => undefined);
      },
    };
  }

  /** `perEvent` distinct people click Attend on each of the events, all at once, split alternately over the instances. */
  async togetherRun(instances: number, nEvents: number, perEvent: number, places: number, options: RunOptions = {}): Promise<TogetherRun> {
    const s = await this.setup(instances, nEvents, places, options);
    try {
      const total = nEvents * perEvent;
      const users = Array.from({ length: total }, (_, k) => s.sim.user(`teacher${k}`, `Teacher ${k}`));
      if (options.warmIdentities) for (const b of s.bots) await b.warm(users.map((u) => ({ aadObjectId: u.aadObjectId, name: u.name })));
      for (const b of s.bots) await b.resetCounts();
      s.sim.clearRecords();

      // Click k goes to event k mod nEvents (so the events' rushes interleave) and instance k mod instances.
      const clicks: Click[] = Array.from({ length: total }, (_, k) => ({
        endpoint: s.endpoint(k),
        user: users[k]!,
        channel: s.channel,
        event: s.events[k % nEvents]!,
      }));
      const mark = cpuMark(s.bots);
      const fired = await fire(s.sim, clicks);
      const personal = new Set(users.map((u) => s.sim.personalChat(u).id));
      const followUpsMs = await followUpsSeen(s.sim, s.events.map((event) => ({ event, clicks: perEvent })), personal, fired.t0Epoch);
      const cpu = cpuSince(mark, s.bots);

      const counts = await Promise.all(s.bots.map((b) => b.counts()));
      const sharedIds = new Set(s.events.map((e) => e.activityId));
      const connector = {
        updates: s.sim.sent.filter((x) => x.method === 'PUT' && sharedIds.has(x.activityId)).length,
        personalPosts: s.sim.sent.filter((x) => x.method === 'POST' && x.conversationId.startsWith('a:')).length,
        createdConversations: s.sim.createdConversations.length,
        other: s.sim.requests.length - s.sim.sent.length - s.sim.createdConversations.length,
      };
      const runs: EventRun[] = s.events.map((event, e) => ({
        event,
        clicks: clicks.map((c, k) => ({ c, k })).filter(({ k }) => k % nEvents === e).map(({ c, k }) => ({ user: c.user, result: fired.results[k]! })),
      }));
      const checks = await verify(s.store, s.sim, runs);
      return {
        instances,
        requests: total,
        answeredMs: fired.answeredMs,
        followUpsMs,
        p50: percentile(fired.answeredAt, 50),
        p95: percentile(fired.answeredAt, 95),
        calls: counts.reduce((a, c) => a + c.calls, 0),
        turnCalls: counts.reduce((a, c) => a + c.turnCalls, 0),
        followUpCalls: counts.reduce((a, c) => a + c.followUpCalls, 0),
        teachMeetCalls: counts.reduce((a, c) => a + c.teachMeetCalls, 0),
        conflicts: counts.reduce((a, c) => a + c.conflicts, 0),
        ops: mergeOps(counts.map((c) => c.ops)),
        connector,
        checks,
        problems: counts.flatMap((c) => c.problems),
        cpu,
      };
    } finally {
      await s.close();
    }
  }
}

function mergeOps(lists: OpCount[][]): OpCount[] {
  const map = new Map<string, OpCount>();
  for (const list of lists) {
    for (const op of list) {
      const key = `${op.phase}\u0000${op.label}`;
      const m = map.get(key);
      if (m) {
        m.count += op.count;
        m.notFound += op.notFound;
      } else map.set(key, { ...op });
    }
  }
  return [...map.values()].sort((a, b) => (a.phase === b.phase ? b.count - a.count : a.phase === 'turn' ? -1 : 1));
}

// ------------------------------------------------------------------------------------------------
// Printing

function table(headers: string[], rows: string[][], rightAlign: (i: number) => boolean = (i) => i > 0): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (rightAlign(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}` : '-');
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '-');
const range = (values: number[], f: (v: number) => string = ms) => (values.length > 1 ? `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})` : f(values[0] ?? NaN));

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** CPU per request (ms): load generator + bot processes + Azurite's table service. */
function cpuPerRequest(r: TogetherRun | BareRun): number {
  return (r.cpu.loadGenerator + r.cpu.bots + (Number.isFinite(r.cpu.azurite) ? r.cpu.azurite : 0)) / r.requests;
}

/**
 * Settled = every click answered. A TeachMeet click is answered only after its sign-up is committed
 * (the answer shows the stored outcome), so this is the moment every sign-up is decided and stored;
 * the follow-ups (shared cards, confirmations) go on at Teams' pace and are timed separately.
 */
const settledOf = (r: TogetherRun | BareRun) => r.answeredMs;
const followUpsOf = (r: TogetherRun) => r.followUpsMs;
const passes = (r: TogetherRun) => r.checks.every((c) => c.pass);
const commitsOf = (r: TogetherRun) => r.ops.filter((o) => o.label.includes('queue commit')).reduce((a, o) => a + o.count, 0);

/** Ratios of each rep against the bare bot run just before it (same machine load), then the median. */
function paired(runs: readonly (TogetherRun | BareRun)[], bare: readonly BareRun[], f: (r: TogetherRun | BareRun) => number): number[] {
  return runs.map((r, i) => f(r) / f(bare[i]!));
}

async function main(): Promise<void> {
  const started = performance.now();
  const diag = process.env.BENCH_DIAG === '1';
  log(`Together bench: TeachMeet section (node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${REPS} rep(s) of each scenario; medians with (min–max); ratios are per rep against the bare bot run just before, then the median)`);
  process.stdout.on('error', () => process.exit(0)); // e.g. piped into head
  const azurite = await startAzurite();
  const processes: BotProcess[] = [];
  const hardStop = setTimeout(() => {
    log('bench: gave up after 25 minutes');
    process.exit(2);
  }, 25 * 60_000);
  hardStop.unref();
  try {
    if (SECTIONS.has('teachmeets')) await teachMeetSection(azurite, processes, started, diag);
    if (SECTIONS.has('nudges')) {
      log('== Nudges: one scheduler tick with 100,000 stored deadlines of which 50 are due, against a full-table scan (goal: entities read ≤ due + 10) ==');
      await benchNudges({ connectionString: azurite.connectionString, log });
      log('');
    }
    if (SECTIONS.has('fanout')) {
      await runFanoutSection({ connectionString: azurite.connectionString, log });
      log('');
    }
    if (SECTIONS.has('impact')) {
      log('== Impact: the report for one academic year of three, 40 schools (goal: ready in under 2 s; rows read, against reading every table whole) ==');
      await benchImpact({ connectionString: azurite.connectionString, log });
      log('');
    }
    log(`bench finished in ${((performance.now() - started) / 1000).toFixed(0)} s (load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  } finally {
    for (const p of processes) await p.exit().catch(() => undefined);
    await azurite.stop();
  }
}

/** The TeachMeet section: the rush and the throughput scenarios against the bare bot, each bot in its own process. */
async function teachMeetSection(azurite: EmbeddedAzurite, processes: BotProcess[], started: number, diag: boolean): Promise<void> {
  log('starting the bots, one process each…');
  const [bareProc, bareReadProc, togetherA, togetherB] = await Promise.all([BotProcess.start('bare bot'), BotProcess.start('bare bot + 1 read'), BotProcess.start('Together A'), BotProcess.start('Together B')]);
  processes.push(bareProc, bareReadProc, togetherA, togetherB);
  await bareProc.run({ kind: 'bare' });
  await bareReadProc.run({ kind: 'bareRead', connectionString: azurite.connectionString, tablePrefix: `p${randomBytes(3).toString('hex')}` });
  const bench = new Bench(azurite, bareProc, [togetherA, togetherB]);
  const bareRead = bareReadProc;

  const warm: RunOptions = { warmIdentities: true };
  const diagRuns: { name: string; options: RunOptions }[] = diag
    ? [
        { name: '  … warm, no shared-card refresh at all', options: { ...warm, tweaks: ['noCardRefresh'] } },
        { name: '  … warm, no confirmation messages at all', options: { ...warm, tweaks: ['noNotices'] } },
        { name: '  … warm, neither (turn + commit only)', options: { ...warm, tweaks: ['noCardRefresh', 'noNotices'] } },
      ]
    : [];

  try {
    // Warm-up (not reported): JIT, sockets, Azurite's code paths, for both bots.
    log('warming up…');
    await bench.bareRun(WARMUP);
    await bench.bareRun(WARMUP, bareRead);
    await bench.togetherRun(2, 1, WARMUP, 20);
    await bench.togetherRun(1, 1, WARMUP, 20);

    const bare500: BareRun[] = [];
    const bareRead500: BareRun[] = [];
    const one: TogetherRun[] = [];
    const two: TogetherRun[] = [];
    const oneWarmIds: TogetherRun[] = [];
    const diagResults = diagRuns.map(() => [] as TogetherRun[]);
    const diagSpreadRuns: { name: string; options: RunOptions }[] = diag
      ? [
          { name: '  … directory copies warm', options: warm },
          { name: '  … warm, no shared-card refresh and no confirmations (turn + commit only)', options: { ...warm, tweaks: ['noCardRefresh', 'noNotices'] } },
        ]
      : [];
    const diagSpreadResults = diagSpreadRuns.map(() => [] as TogetherRun[]);
    const bareSpread: BareRun[] = [];
    const spread1: TogetherRun[] = [];
    const spread2: TogetherRun[] = [];
    // Each rep starts with its own bare-bot run, so every ratio compares runs made under the same machine load.
    let lastRep = 0;
    const bareFor = { one: [] as BareRun[], two: [] as BareRun[], cost: [] as BareRun[], spread1: [] as BareRun[], spread2: [] as BareRun[] };
    let reps = 0;
    for (let rep = 0; rep < REPS; rep += 1) {
      const repStarted = performance.now();
      if (rep > 0 && repStarted - started + lastRep > BUDGET_MS) {
        log(`time budget (${BUDGET_MS / 1000} s, BENCH_BUDGET_S) reached: reporting ${rep} rep(s) instead of ${REPS}`);
        break;
      }
      log(`rep ${rep + 1}/${REPS}: ${RUSH} clicks → ${PLACES} places…`);
      const b1 = await bench.bareRun(RUSH);
      bare500.push(b1);
      one.push(await bench.togetherRun(1, 1, RUSH, PLACES));
      const b2 = await bench.bareRun(RUSH);
      bare500.push(b2);
      two.push(await bench.togetherRun(2, 1, RUSH, PLACES));
      bareFor.one.push(b1);
      bareFor.two.push(b2);
      bareFor.cost.push(b1);
      bareRead500.push(await bench.bareRun(RUSH, bareRead));
      oneWarmIds.push(await bench.togetherRun(1, 1, RUSH, PLACES, { warmIdentities: true }));
      for (let d = 0; d < diagRuns.length; d += 1) diagResults[d]!.push(await bench.togetherRun(1, 1, RUSH, PLACES, diagRuns[d]!.options));
      log(`rep ${rep + 1}/${REPS}: ${EVENTS} events × ${PER_EVENT} clicks…`);
      const b3 = await bench.bareRun(EVENTS * PER_EVENT);
      bareSpread.push(b3);
      spread1.push(await bench.togetherRun(1, EVENTS, PER_EVENT, EVENT_PLACES));
      const b4 = await bench.bareRun(EVENTS * PER_EVENT);
      bareSpread.push(b4);
      spread2.push(await bench.togetherRun(2, EVENTS, PER_EVENT, EVENT_PLACES));
      bareFor.spread1.push(b3);
      bareFor.spread2.push(b4);
      for (let d = 0; d < diagSpreadRuns.length; d += 1) diagSpreadResults[d]!.push(await bench.togetherRun(1, EVENTS, PER_EVENT, EVENT_PLACES, diagSpreadRuns[d]!.options));
      lastRep = performance.now() - repStarted;
      reps += 1;
    }

    log('');
    log(`(${reps} rep(s) measured; load generator: ${SOCKETS > 0 ? `keep-alive connections, at most ${SOCKETS} (BENCH_SOCKETS)` : 'a new connection per click (BENCH_SOCKETS=0)'})`);
    log(`== TeachMeet: ${RUSH} concurrent Attend clicks (${RUSH} people) for one event with ${PLACES} places, through HTTP ==`);
    const rushRow = (name: string, runs: TogetherRun[], bares: BareRun[]) => [
      name,
      range(runs.map(settledOf)),
      ratio(median(paired(runs, bares, settledOf))),
      range(runs.map(followUpsOf)),
      ratio(median(paired(runs, bares, cpuPerRequest))),
      `${ms(median(runs.map((r) => r.p50)))}/${ms(median(runs.map((r) => r.p95)))}`,
      range(runs.map((r) => r.turnCalls)),
      range(runs.map((r) => r.followUpCalls)),
      range(runs.map((r) => r.calls)),
      range(runs.map((r) => r.teachMeetCalls)),
      range(runs.map((r) => r.conflicts)),
      range(runs.map((r) => r.cpu.overflows)),
      runs.every(passes) ? 'PASS' : `FAIL ${runs.filter((r) => !passes(r)).length}/${runs.length}`,
    ];
    log(
      table(['run', 'settled ms (all answered)', 'settled÷bare', 'follow-ups done ms', 'CPU÷bare', 'p50/p95 ms', 'calls: sign-up path', 'follow-ups', 'total calls', 'TeachMeets table', 'ETag conflicts', 'listen overflows', 'invariants'], [
        ['bare bot (no storage)', range(bare500.map((b) => b.answeredMs)), '1.00×', '-', '1.00×', `${ms(median(bare500.map((b) => b.p50)))}/${ms(median(bare500.map((b) => b.p95)))}`, '0', '0', '0', '0', '-', range(bare500.map((b) => b.cpu.overflows)), bare500.every((b) => b.ok === b.requests) ? 'all 200 + card' : 'FAIL'],
        rushRow('Together, 1 instance', one, bareFor.one),
        rushRow('Together, 2 instances', two, bareFor.two),
      ]),
    );
    log('settled = every click answered; each answer comes after its sign-up is committed and shows the stored outcome. p50/p95 = answer times from the first send.');
    log('follow-ups done = as the users see it: every confirmation and each shared card showing the final counts have reached the simulated Teams (from its records; the bots are not asked).');
    log("calls: sign-up path = what the clicks' turns and the queue's commits ask of storage; follow-ups = confirmations (and recording them as sent) and shared-card refresh; total = Tables.callCount delta summed over instances; each instance counts its own calls in its own process and reports them once its storage has gone quiet.");
    log('CPU÷bare = CPU per click (load generator + bot processes + Azurite) against the bare bot\'s (load generator + bare bot): less sensitive to other load on the machine than the times.');
    log('listen overflows = connections the kernel dropped because the server had not accepted them yet (machine-wide counter): a click whose connection is reset shows up here.');

    log('');
    log(`== TeachMeet: throughput spread over ${EVENTS} events × ${PER_EVENT} clicks (${EVENT_PLACES} places each, ${EVENTS * PER_EVENT} people), all at once ==`);
    const rate = (r: TogetherRun | BareRun) => r.requests / (settledOf(r) / 1000);
    const spreadRow = (name: string, runs: TogetherRun[], bares: BareRun[]) => [
      name,
      range(runs.map(settledOf)),
      range(runs.map(rate)),
      range(runs.map(followUpsOf)),
      ratio(median(runs.map((r, i) => rate(r) / rate(bares[i]!)))),
      ratio(median(paired(runs, bares, cpuPerRequest))),
      range(runs.map((r) => r.calls)),
      range(runs.map((r) => r.conflicts)),
      range(runs.map((r) => r.cpu.overflows)),
      runs.every(passes) ? 'PASS' : `FAIL ${runs.filter((r) => !passes(r)).length}/${runs.length}`,
    ];
    log(
      table(['run', 'settled ms (all answered)', 'settled sign-ups/s', 'follow-ups done ms', 'rate÷bare', 'CPU÷bare', 'total calls', 'ETag conflicts', 'listen overflows', 'invariants'], [
        ['bare bot (requests/s)', range(bareSpread.map((b) => b.answeredMs)), range(bareSpread.map(rate)), '-', '1.00×', '1.00×', '0', '-', range(bareSpread.map((b) => b.cpu.overflows)), bareSpread.every((b) => b.ok === b.requests) ? 'all 200 + card' : 'FAIL'],
        spreadRow('Together, 1 instance', spread1, bareFor.spread1),
        spreadRow('Together, 2 instances', spread2, bareFor.spread2),
        ...diagSpreadRuns.map((d, i) => spreadRow(`${d.name} (1 instance, diagnostic)`, diagSpreadResults[i]!, bareFor.spread1)),
      ]),
    );

    log('');
    log('== Invariants, checked after every run ==');
    const invRows: string[][] = [];
    const scenarios: [string, TogetherRun[]][] = [
      [`${RUSH}→${PLACES}, 1 instance`, one],
      [`${RUSH}→${PLACES}, 2 instances`, two],
      [`${EVENTS}×${PER_EVENT}, 1 instance`, spread1],
      [`${EVENTS}×${PER_EVENT}, 2 instances`, spread2],
    ];
    for (const [name, runs] of scenarios) {
      runs[0]!.checks.forEach((check, i) => {
        const results = runs.map((r) => r.checks[i]!);
        const fails = results.filter((c) => !c.pass);
        invRows.push([i === 0 ? name : '', check.name, fails.length === 0 ? 'PASS' : `FAIL ${fails.length}/${runs.length}`, (fails[0] ?? results[0]!).detail.slice(0, 140)]);
      });
    }
    log(table(['scenario', 'invariant', 'result', 'detail (first failing rep, else rep 1)'], invRows, () => false));

    log('');
    log('== Goals (issue 3) ==');
    const all = scenarios.flatMap(([, runs]) => runs);
    const allPass = all.every(passes);
    const worstPath = Math.max(...one.map((r) => r.turnCalls), ...two.map((r) => r.turnCalls));
    const worstQueue = Math.max(...one.map((r) => r.teachMeetCalls), ...two.map((r) => r.teachMeetCalls));
    const settle1 = median(paired(one, bareFor.one, settledOf));
    const settle2 = median(paired(two, bareFor.two, settledOf));
    const tput1 = median(spread1.map((r, i) => rate(r) / rate(bareFor.spread1[i]!)));
    const tput2 = median(spread2.map((r, i) => rate(r) / rate(bareFor.spread2[i]!)));
    const met = (b: boolean) => (b ? 'met' : 'NOT met');
    log(
      table(['goal', 'measured', 'result'], [
        ['invariants always hold', allPass ? `all ${all.length} runs passed every check` : `${all.filter((r) => !passes(r)).length} of ${all.length} runs failed a check (see above)`, met(allPass)],
        [`≤ ${GOAL_CALLS} storage calls for ${RUSH} → ${PLACES} (sign-up path)`, `worst run: ${worstPath} calls (1 or 2 instances)`, met(worstPath <= GOAL_CALLS)],
        ['   (for reference: TeachMeets table only, queue loads + commits)', `worst run: ${worstQueue} calls`, met(worstQueue <= GOAL_CALLS)],
        [`settle ≤ ${GOAL_SETTLE_RATIO}× bare bot, 1 instance`, ratio(settle1), met(settle1 <= GOAL_SETTLE_RATIO)],
        [`settle ≤ ${GOAL_SETTLE_RATIO}× bare bot, 2 instances`, ratio(settle2), met(settle2 <= GOAL_SETTLE_RATIO)],
        [`throughput ≥ ${GOAL_THROUGHPUT_RATIO}× bare bot, 1 instance`, ratio(tput1), met(tput1 >= GOAL_THROUGHPUT_RATIO)],
        [`throughput ≥ ${GOAL_THROUGHPUT_RATIO}× bare bot, 2 instances`, ratio(tput2), met(tput2 >= GOAL_THROUGHPUT_RATIO)],
      ], () => false),
    );

    log('');
    log(`== What costs what: ${RUSH} → ${PLACES}, one instance, one cost taken out at a time (prepared before the clock starts) ==`);
    const costRow = (name: string, runs: readonly (TogetherRun | BareRun)[], bareCalls?: string) => {
      const t = runs.filter((r): r is TogetherRun => 'followUpsMs' in r);
      return [
        name,
        range(runs.map(settledOf)),
        ratio(median(paired(runs, bareFor.cost, settledOf))),
        range(runs.map((r) => r.cpu.bots)),
        range(runs.map((r) => r.cpu.loadGenerator)),
        range(runs.map((r) => r.cpu.azurite)),
        ms(median(runs.map((r) => cpuPerRequest(r) * 1000))),
        ratio(median(paired(runs, bareFor.cost, cpuPerRequest))),
        bareCalls ?? range(t.map((r) => r.calls)),
        t.length ? range(t.map(commitsOf)) : '-',
        t.length ? range(t.map((r) => r.connector.updates)) : '-',
        t.length ? (t.every((r) => r.checks.slice(0, 6).every((c) => c.pass)) ? 'PASS' : 'FAIL') : runs.every((r) => (r as BareRun).ok === r.requests) ? 'ok' : 'FAIL',
      ];
    };
    const rows = [
      costRow('bare bot', bareFor.cost, '0'),
      costRow(`bare bot + 1 storage read (a 404) per click`, bareRead500, String(RUSH)),
      costRow('Together (cold: as in the first table)', one),
      costRow('  … directory copies warm (no person read per click)', oneWarmIds),
      ...diagRuns.map((d, i) => costRow(d.name, diagResults[i]!)),
    ];
    log(table(['run', 'settled ms', '÷bare', 'CPU ms: bots', 'CPU ms: load generator', 'CPU ms: Azurite', 'CPU µs/click', 'CPU÷bare', 'storage calls', 'commits', 'card updates', 'sign-up invariants'], rows));
    log('bots = the bot processes (Together instance(s) or the bare bot); load generator = this process (clicks + Teams simulator/connector); Azurite = its table service. All share the machine\'s CPUs.');
    if (!diag) log('BENCH_DIAG=1 adds rows that switch parts off from outside src/ (bench/diagnostics.ts).');

    log('');
    log('== Where the storage calls go (median rep by settle time; summed over instances) ==');
    const breakdowns: [string, TogetherRun[]][] = [
      [`${RUSH}→${PLACES}, 1 instance`, one],
      [`${RUSH}→${PLACES}, 2 instances`, two],
      [`${RUSH}→${PLACES}, 1 instance, directory copies warm`, oneWarmIds],
      [`${EVENTS}×${PER_EVENT}, 1 instance`, spread1],
      ...diagRuns.map((d, i) => [`${RUSH}→${PLACES}, 1 instance, ${d.name.replace(/^[\s…]+/, '')}`, diagResults[i]!] as [string, TogetherRun[]]).slice(-2),
    ];
    for (const [name, runs] of breakdowns) {
      const sorted = [...runs].sort((a, b) => settledOf(a) - settledOf(b));
      const r = sorted[Math.floor(sorted.length / 2)]!;
      log(`-- ${name}: ${r.calls} calls; connector got ${r.connector.updates} shared-card updates, ${r.connector.personalPosts} personal messages, ${r.connector.createdConversations} new 1:1 chats`);
      log(table(['phase', 'storage request', 'calls', 'of which 404'], r.ops.map((o) => [o.phase, o.label, String(o.count), String(o.notFound)]), (i) => i >= 2));
      if (r.problems.length) log(`   logged warnings/errors: ${r.problems.length}, first: ${r.problems[0]}`);
    }
    log('');
  } finally {
    await Promise.all([bareProc, bareReadProc].map((p) => p.stopInstance().catch(() => undefined)));
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

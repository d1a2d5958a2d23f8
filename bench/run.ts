import { runFanoutBench, formatFanoutBench } from './fanout';
import { benchNudges } from './nudges';
import { benchImpact } from './impact';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../src/config';
import { startTogether, TABLES, type Together } from '../src/index';
import { createLogger, type Logger } from '../src/platform/logging';
import { startAzurite, type EmbeddedAzurite } from '../src/platform/storage/azurite';
import { Tables } from '../src/platform/storage/tables';
import { waitPosition } from '../src/teachmeets/rules';
import { TeachMeetStore } from '../src/teachmeets/store';
import { adaptiveCardsOf, cardText, invokeResponseCard, locateAction } from '../test/support/cardActions';
import { TeamsSimulator, type SimConversation, type SimUser, type TurnResult } from '../test/support/simulator';
import { startBareBot, type BareBot } from './bareBot';
import { combine, noCardRefresh, noNotices } from './diagnostics';
import { StorageOps, type OpCount } from './storageOps';

/**
 * `npm run bench`: the TeachMeet section. Every figure comes from this one run, side by side, with
 * ratios against a bare bot (bench/bareBot.ts) measured in the same run on the same requests. All
 * traffic is on 127.0.0.1: an in-memory Azurite (child processes), Together instances and the bare bot
 * in this process, and the Teams simulator (test/support/simulator.ts) as both the client posting
 * Attend clicks and the Bot Connector receiving card updates and personal messages.
 *
 * Times are measured, never asserted. Invariants are checked after every run and printed PASS/FAIL.
 *
 * Settings (environment): BENCH_REPS (default 3) runs of each scenario, medians reported;
 * BENCH_RUSH (500) clicks for one event with BENCH_PLACES (50) places;
 * BENCH_EVENTS (100) × BENCH_PER_EVENT (10) clicks, BENCH_EVENT_PLACES (5) places each, for throughput;
 * BENCH_DIAG=1 adds investigation rows (parts switched off from outside src/: bench/diagnostics.ts);
 * BENCH_SOCKETS (500) keep-alive connections for the load generator, 0 = a new connection per click;
 * BENCH_BUDGET_S (300): no new rep starts after that, so the run stops by itself in a few minutes.
 */

const REPS = intEnv('BENCH_REPS', 3);
const RUSH = intEnv('BENCH_RUSH', 500);
const PLACES = intEnv('BENCH_PLACES', 50);
const EVENTS = intEnv('BENCH_EVENTS', 100);
const PER_EVENT = intEnv('BENCH_PER_EVENT', 10);
const EVENT_PLACES = intEnv('BENCH_EVENT_PLACES', 5);
const WARMUP = 200;
/**
 * The load generator's connections: keep-alive, at most this many at once in all (default 500), whether
 * the clicks go to one bot or are shared between two (maxTotalSockets: 250 each then), so every run opens
 * the same number of connections as the bare bot's. Node listens
 * with a backlog of 511, and beyond it the kernel drops connection attempts, so a thousand fresh
 * connections at once would measure TCP's retransmit timers (1 s, 3 s, 7 s…) rather than the bots.
 * 0 = the simulator's own transport: a new connection per click.
 */
const SOCKETS = Number.isInteger(Number(process.env.BENCH_SOCKETS)) && process.env.BENCH_SOCKETS !== undefined ? Number(process.env.BENCH_SOCKETS) : 500;
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

interface Sink {
  readonly logger: Logger;
  /** Warnings and errors logged since the last take(). */
  take(): string[];
}

/** Production log level (info), written nowhere; warnings and errors are kept to report. */
export function makeSink(): Sink {
  let problems: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString();
      if (text.includes('"level":40') || text.includes('"level":50') || text.includes('"level":60')) {
        for (const line of text.split('\n')) if (/"level":(40|50|60)/.test(line)) problems.push(line.slice(0, 300));
      }
      done();
    },
  });
  return {
    logger: createLogger('info', stream),
    take() {
      const out = problems;
      problems = [];
      return out;
    },
  };
}

function config(coordinator: SimUser): Config {
  const loaded = loadConfig({ PARTNERSHIP_NAME: 'Riverside Schools Together', LOG_LEVEL: 'info', COORDINATORS: coordinator.aadObjectId });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config;
}

const londonDay = (d: Date) => d.toISOString().slice(0, 10);

function form(places: number, schoolId: string, title: string): Record<string, string> {
  const start = new Date(Date.now() + 40 * 86_400_000);
  const deadline = new Date(Date.now() + 39 * 86_400_000);
  return {
    title,
    host: schoolId,
    date: londonDay(start),
    start: '16:00',
    end: '17:30',
    venue: 'Library',
    link: '',
    places: String(places),
    slots2: '0',
    slots5: '0',
    slots7: '0',
    deadlineDate: londonDay(deadline),
    deadlineTime: '17:00',
    theme: 'Retrieval practice',
  };
}

interface PostedEvent {
  readonly eventId: string;
  readonly card: object;
  /** The shared card's message id (updated in place after each change). */
  readonly activityId: string;
  readonly places: number;
}

/** Creates and posts a TeachMeet through HTTP as a coordinator would: `teachmeet new`, fill the form, Create and post. */
async function createEvent(sim: TeamsSimulator, endpoint: string, coordinator: SimUser, channel: SimConversation, schoolId: string, places: number, title: string): Promise<PostedEvent> {
  sim.botEndpoint = endpoint;
  const asked = await sim.say(coordinator, channel, 'teachmeet new');
  const formSent = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
  if (!formSent) throw new Error(`teachmeet new sent no form: ${JSON.stringify(asked.body).slice(0, 300)}`);
  const created = await sim.click(coordinator, channel, formSent, 'Create and post', form(places, schoolId, title));
  const card = invokeResponseCard(created.body);
  const attend = card ? locateAction(card, 'Attend') : undefined;
  const eventId = (attend?.action.data as { eventId?: unknown } | undefined)?.eventId;
  if (!card || typeof eventId !== 'string') throw new Error(`the event was not created: ${JSON.stringify(created.body).slice(0, 400)}`);
  return { eventId, card, activityId: formSent.activityId, places };
}

interface Click {
  readonly endpoint: string;
  readonly user: SimUser;
  readonly channel: SimConversation;
  readonly event: PostedEvent;
}

interface Fired {
  readonly results: TurnResult[];
  /** Per request: ms from the first send until its answer. */
  readonly answeredAt: number[];
  readonly answeredMs: number;
  readonly t0: number;
}

/**
 * Presses Attend for every click at once. The simulator reads `botEndpoint` synchronously when a click
 * is sent, so setting it just before each call routes that click to its instance.
 */
async function fire(sim: TeamsSimulator, clicks: readonly Click[]): Promise<Fired> {
  const agent = SOCKETS > 0 ? new http.Agent({ keepAlive: true, maxSockets: SOCKETS, maxTotalSockets: SOCKETS }) : undefined;
  const own = sim.post;
  if (agent) (sim as { post: TeamsSimulator['post'] }).post = keepAlivePost(sim, agent);
  try {
    return await fireEach(sim, clicks);
  } finally {
    (sim as { post: TeamsSimulator['post'] }).post = own;
    agent?.destroy();
  }
}

/**
 * The simulator's post (same activity, same headers) through a keep-alive agent. Reads `botEndpoint`
 * before its first await, as the simulator does. What the connector records is not collected per turn
 * (the rush does not need it; `sim.sent` still has everything).
 */
function keepAlivePost(sim: TeamsSimulator, agent: http.Agent): TeamsSimulator['post'] {
  return (activity: object | string, headers: Record<string, string> = {}) => {
    const url = new URL(sim.botEndpoint);
    const payload = typeof activity === 'string' ? activity : JSON.stringify(activity);
    return new Promise<TurnResult>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'User-Agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)', ...headers, 'Content-Length': String(Buffer.byteLength(payload)) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text ? (JSON.parse(text) as unknown) : undefined;
            } catch {
              body = text;
            }
            resolve({ status: res.statusCode ?? 0, body, sent: [] });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
}

async function fireEach(sim: TeamsSimulator, clicks: readonly Click[]): Promise<Fired> {
  const answeredAt = new Array<number>(clicks.length).fill(NaN);
  const t0 = performance.now();
  const pending = clicks.map((c, i) => {
    sim.botEndpoint = c.endpoint;
    return sim
      .click(c.user, c.channel, c.event.card, 'Attend', {}, { replyToId: c.event.activityId })
      .catch((err: unknown): TurnResult => ({ status: 0, body: String(err), sent: [] }))
      .then((r) => {
        answeredAt[i] = performance.now() - t0;
        return r;
      });
  });
  const results = await Promise.all(pending);
  return { results, answeredAt, answeredMs: performance.now() - t0, t0 };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** CPU time (ms) used so far by this process and by Azurite's table service (a child process; Linux /proc). */
interface CpuMark {
  readonly bench: number;
  readonly azurite: number;
  /** Connections the kernel could not queue for accept (a server too busy to accept): machine-wide. */
  readonly overflows: number;
}

let azuritePid: number | undefined | null = null;
function findAzuriteTablePid(): number | undefined {
  if (azuritePid !== null) return azuritePid;
  azuritePid = undefined;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== process.pid) continue;
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`table${'/'}main.js`)) azuritePid = Number(entry);
      } catch {
        // a process that went away meanwhile
      }
    }
  } catch {
    // no /proc: Azurite CPU is not reported
  }
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

function cpuMark(): CpuMark {
  const usage = process.cpuUsage();
  let azurite = NaN;
  const pid = findAzuriteTablePid();
  if (pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      azurite = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100/s)
    } catch {
      azurite = NaN;
    }
  }
  return { bench: (usage.user + usage.system) / 1000, azurite, overflows: listenOverflows() };
}

function cpuSince(mark: CpuMark): CpuMark {
  const now = cpuMark();
  return { bench: now.bench - mark.bench, azurite: now.azurite - mark.azurite, overflows: now.overflows - mark.overflows };
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
    line('every confirmation recorded as sent (none left for the recovery job)', bad.recorded, 'none unsent'),
  ];
}

// ------------------------------------------------------------------------------------------------
// Scenarios

interface TogetherRun {
  readonly instances: number;
  readonly requests: number;
  readonly answeredMs: number;
  /** Until `teachmeets.settle()` on every instance: shared cards updated and confirmations sent (paced at TEAMS_SEND_RATE). */
  readonly followUpsMs: number;
  readonly p50: number;
  readonly p95: number;
  /** Tables.callCount deltas summed over the instances. */
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
  /** For investigations (not used by `npm run bench`): called with each instance before the clock starts. */
  readonly tweak?: (bot: Together) => void;
}

export class Bench {
  constructor(
    private readonly azurite: EmbeddedAzurite,
    private readonly bare: BareBot,
    private readonly sink: Sink,
  ) {}

  /** The bare bot answering the same kind of clicks (Attend on the same card), all at once. */
  async bareRun(requests: number, bot: BareBot = this.bare): Promise<BareRun> {
    const sim = await TeamsSimulator.start();
    try {
      const channel = sim.channel('Riverside Schools Together', 'TeachMeets');
      const event = await this.anyEventCard();
      const clicks: Click[] = Array.from({ length: requests }, (_, i) => ({ endpoint: bot.url, user: sim.user(`teacher${i}`, `Teacher ${i}`), channel, event }));
      const mark = cpuMark();
      const fired = await fire(sim, clicks);
      const cpu = cpuSince(mark);
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

  /** Fresh tables, `instances` Together instances on them, a simulator, a school and `events` posted TeachMeets. */
  private async setup(instances: number, events: number, places: number) {
    const prefix = `b${randomBytes(4).toString('hex')}`;
    const sim = await TeamsSimulator.start();
    const coordinator = sim.user('cora', 'Cora Whitfield');
    const channel = sim.channel('Riverside Schools Together', 'TeachMeets');
    const cfg = config(coordinator);
    const bots: Together[] = [];
    // One coordinator posts every event of the throughput scenario in seconds, which the per-person
    // limit (20 a second) would rightly slow down; the clicks measured come from distinct people, for
    // whom the limit never trips, so lifting it here changes nothing measured.
    const pressLimits = { burst: 1_000_000, perSecond: 1_000_000, tellEveryMs: 10_000 };
    for (let i = 0; i < instances; i += 1) {
      bots.push(
        await startTogether({ config: cfg, storage: { connectionString: this.azurite.connectionString }, logger: this.sink.logger, schedulerIntervalMs: 0, tablePrefix: prefix, port: 0, host: '127.0.0.1', pressLimits }),
      );
    }
    const endpoint = (i: number) => `${bots[i % bots.length]!.url}/api/messages`;
    sim.botEndpoint = endpoint(0);
    await sim.say(coordinator, channel, 'school add Oakfield Academy');
    const schoolId = (await bots[0]!.directory.schools())[0]?.id;
    if (!schoolId) throw new Error('setup: the school was not added');
    const posted: PostedEvent[] = [];
    // Created through the first instance one after the other (setup, not measured): the form's message id
    // becomes each event's shared card, so two creations must not overlap in the connector's records.
    for (let i = 0; i < events; i += 1) posted.push(await createEvent(sim, endpoint(0), coordinator, channel, schoolId, places, `TeachMeet ${i + 1}`));
    await Promise.all(bots.map((b) => b.teachmeets.settle()));
    const verifyTables = new Tables({ connectionString: this.azurite.connectionString }, prefix);
    return {
      sim,
      channel,
      bots,
      endpoint,
      events: posted,
      store: new TeachMeetStore(verifyTables, this.sink.logger),
      async close() {
        for (const b of bots) await b.close();
        await sim.stop();
        await verifyTables.dropAll(TABLES).catch(() => undefined);
      },
    };
  }

  /** `perEvent` distinct people click Attend on each of the events, all at once, split alternately over the instances. */
  async togetherRun(instances: number, nEvents: number, perEvent: number, places: number, options: RunOptions = {}): Promise<TogetherRun> {
    const s = await this.setup(instances, nEvents, places);
    try {
      const total = nEvents * perEvent;
      const users = Array.from({ length: total }, (_, k) => s.sim.user(`teacher${k}`, `Teacher ${k}`));
      if (options.warmIdentities) {
        for (const b of s.bots) for (const u of users) await b.directory.resolve(u.aadObjectId, u.name, 30_000);
      }
      if (options.tweak) s.bots.forEach(options.tweak);
      const ops = s.bots.map(() => new StorageOps());
      s.bots.forEach((b, i) => {
        ops[i]!.attach(b.tables, TABLES);
        ops[i]!.countFreshReads(b.teachmeets.queue);
      });
      s.sim.clearRecords();
      ops.forEach((o) => o.reset());
      this.sink.take();
      const callsBefore = s.bots.map((b) => b.tables.callCount);
      const conflictsBefore = s.bots.map((b) => b.teachmeets.queue.conflicts);

      // Click k goes to event k mod nEvents (so the events' rushes interleave) and instance k mod instances.
      const clicks: Click[] = Array.from({ length: total }, (_, k) => ({
        endpoint: s.endpoint(k),
        user: users[k]!,
        channel: s.channel,
        event: s.events[k % nEvents]!,
      }));
      const mark = cpuMark();
      const fired = await fire(s.sim, clicks);
      await Promise.all(s.bots.map((b) => b.teachmeets.settle()));
      const followUpsMs = performance.now() - fired.t0;
      const cpu = cpuSince(mark);

      ops.forEach((o) => o.finish());
      const calls = s.bots.reduce((a, b, i) => a + b.tables.callCount - callsBefore[i]!, 0);
      const conflicts = s.bots.reduce((a, b, i) => a + b.teachmeets.queue.conflicts - conflictsBefore[i]!, 0);
      const merged = mergeOps(ops.map((o) => o.snapshot()));
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
        calls,
        turnCalls: ops.reduce((a, o) => a + o.total('turn'), 0),
        followUpCalls: ops.reduce((a, o) => a + o.total('follow-up'), 0),
        teachMeetCalls: ops.reduce((a, o) => a + o.teachMeetsTable(), 0),
        conflicts,
        ops: merged,
        connector,
        checks,
        problems: this.sink.take(),
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

/** CPU per request (ms): this process plus Azurite's table service. */
function cpuPerRequest(r: TogetherRun | BareRun): number {
  return (r.cpu.bench + (Number.isFinite(r.cpu.azurite) ? r.cpu.azurite : 0)) / r.requests;
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
  const bare = await startBareBot();
  const probeTables = new Tables({ connectionString: azurite.connectionString }, `p${randomBytes(3).toString('hex')}`);
  await probeTables.ensure(['Probe']);
  const bareRead = await startBareBot({ readEach: probeTables.client('Probe') });
  const sink = makeSink();
  const bench = new Bench(azurite, bare, sink);
  const hardStop = setTimeout(() => {
    log('bench: gave up after 20 minutes');
    process.exit(2);
  }, 20 * 60_000);
  hardStop.unref();

  const warm: RunOptions = { warmIdentities: true };
  const diagRuns: { name: string; options: RunOptions }[] = diag
    ? [
        { name: '  … warm, no shared-card refresh at all', options: { ...warm, tweak: noCardRefresh } },
        { name: '  … warm, no confirmation messages at all', options: { ...warm, tweak: noNotices } },
        { name: '  … warm, neither (turn + commit only)', options: { ...warm, tweak: combine(noCardRefresh, noNotices) } },
      ]
    : [];

  try {
    // Warm-up (not reported): JIT, sockets, Azurite's code paths, for both bots.
    log('warming up…');
    await bench.bareRun(WARMUP);
    await bench.bareRun(WARMUP, bareRead);
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
          { name: '  … warm, no shared-card refresh and no confirmations (turn + commit only)', options: { ...warm, tweak: combine(noCardRefresh, noNotices) } },
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
    await bareRead.close();

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
    log('follow-ups done = `teachmeets.settle()` on every instance: the shared card shows the final counts and every confirmation has gone, paced at TEAMS_SEND_RATE (50/s per instance, Teams\' per-bot rate), shared cards first.');
    log("calls: sign-up path = what the clicks' turns and the queue's commits ask of storage; follow-ups = confirmations (and recording them as sent) and shared-card refresh; total = Tables.callCount delta summed over instances.");
    log('CPU÷bare = CPU per click (this process + Azurite) against the bare bot: less sensitive to other load on the machine than the times.');
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
        range(runs.map((r) => r.cpu.bench)),
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
    log(table(['run', 'settled ms', '÷bare', 'CPU ms: this process', 'CPU ms: Azurite', 'CPU µs/click', 'CPU÷bare', 'storage calls', 'commits', 'card updates', 'sign-up invariants'], rows));
    log('this process = load generator + Teams simulator/connector + the bot(s); Azurite = its table service (a child process). Both share the 2 CPUs.');
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
    if (SECTIONS.has('nudges')) {
      log('== Nudges: one scheduler tick with 100,000 stored deadlines of which 50 are due, against a full-table scan (goal: entities read ≤ due + 10) ==');
      await benchNudges({ connectionString: azurite.connectionString, log });
      log('');
    }
    if (SECTIONS.has('fanout')) {
      log('== Announcements: fan-out to 5,000 conversations through a connector enforcing 50 requests/s per app and 7/s per conversation, with 5 % 429 and 1 % 502 ==');
      log(formatFanoutBench(await runFanoutBench({ connectionString: azurite.connectionString, log })));
      log('');
    }
    if (SECTIONS.has('impact')) {
      log('== Impact: the report for one academic year of three, 40 schools (goal: ready in under 2 s; rows read, against reading every table whole) ==');
      await benchImpact({ connectionString: azurite.connectionString, log });
      log('');
    }
    log(`bench finished in ${((performance.now() - started) / 1000).toFixed(0)} s (load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  } finally {
    await bare.close();
    await probeTables.dropAll(['Probe']).catch(() => undefined);
    await azurite.stop();
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

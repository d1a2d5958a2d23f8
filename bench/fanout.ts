import { randomBytes } from 'node:crypto';
import { AnnouncementStore } from '../src/announcements/store';
import { TABLES } from '../src/index';
import { ConversationStore } from '../src/platform/conversations/store';
import { createLogger } from '../src/platform/logging';
import { startAzurite, type EmbeddedAzurite } from '../src/platform/storage/azurite';
import { Tables } from '../src/platform/storage/tables';
import { TeachMeetStore } from '../src/teachmeets/store';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../test/support/cardActions';
import { TeamsSimulator, type SimUser } from '../test/support/simulator';
import { startConnectorProcess, type ConnectorProcess, type ConnectorStats } from './fanoutConnector';
import { addSchool, connectorQuiet, createEvent, fire, followUpsSeen, type Click, type PostedEvent } from './load';
import { BotProcess } from './processes';

/**
 * `npm run bench`, fan-out section. Every Together instance runs in its own process (bench/instance.ts)
 * and is reached only over HTTP; the simulated Bot Connector (bench/fanoutConnector.ts) runs in a
 * process of its own, so the clock that counts requests per second is paused neither by the bots nor by
 * the load generator (this process). Storage is the real Azurite (its table service).
 *
 * 1. Fan-out, as the sender's user sees it: a coordinator types `announce everyone: …` in the Teams
 *    simulator, presses Send and confirms; the recipients' personal chats (stored beforehand through
 *    the conversations store, as if they had installed Together long ago) point at the connector, which
 *    enforces 50 requests/s per app and 7/s per conversation and injects 5 % 429 and 1 % 502. The figure:
 *    accepted sends ÷ the whole busy window (first request to the last acceptance) ÷ the app rate.
 *    Injected failures are refused requests: they use the app's rate and deliver nothing. Goal ≥ 0.95,
 *    0 lost, 0 duplicates; for BENCH_FANOUT_SIZES recipients (default 1,000 and 5,000), one instance.
 *    NB with 6 % of requests failed on purpose and every request counting against the app's rate, a
 *    sender using the whole rate can reach at most 0.94 of it.
 * 2. Mixed: two instances, each answering a TeachMeet rush (BENCH_MIX_RUSH clicks for BENCH_MIX_PLACES
 *    places, its own event) while an announcement fans out to BENCH_MIX_RECIPIENTS (2,000) people,
 *    against the same connector enforcing 50 requests/s per app (no injected failures). Everything the
 *    bots send to Teams goes through it: the recipients' messages are accepted there, the rest (card
 *    updates, confirmations, replies) is admitted and passed on to the Teams simulator, which records it.
 *    Reported: app-limit 429s as a share of all requests (goal ≤ 1 %), lost and duplicate announcements
 *    and confirmations (goal 0).
 *
 * Times are measured, never asserted. Each run stops by itself: when everyone has it, or after a timeout.
 * Run on its own: `node dist/bench/fanout.js` (starts its own Azurite).
 */

const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};

const APP_RATE = 50;
const CONVERSATION_RATE = 7;

export interface FanoutResult {
  readonly recipients: number;
  readonly inject429: number;
  readonly inject502: number;
  /** Seconds from the confirming press to the first request to a recipient. */
  readonly dispatchSeconds: number;
  /** Seconds from the first request to a recipient to the last acceptance. */
  readonly busySeconds: number;
  /** Accepted sends ÷ busySeconds ÷ the app rate. */
  readonly share: number;
  readonly stats: ConnectorStats;
  readonly lost: number;
  readonly duplicates: number;
  readonly recordedFailed: number;
  readonly timedOut: boolean;
}

export interface MixedResult {
  readonly recipients: number;
  readonly rush: number;
  readonly places: number;
  readonly stats: ConnectorStats;
  readonly lostAnnouncements: number;
  readonly duplicateAnnouncements: number;
  readonly lostConfirmations: number;
  readonly duplicateConfirmations: number;
  /** ms from the first click until both shared cards show their final counts and every confirmation arrived (NaN: never). */
  readonly followUpsMs: number;
  readonly fanoutSeconds: number;
  readonly answeredOk: number;
  readonly timedOut: boolean;
}

interface World {
  readonly sim: TeamsSimulator;
  readonly connector: ConnectorProcess;
  readonly tables: Tables;
  readonly cora: SimUser;
  readonly prefix: string;
  close(): Promise<void>;
}

/**
 * Fresh tables, a Teams simulator, the connector process, and a Together instance in each of `bots`.
 * With `throughConnector`, the simulator's activities carry the connector's address as their serviceUrl,
 * so everything the bots send to Teams meets the connector's limits before the simulator records it.
 */
async function world(connectionString: string, bots: readonly BotProcess[], options: { inject429: number; inject502: number; throughConnector: boolean; seed: number }): Promise<World> {
  const sim = await TeamsSimulator.start();
  const connector = await startConnectorProcess({ appRate: APP_RATE, conversationRate: CONVERSATION_RATE, inject429: options.inject429, inject502: options.inject502, seed: options.seed, upstream: options.throughConnector ? sim.serviceUrl : undefined });
  if (options.throughConnector) (sim as { serviceUrl: string }).serviceUrl = connector.url;
  const cora = sim.user('cora', 'Cora Whitfield');
  const prefix = `b${randomBytes(4).toString('hex')}`;
  for (const b of bots) await b.run({ kind: 'together', connectionString, tablePrefix: prefix, coordinators: [cora.aadObjectId], sendRate: APP_RATE, logLevel: 'warn' });
  const tables = new Tables({ connectionString }, prefix);
  return {
    sim,
    connector,
    tables,
    cora,
    prefix,
    async close() {
      for (const b of bots) await b.stopInstance().catch(() => undefined);
      await sim.stop().catch(() => undefined);
      await connector.stop().catch(() => undefined);
      await tables.dropAll(TABLES).catch(() => undefined);
    },
  };
}

/** `n` people who installed Together long ago: their personal chats, at the connector, stored as Together stores them. */
async function seedRecipients(w: World, n: number): Promise<string[]> {
  const conversations = new ConversationStore(w.tables, createLogger('silent'));
  const ids = Array.from({ length: n }, (_, i) => `a:bench-${i}`);
  let next = 0;
  const one = async () => {
    while (next < ids.length) {
      const i = next++;
      const aad = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      await conversations.rememberPersonal(aad, { channelId: 'msteams', serviceUrl: w.connector.url, conversation: { id: ids[i]!, conversationType: 'personal', tenantId: w.sim.tenantId, isGroup: false, name: '' }, bot: { id: w.sim.bot.id, name: 'Together' } }, `Teacher ${i}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, one));
  return ids;
}

/** The coordinator's announcement up to (not including) the confirming press; returns that press. */
async function prepareAnnouncement(w: World, endpoint: string, text: string): Promise<() => Promise<unknown>> {
  w.sim.botEndpoint = endpoint;
  const me = w.sim.personalChat(w.cora);
  const typed = await w.sim.say(w.cora, me, `announce everyone: ${text}`);
  const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
  if (!preview) throw new Error(`no preview came back: ${JSON.stringify(typed.body).slice(0, 300)}`);
  const first = await w.sim.click(w.cora, me, preview, 'Send');
  const confirm = invokeResponseCard(first.body);
  if (!confirm) throw new Error('no confirmation came back');
  return () => {
    w.sim.botEndpoint = endpoint;
    return w.sim.click(w.cora, me, confirm, 'Yes, send to everyone', {}, { replyToId: preview.activityId });
  };
}

/** Until every recipient has it (then a moment for any duplicate), or the timeout. */
async function waitDelivered(w: World, ids: readonly string[], timeoutMs: number, log: (line: string) => void, label: string): Promise<boolean> {
  const started = Date.now();
  let lastLog = Date.now();
  for (;;) {
    const { stats } = await w.connector.stats();
    if (stats.delivered >= ids.length) {
      const { deliveries } = await w.connector.stats(true);
      if (deliveries.length >= ids.length) break;
    }
    if (Date.now() - started > timeoutMs) return true;
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      log(`${label}: ${stats.delivered}/${ids.length} delivered, ${stats.requests} requests`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 1_500));
  return false;
}

function lostAndDuplicates(ids: readonly string[], deliveries: [string, number][]): { lost: number; duplicates: number } {
  const got = new Map(deliveries);
  return { lost: ids.filter((id) => !got.has(id)).length, duplicates: [...got.values()].reduce((n, c) => n + Math.max(0, c - 1), 0) };
}

async function recordedFailed(w: World): Promise<number> {
  try {
    const store = new AnnouncementStore(w.tables, createLogger('silent'));
    const id = (await store.recent(1))[0];
    const rows = id ? await store.recipients(id) : [];
    return rows.filter((r) => r.state === 'failed').length;
  } catch {
    return NaN;
  }
}

export async function runFanout(connectionString: string, bot: BotProcess, recipients: number, log: (line: string) => void, timeoutMs = 10 * 60_000): Promise<FanoutResult> {
  const inject429 = 0.05;
  const inject502 = 0.01;
  const w = await world(connectionString, [bot], { inject429, inject502, throughConnector: false, seed: 20261125 + recipients });
  try {
    log(`fan-out ${recipients}: storing ${recipients} conversation references…`);
    const ids = await seedRecipients(w, recipients);
    const send = await prepareAnnouncement(w, bot.url, 'Bench fan-out: the summer programme is out');
    await w.connector.reset();
    const sentAt = Date.now();
    log(`fan-out ${recipients}: sending…`);
    await withTimeout(send(), 120_000, 'the confirming press was not answered');
    const timedOut = await waitDelivered(w, ids, timeoutMs, log, `fan-out ${recipients}`);
    const final = await w.connector.stats(true);
    const s = final.stats;
    const busySeconds = (s.lastDeliveryAt - s.firstAt) / 1000;
    return {
      recipients,
      inject429,
      inject502,
      dispatchSeconds: (s.firstAtEpoch - sentAt) / 1000,
      busySeconds,
      share: s.delivered / busySeconds / APP_RATE,
      stats: s,
      ...lostAndDuplicates(ids, final.deliveries),
      recordedFailed: await recordedFailed(w),
      timedOut,
    };
  } finally {
    await w.close();
  }
}

export async function runMixed(connectionString: string, bots: readonly [BotProcess, BotProcess], options: { recipients: number; rush: number; places: number }, log: (line: string) => void, timeoutMs = 10 * 60_000): Promise<MixedResult> {
  const { recipients, rush, places } = options;
  const w = await world(connectionString, bots, { inject429: 0, inject502: 0, throughConnector: true, seed: 20261126 });
  try {
    log(`mixed: storing ${recipients} conversation references, posting two TeachMeets…`);
    const ids = await seedRecipients(w, recipients);
    const channel = w.sim.channel('Riverside Schools Together', 'TeachMeets');
    const schoolId = await addSchool(w.sim, bots[0].url, w.cora, channel, 'Oakfield Academy');
    const events: PostedEvent[] = [];
    for (let i = 0; i < 2; i += 1) events.push(await createEvent(w.sim, bots[0].url, w.cora, channel, schoolId, places, `TeachMeet ${i + 1}`));
    const send = await prepareAnnouncement(w, bots[0].url, 'Bench mixed: the summer programme is out');
    await connectorQuiet(w.sim);
    // Instance i answers the rush on event i.
    const users = Array.from({ length: 2 * rush }, (_, k) => w.sim.user(`teacher${k}`, `Teacher ${k}`));
    const clicks: Click[] = users.map((user, k) => ({ endpoint: bots[k % 2]!.url, user, channel, event: events[k % 2]! }));
    w.sim.clearRecords();
    await w.connector.reset();

    log(`mixed: announcement to ${recipients} and two rushes of ${rush} clicks (${places} places each)…`);
    const sending = send();
    const fired = await fire(w.sim, clicks);
    log(`mixed: ${clicks.length} clicks answered in ${(fired.answeredMs / 1000).toFixed(1)} s`);
    await withTimeout(sending, 120_000, 'the confirming press was not answered');
    const personal = new Set(users.map((u) => w.sim.personalChat(u).id));
    const followUps = followUpsSeen(w.sim, events.map((event) => ({ event, clicks: rush })), personal, fired.t0Epoch, timeoutMs);
    const timedOut = await waitDelivered(w, ids, timeoutMs, log, 'mixed');
    const followUpsMs = await followUps;
    await new Promise((r) => setTimeout(r, 1_500));
    const final = await w.connector.stats(true);
    const s = final.stats;

    // Confirmations: exactly one to each person stored as confirmed.
    const store = new TeachMeetStore(w.tables, createLogger('silent'));
    const confirmed = new Set<string>();
    for (const e of events) {
      const loaded = await store.load(e.eventId);
      for (const su of loaded?.agg.signUps.values() ?? []) if (su.status === 'confirmed') confirmed.add(su.aadObjectId);
    }
    const byChat = new Map(users.map((u) => [w.sim.personalChat(u).id, u.aadObjectId]));
    const got = new Map<string, number>();
    for (const x of w.sim.sent) {
      const aad = x.method === 'POST' ? byChat.get(x.conversationId) : undefined;
      if (!aad) continue;
      if (!adaptiveCardsOf(x.activity).some((c) => cardText(c).includes('Your place is confirmed'))) continue;
      got.set(aad, (got.get(aad) ?? 0) + 1);
    }
    const lostConfirmations = [...confirmed].filter((a) => !got.has(a)).length + Math.max(0, 2 * places - confirmed.size);
    const duplicateConfirmations = [...got.values()].reduce((n, c) => n + Math.max(0, c - 1), 0) + [...got.keys()].filter((a) => !confirmed.has(a)).length;
    const ann = lostAndDuplicates(ids, final.deliveries);
    return {
      recipients,
      rush,
      places,
      stats: s,
      lostAnnouncements: ann.lost,
      duplicateAnnouncements: ann.duplicates,
      lostConfirmations,
      duplicateConfirmations,
      followUpsMs,
      fanoutSeconds: (s.lastDeliveryAt - s.firstAt) / 1000,
      answeredOk: fired.results.filter((r) => r.status === 200 && invokeResponseCard(r.body)).length,
      timedOut,
    };
  } finally {
    await w.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------------------------------------
// Printing

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '-');
const met = (b: boolean) => (b ? 'met' : 'NOT met');

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export function formatFanout(results: readonly FanoutResult[]): string {
  const rows = results.map((r) => {
    const s = r.stats;
    return [
      String(r.recipients),
      `${r.dispatchSeconds.toFixed(1)} s`,
      `${r.busySeconds.toFixed(1)} s`,
      String(s.requests),
      String(s.delivered),
      `${s.injected429}/${s.injected502}`,
      `${s.appViolations}/${s.conversationViolations}`,
      `${(s.delivered / r.busySeconds).toFixed(1)}/s`,
      r.share.toFixed(3),
      (r.share / (1 - r.inject429 - r.inject502)).toFixed(3),
      String(r.lost),
      String(r.duplicates),
      String(r.recordedFailed),
      r.timedOut ? 'FAIL (timed out)' : `${met(r.share >= 0.95)} / ${met(r.share / (1 - r.inject429 - r.inject502) >= 0.95)}${r.lost || r.duplicates ? ', FAIL (lost/dup)' : ''}`,
    ];
  });
  return [
    table(['recipients', 'Send → 1st request', 'busy window', 'requests', 'accepted', 'injected 429/502', 'app/conv. limit 429s', 'accepted/s', 'accepted ÷ window ÷ 50/s', '÷ the most possible', 'lost', 'duplicates', 'recorded failed', 'goal ≥ 0.95 (of 50/s / of the possible), 0 lost, 0 dup.'], rows),
    'busy window = first request to a recipient → last acceptance, at the connector (its own process, its own clock). Injected failures are refused requests: they count against the app rate and deliver nothing.',
    'With 6 % of requests failed on purpose and every request counting against the app rate, 0.94 is the most a sender using the whole rate can reach here: "÷ the most possible" divides by it.',
  ].join('\n');
}

export function formatMixed(r: MixedResult): string {
  const s = r.stats;
  const share = s.appViolations / Math.max(1, s.requests);
  const rows = [
    ['requests to the connector (all kinds, both instances)', String(s.requests)],
    ['  of which app-limit 429s', `${s.appViolations} (${pct(share)}; goal ≤ 1 %: ${met(share <= 0.01)})`],
    ['  of which per-conversation 429s', String(s.conversationViolations)],
    ['  accepted (announcement deliveries + passed to Teams and answered 2xx)', `${s.accepted} (${s.delivered} + ${s.accepted - s.delivered})`],
    ['announcement: lost / duplicates', `${r.lostAnnouncements} / ${r.duplicateAnnouncements}`],
    ['confirmations: lost / duplicates', `${r.lostConfirmations} / ${r.duplicateConfirmations}`],
    ['clicks answered 200 with a card', `${r.answeredOk} of ${2 * r.rush}`],
    ['follow-ups seen (both cards final, all confirmations) after', Number.isFinite(r.followUpsMs) ? `${(r.followUpsMs / 1000).toFixed(1)} s` : 'never (timed out)'],
    ['announcement: first request → last delivery', `${r.fanoutSeconds.toFixed(1)} s`],
    ['result', !r.timedOut && share <= 0.01 && !r.lostAnnouncements && !r.duplicateAnnouncements && !r.lostConfirmations && !r.duplicateConfirmations && Number.isFinite(r.followUpsMs) ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  return rows.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n');
}

/** The section as `npm run bench` prints it. */
export async function runFanoutSection(options: { connectionString: string; log: (line: string) => void }): Promise<void> {
  const { connectionString, log } = options;
  const sizes = (process.env.BENCH_FANOUT_SIZES ?? '1000,5000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const mix = { recipients: intEnv('BENCH_MIX_RECIPIENTS', 2000), rush: intEnv('BENCH_MIX_RUSH', 500), places: intEnv('BENCH_MIX_PLACES', 50) };
  const bots = (await Promise.all([BotProcess.start('Together A'), BotProcess.start('Together B')])) as [BotProcess, BotProcess];
  try {
    const results: FanoutResult[] = [];
    for (const n of sizes) results.push(await runFanout(connectionString, bots[0], n, log));
    log('');
    log(`== Announcements: fan-out as the sender's user sees it, one instance, connector enforcing ${APP_RATE} requests/s per app and ${CONVERSATION_RATE}/s per conversation, with 5 % 429 and 1 % 502 injected ==`);
    log(formatFanout(results));
    log('');
    const mixed = await runMixed(connectionString, bots, mix, log);
    log('');
    log(`== Two instances, each answering a TeachMeet rush (${mix.rush} clicks → ${mix.places} places) while an announcement fans out to ${mix.recipients}, connector enforcing ${APP_RATE} requests/s per app (nothing injected) ==`);
    log(formatMixed(mixed));
  } finally {
    for (const b of bots) await b.exit().catch(() => undefined);
  }
}

if (require.main === module) {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let azurite: EmbeddedAzurite | undefined;
  startAzurite()
    .then((a) => {
      azurite = a;
      return runFanoutSection({ connectionString: a.connectionString, log });
    })
    .then(
      async () => {
        await azurite?.stop();
        process.exit(0);
      },
      async (err: unknown) => {
        process.stderr.write(`fan-out bench failed: ${(err as Error).stack ?? String(err)}\n`);
        await azurite?.stop().catch(() => undefined);
        process.exit(1);
      },
    );
}

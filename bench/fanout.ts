import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { AnnouncementStore } from '../src/announcements/store';
import { loadConfig } from '../src/config';
import { startTogether, type Together } from '../src/index';
import { createLogger } from '../src/platform/logging';
import { startAzurite, type EmbeddedAzurite } from '../src/platform/storage/azurite';
import { Tables } from '../src/platform/storage/tables';
import { adaptiveCardsOf, invokeResponseCard } from '../test/support/cardActions';
import { TeamsSimulator } from '../test/support/simulator';
import { startConnectorProcess, type ConnectorProcess } from './fanoutConnector';

/**
 * `npm run bench`, fan-out section: one announcement to `recipients` conversations (default 5,000),
 * through the whole bot: a coordinator types `announce everyone: …` in the Teams simulator, presses
 * Send and confirms; the recipients' conversations point at a simulated connector (bench/fanoutConnector.ts)
 * that enforces 50 requests/s per app and 7/s per conversation (in any 1-second window) and injects
 * 5 % 429 (half with Retry-After: 1) and 1 % 502. Storage is a real Azurite (tables and queues).
 *
 * Reported: the request rate the connector accepted within its limits as a share of the ceiling
 * (the goal: at least 95 %, aim 98 %), delivered messages per second, limit violations, and the
 * invariants: every recipient delivered (0 lost), nobody twice (0 duplicates). Times are measured,
 * never asserted. It stops by itself: when everyone has it, or after `timeoutMs`.
 */

export interface FanoutBenchOptions {
  /** Recipient conversations (default 5,000). */
  readonly recipients?: number;
  /** The app's rate the connector enforces and the bot is configured with (default 50/s). */
  readonly appRate?: number;
  /** Per conversation (default 7/s). */
  readonly conversationRate?: number;
  readonly inject429?: number;
  readonly inject502?: number;
  /** An Azurite (or storage) connection string with a QueueEndpoint; an embedded Azurite is started when absent. */
  readonly connectionString?: string;
  /** Gives up after this long (default 10 minutes). */
  readonly timeoutMs?: number;
  readonly seed?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface FanoutBenchResult {
  readonly recipients: number;
  readonly appRate: number;
  readonly conversationRate: number;
  readonly inject429: number;
  readonly inject502: number;
  /** Seconds from the first request to the last delivery at the simulated connector. */
  readonly seconds: number;
  /** Requests the connector took within its limits (deliveries and injected failures). */
  readonly requestsWithinLimits: number;
  /** requestsWithinLimits per second ÷ appRate. */
  readonly achievedShareOfCeiling: number;
  readonly deliveredPerSecond: number;
  /** Delivered per second ÷ (appRate × (1 − injected share)): the most that could be delivered. */
  readonly deliveredShareOfCeiling: number;
  readonly appViolations: number;
  readonly conversationViolations: number;
  readonly injected429: number;
  readonly injected502: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Recipients the bot recorded as failed (none expected: every injected failure is retried). */
  readonly recordedFailed: number;
  readonly timedOut: boolean;
  /** Seconds from Send to the first request (resolving 5,000 recipients, writing them, queuing them). */
  readonly dispatchSeconds: number;
  readonly pass: boolean;
}

export async function runFanoutBench(options: FanoutBenchOptions = {}): Promise<FanoutBenchResult> {
  const recipients = options.recipients ?? 5_000;
  const appRate = options.appRate ?? 50;
  const conversationRate = options.conversationRate ?? 7;
  const inject429 = options.inject429 ?? 0.05;
  const inject502 = options.inject502 ?? 0.01;
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const log = options.log ?? (() => undefined);

  let azurite: EmbeddedAzurite | undefined;
  let together: Together | undefined;
  let sim: TeamsSimulator | undefined;
  let connector: ConnectorProcess | undefined;
  try {
    const connectionString = options.connectionString ?? (azurite = await startAzurite()).connectionString;
    connector = await startConnectorProcess({ appRate, conversationRate, inject429, inject502, seed: options.seed ?? 20261125 });
    sim = await TeamsSimulator.start();
    const cora = sim.user('cora', 'Cora Whitfield');
    const loaded = loadConfig({ PARTNERSHIP_NAME: 'Riverside Schools Together', LOG_LEVEL: 'warn', COORDINATORS: cora.aadObjectId, TEAMS_SEND_RATE: String(appRate) });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const prefix = `b${randomBytes(4).toString('hex')}`;
    const quiet = new Writable({ write: (_c, _e, done) => done() });
    together = await startTogether({ config: loaded.config, storage: { connectionString }, logger: createLogger('warn', quiet), tablePrefix: prefix, port: 0, host: '127.0.0.1', schedulerIntervalMs: 0 });
    sim.botEndpoint = `${together.url}/api/messages`;

    // Everyone who has installed Together: `recipients` personal chats at the simulated connector.
    log(`fan-out: storing ${recipients} conversation references…`);
    const ids = Array.from({ length: recipients }, (_, i) => `a:bench-${i}`);
    let next = 0;
    const conversations = together.conversations;
    const seedOne = async () => {
      while (next < ids.length) {
        const i = next++;
        const aad = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        await conversations.rememberPersonal(aad, { channelId: 'msteams', serviceUrl: connector!.url, conversation: { id: ids[i]!, conversationType: 'personal', tenantId: sim!.tenantId, isGroup: false, name: '' }, bot: { id: sim!.bot.id, name: 'Together' } }, `Teacher ${i}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, seedOne));

    // The coordinator announces to everyone: preview, Send, confirm.
    const me = sim.personalChat(cora);
    const typed = await sim.say(cora, me, 'announce everyone: Bench fan-out: the summer programme is out');
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    if (!preview) throw new Error('no preview came back');
    const first = await sim.click(cora, me, preview, 'Send');
    const confirm = invokeResponseCard(first.body);
    if (!confirm) throw new Error('no confirmation came back');
    const sentAt = Date.now();
    log('fan-out: sending…');
    await sim.click(cora, me, confirm, 'Yes, send to everyone', {}, { replyToId: preview.activityId });

    const started = Date.now();
    let timedOut = false;
    let lastLog = Date.now();
    for (;;) {
      const { stats } = await connector.stats();
      if (stats.delivered >= recipients) {
        const { deliveries } = await connector.stats(true);
        if (deliveries.filter(([cid]) => cid.startsWith('a:bench-')).length >= recipients) break;
      }
      if (Date.now() - started > timeoutMs) {
        timedOut = true;
        break;
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`fan-out: ${stats.delivered}/${recipients} delivered, ${stats.requests} requests`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // Give retries in flight a moment to show any duplicate, then read what the bot recorded.
    await new Promise((r) => setTimeout(r, 1_500));
    await together.announcements.settle();
    const store = new AnnouncementStore(new Tables({ connectionString }, prefix), createLogger('silent'));
    const id = (await store.recent(1))[0];
    const rows = id ? await store.recipients(id) : [];
    const recordedFailed = rows.filter((r) => r.state === 'failed').length;
    const final = await connector.stats(true);
    const deliveries = new Map(final.deliveries);

    const s = final.stats;
    const seconds = (s.lastDeliveryAt - s.firstAt) / 1000;
    const delivered = [...deliveries.values()];
    const duplicates = delivered.reduce((n, c) => n + Math.max(0, c - 1), 0);
    const lost = ids.filter((cid) => !deliveries.has(cid)).length;
    const deliveredPerSecond = deliveries.size / seconds;
    const result: FanoutBenchResult = {
      recipients,
      appRate,
      conversationRate,
      inject429,
      inject502,
      seconds,
      requestsWithinLimits: s.withinLimits,
      achievedShareOfCeiling: s.withinLimits / seconds / appRate,
      deliveredPerSecond,
      deliveredShareOfCeiling: deliveredPerSecond / (appRate * (1 - inject429 - inject502)),
      appViolations: s.appViolations,
      conversationViolations: s.conversationViolations,
      injected429: s.injected429,
      injected502: s.injected502,
      delivered: s.delivered,
      lost,
      duplicates,
      recordedFailed,
      timedOut,
      dispatchSeconds: (s.firstAtEpoch - sentAt) / 1000,
      pass: false,
    };
    return { ...result, pass: !timedOut && lost === 0 && duplicates === 0 && result.achievedShareOfCeiling >= 0.95 };
  } finally {
    await together?.close().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await connector?.stop().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
  }
}

/** The section as printed by `npm run bench`. */
export function formatFanoutBench(r: FanoutBenchResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const rows: [string, string][] = [
    ['recipients (conversations)', String(r.recipients)],
    ['limits enforced', `${r.appRate} requests/s per app, ${r.conversationRate}/s per conversation (any 1-second window)`],
    ['injected', `${pct(r.inject429)} 429 (${r.injected429}), ${pct(r.inject502)} 502 (${r.injected502})`],
    ['from Send to the first request', `${r.dispatchSeconds.toFixed(1)} s (recipients resolved, written, queued)`],
    ['first request → last delivery', `${r.seconds.toFixed(1)} s`],
    ['requests within limits', `${r.requestsWithinLimits} (${(r.requestsWithinLimits / r.seconds).toFixed(1)}/s)`],
    ['achieved rate ÷ ceiling', `${pct(r.achievedShareOfCeiling)} (goal ≥ 95 %, aim 98 %)`],
    ['delivered/s ÷ deliverable ceiling', `${r.deliveredPerSecond.toFixed(1)}/s ÷ ${(r.appRate * (1 - r.inject429 - r.inject502)).toFixed(1)}/s = ${pct(r.deliveredShareOfCeiling)}`],
    ['limit violations (real 429s)', `${r.appViolations} app, ${r.conversationViolations} per conversation`],
    ['lost', String(r.lost)],
    ['duplicates', String(r.duplicates)],
    ['recorded as failed', String(r.recordedFailed)],
    ['result', r.pass ? 'PASS' : r.timedOut ? 'FAIL (timed out)' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`== Announcements: fan-out to ${r.recipients} conversations through a simulated connector ==`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n');
}

if (require.main === module) {
  const recipients = Number(process.env.BENCH_FANOUT) || undefined;
  runFanoutBench({ recipients, log: (line) => process.stdout.write(`${line}\n`) }).then(
    (r) => {
      process.stdout.write(`${formatFanoutBench(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`fan-out bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

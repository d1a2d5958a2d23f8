import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { adaptiveCardsOf, cardText, invokeResponseCard, locateAction } from '../test/support/cardActions';
import type { SimConversation, SimUser, TeamsSimulator, TurnResult } from '../test/support/simulator';

/**
 * The load generator's part of the bench, shared by the TeachMeet section (bench/run.ts) and the
 * mixed scenario (bench/fanout.ts): everything here reaches the bots over HTTP only, as Teams would
 * (activities to /api/messages), and reads what they sent from the simulator's connector records.
 */

/**
 * The load generator's connections: keep-alive, at most this many at once in all (default 500), whether
 * the clicks go to one bot or are shared between two (maxTotalSockets), so every run opens the same
 * number of connections as the bare bot's. Node listens with a backlog of 511, and beyond it the kernel
 * drops connection attempts, so a thousand fresh connections at once would measure TCP's retransmit
 * timers (1 s, 3 s, 7 s…) rather than the bots. 0 = the simulator's own transport: a new connection per click.
 */
export const SOCKETS = Number.isInteger(Number(process.env.BENCH_SOCKETS)) && process.env.BENCH_SOCKETS !== undefined ? Number(process.env.BENCH_SOCKETS) : 500;

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

export interface PostedEvent {
  readonly eventId: string;
  readonly card: object;
  /** The shared card's message id (updated in place after each change). */
  readonly activityId: string;
  readonly places: number;
}

/** Creates and posts a TeachMeet through HTTP as a coordinator would: `teachmeet new`, fill the form, Create and post. */
export async function createEvent(sim: TeamsSimulator, endpoint: string, coordinator: SimUser, channel: SimConversation, schoolId: string, places: number, title: string): Promise<PostedEvent> {
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

export interface Click {
  readonly endpoint: string;
  readonly user: SimUser;
  readonly channel: SimConversation;
  readonly event: PostedEvent;
}

export interface Fired {
  readonly results: TurnResult[];
  /** Per request: ms from the first send until its answer. */
  readonly answeredAt: number[];
  readonly answeredMs: number;
  readonly t0: number;
  /** Date.now() at t0 (the simulator's connector records `at` on that clock). */
  readonly t0Epoch: number;
}

/**
 * Presses Attend for every click at once. The simulator reads `botEndpoint` synchronously when a click
 * is sent, so setting it just before each call routes that click to its instance.
 */
export async function fire(sim: TeamsSimulator, clicks: readonly Click[], sockets = SOCKETS): Promise<Fired> {
  const agent = sockets > 0 ? new http.Agent({ keepAlive: true, maxSockets: sockets, maxTotalSockets: sockets }) : undefined;
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
      // A click nobody answers within two minutes counts as unanswered (status 0) rather than hanging the run.
      req.setTimeout(120_000, () => req.destroy(new Error('no answer within 120 s')));
      req.end(payload);
    });
  };
}

async function fireEach(sim: TeamsSimulator, clicks: readonly Click[]): Promise<Fired> {
  const answeredAt = new Array<number>(clicks.length).fill(NaN);
  const t0 = performance.now();
  const t0Epoch = Date.now();
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
  return { results, answeredAt, answeredMs: performance.now() - t0, t0, t0Epoch };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}


/** The value of the first choice of the form's input `id` (e.g. the school id of the TeachMeet form's Host). */
export function firstChoice(card: unknown, id: string): string | undefined {
  const seen: unknown[] = [card];
  while (seen.length) {
    const node = seen.pop();
    if (Array.isArray(node)) seen.push(...node);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'Input.ChoiceSet' && o.id === id && Array.isArray(o.choices)) {
        const first = (o.choices as { value?: unknown }[]).find((c) => typeof c.value === 'string' && c.value !== '');
        if (first) return first.value as string;
      }
      seen.push(...Object.values(o));
    }
  }
  return undefined;
}

/**
 * Adds a school and reads its id back from the TeachMeet form's Host choices, as a coordinator sees it
 * (the bench asks the bot nothing except through Teams).
 */
export async function addSchool(sim: TeamsSimulator, endpoint: string, coordinator: SimUser, channel: SimConversation, name: string): Promise<string> {
  sim.botEndpoint = endpoint;
  await sim.say(coordinator, channel, `school add ${name}`);
  const asked = await sim.say(coordinator, channel, 'teachmeet new');
  const formCard = asked.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
  const id = firstChoice(formCard, 'host');
  if (!id) throw new Error(`setup: no school to host on the TeachMeet form: ${JSON.stringify(asked.body).slice(0, 300)}`);
  return id;
}

/** Until nothing new has reached the simulator's connector for `quietMs` (setup, not measured). */
export async function connectorQuiet(sim: TeamsSimulator, quietMs = 500, maxMs = 30_000): Promise<void> {
  const started = Date.now();
  let seen = sim.requests.length;
  let since = Date.now();
  while (Date.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
    if (sim.requests.length !== seen) {
      seen = sim.requests.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

/** What a rush on one event must end with, as a user sees it. */
export interface RushExpectation {
  readonly event: PostedEvent;
  readonly clicks: number;
}

/**
 * The follow-ups as the users see them: every confirmed person has a "Your place is confirmed" message,
 * and each event's shared card (its latest update) shows the final counts. Read from the simulator's
 * connector records as they arrive (each looked at once); resolves with the ms from `t0Epoch` to the
 * record that completed the picture, or NaN after `maxMs`.
 */
export async function followUpsSeen(sim: TeamsSimulator, rushes: readonly RushExpectation[], personalChats: ReadonlySet<string>, t0Epoch: number, maxMs = 120_000): Promise<number> {
  const wantConfirmations = rushes.reduce((a, r) => a + Math.min(r.event.places, r.clicks), 0);
  const want = new Map(
    rushes.map((r) => {
      const confirmed = Math.min(r.event.places, r.clicks);
      const waiting = r.clicks - confirmed;
      return [r.event.activityId, [`${r.event.places - confirmed} of ${r.event.places} left`, waiting === 0 ? 'Nobody waiting' : `${waiting} waiting`]] as const;
    }),
  );
  const lastPut = new Map<string, { at: number; shows: boolean }>();
  let confirmations = 0;
  let lastConfirmationAt = NaN;
  let index = 0;
  const started = Date.now();
  for (;;) {
    for (; index < sim.sent.length; index += 1) {
      const s = sim.sent[index]!;
      if (s.method === 'PUT' && want.has(s.activityId)) {
        const text = adaptiveCardsOf(s.activity).map((c) => cardText(c)).join('\n');
        lastPut.set(s.activityId, { at: s.at, shows: want.get(s.activityId)!.every((w) => text.includes(w)) });
      } else if (s.method === 'POST' && personalChats.has(s.conversationId)) {
        const text = adaptiveCardsOf(s.activity).map((c) => cardText(c)).join('\n');
        if (text.includes('Your place is confirmed')) {
          confirmations += 1;
          lastConfirmationAt = s.at;
        }
      }
    }
    const cards = [...want.keys()].map((id) => lastPut.get(id));
    if (confirmations >= wantConfirmations && cards.every((c) => c?.shows)) {
      return Math.max(wantConfirmations ? lastConfirmationAt : 0, ...cards.map((c) => c!.at)) - t0Epoch;
    }
    if (Date.now() - started > maxMs) return NaN;
    await new Promise((r) => setTimeout(r, 25));
  }
}

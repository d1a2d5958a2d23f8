import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import type { AnnouncementTuning } from '../../src/announcements/service';
import { startTogether, type Together } from '../../src/index';
import { ManualClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logging';
import { Tables } from '../../src/platform/storage/tables';
import { testConfig, uniquePrefix } from '../support/bot';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { storageConnectionString } from '../support/hooks';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser, type TurnResult } from '../support/simulator';

/**
 * Shared set-up for the announcement suites (not a test file itself): the bot in-process on Azurite
 * with a fast report, a Teams simulator, a coordinator, schools with channels, reps, and helpers that
 * read what people were shown and wait for the fan-out. Sending is the outbox's, at its real pace
 * and with its one retry policy: short waits in memory in real time, longer ones on the stored row
 * until the (manual) clock passes them (`later`).
 */

export const START = '2026-11-25T10:00:00Z';

export function said(result: TurnResult): string {
  const invoke = invokeResponseCard(result.body);
  const body = result.body as { value?: unknown } | undefined;
  return [
    ...result.sent.map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n')),
    invoke ? cardText(invoke) : typeof body?.value === 'string' ? body.value : '',
  ].join('\n');
}

export function textOf(sent: Sent): string {
  return [sent.activity?.text ?? '', ...adaptiveCardsOf(sent.activity).map((c) => cardText(c))].join('\n');
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(25);
  }
}

export class World {
  sim!: TeamsSimulator;
  together!: Together;
  clock!: ManualClock;
  prefix!: string;
  logs: Record<string, unknown>[] = [];
  cora!: SimUser;
  hq!: SimConversation;
  env: Record<string, string> = {};
  tuning: Partial<AnnouncementTuning> = {};

  static async start(opts: { env?: Record<string, string>; tuning?: Partial<AnnouncementTuning> } = {}): Promise<World> {
    const w = new World();
    w.sim = await TeamsSimulator.start();
    w.clock = new ManualClock(START);
    w.prefix = uniquePrefix();
    w.cora = w.sim.user('cora', 'Cora Whitfield');
    w.hq = w.sim.channel('Riverside Schools Together', 'General');
    w.env = { COORDINATORS: w.cora.aadObjectId, ...(opts.env ?? {}) };
    w.tuning = opts.tuning ?? {};
    await w.boot();
    return w;
  }

  readonly others: Together[] = [];

  /** Another instance on the same tables (not the one the simulator talks to). */
  async another(): Promise<Together> {
    const config = testConfig(this.env);
    const other = await startTogether({
      config,
      storage: { connectionString: storageConnectionString() },
      logger: createLogger('silent'),
      clock: this.clock,
      schedulerIntervalMs: 0,
      tablePrefix: this.prefix,
      port: 0,
      host: '127.0.0.1',
      send: { heartbeatMs: 200 },
      announcements: { reportIntervalMs: 50, statusTtlMs: 0, ...this.tuning },
    });
    this.others.push(other);
    return other;
  }

  private async boot(): Promise<void> {
    const sink = new Writable({
      write: (chunk: Buffer, _e, done) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) this.logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = testConfig(this.env);
    this.together = await startTogether({
      config,
      storage: { connectionString: storageConnectionString() },
      logger: createLogger(config.logLevel, sink),
      clock: this.clock,
      schedulerIntervalMs: 0,
      tablePrefix: this.prefix,
      port: 0,
      host: '127.0.0.1',
      send: { heartbeatMs: 200 },
      announcements: { reportIntervalMs: 50, statusTtlMs: 0, ...this.tuning },
    });
    this.sim.botEndpoint = `${this.together.url}/api/messages`;
  }

  async restart(): Promise<void> {
    await this.together.close();
    await this.boot();
  }

  private readonly crashed = new Set<Together>();

  /** The instance the simulator talks to dies this instant (not a graceful stop). */
  async crash(): Promise<void> {
    this.crashed.add(this.together);
    await this.together.crash();
  }

  /** After `crash()`: a new instance on the same storage, as a host restarting it would. */
  async started(): Promise<void> {
    await this.boot();
  }

  async stop(): Promise<void> {
    for (const other of this.others) await other.close();
    if (!this.crashed.has(this.together)) await this.together.close();
    await this.sim.stop();
  }

  tables(): Tables {
    return new Tables({ connectionString: storageConnectionString() }, this.prefix);
  }

  /** Time passes (`ms`) and the scheduler of each running instance ticks, as it would every minute: messages kept for later are sent. */
  async later(ms: number): Promise<void> {
    this.clock.advance(ms);
    for (const t of [this.together, ...this.others]) if (!this.crashed.has(t)) await t.scheduler.tick();
    await this.settle();
  }

  // ---------------------------------------------------------------------------------------------
  // The partnership

  async addSchool(name: string): Promise<{ id: string; channel: SimConversation }> {
    assert.match(said(await this.sim.say(this.cora, this.hq, `school add ${name}`)), /Added/);
    const school = (await this.together.directory.schools()).find((s) => s.name === name)!;
    const channel = this.sim.channel(name, 'Staff room');
    await this.sim.install(this.cora, channel);
    assert.match(said(await this.sim.say(this.cora, channel, `channel school ${name}`)), new RegExp(name));
    return { id: school.id, channel };
  }

  async makeRep(user: SimUser, schoolName: string): Promise<void> {
    const r = await this.sim.say(this.cora, this.hq, `rep add <at>${user.name}</at> ${schoolName}`, { mentions: [user] });
    const person = await this.together.directory.resolve(user.aadObjectId, user.name);
    assert.ok(person.isRep, `${user.name} is now a rep: ${said(r)}`);
  }

  /** The announcement card messages posted to a conversation (not updates, not the bot's replies to commands). */
  announcementsIn(conv: SimConversation | string, text: string): Sent[] {
    return this.sim.messagesTo(conv).filter((s) => s.method === 'POST' && textOf(s).includes(text) && textOf(s).includes('announcement'));
  }

  /** The newest version of a message the bot posted (after updates in place). */
  latest(conv: SimConversation, activityId: string): string {
    const entry = this.sim.transcript(conv).find((t) => t.id === activityId);
    return entry ? [entry.activity?.text ?? '', ...adaptiveCardsOf(entry.activity).map((c) => cardText(c))].join('\n') : '';
  }

  /** Types `announce` in `where` and returns the compose card's message. */
  async compose(by: SimUser, where: SimConversation): Promise<Sent> {
    const typed = await this.sim.say(by, where, 'announce');
    const card = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(card, `the compose card came: ${said(typed)}`);
    return card;
  }

  /** Fills the compose card and presses Preview; returns the preview card (the compose card's message now shows it). */
  async preview(by: SimUser, where: SimConversation, compose: Sent, inputs: Record<string, string>): Promise<{ card: object; result: TurnResult }> {
    const result = await this.sim.click(by, where, compose, 'Preview', inputs);
    assert.equal(result.status, 200);
    const card = invokeResponseCard(result.body);
    assert.ok(card, `a card came back: ${said(result)}`);
    return { card, result };
  }

  /** Presses a button on a card shown in the message `activityId` (an invoke answer replaces the card there). */
  async press(by: SimUser, where: SimConversation, card: object, title: string, activityId: string, inputs: Record<string, string> = {}): Promise<TurnResult> {
    const result = await this.sim.click(by, where, card, title, inputs, { replyToId: activityId });
    assert.equal(result.status, 200, `HTTP 200 for ${title}`);
    return result;
  }

  /** Until this instance (and any other) has sent what it could and refreshed the reports. */
  async settle(): Promise<void> {
    for (const t of [this.together, ...this.others]) {
      await t.outbox.settle();
      await t.announcements.settle();
    }
  }
}

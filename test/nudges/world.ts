import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { NudgeService } from '../../src/nudges/service';
import { NudgeStore } from '../../src/nudges/store';
import { createAdapter } from '../../src/platform/bot';
import { ManualClock } from '../../src/platform/clock';
import type { Deadline } from '../../src/platform/deadlines/types';
import { createLogger } from '../../src/platform/logging';
import { Outbox } from '../../src/platform/outbox/outbox';
import { Proactive } from '../../src/platform/proactive';
import { Timers } from '../../src/platform/timers';
import { startTestBot, testConfig, type TestBot } from '../support/bot';
import { cardText } from '../support/cardActions';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser } from '../support/simulator';
import { said, textOf } from '../support/said';
export { said, textOf } from '../support/said';
import { BaseWorld } from '../support/world';

/**
 * Shared set-up for the nudge suites through the wire (not a test file itself): a simulator, a bot on a
 * ManualClock (Mon 23 Nov 2026, GMT, so London time is UTC), a coordinator, two schools, Oakfield's two
 * reps (Sam has a personal chat with the bot; Raj never wrote to it, and is found through Oakfield's
 * channel) and Brookside's rep, and helpers that read what people were sent.
 */

export const START = '2026-11-23T10:00:00Z';
/** Fri 4 Dec 2026, 17:00 London. */
export const FRIDAY_DUE = new Date('2026-12-04T17:00:00Z');

const DIGEST = /reminders? from Together|Overdue in the partnership/;

export class World extends BaseWorld {
  sam!: SimUser;
  raj!: SimUser;
  bea!: SimUser;
  staffRoom!: SimConversation;
  oakChannel!: SimConversation;
  oak = '';
  brook = '';

  static async start(): Promise<World> {
    const w = new World();
    w.sim = await TeamsSimulator.start();
    w.clock = new ManualClock(START);
    w.cora = w.sim.user('cora', 'Cora Whitfield');
    w.sam = w.sim.user('sam', 'Sam Patel');
    w.raj = w.sim.user('raj', 'Raj Mehta');
    w.bea = w.sim.user('bea', 'Bea Lowe');
    w.staffRoom = w.sim.channel('Riverside Schools Together', 'Staff room');
    w.oakChannel = w.sim.channel('Riverside Schools Together', 'Oakfield');
    w.bot = await startTestBot({ env: w.env, clock: w.clock });
    w.sim.botEndpoint = w.bot.url;
    await w.sim.say(w.cora, w.staffRoom, 'school add Oakfield Academy');
    await w.sim.say(w.cora, w.staffRoom, 'school add Brookside Primary');
    const schools = await w.bot.together.directory.schools();
    w.oak = schools.find((s) => s.name === 'Oakfield Academy')!.id;
    w.brook = schools.find((s) => s.name === 'Brookside Primary')!.id;
    for (const [user, school] of [[w.sam, 'Oakfield Academy'], [w.raj, 'Oakfield Academy'], [w.bea, 'Brookside Primary']] as const) {
      const r = await w.sim.say(w.cora, w.staffRoom, `rep add <at>${user.name}</at> ${school}`, { mentions: [user] });
      assert.match(said(r), /is now a rep of/);
    }
    assert.match(said(await w.sim.say(w.cora, w.oakChannel, 'channel school Oakfield Academy')), /Oakfield/);
    await w.sim.say(w.sam, w.sim.personalChat(w.sam), 'whoami');
    await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'whoami');
    w.sim.clearRecords();
    return w;
  }

  /** "Approve 'STEM Week' for Oakfield Academy", due Fri 4 Dec 17:00, for Oakfield's reps, registered as a capability would. */
  stemWeek(overrides: Partial<Deadline> = {}): Deadline {
    return {
      id: 'proposal:prstem:school:oak',
      capability: 'proposals',
      who: { kind: 'schoolReps', schoolId: this.oak },
      what: "Approve 'STEM Week' for Oakfield Academy",
      schoolId: this.oak,
      dueAt: FRIDAY_DUE,
      actions: [{ title: 'Show help', verb: 'help.show', data: {} }],
      essential: true,
      ...overrides,
    };
  }

  /** Moves the clock to `iso` and runs one scheduler tick (and waits for what it delivers). */
  async tickAt(iso: string, bot: TestBot = this.bot): Promise<void> {
    this.clock.set(iso);
    await bot.together.scheduler.tick();
    await bot.together.outbox.settle();
  }

  /** The nudge messages (digest cards) delivered to `user`'s personal chat. */
  nudgesTo(user: SimUser): Sent[] {
    return this.sim.sent.filter((s) => s.method === 'POST' && s.conversationId === this.sim.personalChat(user).id && DIGEST.test(textOf(s)));
  }

  /**
   * A crash-prone scheduler instance on the bot's tables, with its own outbox, as another process
   * would have. It dies (throws, and its outbox does nothing more) at `crashAt`:
   * - 'claimed': after claiming the due items, before deciding anything;
   * - 'committed': right after committing the day's messages, before sending any (or recording the items' progress);
   * - 'sent': after its first message went, before that message's outbox row was cleared (a send in flight).
   */
  crashingScheduler(crashAt: 'claimed' | 'committed' | 'sent'): NudgeService {
    const together = this.bot.together;
    const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
    const proactive = crashAt === 'sent' ? new DiesAfterOneSend(createAdapter(testConfig()), '', together.conversations, logger) : new Proactive(createAdapter(testConfig()), '', together.conversations, logger);
    const outbox = new Outbox({ tables: together.tables, timers: new Timers(together.tables, logger), proactive, conversations: together.conversations, deadlines: together.deadlines, clock: this.clock, logger });
    if (proactive instanceof DiesAfterOneSend) proactive.onSent = () => outbox.halt();
    if (crashAt === 'committed') outbox.pause();
    return new NudgeService({
      deadlines: together.deadlines,
      store: new NudgeStore(together.tables, logger),
      directory: together.directory,
      conversations: together.conversations,
      proactive,
      outbox,
      clock: this.clock,
      logger,
      partnershipName: 'Riverside Schools Together',
      onStep: (step) => {
        if (step === crashAt) {
          outbox.halt();
          throw new Error(`simulated crash after ${step}`);
        }
      },
    });
  }
}

/** A process that dies right after its first personal message is accepted: one send at a time, and none after it. */
class DiesAfterOneSend extends Proactive {
  onSent: () => void = () => undefined;
  private turn: Promise<unknown> = Promise.resolve();
  private dead = false;

  override reachPerson(...args: Parameters<Proactive['reachPerson']>): ReturnType<Proactive['reachPerson']> {
    const run = this.turn.then(async () => {
      if (this.dead) throw new Error('the process has died');
      const sent = await super.reachPerson(...args);
      this.dead = true;
      this.onSent();
      return sent;
    });
    this.turn = run.catch(() => undefined);
    return run;
  }
}

/** The button `title` of the item whose headline contains `headline`, on a digest card. */
export function buttonFor(card: object, headline: string, title: string): { verb: string; data: Record<string, unknown> } {
  let found: { verb: string; data: Record<string, unknown> } | undefined;
  const visit = (value: unknown): void => {
    if (found || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) return value.forEach(visit);
    const v = value as { type?: string; items?: unknown[] };
    if (v.type === 'Container' && Array.isArray(v.items) && JSON.stringify(v.items[0] ?? {}).includes(headline)) {
      const set = v.items.find((i) => (i as { type?: string }).type === 'ActionSet') as { actions: { title: string; verb: string; data: Record<string, unknown> }[] } | undefined;
      const action = set?.actions.find((a) => a.title === title || a.title.startsWith(title));
      if (action) found = { verb: action.verb, data: action.data };
      return;
    }
    Object.values(v).forEach(visit);
  };
  visit(card);
  assert.ok(found, `no "${title}" for "${headline}" on ${cardText(card)}`);
  return found;
}

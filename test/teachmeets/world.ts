import assert from 'node:assert/strict';
import { ManualClock } from '../../src/platform/clock';
import type { PressLimits } from '../../src/platform/rateLimit';
import { startTestBot } from '../support/bot';
import { actionTitles, adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser } from '../support/simulator';
import { said, textOf } from '../support/said';
export { answered, said, textOf, via } from '../support/said';
import { BaseWorld } from '../support/world';

/**
 * Shared set-up for the TeachMeet through-the-wire suites (not a test file itself): a simulator, a
 * bot on a ManualClock, a coordinator, a school, and helpers that read what people were shown.
 */

export const START = '2026-11-25T10:00:00Z';

export const FORM = {
  title: 'Spring TeachMeet',
  date: '2026-12-04',
  start: '16:00',
  end: '17:30',
  venue: 'Library',
  link: '',
  places: '2',
  slots2: '0',
  slots5: '1',
  slots7: '0',
  deadlineDate: '2026-12-03',
  deadlineTime: '17:00',
  theme: 'Retrieval practice',
};

export class World extends BaseWorld {
  staffRoom!: SimConversation;
  schoolId!: string;
  otherSchoolId!: string;

  static async start(options: { pressLimits?: PressLimits } = {}): Promise<World> {
    const w = new World();
    w.sim = await TeamsSimulator.start();
    w.clock = new ManualClock(START);
    w.cora = w.sim.user('cora', 'Cora Whitfield');
    w.staffRoom = w.sim.channel('Riverside Schools Together', 'TeachMeets');
    w.bot = await startTestBot({ env: w.env, clock: w.clock, pressLimits: options.pressLimits });
    w.sim.botEndpoint = w.bot.url;
    await w.sim.say(w.cora, w.staffRoom, 'school add Oakfield Academy');
    await w.sim.say(w.cora, w.staffRoom, 'school add Brookside Primary');
    const schools = await w.bot.together.directory.schools();
    w.schoolId = schools.find((s) => s.name === 'Oakfield Academy')!.id;
    w.otherSchoolId = schools.find((s) => s.name === 'Brookside Primary')!.id;
    return w;
  }

  async settle(): Promise<void> {
    await this.bot.together.teachmeets.settle();
    for (const other of this.others) await other.together.teachmeets.settle();
  }

  async tick(): Promise<void> {
    await this.bot.together.scheduler.tick();
    await this.settle();
  }

  /** Makes `user` a rep of the school named. */
  async makeRep(user: SimUser, schoolName: string): Promise<void> {
    const r = await this.sim.say(this.cora, this.staffRoom, `rep add <at>${user.name}</at> ${schoolName}`, { mentions: [user] });
    assert.match(said(r), /rep/i);
    const person = await this.bot.together.directory.resolve(user.aadObjectId, user.name);
    assert.ok(person.isRep, `${user.name} is now a rep: ${said(r)}`);
  }

  /** `by` types `teachmeet new` and submits the form; returns the shared card and its message id. */
  async createEvent(by: SimUser = this.cora, form: Partial<typeof FORM> & { host?: string } = {}): Promise<{ card: object; activityId: string; eventId: string }> {
    const typed = await this.sim.say(by, this.staffRoom, 'teachmeet new');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(formSent, `${by.name} got the form: ${said(typed)}`);
    const created = await this.sim.click(by, this.staffRoom, formSent, 'Create and post', { ...FORM, host: this.schoolId, ...form });
    const card = invokeResponseCard(created.body);
    assert.ok(card, `the form was replaced by the event card: ${JSON.stringify(created.body).slice(0, 300)}`);
    const eventId = eventIdOf(card);
    return { card, activityId: formSent.activityId, eventId };
  }

  /** The shared card as people in the channel see it now (its latest update, or as first posted). */
  sharedCard(activityId: string): object {
    const update = this.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId).at(-1);
    assert.ok(update, 'the shared card has been updated in place');
    return adaptiveCardsOf(update.activity)[0]!;
  }

  /** Personal messages (cards) delivered to `user` whose text matches `pattern`. */
  messagesFor(user: SimUser, pattern: RegExp): Sent[] {
    return this.sim.messagesTo(this.sim.personalChat(user)).filter((s) => s.method === 'POST' && pattern.test(textOf(s)));
  }

  async signUps(eventId: string) {
    const loaded = await this.bot.together.teachmeets.queue.read(eventId);
    assert.ok(loaded, 'the event is stored');
    return loaded;
  }
}

export function eventIdOf(card: object): string {
  const match = /"eventId":"(tm[0-9a-f]{10})"/.exec(JSON.stringify(card));
  assert.ok(match, 'the card carries its event id');
  return match[1]!;
}

export function hasAction(card: object, title: string): boolean {
  return actionTitles(card).includes(title);
}

/** The running-order lines on an event card, as "name (school): talk". */
export function runningOrder(card: object): string[] {
  const text = cardText(card).split('\n');
  const at = text.indexOf('Running order');
  if (at < 0) return [];
  return text.slice(at + 1).filter((l) => /^\d+\. /.test(l));
}

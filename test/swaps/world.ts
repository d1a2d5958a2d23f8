import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logging';
import { SwapStore } from '../../src/swaps/store';
import { startTestBot } from '../support/bot';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser, type TurnResult } from '../support/simulator';
import { said } from '../support/said';
import { BaseWorld } from '../support/world';
export { said } from '../support/said';

/**
 * A partnership for placement swap tests: a coordinator (Cora), reps of three schools (Ann at
 * Oakfield Academy, Ben at Hillside High, Cal at Castle School) and a teacher (Tia), on a bot with a
 * manual clock at Thu 20 Nov 2025, 10:00 London.
 */

export const START = '2025-11-20T10:00:00Z';

/** A secondary maths offer for 12 Jan – 6 Feb 2026, to be agreed by Fri 9 Jan. */
export const MATHS = { sendSubject: 'Maths', sendCount: '1', trainee: 'Sam P.', hostSubjects: 'Maths, Physics', from: '2026-01-12', to: '2026-02-06', confirmBy: '2026-01-09', notes: '' };

/** The swaps world: BaseWorld (simulator, bot, clock, Cora, second instances, crashes) and its people and schools. */
export class World extends BaseWorld {
  store!: SwapStore;
  ann!: SimUser;
  ben!: SimUser;
  cal!: SimUser;
  tia!: SimUser;
  staffRoom!: SimConversation;
  schools!: { oak: string; hill: string; castle: string };

  chat(user: SimUser): SimConversation {
    return this.sim.personalChat(user);
  }
}

export async function startWorld(): Promise<World> {
  const w = new World();
  const sim = (w.sim = await TeamsSimulator.start());
  const clock = (w.clock = new ManualClock(START));
  const cora = (w.cora = sim.user('cora', 'Cora Whitfield'));
  const ann = (w.ann = sim.user('ann', 'Ann Hughes'));
  const ben = (w.ben = sim.user('ben', 'Ben Carter'));
  const cal = (w.cal = sim.user('cal', 'Cal Moss'));
  w.tia = sim.user('tia', 'Tia Okafor');
  const staffRoom = (w.staffRoom = sim.channel('Riverside Schools Together', 'Staff room'));
  const bot = (w.bot = await startTestBot({ env: w.env, clock }));
  sim.botEndpoint = bot.url;
  for (const name of ['Oakfield Academy', 'Hillside High', 'Castle School']) await sim.say(cora, staffRoom, `school add ${name}`);
  for (const [who, school] of [
    [ann, 'Oakfield Academy'],
    [ben, 'Hillside High'],
    [cal, 'Castle School'],
  ] as const) {
    const r = await sim.say(cora, staffRoom, `rep add <at>${who.name}</at> ${school}`, { mentions: [who] });
    assert.match(said(r), /is now a rep of/);
  }
  const all = await bot.together.directory.schools();
  const id = (name: string) => all.find((s) => s.name === name)!.id;
  // Cora has talked to the bot in a personal chat, so coordinators can be told things personally.
  await sim.say(cora, sim.personalChat(cora), 'whoami');
  const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
  w.store = new SwapStore(bot.together.tables, logger);
  w.schools = { oak: id('Oakfield Academy'), hill: id('Hillside High'), castle: id('Castle School') };
  return w;
}

/** The text of every message a conversation received, in order. */
export function texts(sim: TeamsSimulator, conv: SimConversation): string[] {
  return sim.messagesTo(conv).map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n'));
}

/** The messages in a conversation whose text matches. */
export function messagesMatching(sim: TeamsSimulator, conv: SimConversation, pattern: RegExp): Sent[] {
  return sim.messagesTo(conv).filter((s) => pattern.test([s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n')));
}

/** The last message in a conversation whose text matches (fails if none). */
export function lastMatching(sim: TeamsSimulator, conv: SimConversation, pattern: RegExp): Sent {
  const found = messagesMatching(sim, conv, pattern).at(-1);
  assert.ok(found, `no message matching ${pattern} in ${conv.id}; got:\n${texts(sim, conv).join('\n---\n')}`);
  return found;
}

/** A rep types `swap offer` in their personal chat and sends the form with `inputs`, a minute after the last. */
export async function offer(w: World, user: SimUser, inputs: Record<string, string> = MATHS): Promise<TurnResult> {
  w.clock.advance(60_000);
  const chat = w.chat(user);
  const form = await w.sim.say(user, chat, 'swap offer');
  const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
  assert.ok(formSent, `the form came back: ${said(form)}`);
  const result = await w.sim.click(user, chat, formSent, 'Send the offer', inputs);
  assert.equal(result.status, 200);
  return result;
}

/** The ids of the matches an offer of a school is in, from storage. */
export async function matchesOfSchool(w: World, schoolId: string) {
  const offers = (await w.store.currentOffers()).filter((o) => o.offer.schoolId === schoolId);
  const out = [];
  for (const o of offers) out.push(...(await w.store.matchesOf(o.offer.id)));
  return out;
}

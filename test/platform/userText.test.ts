import assert from 'node:assert/strict';
import { adaptiveCardsOf, invokeResponseCard } from '../support/cardActions';
import type { SimConversation, SimUser, TurnResult } from '../support/simulator';
import { liveMarkup, markdownTexts, rendered } from '../support/markdown';
import { FORM, said, World } from '../teachmeets/world';

/**
 * What people type is shown as they typed it. Teams renders a Markdown subset in a card's TextBlocks
 * and facts, so a talk titled "[Claim your CPD certificate](https://evil.example)" must not become a
 * link (or bold, a heading or a list) on the cards the bot sends.
 */

const BAIT = '[Claim your CPD certificate](https://evil.example)';
const LOUD = '**Free** CPD _now_';

describe('User text in cards', function () {
  let w: World;
  let ray: SimUser;
  let tom: SimUser;
  let announcements: SimConversation;

  beforeEach(async function () {
    w = await World.start();
    ray = w.sim.user('ray', 'Ray Osei');
    tom = w.sim.user('tom', 'Tom Baker');
    await w.makeRep(ray, 'Oakfield Academy');
    announcements = w.sim.channel('Riverside Schools Together', 'Announcements');
    assert.match(said(await w.sim.say(w.cora, announcements, 'channel announcements')), /announcements channel/);
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'rep announcements on')), /may now announce/);
  });

  afterEach(async function () {
    await w.stop();
  });

  /** Every card the bot has sent or answered with so far. */
  function everyCard(results: TurnResult[]): object[] {
    return [...w.sim.sent.flatMap((s) => (s.method === 'DELETE' ? [] : adaptiveCardsOf(s.activity))), ...results.flatMap((r) => invokeResponseCard(r.body) ?? [])];
  }

  it('when a rep titles a TeachMeet and a teacher titles their talk with Markdown link syntax, then the shared card, the announcements channel and the personal cards show it as typed, with no link', async function () {
    const created = await w.createEvent(ray, { title: BAIT, theme: `${LOUD} # not a heading`, announce: 'true' } as Partial<typeof FORM>);
    const presented = await w.sim.click(tom, w.staffRoom, created.card, 'Sign up to present', { talkTitle: `${LOUD} ${BAIT}`, slot: '5', talkLine: '- one line' }, { replyToId: created.activityId });
    assert.equal(presented.status, 200);
    await w.settle();
    const list = await w.sim.say(tom, w.staffRoom, 'teachmeets');
    const mine = await w.sim.say(tom, w.sim.personalChat(tom), 'my teachmeets');

    const inChannel = w.sim.messagesTo(announcements).flatMap((s) => adaptiveCardsOf(s.activity));
    assert.ok(inChannel.length > 0, 'the TeachMeet was posted in the announcements channel');
    const shared = w.sharedCard(created.activityId);
    const personal = w.messagesFor(tom, /presenting/i).flatMap((s) => adaptiveCardsOf(s.activity));
    assert.ok(personal.length > 0, 'Tom got his confirmation');

    for (const card of [shared, ...inChannel, ...personal]) {
      const texts = markdownTexts(card);
      assert.ok(texts.some((t) => rendered(t).includes(BAIT)), `the title reads as typed: ${texts.join(' | ')}`);
    }
    assert.ok(personal.flatMap(markdownTexts).some((t) => rendered(t).includes(`${LOUD} ${BAIT}`)), 'the talk title reads as typed in his confirmation');
    const problems = everyCard([presented, list, mine]).flatMap((card) => markdownTexts(card).flatMap(liveMarkup));
    assert.deepEqual(problems, [], 'no card the bot sent turns what people typed into a link or emphasis');
  });

  it('when a person whose Teams name is Markdown is made a rep, then the directory shows the name as typed, with no link', async function () {
    const mallory = w.sim.user('mallory', BAIT);
    const added = await w.sim.say(w.cora, w.staffRoom, `rep add <at>${mallory.name}</at> Brookside Primary`, { mentions: [mallory] });
    assert.match(said(added), /rep/i);
    const directory = await w.sim.say(tom, w.staffRoom, 'directory');
    const cards = directory.sent.flatMap((s) => adaptiveCardsOf(s.activity));
    assert.ok(cards.some((card) => markdownTexts(card).some((t) => rendered(t).includes(BAIT))), 'the name reads as typed');
    assert.deepEqual(cards.flatMap((card) => markdownTexts(card).flatMap(liveMarkup)), []);
  });
});

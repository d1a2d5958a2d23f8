import assert from 'node:assert/strict';
import { adaptiveCardsOf, findAction } from '../support/cardActions';
import type { SimUser } from '../support/simulator';
import { answered, said, World } from '../teachmeets/world';

/** Found in review, failing before its fix: `my data` hands out other people's identifiers from shared rows. */
describe('my data: only my own ids', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
  });
  afterEach(async function () {
    await w.stop();
  });

  it("when an organiser downloads my data after drawing the running order, then the file holds nobody else's Entra id", async function () {
    const { card, activityId } = await w.createEvent(w.cora, { places: '5', slots5: '3' });
    await w.sim.click(ann, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5' }, { replyToId: activityId });
    await w.sim.click(ben, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Oracy in maths', slot: '5' }, { replyToId: activityId });
    assert.match(answered(await w.sim.click(w.cora, w.staffRoom, card, 'Draw running order', {}, { replyToId: activityId })), /Running order drawn/);
    await w.settle();

    const asked = await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'my data');
    const sent = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(sent, said(asked));
    const link = new URL(String(findAction(adaptiveCardsOf(sent.activity)[0]!, 'Download my data (JSON)')!.url));
    const body = (await (await fetch(new URL(`${link.pathname}${link.search}`, w.bot.together.url))).text()).toLowerCase();
    assert.ok(body.includes(w.cora.aadObjectId.toLowerCase()), 'the file is about Cora');
    for (const other of [ann, ben]) assert.ok(!body.includes(other.aadObjectId.toLowerCase()), `${other.name}'s Entra id is not in Cora's file`);
  });
});

import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { everyRow, identifying } from '../support/everyRow';
import type { SimUser, TurnResult } from '../support/simulator';
import { answered, said } from '../support/said';
import { World } from '../teachmeets/world';

/**
 * Erasure (UK GDPR right to erasure): `forget me`, and `forget @person` by a coordinator. Afterwards
 * no table holds anything that identifies the person (their Entra object id, names or Teams id, in
 * keys or values), while the partnership's counts stay.
 */


describe('forget: erasing a person from Together', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let eventId: string;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    await w.sim.say(ann, w.sim.personalChat(ann), 'my school Oakfield Academy');
    await w.sim.say(ben, w.sim.personalChat(ben), 'my school Brookside Primary');
    await w.makeRep(ann, 'Oakfield Academy');
    const created = await w.createEvent();
    eventId = created.eventId;
    for (const person of [ann, ben]) await w.sim.click(person, w.staffRoom, created.card, 'Attend', {}, { replyToId: created.activityId });
    await w.settle();
  });

  afterEach(async function () {
    await w.stop();
  });

  async function confirmCardFor(result: TurnResult) {
    const sent = result.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(sent, `a card to confirm: ${said(result)}`);
    return sent;
  }

  async function whoIsComing(): Promise<string> {
    const list = await w.sim.say(w.cora, w.staffRoom, 'teachmeets');
    const listed = await w.sim.click(w.cora, w.staffRoom, (await confirmCardFor(list)), 'Show', {});
    const card = invokeResponseCard(listed.body) ?? listed.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
    assert.ok(card, answered(listed));
    const who = await w.sim.click(w.cora, w.staffRoom, card, "Who's coming", {});
    const whoCard = invokeResponseCard(who.body) ?? who.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
    assert.ok(whoCard, answered(who));
    return cardText(whoCard);
  }

  it('when a teacher says forget me and confirms after a TeachMeet they attended, then no table identifies them, and the TeachMeet still counts their place as a former member', async function () {
    assert.ok(identifying(await everyRow(w.bot.tablePrefix), ann).length > 0, 'before: Ann is stored');
    w.clock.set('2026-12-05T10:00:00Z'); // the day after the TeachMeet
    const asked = await w.sim.say(ann, w.sim.personalChat(ann), 'forget me');
    const card = await confirmCardFor(asked);
    const text = cardText(adaptiveCardsOf(card.activity)[0]!);
    assert.match(text, /Erase what Together holds about you\?/);
    assert.match(text, /TeachMeets: 1 record/);
    assert.match(text, /This cannot be undone/);

    const done = await w.sim.click(ann, w.sim.personalChat(ann), card, 'Yes, erase me');
    assert.match(answered(done), /Done: \d+ records? deleted and \d+ anonymised\. Together no longer holds anything that identifies you\./);

    assert.deepEqual(identifying(await everyRow(w.bot.tablePrefix), ann), [], 'nothing identifies Ann');
    assert.ok(identifying(await everyRow(w.bot.tablePrefix), ben).length > 0, 'Ben is untouched');

    const loaded = await w.bot.together.teachmeets.queue.read(eventId);
    const signUps = [...loaded!.agg.signUps.values()].map((s) => `${s.name}: ${s.status}`).sort();
    assert.deepEqual(signUps, ['Ben Carter: confirmed', 'Former member: confirmed'], 'her place still counts, as a former member');
  });

  it('when forget me is confirmed twice (Teams retries), then the second succeeds too and still nothing identifies them', async function () {
    const card = await confirmCardFor(await w.sim.say(ann, w.sim.personalChat(ann), 'forget me'));
    await w.sim.click(ann, w.sim.personalChat(ann), card, 'Yes, erase me');
    const again = await w.sim.click(ann, w.sim.personalChat(ann), card, 'Yes, erase me');
    // Her second click is a new turn in her personal chat, which Together stores to reach her; the erasure takes it away again.
    assert.match(answered(again), /Done: 1 record deleted and 0 anonymised/);
    assert.deepEqual(identifying(await everyRow(w.bot.tablePrefix), ann), []);
  });

  it('when an erased teacher messages Together again, then their personal chat is stored again so Together can reach them', async function () {
    const card = await confirmCardFor(await w.sim.say(ann, w.sim.personalChat(ann), 'forget me'));
    await w.sim.click(ann, w.sim.personalChat(ann), card, 'Yes, erase me');
    assert.equal(await w.bot.together.conversations.personal(ann.aadObjectId), undefined);
    await w.sim.say(ann, w.sim.personalChat(ann), 'help');
    assert.ok(await w.bot.together.conversations.personal(ann.aadObjectId), 'stored again');
  });

  it('when a coordinator forgets @Ben in a channel and confirms, then nothing identifies Ben and Ann is untouched', async function () {
    const asked = await w.sim.say(w.cora, w.staffRoom, `forget <at>${ben.name}</at>`, { mentions: [ben] });
    const card = await confirmCardFor(asked);
    assert.match(cardText(adaptiveCardsOf(card.activity)[0]!), /Erase Ben Carter from Together\?/);
    const done = await w.sim.click(w.cora, w.staffRoom, card, 'Yes, erase Ben Carter');
    assert.match(answered(done), /identifies Ben Carter/);
    assert.deepEqual(identifying(await everyRow(w.bot.tablePrefix), ben), []);
    assert.ok(identifying(await everyRow(w.bot.tablePrefix), ann).length > 0);
  });

  it('when a coordinator forgets a rep who was made a rep by @mention and never messaged Together, then no table holds their Teams id or anything else that identifies them', async function () {
    const rob = w.sim.user('rob', 'Rob Ince');
    await w.makeRep(rob, 'Oakfield Academy');
    assert.ok((await everyRow(w.bot.tablePrefix)).some((row) => row.includes(rob.id.toLowerCase())), 'before: his Teams id is kept, from the mention');
    const card = await confirmCardFor(await w.sim.say(w.cora, w.staffRoom, `forget <at>${rob.name}</at>`, { mentions: [rob] }));
    await w.sim.click(w.cora, w.staffRoom, card, `Yes, erase ${rob.name}`);
    assert.deepEqual(identifying(await everyRow(w.bot.tablePrefix), rob), []);
  });

  it('when a teacher tries forget @Ben, or presses a confirm button made for someone else, then they are refused and Ben is untouched', async function () {
    const typed = await w.sim.say(ben, w.staffRoom, `forget <at>${ann.name}</at>`, { mentions: [ann] });
    assert.match(said(typed), /Only coordinators can use `forget`/);
    const coraCard = await confirmCardFor(await w.sim.say(w.cora, w.staffRoom, `forget <at>${ann.name}</at>`, { mentions: [ann] }));
    const forged = await w.sim.click(ben, w.staffRoom, coraCard, 'Yes, erase Ann Hughes');
    assert.match(answered(forged), /Only coordinators can erase someone else/);
    const rows = await everyRow(w.bot.tablePrefix);
    assert.ok(identifying(rows, ann).length >= 3, 'Ann is still there');
  });

  it('when someone says forget me in a channel, then they are sent to their personal chat and nothing is erased', async function () {
    const r = await w.sim.say(ann, w.staffRoom, 'forget me');
    assert.match(said(r), /in our personal chat/);
    assert.equal(r.sent.flatMap((s) => adaptiveCardsOf(s.activity)).length, 0);
  });
});

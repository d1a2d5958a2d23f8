import assert from 'node:assert/strict';
import type { SimUser } from '../support/simulator';
import { invokeResponseCard } from '../support/cardActions';
import { clickAndConfirm } from '../support/confirm';
import { everyRow } from '../support/everyRow';
import { answered, textOf, World } from './world';

/**
 * What a TeachMeet change tells people is committed with the change (the outbox), so an instance that
 * dies between the commit and the sends (killed, not stopped) loses nothing: another instance, or the
 * same one restarted, delivers it once, within two minutes. Teams refusing for a while delays a
 * message; it never loses it or sends it twice.
 */

const CONFIRMED = /Your place is confirmed/;
const CHANGED = /Spring TeachMeet has changed/;
const CANCELLED = /Spring TeachMeet is cancelled/;
const OFFER = /A place has come up at Spring TeachMeet/;
const MINUTE = 60_000;

describe('TeachMeets: a crash between the commit and the sends', function () {
  this.timeout(60_000);
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let card: object;
  let activityId: string;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    ({ card, activityId } = await w.createEvent(w.cora, { places: '2' }));
  });

  afterEach(async function () {
    await w.stop();
  });

  const attend = (who: SimUser) => w.sim.click(who, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
  const cardUpdates = () => w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId);

  async function edit(values: Record<string, string>): Promise<string> {
    const opened = await w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId });
    const form = invokeResponseCard(opened.body);
    assert.ok(form, answered(opened));
    return answered(await w.sim.click(w.cora, w.staffRoom, form, 'Save changes', values, { replyToId: activityId }));
  }

  it('when the confirmation goes out as usual, then later ticks send nothing more', async function () {
    await attend(ann);
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1);
    w.clock.advance(20 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'still one confirmation');
  });

  it('when the instance dies right after committing two sign-ups, then after a restart each is confirmed once and the card shows both, within two minutes', async function () {
    w.dieAfterCommit();
    for (const who of [ann, ben]) assert.match(answered(await attend(who)), /You're attending|You have a place/);
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 0, 'nothing was sent before it died');
    const updatesBefore = cardUpdates().length;
    await w.crashed();
    await w.later(61_000);
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'Ann is told');
    assert.equal(w.messagesFor(ben, CONFIRMED).length, 1, 'Ben is told');
    assert.ok(cardUpdates().length > updatesBefore, 'the shared card was updated');
    assert.match(textOf(cardUpdates().at(-1)!), /0 of 2 left|Full/);
    await w.later(20 * MINUTE);
    assert.equal(w.messagesFor(ann, CONFIRMED).length + w.messagesFor(ben, CONFIRMED).length, 2, 'once each');
  });

  it('when one of two instances dies right after committing, then the other delivers without a restart, and two ticking at once tell each person once', async function () {
    const second = await w.secondInstance();
    const third = await w.secondInstance();
    w.dieAfterCommit();
    await attend(ann);
    await attend(ben);
    await w.crashed(false);
    w.clock.advance(61_000);
    await Promise.all([second.together.scheduler.tick(), third.together.scheduler.tick()]);
    await Promise.all([second.together.teachmeets.settle(), third.together.teachmeets.settle()]);
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1);
    assert.equal(w.messagesFor(ben, CONFIRMED).length, 1);
  });

  it('when Teams fails for a while (502), then the confirmation is kept and delivered once Teams takes it again', async function () {
    const annsChat = w.sim.personalChat(ann);
    w.sim.failNext((req) => req.method === 'POST' && (req.path === '/v3/conversations' || req.conversationId === annsChat.id), 502, {}, 1000);
    await attend(ann);
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 0);
    w.sim.clearFaults();
    await w.later(5 * MINUTE);
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1);
    await w.later(20 * MINUTE);
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'once');
  });

  it('when the organiser changes two things in quick succession while Teams is slow, then each person is told each change once, in order', async function () {
    await attend(ann);
    await w.settle();
    const annsChat = w.sim.personalChat(ann);
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === annsChat.id, 429, { 'Retry-After': '1' }, 1);
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    assert.match(await edit({ theme: 'Oracy' }), /updated: theme: Oracy/);
    await w.settle();
    const told = w.messagesFor(ann, CHANGED).map((m) => /What changed: [^\n]*/.exec(textOf(m))?.[0]);
    assert.deepEqual(told, ['What changed: venue: Main hall.', 'What changed: theme: Oracy.']);
  });

  it('when the instance dies before telling people of a change, then after a restart each person signed up then is told once, and someone who joined after is not', async function () {
    await attend(ann);
    await attend(ben);
    await w.settle();
    w.dieAfterCommit();
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    assert.equal(w.messagesFor(ann, CHANGED).length, 0, 'nothing was sent before it died');
    await w.crashed();
    const cat = w.sim.user('cat', 'Cat Nolan');
    await w.sim.click(cat, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.later(61_000);
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'Ann is told of the change');
    assert.equal(w.messagesFor(ben, CHANGED).length, 1, 'Ben is told of the change');
    assert.equal(w.messagesFor(cat, CHANGED).length, 0, 'Cat signed up after it and is not');
    await w.later(20 * MINUTE);
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'once');
  });

  it('when the instance dies right after a cancellation that frees a place, then after a restart the next person waiting gets the offer once', async function () {
    const cat = w.sim.user('cat', 'Cat Nolan');
    await attend(ann);
    await attend(ben);
    await attend(cat); // the waitlist
    await w.settle();
    w.dieAfterCommit();
    await clickAndConfirm(w.sim, ann, w.staffRoom, card, 'Cancel my place', 'Yes, cancel my place', {}, { replyToId: activityId });
    assert.equal(w.messagesFor(cat, OFFER).length, 0);
    await w.crashed();
    await w.later(61_000);
    assert.equal(w.messagesFor(cat, OFFER).length, 1, 'Cat is offered the place');
    await w.later(20 * MINUTE);
    assert.equal(w.messagesFor(cat, OFFER).length, 1, 'once');
  });

  it('when the instance dies right after the TeachMeet is cancelled, then after a restart everyone signed up is told once', async function () {
    await attend(ann);
    await attend(ben);
    await w.settle();
    w.dieAfterCommit();
    const cancelled = await clickAndConfirm(w.sim, w.cora, w.staffRoom, card, 'Cancel this TeachMeet', 'Yes, cancel this TeachMeet', { reason: 'The hall is flooded' }, { replyToId: activityId });
    assert.match(answered(cancelled), /cancelled/);
    await w.crashed();
    await w.later(61_000);
    assert.equal(w.messagesFor(ann, CANCELLED).length, 1);
    assert.equal(w.messagesFor(ben, CANCELLED).length, 1);
  });

  it('when an instance that dies had committed a sign-up the survivor has not seen, then the survivor still confirms it (it does not trust its own older copy of the event)', async function () {
    await attend(ben); // the first instance now holds the event with Ben in it
    await w.settle();
    const dying = await w.secondInstance();
    dying.together.outbox.pause();
    w.sim.botEndpoint = dying.url;
    assert.match(answered(await attend(ann)), /You're attending|You have a place/);
    w.sim.botEndpoint = w.bot.url;
    await dying.crash();
    await w.later(61_000);
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'Ann, who signed up on the instance that died, is confirmed');
  });

  it('when someone is forgotten while a change is still owed to everyone signed up, then the others are told and they are not (they are taken off the message, not readdressed)', async function () {
    await attend(ann);
    await attend(ben);
    await w.settle();
    w.dieAfterCommit();
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    const asked = await w.sim.say(ann, w.sim.personalChat(ann), 'forget me');
    const confirm = asked.sent.find((x) => /Erase what Together holds about you/.test(textOf(x)));
    assert.ok(confirm, answered(asked));
    assert.match(answered(await w.sim.click(ann, w.sim.personalChat(ann), confirm, 'Yes, erase me')), /no longer holds anything that identifies you/);
    await w.crashed();
    await w.later(61_000);
    assert.equal(w.messagesFor(ben, CHANGED).length, 1, 'Ben is told of the change');
    assert.equal(w.messagesFor(ann, CHANGED).length, 0, 'Ann, forgotten, is not');
    const failed = (await everyRow(w.bot.tablePrefix)).filter((r) => r.includes('"rowkey":"out|') && r.includes('"state":"failed"'));
    assert.deepEqual(failed, [], 'no message was left to fail on a pseudonym');
  });
});

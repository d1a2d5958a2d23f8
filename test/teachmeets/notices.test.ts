import assert from 'node:assert/strict';
import type { SimUser } from '../support/simulator';
import { invokeResponseCard } from '../support/cardActions';
import { answered, textOf, World } from './world';

/**
 * Confirmations, "the place has gone", changes and cancellations are recorded in storage with the change
 * they tell of, so a bot that stops before sending them (or that Teams refuses for a while) does not
 * lose them: the scheduler sends what is still unsent fifteen minutes on, from any instance, once.
 */

const CONFIRMED = /Your place is confirmed/;
const CHANGED = /Spring TeachMeet has changed/;
const MINUTE = 60_000;

describe('TeachMeets: personal messages survive a stop', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let card: object;
  let activityId: string;
  let eventId: string;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    ({ card, activityId, eventId } = await w.createEvent(w.cora, { places: '3' }));
  });

  afterEach(async function () {
    await w.stop();
  });

  /** The bot stops before it sends anything it owes people (as a crash would leave it). */
  function stopsBeforeSending(): void {
    (w.bot.together.teachmeets.notices as unknown as { send: () => Promise<void> }).send = async () => undefined;
  }

  async function unsent(): Promise<string[]> {
    const { agg } = await w.signUps(eventId);
    return [...agg.signUps.values()].filter((s) => s.notice).map((s) => `${s.name}: ${s.notice!.kind}`);
  }

  it('when the confirmation goes out as usual, then nothing is left recorded as unsent and later ticks send nothing more', async function () {
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1);
    assert.deepEqual(await unsent(), []);
    assert.equal((await w.signUps(eventId)).agg.event.noticesSince, undefined);
    w.clock.advance(20 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'still one confirmation');
  });

  it('when the bot stops before sending confirmations, then after a restart the scheduler sends each once, fifteen minutes on', async function () {
    stopsBeforeSending();
    for (const who of [ann, ben]) assert.match(answered(await w.sim.click(who, w.staffRoom, card, 'Attend', {}, { replyToId: activityId })), /You're attending/);
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 0, 'nothing was sent before the stop');
    assert.deepEqual((await unsent()).sort(), ['Ann Hughes: confirmed', 'Ben Carter: confirmed']);

    await w.restart();
    w.clock.advance(10 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 0, 'not before fifteen minutes: the instance that recorded them may still be sending');
    w.clock.advance(6 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'Ann is told');
    assert.equal(w.messagesFor(ben, CONFIRMED).length, 1, 'Ben is told');
    assert.deepEqual(await unsent(), []);
    w.clock.advance(20 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CONFIRMED).length + w.messagesFor(ben, CONFIRMED).length, 2, 'once each');
  });

  it('when two instances tick at the same moment over confirmations left unsent, then each person still gets one', async function () {
    stopsBeforeSending();
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    await w.restart();
    const second = await w.secondInstance();
    w.clock.advance(16 * MINUTE);
    await Promise.all([w.bot.together.scheduler.tick(), second.together.scheduler.tick()]);
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1);
    assert.equal(w.messagesFor(ben, CONFIRMED).length, 1);
  });

  it('when Teams will not take a confirmation for a while, then it stays recorded and the scheduler delivers it once Teams does', async function () {
    const annsChat = w.sim.personalChat(ann);
    w.sim.failNext((req) => req.method === 'POST' && (req.path === '/v3/conversations' || req.conversationId === annsChat.id), 403, {}, 1000);
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 0);
    assert.deepEqual(await unsent(), ['Ann Hughes: confirmed']);

    w.sim.clearFaults();
    w.clock.advance(16 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1);
    assert.deepEqual(await unsent(), []);
  });

  async function edit(values: Record<string, string>): Promise<string> {
    const opened = await w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId });
    const form = invokeResponseCard(opened.body);
    assert.ok(form, answered(opened));
    return answered(await w.sim.click(w.cora, w.staffRoom, form, 'Save changes', values, { replyToId: activityId }));
  }

  it('when Teams would not take the message about one change, then the message about the next tells both, and nothing is sent twice', async function () {
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    const annsChat = w.sim.personalChat(ann);
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === annsChat.id, 403, {}, 1000);
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    await w.settle();
    assert.equal(w.messagesFor(ann, CHANGED).length, 0);

    w.sim.clearFaults();
    assert.match(await edit({ theme: 'Oracy' }), /updated: theme: Oracy/);
    await w.settle();
    const told = w.messagesFor(ann, CHANGED);
    assert.equal(told.length, 1, 'one message');
    assert.match(textOf(told[0]!), /What changed: venue: Main hall; theme: Oracy\./);
    w.clock.advance(20 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'and no other later');
  });

  it('when the organiser changes two things in quick succession while Teams is slow, then each person is told each change once, in order', async function () {
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    const annsChat = w.sim.personalChat(ann);
    // Teams asks the bot to wait a second before the first message about a change reaches Ann.
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === annsChat.id, 429, { 'Retry-After': '1' }, 1);
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    assert.match(await edit({ theme: 'Oracy' }), /updated: theme: Oracy/);
    await w.settle();
    const told = w.messagesFor(ann, CHANGED).map((m) => /What changed: [^\n]*/.exec(textOf(m))?.[0]);
    assert.deepEqual(told, ['What changed: venue: Main hall.', 'What changed: theme: Oracy.']);
  });

  it('when a message cannot start within three minutes here (a backlog), then this instance leaves it, and the scheduler sends it once', async function () {
    const annsChat = w.sim.personalChat(ann);
    // Ann's confirmation is held up for a second; the message about the change waits behind it.
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === annsChat.id, 429, { 'Retry-After': '1' }, 1);
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    w.clock.advance(4 * MINUTE); // meanwhile, more than three minutes pass
    await w.settle();
    assert.equal(w.messagesFor(ann, CONFIRMED).length, 1, 'the confirmation had started, and went');
    assert.equal(w.messagesFor(ann, CHANGED).length, 0, 'the change had not started in time, and was left');

    w.clock.advance(12 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'the scheduler sent it');
    w.clock.advance(20 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'once');
  });

  it('when the bot stops before telling people of a change, then after a restart each person signed up then is told once, and someone who joined after is not', async function () {
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    stopsBeforeSending();
    assert.match(await edit({ venue: 'Main hall' }), /updated: venue: Main hall/);
    await w.settle();
    assert.equal(w.messagesFor(ann, CHANGED).length, 0, 'nothing was sent before the stop');

    await w.restart();
    const cat = w.sim.user('cat', 'Cat Nolan');
    await w.sim.click(cat, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    w.clock.advance(16 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'Ann is told of the change');
    assert.equal(w.messagesFor(ben, CHANGED).length, 1, 'Ben is told of the change');
    assert.equal(w.messagesFor(cat, CHANGED).length, 0, 'Cat signed up after it and is not');
    assert.equal(w.messagesFor(cat, CONFIRMED).length, 1, 'Cat has her own confirmation');
    assert.deepEqual((await w.signUps(eventId)).agg.event.broadcasts, [], 'the change is no longer owed to anyone');
    w.clock.advance(20 * MINUTE);
    await w.tick();
    assert.equal(w.messagesFor(ann, CHANGED).length, 1, 'once');
  });
});

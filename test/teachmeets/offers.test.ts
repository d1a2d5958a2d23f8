import assert from 'node:assert/strict';
import { cardText } from '../support/cardActions';
import type { Sent, SimUser } from '../support/simulator';
import { answered, hasAction, said, textOf, World } from './world';
import { cancelMyPlace } from '../support/confirm';

/** Sign-ups closing at the deadline, and freed places offered to the people waiting, durably and once. */

const HOUR = 3_600_000;
const OFFER = /A place has come up at Spring TeachMeet/;
const GONE = /The place you were offered has gone/;

describe('TeachMeets: closing at the deadline', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when the sign-up deadline passes, then the shared card shows Closed without Attend, Attend from an old card is refused as closed, and Cancel my place still works', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const ann = w.sim.user('ann', 'Ann Hughes');
    const ben = w.sim.user('ben', 'Ben Carter');
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    assert.match(cardText(w.sharedCard(activityId)), /Open/);

    w.clock.set('2026-12-03T17:01:00Z'); // the deadline was Thu 3 Dec, 17:00 (GMT)
    await w.tick();

    const closed = w.sharedCard(activityId);
    assert.match(cardText(closed), /Closed/);
    assert.doesNotMatch(cardText(closed), /\bOpen\b/);
    assert.ok(!hasAction(closed, 'Attend'), 'Attend is no longer offered');
    assert.ok(!hasAction(closed, 'Present'), 'nor Present');
    assert.ok(hasAction(closed, 'Cancel my place'), 'Cancel my place still is');

    const late = await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    assert.equal(late.status, 200);
    assert.match(answered(late), /Sign-ups for Spring TeachMeet closed on Thu 3 Dec, 17:00/);
    const latePresent = await w.sim.click(ben, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Late talk', slot: '5' }, { replyToId: activityId });
    assert.match(answered(latePresent), /closed/);
    assert.equal((await w.signUps(eventId)).agg.signUps.has(ben.aadObjectId), false, 'Ben was not signed up');

    const cancelled = await cancelMyPlace(w.sim, ann, w.staffRoom, closed, { replyToId: activityId });
    assert.match(answered(cancelled), /Your place at Spring TeachMeet is cancelled/);
    await w.settle();
    assert.equal((await w.signUps(eventId)).agg.signUps.get(ann.aadObjectId)?.status, 'cancelled');
    const after = cardText(w.sharedCard(activityId));
    assert.match(after, /2 of 2 left/);
    assert.match(after, /Closed/);

    const list = said(await w.sim.say(w.cora, w.staffRoom, 'teachmeets'));
    assert.match(list, /Closed/);
  });

  it('when the TeachMeet has started, then Cancel my place says it has already started and the place is kept', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const ann = w.sim.user('ann', 'Ann Hughes');
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    w.clock.set('2026-12-04T16:05:00Z');
    const cancelled = await w.sim.click(ann, w.staffRoom, card, 'Cancel my place', {}, { replyToId: activityId });
    assert.match(answered(cancelled), /Spring TeachMeet has already started/);
    assert.equal((await w.signUps(eventId)).agg.signUps.get(ann.aadObjectId)?.status, 'confirmed');
  });
});

describe('TeachMeets: offers of freed places', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let cat: SimUser;
  let dev: SimUser;
  let card: object;
  let activityId: string;
  let eventId: string;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    cat = w.sim.user('cat', 'Cat Nolan');
    dev = w.sim.user('dev', 'Dev Shah');
    ({ card, activityId, eventId } = await w.createEvent(w.cora, { places: '1' }));
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    for (const [i, who] of [ben, cat, dev].entries()) {
      const queued = await w.sim.click(who, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
      assert.match(answered(queued), new RegExp(`number ${i + 1} on the waitlist`));
    }
    await w.settle();
  });

  afterEach(async function () {
    await w.stop();
  });

  const offersTo = (who: SimUser): Sent[] => w.messagesFor(who, OFFER);

  it('when a place frees up, then the first person waiting gets one offer; if it expires they are told and the next person is offered; Decline passes it on; Accept confirms', async function () {
    await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
    await w.settle();
    assert.equal(offersTo(ben).length, 1, 'Ben, first waiting, got one offer');
    assert.equal(offersTo(cat).length + offersTo(dev).length, 0, 'nobody else was offered');
    assert.match(textOf(offersTo(ben)[0]!), /held for you until Thu 26 Nov, 10:00/);
    assert.match(cardText(w.sharedCard(activityId)), /0 of 1 left/, 'the offered place is held');

    w.clock.advance(24 * HOUR);
    await w.tick();
    assert.equal(w.messagesFor(ben, GONE).length, 1, 'Ben is told the offer has gone');
    assert.equal(offersTo(ben).length, 1, 'and is not offered again');
    assert.equal(offersTo(cat).length, 1, 'Cat, next waiting, got one offer');
    assert.equal(offersTo(dev).length, 0);

    const stale = await w.sim.click(ben, w.sim.personalChat(ben), offersTo(ben)[0]!, 'Accept the place');
    assert.match(answered(stale), /That offer is no longer open/);

    const declined = await w.sim.click(cat, w.sim.personalChat(cat), offersTo(cat)[0]!, 'Decline');
    assert.match(answered(declined), /the place goes to the next person waiting/);
    await w.settle();
    assert.equal(offersTo(dev).length, 1, 'Dev, next waiting, got one offer');
    assert.equal(offersTo(cat).length, 1, 'Cat was not offered again');

    const accepted = await w.sim.click(dev, w.sim.personalChat(dev), offersTo(dev)[0]!, 'Accept the place');
    assert.match(answered(accepted), /Your place at Spring TeachMeet is confirmed/);
    await w.settle();
    assert.equal(w.messagesFor(dev, /Your place is confirmed/).length, 1, 'Dev got one confirmation');
    const shared = cardText(w.sharedCard(activityId));
    assert.match(shared, /0 of 1 left/);
    assert.match(shared, /Nobody waiting/);

    // Later ticks (the expiry timers of the offers already settled) change nothing and send nothing.
    const sentBefore = w.sim.sent.filter((s) => s.method === 'POST').length;
    w.clock.advance(48 * HOUR);
    await w.tick();
    assert.equal(w.sim.sent.filter((s) => s.method === 'POST').length, sentBefore, 'no further messages');
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.get(dev.aadObjectId)?.status, 'confirmed');
    assert.equal(agg.signUps.get(ben.aadObjectId)?.status, 'cancelled');
    assert.equal(agg.signUps.get(cat.aadObjectId)?.status, 'cancelled');
  });

  it('when the bot restarts after a place was offered, then a tick later the offer has still gone out exactly once', async function () {
    await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
    await w.settle();
    await w.restart();
    w.clock.advance(5 * 60_000);
    await w.tick();
    w.clock.advance(60 * 60_000);
    await w.tick();
    assert.equal(offersTo(ben).length, 1, 'one offer in total');
  });

  it('when the offer cannot be delivered at first and the bot restarts, then the durable timer sends it once', async function () {
    const bensChat = w.sim.personalChat(ben);
    // Teams does not accept the message: opening Ben's chat and posting to it fail for a while (502: worth
    // trying again; a 403, the bot blocked, would be final).
    w.sim.failNext((req) => req.method === 'POST' && (req.path === '/v3/conversations' || req.conversationId === bensChat.id), 502, {}, 1000);
    await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
    await w.settle();
    assert.equal(offersTo(ben).length, 0, 'the offer did not get through');
    assert.equal((await w.signUps(eventId)).agg.signUps.get(ben.aadObjectId)?.status, 'offered', 'but the place is held for Ben');

    w.sim.clearFaults();
    await w.restart();
    w.clock.advance(5 * 60_000);
    await w.tick();
    assert.equal(offersTo(ben).length, 1, 'the timer sent the offer');
    w.clock.advance(60 * 60_000);
    await w.tick();
    assert.equal(offersTo(ben).length, 1, 'once');
  });

  it('when the scheduler ticks while the offer is being sent, then the offer still goes out once', async function () {
    const cancelled = await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
    assert.match(answered(cancelled), /cancelled/);
    await w.tick(); // no settle first: the offer is still on its way
    await w.settle();
    assert.equal(offersTo(ben).length, 1);
  });

  it('when another instance ticks while this one is sending the offer, then the offer still goes out once', async function () {
    const second = await w.secondInstance();
    const cancelled = await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
    assert.match(answered(cancelled), /cancelled/);
    await second.together.scheduler.tick();
    await w.settle();
    w.clock.advance(5 * 60_000);
    await Promise.all([w.bot.together.scheduler.tick(), second.together.scheduler.tick()]);
    await w.settle();
    assert.equal(offersTo(ben).length, 1);
  });
});

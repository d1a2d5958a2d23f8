import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { invokeResponseCard } from '../support/cardActions';
import type { TurnResult } from '../support/simulator';
import { answered, schoolRows, statusOfCard, textOf, World } from './world';

/**
 * Found in review, failing before its fix: a rep's press waited for its change's messages and card
 * updates to reach Teams before it was answered, so a slow Teams could time the press out although the
 * decision was saved. The press is answered once the decision is committed; the outbox delivers after.
 */

/** How long a test waits for an answer that does not depend on Teams before calling it lost (a liveness bound, not a timing). */
const LOST_AFTER_MS = 20_000;

describe('proposals: a slow Teams', function () {
  this.timeout(60_000);
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.sim.release();
    await w.stop();
  });

  it("when Teams holds the bot's sends and a partner school's rep approves, then the rep is answered with the updated card meanwhile, and once Teams takes the sends the shared card and the proposer hear of it once", async function () {
    assert.match(answered(await w.propose()), /'STEM Week' is posted for approval/);
    await w.settle();
    const post = w.posted(w.reps)[0]!;
    const cardUpdates = () => w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === post.activityId).length;
    const told = () => w.messagesFor(w.ann, /Riverside Primary approved 'STEM Week'/).length;

    w.sim.hold((req) => req.method !== 'GET');
    const pressing = w.press(w.ben, post, 'Approve for my school');
    const lost = new AbortController();
    const approved = await Promise.race([pressing, sleep(LOST_AFTER_MS, undefined, { signal: lost.signal }).catch(() => undefined)]).finally(() => lost.abort());
    assert.ok(approved, "Ben's press is answered while Teams holds the bot's sends");
    assert.equal((approved as TurnResult).status, 200);
    const card = invokeResponseCard(approved.body);
    assert.ok(card, `Ben sees the card: ${answered(approved)}`);
    assert.match(answered(approved), /Approved for Riverside Primary/);
    assert.deepEqual(statusOfCard(schoolRows(card)), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' }, 'from the committed decision');
    assert.equal(cardUpdates(), 0, 'Teams has taken no card update yet');
    assert.equal(told(), 0, 'nor the notice to Ann');

    while (w.sim.held.length === 0) await sleep(10); // the delivery reached Teams, which holds it
    await w.sim.release();
    await w.settle();
    assert.equal(cardUpdates(), 1, 'the shared card was updated once');
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' });
    assert.equal(told(), 1, 'Ann is told once');
    assert.equal(w.sim.hungUp.length, 0, 'no send was given up on while held');
  });

  /** `pending` settled, or undefined if it is still unanswered after LOST_AFTER_MS. */
  async function within<T>(pending: Promise<T>): Promise<T | undefined> {
    const lost = new AbortController();
    return Promise.race([pending, sleep(LOST_AFTER_MS, undefined, { signal: lost.signal }).catch(() => undefined)]).finally(() => lost.abort());
  }

  it("when Teams is slow to take the card in the reps' channel, then the rep who submits is answered meanwhile that it is on its way; once Teams takes it, it is there once and decisions update it", async function () {
    w.sim.hold((req) => req.conversationId === w.reps.id);
    const submitted = await within(w.propose());
    assert.ok(submitted, "Ann's Submit is answered while Teams holds the post to the reps' channel");
    assert.equal(submitted.status, 200);
    assert.match(answered(submitted), /on its way to the reps' channel/);
    assert.equal(w.posted(w.reps).length, 0, 'Teams has not taken the card yet');

    while (w.sim.held.length === 0) await sleep(10);
    await w.sim.release();
    await w.settle();
    assert.equal(w.posted(w.reps).length, 1, "the card is in the reps' channel once");
    assert.equal(w.posted(w.chat(w.ann)).length, 0, 'and not shared in her chat as well');
    const post = w.posted(w.reps)[0]!;
    await w.press(w.ben, post, 'Approve for my school');
    await w.settle();
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' }, 'the posted card was remembered and is updated');
  });

  it("when Teams keeps the card out of the reps' channel for a while and then refuses it for good (the bot was removed from it), then the card is shared once where the proposal was made, saying why, and decisions update it there", async function () {
    // Throttled four times (each Retry-After: 1 s), then forbidden: the rep has had her answer by then.
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === w.reps.id, 429, { 'Retry-After': '1' }, 4);
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === w.reps.id, 403, {}, 10);
    const submitted = await within(w.propose(w.ann, {}, w.staffRoom));
    assert.ok(submitted);
    assert.match(answered(submitted), /on its way to the reps' channel/);

    for (let i = 0; i < 100 && w.posted(w.staffRoom).length === 0; i += 1) {
      await w.settle();
      await sleep(100);
    }
    await w.settle();
    assert.equal(w.posted(w.reps).length, 0, "nothing reached the reps' channel");
    const shared = w.posted(w.staffRoom);
    assert.equal(shared.length, 1, 'the card is shared in the staff room once');
    const why = w.sim.messagesTo(w.staffRoom).filter((m) => /couldn't post 'STEM Week' in the reps' channel/.test(textOf(m)));
    assert.equal(why.length, 1, 'saying why, once');
    await w.press(w.ben, shared[0]!, 'Approve for my school', {}, w.staffRoom);
    await w.settle();
    assert.deepEqual(statusOfCard(schoolRows(w.current(shared[0]!))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' }, 'the copy there is updated');
  });

  it("when Teams refuses the card in the reps' channel at once, then the rep who submits is told it is shared where she proposed it, and it is there once", async function () {
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === w.reps.id, 403, {}, 10);
    const submitted = await within(w.propose(w.ann, {}, w.staffRoom));
    assert.ok(submitted);
    assert.match(answered(submitted), /'STEM Week' is shared here/);
    await w.settle();
    await w.settle();
    assert.equal(w.posted(w.reps).length, 0);
    assert.equal(w.posted(w.staffRoom).length, 1, 'the card is in the staff room once');
    assert.equal(w.sim.messagesTo(w.staffRoom).filter((m) => /couldn't post 'STEM Week' in the reps' channel/.test(textOf(m))).length, 1, 'saying why, once');
  });

  it("when the rep withdraws her proposal while Teams is still keeping its card out of the reps' channel, then the card never goes there and is not shared anywhere else", async function () {
    // Throttled with a long Retry-After: the post is kept on its row and tried again later.
    w.sim.failNext((req) => req.method === 'POST' && req.conversationId === w.reps.id, 429, { 'Retry-After': '30' }, 1);
    const chat = w.chat(w.ann);
    const submitted = await within(w.propose());
    assert.ok(submitted);
    assert.match(answered(submitted), /on its way to the reps' channel/);
    const notice = invokeResponseCard(submitted.body);
    assert.ok(notice);
    const shown = invokeResponseCard((await w.sim.click(w.ann, chat, notice, 'Show proposal')).body);
    assert.ok(shown, 'Ann sees her proposal');
    const withdrawn = await w.sim.click(w.ann, chat, shown, 'Withdraw proposal', { withdrawReason: 'Wrong term.' });
    assert.match(answered(withdrawn), /Withdrawn/);

    await w.later(120_000); // the post's retry is due
    await w.settle();
    assert.equal(w.posted(w.reps).length, 0, "the withdrawn proposal's card never reached the reps' channel");
    const tries = w.sim.requests.filter((r) => r.method === 'POST' && r.conversationId === w.reps.id && JSON.stringify(r.body).includes('Proposal: '));
    assert.deepEqual(tries.map((r) => r.status), [429], 'it was not tried again after the throttled try');
    assert.equal(w.posted(chat).length, 0, 'nor was it shared in her chat');
    assert.equal(w.sim.messagesTo(chat).filter((m) => /couldn't post/.test(textOf(m))).length, 0);
  });
});

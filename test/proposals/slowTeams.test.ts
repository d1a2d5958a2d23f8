import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { invokeResponseCard } from '../support/cardActions';
import type { TurnResult } from '../support/simulator';
import { answered, schoolRows, statusOfCard, World } from './world';

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
});

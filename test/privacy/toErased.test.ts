import assert from 'node:assert/strict';
import { everyRow } from '../support/everyRow';
import { forgetMe } from '../support/privacy';
import { answered, schoolRows, statusOfCard, World } from '../proposals/world';

/**
 * Messages that rules address to someone erased. Records that outlive a person keep the erasure's
 * pseudonym where their Entra object id was (a proposal's proposer), and later changes to them still
 * tell "that person" something. Nobody is behind a pseudonym: such a message is dropped, not tried, so
 * Teams is not asked for a chat that cannot exist, and no failure is stored or logged about it.
 */

/** Log lines of warning level or worse (pino: 40), shortened. */
function warnings(logs: readonly Record<string, unknown>[]): string[] {
  return logs.filter((l) => typeof l.level === 'number' && l.level >= 40).map((l) => JSON.stringify(l).slice(0, 300));
}

describe('erasure: messages to someone erased', function () {
  this.timeout(30_000);
  let w: World;

  afterEach(async function () {
    await w.stop();
  });

  it("when a rep who proposed a project is erased and a partner school then approves it, then the card in the reps' channel shows the approval, nothing is sent towards her, and no failure is stored or logged", async function () {
    w = await World.start();
    assert.match(answered(await w.propose(w.ann)), /posted for approval/);
    await w.settle();
    const post = w.posted(w.reps)[0]!;
    assert.ok(post, "the proposal is in the reps' channel");
    await forgetMe(w, w.ann);

    w.sim.clearRecords();
    const logged = w.bot.logs.length;
    assert.match(answered(await w.press(w.ben, post, 'Approve for my school')), /Approved for Riverside Primary/);
    await w.settle();

    assert.ok(w.sim.sent.some((s) => s.method === 'PUT' && s.activityId === post.activityId), 'the shared card was updated');
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' });
    assert.doesNotMatch(JSON.stringify(w.current(post)), /Ann Hughes/);
    // Teams was asked nothing it could not answer: no chat opened for her id or her pseudonym.
    assert.deepEqual(w.sim.requests.filter((r) => r.status >= 400).map((r) => `${r.method} ${r.path} ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`), [], 'no request Teams refused');
    assert.deepEqual(w.sim.requests.filter((r) => JSON.stringify(r).toLowerCase().includes(w.ann.aadObjectId.toLowerCase())).map((r) => r.path), [], 'no request names her');
    assert.deepEqual(w.messagesFor(w.ann, /./), [], 'nothing reached her old chat');
    assert.deepEqual((await everyRow(w.bot.tablePrefix)).filter((row) => row.includes('"state":"failed"')).map((row) => row.slice(0, 300)), [], 'no failed message is stored');
    assert.deepEqual(warnings(w.bot.logs.slice(logged)), [], 'nothing is logged at warning level');
  });
});

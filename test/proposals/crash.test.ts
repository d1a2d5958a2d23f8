import assert from 'node:assert/strict';
import { adaptiveCardsOf } from '../support/cardActions';
import { everyRow, identifying } from '../support/everyRow';
import { answered, proposalIdOf, schoolRows, statusOfCard, World } from './world';

/**
 * A decision's effects survive the instance dying between the commit and the sends: the instance
 * commits Ben's approval (he is answered), then dies before it updates the card, tells the proposer
 * or tells the deadline registry. Killed, not stopped: its outbox does nothing more. Another instance
 * (restarted, or already running) finds what is owed through the outbox's due-index and delivers it
 * once, within two minutes.
 */

describe('proposals: a crash between the commit and the sends', function () {
  this.timeout(60_000);
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  async function proposedAndDecided(): Promise<{ postId: string; deadline: string }> {
    assert.match(answered(await w.propose()), /'STEM Week' is posted for approval/);
    const post = w.posted(w.reps)[0]!;
    const id = proposalIdOf(w.current(post));
    w.dieAfterCommit();
    w.clock.advance(60 * 60_000);
    const approved = await w.press(w.ben, post, 'Approve for my school');
    assert.match(answered(approved), /Approved for Riverside Primary/, 'Ben is answered: his decision is committed');
    return { postId: post.activityId, deadline: `proposal:${id}:school:${w.school.riv}` };
  }

  function cardUpdates(postId: string): number {
    return w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === postId).length;
  }

  it('when the instance dies right after committing a decision, then after a restart the card, the proposer and the deadline registry all hear of it once, within two minutes', async function () {
    const { postId, deadline } = await proposedAndDecided();
    assert.equal(cardUpdates(postId), 0, 'nothing was sent before it died');
    assert.equal(w.messagesFor(w.ann, /Riverside Primary approved/).length, 0);
    assert.equal((await w.bot.together.deadlines.get(deadline))?.status, 'open', 'the registry has not heard yet');

    await w.crashed();
    await w.later(61_000);

    assert.equal(cardUpdates(postId), 1, 'the shared card was updated once');
    const post = w.posted(w.reps)[0]!;
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' });
    assert.equal(w.messagesFor(w.ann, /Riverside Primary approved 'STEM Week'/).length, 1, 'Ann is told once');
    assert.equal((await w.bot.together.deadlines.get(deadline))?.status, 'completed', "the deadline sync survived the crash");

    // Later ticks find nothing more to send: nobody is told twice.
    await w.later(120_000);
    assert.equal(cardUpdates(postId), 1);
    assert.equal(w.messagesFor(w.ann, /Riverside Primary approved/).length, 1);
  });

  it('when one of two instances dies right after committing, then the other delivers without any restart', async function () {
    const survivor = await w.secondInstance();
    const { postId, deadline } = await proposedAndDecided();
    await w.crashed(false);
    await w.later(61_000, [survivor]);
    assert.equal(cardUpdates(postId), 1);
    assert.equal(w.messagesFor(w.ann, /Riverside Primary approved 'STEM Week'/).length, 1);
    assert.equal((await survivor.together.deadlines.get(deadline))?.status, 'completed');
  });

  it('when the instance dies right after the final sign-off, then the approval is still announced to the reps once', async function () {
    assert.match(answered(await w.propose()), /posted for approval/);
    const post = w.posted(w.reps)[0]!;
    await w.press(w.ben, post, 'Approve for my school');
    await w.press(w.cat, post, 'Approve for my school');
    w.dieAfterCommit();
    const signed = await w.press(w.cora, post, 'Give final sign-off');
    assert.match(answered(signed), /Signed off: 'STEM Week' is approved/);
    const announced = () => w.sim.sent.filter((s) => s.method === 'POST' && s.conversationId === w.reps.id && /Approved: STEM Week/.test(JSON.stringify(s.activity))).length;
    assert.equal(announced(), 0);
    await w.crashed();
    await w.later(61_000);
    assert.equal(announced(), 1);
    assert.equal(w.messagesFor(w.ann, /'STEM Week' is approved/).length, 1);
  });

  it('when the proposer is forgotten while a notice to her is still owed, then the notice is dropped and the card update still goes, without her name', async function () {
    const { postId } = await proposedAndDecided();
    // The paused instance still answers; Ann asks to be forgotten before anything is delivered.
    const asked = await w.sim.say(w.ann, w.chat(w.ann), 'forget me');
    const card = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.match(answered(await w.sim.click(w.ann, w.chat(w.ann), card, 'Yes, erase me')), /Together no longer holds anything that identifies you/);
    const rows = await everyRow(w.bot.tablePrefix);
    assert.deepEqual(identifying(rows, w.ann), [], 'nothing identifies her, owed messages included');
    assert.equal(rows.filter((r) => r.includes('"rowkey":"out|') && r.includes('"kind":"tell"')).length, 0, 'the notice owed to her is gone, not readdressed to a pseudonym');
    assert.equal(rows.filter((r) => r.includes('"rowkey":"out|card|')).length, 1, 'the card update is still owed');
    await w.crashed();
    await w.later(61_000);
    assert.equal(w.messagesFor(w.ann, /approved/).length, 0, 'the notice to her was dropped');
    assert.equal(cardUpdates(postId), 1, 'the card update still went');
    assert.doesNotMatch(JSON.stringify(w.current(w.posted(w.reps)[0]!)), /Ann Hughes/);
  });
});

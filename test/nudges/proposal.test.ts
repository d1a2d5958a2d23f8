import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { World, textOf } from '../proposals/world';
import { buttonFor } from './world';

/**
 * A real proposal's decisions, nudged: the proposals capability registers one deadline per partner
 * school (due 17:00 on the decide-by day) and completes it when that school decides; approving from the
 * nudge runs the proposal card's own handler.
 */

describe('nudges for a proposal decision', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  const digests = (user: Parameters<World['messagesFor']>[0]) => w.messagesFor(user, /reminders? from Together/);
  const tick = async (iso: string) => {
    w.clock.set(iso);
    await w.bot.together.scheduler.tick();
  };

  it('when a proposal needs Riverside and Hillview by Friday, then their reps are nudged on the ladder, can approve from the nudge, and are not nudged once their school has decided', async function () {
    const proposed = await w.propose(w.ann, { title: 'STEM Week', decisionBy: '2026-12-04' });
    assert.equal(proposed.status, 200);
    await tick('2026-11-25T10:05:00Z');
    await tick('2026-11-27T07:59:00Z');
    assert.equal(digests(w.ben).length, 0);

    await tick('2026-11-27T08:00:00Z');
    for (const rep of [w.ben, w.bea]) {
      const got = digests(rep);
      assert.equal(got.length, 1, `${rep.name} was nudged`);
      assert.match(textOf(got[0]!), /Approve 'STEM Week' for Riverside Primary by Fri 4 Dec, 17:00/);
    }
    assert.match(textOf(digests(w.cat)[0]!), /Approve 'STEM Week' for Hillview High School by Fri 4 Dec, 17:00/);
    assert.equal(digests(w.ann).length + digests(w.dan).length, 0, 'the lead school and schools not in it are not asked');

    const nudge = digests(w.ben)[0]!;
    const approve = buttonFor(adaptiveCardsOf(nudge.activity)[0]!, "Approve 'STEM Week'", 'Approve for my school');
    const approved = await w.sim.execute(w.ben, w.chat(w.ben), approve.verb, approve.data, { replyToId: nudge.activityId });
    assert.equal(approved.status, 200);
    const answer = invokeResponseCard(approved.body);
    assert.ok(answer, JSON.stringify(approved.body).slice(0, 300));
    assert.match(cardText(answer), /STEM Week/);

    await tick('2026-12-02T08:00:00Z');
    assert.equal(digests(w.ben).length, 1, 'Riverside has decided: no more nudges for Ben');
    assert.equal(digests(w.bea).length, 1, 'nor for Bea');
    assert.equal(digests(w.cat).length, 2, 'Hillview still has to decide');
  });
});

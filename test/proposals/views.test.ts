import assert from 'node:assert/strict';
import { adaptiveCardsOf, invokeResponseCard } from '../support/cardActions';
import type { SimUser } from '../support/simulator';
import { answered, said, World } from './world';

/**
 * Each person sees only the buttons they may use on their own view of a proposal (the card they get
 * back after pressing, or from `proposals` › Show); the shared card keeps every button, and the server
 * refuses anyone who may not (test/proposals/guards.test.ts).
 */

describe('proposals: each person\'s own view shows only their buttons', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  async function shownTo(user: SimUser): Promise<object> {
    const listed = await w.sim.say(user, w.chat(user), 'proposals');
    const list = listed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(list, said(listed));
    const shown = await w.sim.click(user, w.chat(user), list, 'Show');
    const card = invokeResponseCard(shown.body);
    assert.ok(card, answered(shown));
    return card;
  }

  it('when a partner school has approved, then its rep\'s view has no decision buttons while the shared card keeps them for the school still to decide', async function () {
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    const approved = await w.press(w.ben, post, 'Approve for my school');
    const bens = invokeResponseCard(approved.body);
    assert.ok(bens, answered(approved));
    for (const title of ['Approve for my school', 'Request changes', 'Decline', 'Give final sign-off']) assert.ok(!w.hasButton(bens, title), `Ben's view has no ${title}`);
    assert.ok(w.hasButton(w.current(post), 'Approve for my school'), 'the shared card still offers it to Hillview');
    assert.ok(w.hasButton(await shownTo(w.cat), 'Approve for my school'), "Hillview's rep still sees it on her own view");
  });

  it('when the proposer or a teacher opens the proposal, then they see no decision or sign-off buttons; the proposer can still edit', async function () {
    await w.propose();
    const anns = await shownTo(w.ann);
    assert.ok(!w.hasButton(anns, 'Approve for my school'), 'the lead school does not approve its own proposal');
    assert.ok(w.hasButton(anns, 'Edit proposal'), 'the proposer may edit');
    const listed = said(await w.sim.say(w.tia, w.chat(w.tia), 'proposals'));
    assert.match(listed, /Only .+ can use `proposals`/, 'teachers do not see proposals at all');
  });

  it('when every partner school has approved, then the coordinator\'s view has the final sign-off and a rep\'s does not', async function () {
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    await w.press(w.ben, post, 'Approve for my school');
    await w.press(w.cat, post, 'Approve for my school');
    assert.ok(w.hasButton(await shownTo(w.cora), 'Give final sign-off'));
    const bens = await shownTo(w.ben);
    assert.ok(!w.hasButton(bens, 'Give final sign-off'));
    assert.ok(!w.hasButton(bens, 'Edit proposal'), 'only the proposer or a coordinator edits');
  });
});

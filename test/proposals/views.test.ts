import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimUser } from '../support/simulator';
import { answered, said, World } from './world';

/**
 * Each person sees only the buttons they may use on their own view of a proposal: the view Teams fetches
 * for them through the shared card's `refresh`, the card they get back after pressing, or `proposals` ›
 * Show. The shared card everyone else sees has only *Show my options*, and the server refuses anyone
 * who may not (test/proposals/guards.test.ts).
 */

type Refreshing = { refresh?: { action?: { verb?: string }; userIds?: string[] } };

const DECISIONS = ['Approve for my school', 'Request changes', 'Decline'];
const EVERY_BUTTON = [...DECISIONS, 'Give final sign-off', 'More', 'Edit proposal', 'Withdraw proposal', 'History'];

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
    await w.settle();
    assert.ok(w.hasButton(await w.seenBy(w.cat, post), 'Approve for my school'), 'Teams still shows it to Hillview\'s rep on her own view');
    assert.ok(w.hasButton(await shownTo(w.cat), 'Approve for my school'), 'and in her personal chat');
    assert.ok(!w.hasButton(await w.seenBy(w.bea, post), 'Approve for my school'), "Riverside's other rep has nothing left to decide");
  });

  it("when a proposal is posted in the reps' channel, then the shared card has no decision, sign-off or change buttons, only Show my options, and asks Teams to fetch the own view of the partner schools' reps, the proposer and the coordinators", async function () {
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    const shared = w.current(post) as Refreshing & object;
    for (const title of EVERY_BUTTON) assert.ok(!w.hasButton(shared, title), `the shared card has no ${title}`);
    assert.ok(w.hasButton(shared, 'Show my options'), 'anyone may ask for their own view');
    assert.equal(shared.refresh?.action?.verb, 'proposal.view');
    const userIds = shared.refresh?.userIds ?? [];
    for (const who of [w.ben, w.bea, w.cat, w.ann, w.cora]) assert.ok(userIds.includes(who.id), `${who.name} gets their own view`);
    for (const who of [w.dan, w.tia]) assert.ok(!userIds.includes(who.id), `${who.name} (not a partner school's rep) does not`);
    assert.ok(userIds.length <= 60, "within Teams' limit");
    assert.ok(userIds.indexOf(w.ben.id) < userIds.indexOf(w.cora.id), 'those who decide now come first');
  });

  it('when Teams fetches own views of the shared card, then a partner school\'s rep gets only the decision buttons, the proposer Edit and Withdraw, a coordinator History, and a teacher none of them', async function () {
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    const view = async (who: typeof w.ben) => w.refreshed(who, post);
    const bens = await view(w.ben);
    for (const title of DECISIONS) assert.ok(w.hasButton(bens, title), `Ben has ${title}`);
    for (const title of ['Give final sign-off', 'Edit proposal', 'Withdraw proposal', 'History', 'Show my options']) assert.ok(!w.hasButton(bens, title), `Ben has no ${title}`);
    const anns = await view(w.ann);
    for (const title of DECISIONS) assert.ok(!w.hasButton(anns, title), `the proposer has no ${title}`);
    assert.ok(w.hasButton(anns, 'Edit proposal') && w.hasButton(anns, 'Withdraw proposal'));
    const coras = await view(w.cora);
    for (const title of [...DECISIONS, 'Give final sign-off']) assert.ok(!w.hasButton(coras, title), `the coordinator has no ${title} yet`);
    assert.ok(w.hasButton(coras, 'History'));
    // A teacher is not listed, but may press Show my options (or refresh the card by hand): the same view.
    for (const tias of [await view(w.tia), invokeResponseCard((await w.sim.click(w.tia, w.reps, w.current(post), 'Show my options', {}, { replyToId: post.activityId })).body)!]) {
      assert.match(cardText(tias), /Proposal: STEM Week/);
      for (const title of EVERY_BUTTON) assert.ok(!w.hasButton(tias, title), `the teacher has no ${title}`);
      assert.match(cardText(tias), /Nothing on this proposal waits on you/);
    }
    assert.ok(!w.sim.sent.some((s) => s.method === 'PUT' && s.activityId === post.activityId), 'looking changes nothing for anyone else');
  });

  it('when reps were made reps by an @mention and never messaged Together, then the shared card still lists them for their own view', async function () {
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    const userIds = (w.current(post) as Refreshing).refresh?.userIds ?? [];
    for (const who of [w.ben, w.bea, w.cat]) {
      assert.equal(await w.bot.together.conversations.personal(who.aadObjectId), undefined, `${who.name} never chatted with Together`);
      assert.ok(userIds.includes(who.id), `${who.name} is listed`);
    }
  });

  it('when a rep whose Teams id Together did not keep (made a rep before it kept them) messages Together, then the card lists them from its next update', async function () {
    const rex = w.sim.user('rex', 'Rex Moore');
    await w.bot.together.directory.updatePerson(rex.aadObjectId, rex.name, () => ({ isRep: true, schoolId: w.school.hill }));
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    const listed = () => ((w.current(post) as Refreshing).refresh?.userIds ?? []).includes(rex.id);
    assert.ok(!listed(), 'no Teams id known for Rex yet');
    assert.match(said(await w.sim.say(rex, w.reps, 'whoami')), /rep of Hillview High School/);
    await w.press(w.ben, post, 'Approve for my school');
    await w.settle();
    assert.ok(listed(), 'Rex is listed once he has acted');
    assert.ok(w.hasButton(await w.seenBy(rex, post), 'Approve for my school'), 'and Teams shows him his own view');
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
    await w.settle();
    assert.ok(w.hasButton(await shownTo(w.cora), 'Give final sign-off'));
    const bens = await shownTo(w.ben);
    assert.ok(!w.hasButton(bens, 'Give final sign-off'));
    assert.ok(!w.hasButton(bens, 'Edit proposal'), 'only the proposer or a coordinator edits');
  });
});

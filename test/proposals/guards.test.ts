import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { Sent } from '../support/simulator';
import { answered, FORM, proposalIdOf, said, schoolRows, statusOfCard, textOf, World } from './world';

/** Who may decide, bad input and two people deciding at the same moment, through the wire. */

describe('proposals: refusals, bad input and concurrent decisions', function () {
  let w: World;
  let post: Sent;
  let id: string;

  beforeEach(async function () {
    w = await World.start();
    await w.propose();
    post = w.posted(w.reps)[0]!;
    id = proposalIdOf(w.current(post));
  });

  afterEach(async function () {
    await w.stop();
  });

  const pending = () => ({ 'Riverside Primary': 'Pending', 'Hillview High School': 'Pending' });

  it('when a rep of a school that is not a partner, the lead school\'s rep, a teacher or a coordinator presses Approve, then each is told why and nothing changes', async function () {
    const cases: [string, typeof w.dan, RegExp][] = [
      ['non-partner rep', w.dan, /Westbrook School is not a partner school of 'STEM Week', so its reps can't decide on it\. The partner schools are Riverside Primary, Hillview High School\./],
      ['lead school rep', w.ann, /Oakfield Academy is the lead school of 'STEM Week': its partner schools approve it/],
      ['teacher', w.tia, /Only school reps and coordinators can use that/],
      ['coordinator', w.cora, /Only a rep of a partner school can decide for their school\. As a coordinator you give the final sign-off/],
    ];
    for (const [who, user, message] of cases) {
      assert.ok(!w.hasButton(await w.seenBy(user, post), 'Approve for my school'), `${who}: not on their view`);
      // Pressed anyway (an old client, a forwarded or tampered card): the server refuses.
      const result = await w.pressFromAnotherView(user, w.ben, post, 'Approve for my school');
      assert.equal(result.status, 200, who);
      assert.match(answered(result), message, who);
      assert.ok(!result.sent.some((s) => s.method === 'PUT'), `${who}: the card is not touched`);
    }
    await w.settle();
    assert.ok(!w.sim.sent.some((s) => s.method === 'PUT' && s.activityId === post.activityId), 'the card is not touched afterwards either');
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), pending());
    assert.equal(w.messagesFor(w.ann, /approved 'STEM Week'/).length, 0, 'the proposer was told nothing');
  });

  it('when a rep decides twice or a second rep of the same school decides, then they are told it is already decided and nothing changes', async function () {
    // Their views from before Ben approved, still on screen (or pressed again before the card changed).
    const bens = await w.seenBy(w.ben, post);
    const beas = await w.seenBy(w.bea, post);
    await w.sim.click(w.ben, w.reps, bens, 'Approve for my school', {}, { replyToId: post.activityId });
    assert.ok(!w.hasButton(await w.seenBy(w.bea, post), 'Decline'), "Bea's view now has no decision buttons");
    const again = await w.sim.click(w.ben, w.reps, bens, 'Approve for my school', {}, { replyToId: post.activityId });
    assert.match(answered(again), /Riverside Primary has already approved version 1 of 'STEM Week' \(you, Wed 25 Nov, 10:00\), so nothing was changed/);
    const declined = await w.sim.click(w.bea, w.reps, beas, 'Decline for my school', { reason: 'We cannot staff it.' }, { replyToId: post.activityId });
    assert.match(answered(declined), /Riverside Primary has already approved version 1 of 'STEM Week' \(Ben Carter/);
    await w.settle();
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' });
    assert.equal(w.messagesFor(w.ann, /Riverside Primary approved/).length, 1, 'told once');
  });

  it('when a payload is tampered with, then a clear message comes back with HTTP 200 and nothing changes', async function () {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['an id with forbidden characters', { proposalId: "pr1/../'x", version: '1' }, /could not read, so nothing was changed/],
      ['an id that does not exist', { proposalId: 'pr0000000000', version: '1' }, /can't find that proposal/],
      ['a version that is not a number', { proposalId: id, version: 'one' }, /could not read/],
      ['a version from the future', { proposalId: id, version: '7' }, /That card shows version 7/],
      ['no id at all', { version: '1' }, /could not read/],
    ];
    for (const [what, data, message] of cases) {
      const result = await w.sim.execute(w.ben, w.reps, 'proposal.approve', data, { replyToId: post.activityId });
      assert.equal(result.status, 200, what);
      assert.match(answered(result), message, what);
    }
    // The same through the Action.Submit fallback older clients use.
    const old = await w.sim.submit(w.ben, w.reps, { verb: 'proposal.approve', proposalId: 'pr0000000000', version: '1' });
    assert.equal(old.status, 200);
    assert.match(said(old), /can't find that proposal/);
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), pending());
  });

  it('when a nudge\'s Request changes button arrives without a comment, then the card comes back asking for it and nothing changes', async function () {
    const result = await w.sim.execute(w.cat, w.chat(w.cat), 'proposal.requestChanges', { proposalId: id, version: '1' });
    const card = invokeResponseCard(result.body);
    assert.ok(card, answered(result));
    assert.match(cardText(card), /Say what should change/);
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), pending());
  });

  it('when the proposer withdraws, then the card says so for everyone, later decisions are refused and the deadlines are cancelled', async function () {
    await w.press(w.ben, post, 'Approve for my school');
    assert.ok(!w.hasButton(await w.seenBy(w.ben, post), 'Withdraw proposal'), "not on Ben's view");
    const notYours = await w.pressFromAnotherView(w.ben, w.ann, post, 'Withdraw proposal');
    assert.match(answered(notYours), /Only the proposer \(Ann Hughes\) or a coordinator/);
    // Views from before the withdrawal, still on screen.
    const cats = await w.seenBy(w.cat, post);
    const anns = await w.seenBy(w.ann, post);
    const withdrawn = await w.sim.click(w.ann, w.reps, anns, 'Withdraw proposal', { withdrawReason: 'The museum is closed that week.' }, { replyToId: post.activityId });
    assert.match(answered(withdrawn), /'STEM Week' is withdrawn/);
    await w.settle();
    const card = w.current(post);
    assert.match(cardText(card), /Withdrawn by Ann Hughes, Wed 25 Nov, 10:00: “The museum is closed that week\.”/);
    assert.ok(!w.hasButton(card, 'Approve for my school'));
    assert.ok(!w.hasButton(await w.seenBy(w.cat, post), 'Approve for my school'), "nor on Cat's view");
    const late = await w.sim.click(w.cat, w.reps, cats, 'Approve for my school', {}, { replyToId: post.activityId });
    assert.match(answered(late), /'STEM Week' was withdrawn by Ann Hughes/);
    assert.equal((await w.bot.together.deadlines.get(`proposal:${id}:school:${w.school.hill}`))?.status, 'cancelled');
    assert.equal((await w.bot.together.deadlines.get(`proposal:${id}:school:${w.school.riv}`))?.status, 'completed');
    const twice = await w.sim.click(w.ann, w.reps, anns, 'Withdraw proposal', {}, { replyToId: post.activityId });
    assert.match(answered(twice), /already withdrawn/);
  });

  it('when Teams delivers the same form twice, then one proposal is stored and posted', async function () {
    const typed = await w.sim.say(w.ann, w.chat(w.ann), 'propose');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const inputs = { ...FORM, title: 'Poetry slam', partners: w.school.hill };
    const [a, b] = await Promise.all([w.sim.click(w.ann, w.chat(w.ann), formSent, 'Submit for approval', inputs), w.sim.click(w.ann, w.chat(w.ann), formSent, 'Submit for approval', inputs)]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.match([answered(a), answered(b)].join('\n'), /You have already submitted this proposal/);
    assert.equal(w.posted(w.reps).filter((s) => /Poetry slam/.test(cardText(adaptiveCardsOf(s.activity)[0]!))).length, 1);
  });

  it('when reps of two schools approve at the same moment on two instances, then both decisions are recorded and the card shows both', async function () {
    const second = await w.secondInstance();
    const [ben, cat] = await Promise.all([w.press(w.ben, post, 'Approve for my school'), w.pressOn(second, w.cat, post, 'Approve for my school')]);
    assert.match(answered(ben), /Approved for Riverside Primary/);
    assert.match(answered(cat), /Approved for Hillview High School/);
    await w.settle();
    assert.deepEqual(statusOfCard(schoolRows(w.current(post))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Approved' });
    assert.match(cardText(w.current(post)), /Awaiting sign-off/);
    const history = said(await w.sim.say(w.cora, w.chat(w.cora), `proposal history ${id}`));
    assert.match(history, /Approved for Riverside Primary by Ben Carter/);
    assert.match(history, /Approved for Hillview High School by Cat Nolan/);
    for (const school of [w.school.riv, w.school.hill]) assert.equal((await w.bot.together.deadlines.get(`proposal:${id}:school:${school}`))?.status, 'completed');
  });

  it('when two partner schools approve at the same moment on two instances, then the proposer\'s notices never report fewer approvals after more', async function () {
    const second = await w.secondInstance();
    for (const title of ['Robotics day', 'Debate league', 'Choir festival']) {
      await w.propose(w.ann, { title, partners: `${w.school.riv},${w.school.hill},${w.school.west}` });
      const card = w.posted(w.reps).find((s) => cardText(adaptiveCardsOf(s.activity)[0]!).includes(`Proposal: ${title}`))!;
      await Promise.all([w.press(w.ben, card, 'Approve for my school'), w.pressOn(second, w.cat, card, 'Approve for my school')]);
      await w.settle();
      const counts = w.messagesFor(w.ann, new RegExp(`approved '${title}'`)).map((s) => Number(/(\d) of 3 partner schools have approved/.exec(textOf(s))?.[1] ?? NaN));
      assert.equal(counts.length, 2, `Ann is told of both approvals of ${title}`);
      assert.deepEqual(counts, [...counts].sort((a, b) => a - b), `${title}: Ann was told ${counts.map((c) => `${c} of 3`).join(', then ')}`);
      assert.equal(counts.at(-1), 2, 'the last notice says 2 of 3');
    }
  });

  it('when two reps of the same school decide at the same moment, then exactly one decision is recorded and the other is told', async function () {
    const second = await w.secondInstance();
    const [ben, bea] = await Promise.all([w.press(w.ben, post, 'Approve for my school'), w.pressOn(second, w.bea, post, 'Send change request', { comment: 'Please add dates.' })]);
    const answers = [answered(ben), answered(bea)];
    assert.equal(answers.filter((a) => /already/.test(a)).length, 1, answers.join(' | '));
    await w.settle();
    const riverside = schoolRows(w.current(post))['Riverside Primary']!;
    assert.ok(/Approved|Changes requested/.test(riverside.status));
    const history = said(await w.sim.say(w.cora, w.chat(w.cora), `proposal history ${id}`));
    assert.equal(history.split('\n').filter((l) => /for Riverside Primary by/.test(l)).length, 1, 'one decision for Riverside in the audit');
  });
});

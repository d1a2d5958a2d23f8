import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { answered, FORM, proposalIdOf, said, schoolRows, statusOfCard, textOf, World } from './world';

/** Project proposals through the wire: propose, approve in the reps' channel, sign off, change and re-approve. */

describe('proposals through the wire', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a rep proposes and two partner schools approve and a coordinator signs off, then the card shows each step, the proposer is told each time and the approval is announced', async function () {
    const submitted = await w.propose();
    assert.equal(submitted.status, 200);
    assert.match(answered(submitted), /'STEM Week' is posted for approval/);

    // The shared card is in the reps' channel, with the summary, criteria, tags and a row per partner school.
    const posts = w.posted(w.reps);
    assert.equal(posts.length, 1, 'one card in the reps channel');
    const post = posts[0]!;
    const first = w.current(post);
    const text = cardText(first);
    assert.match(text, /Proposal: STEM Week/);
    assert.match(text, /Proposed by Ann Hughes, Oakfield Academy/);
    assert.match(text, /A week of engineering challenges/);
    assert.match(text, /1\. Each school contributes\nOakfield hosts the showcase/);
    assert.match(text, /2\. Widest impact \(participants and legacy\)\n120 pupils, 12 staff\. Legacy: A shared bank/);
    assert.match(text, /3\. Collaboration across pupil or staff groups\nOakfield Academy, Riverside Primary and Hillview High School working together/);
    assert.match(text, /4\. A measurable outcome\nConfidence in STEM/);
    assert.match(text, /Mutual needs: STEM; Collaboration/);
    assert.match(text, /Funder outcomes: Leadership skills/);
    assert.match(text, /Mon 8 Feb 2027 to Fri 12 Feb 2027/);
    assert.match(text, /£1,250/);
    assert.match(text, /Decide by\nFri 4 Dec, 17:00/);
    assert.deepEqual(statusOfCard(schoolRows(first)), { 'Riverside Primary': 'Pending', 'Hillview High School': 'Pending' });
    const bens = await w.seenBy(w.ben, post);
    assert.ok(w.hasButton(bens, 'Approve for my school') && w.hasButton(bens, 'Request changes') && w.hasButton(bens, 'Decline'), "a partner school's rep has the decision buttons");
    assert.ok(!w.hasButton(await w.seenBy(w.cora, post), 'Give final sign-off'), 'no sign-off before every school approves');

    // Each partner school's decision is a deadline for the nudges.
    const id = proposalIdOf(first);
    const rivDeadline = await w.bot.together.deadlines.get(`proposal:${id}:school:${w.school.riv}`);
    assert.equal(rivDeadline?.status, 'open');
    assert.equal(rivDeadline?.dueAt.toISOString(), '2026-12-04T17:00:00.000Z');
    assert.deepEqual(rivDeadline?.who, { kind: 'schoolReps', schoolId: w.school.riv });
    assert.deepEqual(rivDeadline?.actions.map((a) => a.verb), ['proposal.approve', 'proposal.requestChanges', 'proposal.decline']);

    // Riverside approves: the card is updated in place for everyone; Ann is told in personal chat.
    w.clock.advance(60 * 60_000);
    const benApproves = await w.press(w.ben, post, 'Approve for my school');
    assert.match(answered(benApproves), /Approved for Riverside Primary/);
    await w.settle();
    let rows = schoolRows(w.current(post));
    assert.deepEqual(statusOfCard(rows), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' });
    assert.equal(rows['Riverside Primary']!.detail, 'Ben Carter, Wed 25 Nov, 11:00');
    assert.ok(w.sim.sent.some((s) => s.method === 'PUT' && s.activityId === post.activityId), 'updated in place');
    assert.equal(w.messagesFor(w.ann, /Riverside Primary approved 'STEM Week'/).length, 1);
    assert.match(textOf(w.messagesFor(w.ann, /Riverside Primary approved/)[0]!), /1 of 2 partner schools have approved; waiting for Hillview High School/);
    assert.ok(w.hasButton(adaptiveCardsOf(w.messagesFor(w.ann, /Riverside Primary approved/)[0]!.activity)[0]!, 'Edit proposal'), 'the approval notice has the Edit button too');
    assert.equal((await w.bot.together.deadlines.get(`proposal:${id}:school:${w.school.riv}`))?.status, 'completed');

    // Hillview approves: every partner school has approved, the coordinator's button appears.
    const catApproves = await w.press(w.cat, post, 'Approve for my school');
    assert.match(answered(catApproves), /Every partner school has now approved/);
    await w.settle();
    const ready = w.current(post);
    assert.deepEqual(statusOfCard(schoolRows(ready)), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Approved' });
    assert.match(cardText(ready), /Awaiting sign-off/);
    const corasView = await w.seenBy(w.cora, post);
    assert.ok(w.hasButton(corasView, 'Give final sign-off'), "on the coordinator's own view");
    assert.ok(!w.hasButton(await w.seenBy(w.ben, post), 'Give final sign-off'), "not on a rep's");
    assert.match(textOf(w.messagesFor(w.ann, /Hillview High School approved/)[0]!), /Every partner school has approved: a coordinator gives the final sign-off next/);
    assert.ok(w.hasButton(adaptiveCardsOf(w.messagesFor(w.ann, /Hillview High School approved/)[0]!.activity)[0]!, 'Edit proposal'), 'still open, so it can still be edited');

    // A rep cannot sign off; the coordinator does.
    const repSignOff = await w.pressFromAnotherView(w.ben, w.cora, post, 'Give final sign-off');
    assert.match(answered(repSignOff), /Only coordinators/);
    const signed = await w.sim.click(w.cora, w.reps, corasView, 'Give final sign-off', {}, { replyToId: post.activityId });
    assert.match(answered(signed), /Signed off: 'STEM Week' is approved/);
    await w.settle();
    const final = w.current(post);
    assert.match(cardText(final), /Approved/);
    assert.match(cardText(final), /Final sign-off: Cora Whitfield/);
    assert.ok(!w.hasButton(final, 'Approve for my school'), 'no more decisions on an approved proposal');
    assert.deepEqual(statusOfCard(schoolRows(final)), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Approved' });
    assert.equal(w.messagesFor(w.ann, /'STEM Week' is approved/).length, 1, 'Ann is told it is approved');
    assert.ok(!w.hasButton(adaptiveCardsOf(w.messagesFor(w.ann, /'STEM Week' is approved/)[0]!.activity)[0]!, 'Edit proposal'), 'an approved proposal can no longer be edited');
    const announced = w.sim.sent.filter((s) => s.method === 'POST' && s.conversationId === w.reps.id && /Approved: STEM Week/.test(textOf(s)));
    assert.equal(announced.length, 1, 'announced in the reps channel');
    assert.match(textOf(announced[0]!), /Every partner school approved \(Riverside Primary and Hillview High School\) and Cora Whitfield gave the final sign-off/);

    // The list shows it approved.
    const list = said(await w.sim.say(w.cora, w.chat(w.cora), 'proposals'));
    assert.match(list, /Approved \(1\)\nSTEM Week/);
  });

  it('when a school asks for changes, then the proposer edits, approvals reset, the edited card is re-posted and the schools approve again; the history keeps every version', async function () {
    await w.propose();
    const post = w.posted(w.reps)[0]!;
    await w.press(w.ben, post, 'Approve for my school');
    const asked = await w.press(w.cat, post, 'Send change request', { comment: 'Could Year 8 join as well?' });
    assert.match(answered(asked), /Change request sent for Hillview High School/);
    await w.settle();
    let rows = schoolRows(w.current(post));
    assert.deepEqual(statusOfCard(rows), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Changes requested' });
    assert.equal(rows['Hillview High School']!.comment, '“Could Year 8 join as well?”');
    assert.match(cardText(w.current(post)), /Changes requested/);

    // Ann hears it in personal chat, with the comment and a button to edit.
    const notice = w.messagesFor(w.ann, /Hillview High School asks for changes to 'STEM Week'/);
    assert.equal(notice.length, 1);
    assert.match(textOf(notice[0]!), /Could Year 8 join as well\?/);
    const form = await w.sim.click(w.ann, w.chat(w.ann), notice[0]!, 'Edit proposal');
    const formCard = invokeResponseCard(form.body);
    assert.ok(formCard, `the edit form: ${answered(form)}`);
    assert.match(cardText(formCard), /Edit: STEM Week/);
    assert.match(JSON.stringify(formCard), /A week of engineering challenges/, 'the form holds the current version');

    const saved = await w.sim.click(w.ann, w.chat(w.ann), formCard, 'Save and ask again for approval', { pupils: '180', summary: 'Engineering challenges for Years 8 and 9.' }, { replyToId: notice[0]!.activityId });
    assert.match(answered(saved), /Saved version 2 of 'STEM Week'\. Changed: summary, pupils\. Every partner school's approval is reset/);
    await w.settle();

    // The edited version is re-posted in the channel; the old card says it was replaced and has no buttons to decide with.
    const old = w.current(post);
    assert.match(cardText(old), /Replaced: version 1 of 'STEM Week'/);
    assert.match(cardText(old), /Version 2 was posted again for every partner school to decide on/);
    for (const title of ['Approve for my school', 'Request changes', 'Decline']) assert.ok(!w.hasButton(old, title), `the replaced card has no '${title}'`);
    const posts = w.posted(w.reps);
    assert.equal(posts.length, 2, 'the edited version is posted again');
    const reposted = posts[1]!;
    assert.match(cardText(w.current(reposted)), /180 pupils/);

    // A button from before the edit (version 1) no longer counts.
    const stale = await w.sim.execute(w.ben, w.reps, 'proposal.approve', { proposalId: proposalIdOf(w.current(post)), version: '1' }, { replyToId: post.activityId });
    assert.equal(stale.status, 200);
    assert.match(answered(stale), /edited since \(it is now version 2\), so nothing was changed/);

    await w.press(w.ben, reposted, 'Approve for my school');
    await w.press(w.cat, reposted, 'Approve for my school');
    await w.settle();
    assert.deepEqual(statusOfCard(schoolRows(w.current(reposted))), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Approved' }, 'the live card shows the latest state');
    assert.match(cardText(w.current(post)), /Replaced: version 1/, 'the replaced card stays replaced');

    // Coordinators see the whole history: every version and every decision with who, when and the comment.
    const history = said(await w.sim.say(w.cora, w.chat(w.cora), 'proposal history STEM Week'));
    assert.match(history, /Version 1: STEM Week \(Ann Hughes/);
    assert.match(history, /Version 2: STEM Week \(Ann Hughes/);
    const entries = history.split('\n').filter((l) => /^\w{3} \d+ \w{3}, \d\d:\d\d: /.test(l));
    assert.deepEqual(
      entries.map((l) => l.replace(/^[^:]+:\d\d: /, '')),
      [
        'Submitted by Ann Hughes (version 1)',
        'Approved for Riverside Primary by Ben Carter (version 1)',
        'Requested changes for Hillview High School by Cat Nolan (version 1)',
        'Edited by Ann Hughes (version 2)',
        'Approved for Riverside Primary by Ben Carter (version 2)',
        'Approved for Hillview High School by Cat Nolan (version 2)',
      ],
    );
    assert.match(history, /“Could Year 8 join as well\?”/);
    const repHistory = said(await w.sim.say(w.ben, w.chat(w.ben), 'proposal history STEM Week'));
    assert.match(repHistory, /Only coordinators can use `proposal history`/);
  });

  it('when a proposal misses criteria, then it is refused naming what is missing, the values are kept and nothing is stored', async function () {
    const refused = await w.propose(w.ann, { contributions: '', outcome: '', pupils: '0', staff: '', partners: '' });
    const card = invokeResponseCard(refused.body);
    assert.ok(card, 'the form comes back');
    const text = cardText(card);
    assert.match(text, /It does not yet meet the partnership's four criteria/);
    assert.match(text, /Criterion 1 \(each school contributes\): say how each school contributes/);
    assert.match(text, /Criterion 2 \(widest impact \(participants and legacy\)\): give the number of pupils and staff/);
    assert.match(text, /Criterion 3 \(collaboration across pupil or staff groups\): choose at least one partner school/);
    assert.match(text, /Criterion 4 \(a measurable outcome\): say what measurable outcome/);
    assert.match(JSON.stringify(card), /"value":"STEM Week"/, 'the title typed is kept');
    assert.match(JSON.stringify(card), /"value":"stem,collaboration"/, 'the mutual needs chosen are kept');
    assert.match(text, /No pupil names or personal details, please/);
    assert.equal(w.posted(w.reps).length, 0);
    assert.match(said(await w.sim.say(w.ann, w.chat(w.ann), 'proposals')), /No proposals yet/);
  });

  it('when reps and coordinators list proposals, then what waits on them comes first and the list filters by mutual need and funder outcome; coordinators edit the lists', async function () {
    await w.propose();
    await w.propose(w.ann, { title: 'Poetry slam', needs: 'public-speaking', funderOutcomes: '', partners: w.school.hill });
    const cat = said(await w.sim.say(w.cat, w.chat(w.cat), 'proposals'));
    assert.match(cat, /Waiting on Hillview High School \(2\)/);
    const ben = said(await w.sim.say(w.ben, w.chat(w.ben), 'proposals'));
    assert.match(ben, /Waiting on Riverside Primary \(1\)\nSTEM Week[\s\S]*Awaiting approval \(1\)\nPoetry slam/);
    const stem = said(await w.sim.say(w.ben, w.chat(w.ben), 'proposals need stem'));
    assert.match(stem, /Showing proposals for mutual need 'STEM'/);
    assert.doesNotMatch(stem, /Poetry slam/);
    const leaders = said(await w.sim.say(w.ben, w.chat(w.ben), 'proposals outcome leadership'));
    assert.match(leaders, /STEM Week/);
    assert.doesNotMatch(leaders, /Poetry slam/);
    assert.match(said(await w.sim.say(w.ben, w.chat(w.ben), 'proposals need astrology')), /'astrology' is not one of the mutual needs/);
    assert.match(said(await w.sim.say(w.ben, w.chat(w.ben), 'proposals public speaking')), /Showing proposals for mutual need 'Public speaking'[\s\S]*Poetry slam/);

    assert.match(said(await w.sim.say(w.ben, w.chat(w.ben), 'mutual need add Oracy')), /Only coordinators/);
    assert.match(said(await w.sim.say(w.cora, w.chat(w.cora), 'mutual need add Oracy')), /Added 'Oracy' to the mutual needs/);
    assert.match(said(await w.sim.say(w.cora, w.chat(w.cora), 'funder outcome remove Leadership skills')), /Removed 'Leadership skills'/);
    const tags = said(await w.sim.say(w.tia, w.chat(w.tia), 'proposal tags'));
    assert.match(tags, /• Oracy/);
    assert.doesNotMatch(tags, /Leadership skills/);
    const form = said(await w.sim.say(w.ann, w.chat(w.ann), 'propose'));
    assert.match(form, /Oracy/, 'the form offers the new mutual need');
    // A proposal tagged before keeps its tag.
    assert.match(said(await w.sim.say(w.ann, w.chat(w.ann), 'proposals')), /STEM · Collaboration · Leadership skills/);
  });

  it('when there is no reps channel, then the card is shared where the proposal was made and still updated in place', async function () {
    await w.sim.say(w.cora, w.reps, 'channel clear');
    const typed = await w.sim.say(w.ann, w.staffRoom, 'propose');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const submitted = await w.sim.click(w.ann, w.staffRoom, formSent, 'Submit for approval', { ...FORM, partners: w.school.riv });
    const card = invokeResponseCard(submitted.body)!;
    assert.match(cardText(card), /Proposal: STEM Week/, 'the form became the shared card');
    const refresh = (card as { refresh?: { action?: object; userIds?: string[] } }).refresh;
    assert.ok(refresh?.action && refresh.userIds?.includes(w.ben.id), "Teams fetches Ben's own view of it");
    const bens = invokeResponseCard((await w.sim.invoke(w.ben, w.staffRoom, 'adaptiveCard/action', { action: refresh.action, trigger: 'automatic' }, { replyToId: formSent.activityId })).body)!;
    await w.sim.click(w.ben, w.staffRoom, bens, 'Approve for my school', {}, { replyToId: formSent.activityId });
    await w.settle();
    const update = w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === formSent.activityId).at(-1);
    assert.ok(update, 'the shared card was updated in place');
    assert.deepEqual(statusOfCard(schoolRows(adaptiveCardsOf(update.activity)[0]!)), { 'Riverside Primary': 'Approved' });
  });
});

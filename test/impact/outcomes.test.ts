import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { Sent } from '../support/simulator';
import { answered, said, textOf, World } from '../proposals/world';

/**
 * Outcome records through the wire: once an approved project has ended, the lead school's reps are
 * asked through the nudges to record what happened (counts only); the record shows in `impact` beside
 * what was planned, and only the lead school (or a coordinator) can record it.
 */

describe('impact: outcome records through the wire', function () {
  this.timeout(60_000);
  let w: World;
  let nudge: Sent;

  /** 'STEM Week' (Oakfield with Riverside and Hillview) runs Mon 30 Nov – Wed 2 Dec and is approved on Fri 27 Nov. */
  before(async function () {
    w = await World.start();
    await w.propose(w.ann, { startDate: '2026-11-30', endDate: '2026-12-02', decisionBy: '2026-11-27' });
    const post = w.posted(w.reps)[0]!;
    for (const rep of [w.ben, w.cat]) assert.match(answered(await w.press(rep, post, 'Approve for my school')), /Approved for/);
    assert.match(answered(await w.press(w.cora, post, 'Give final sign-off')), /Signed off/);
  });

  after(async function () {
    await w.stop();
  });

  it('when an approved project has ended, then the next day its lead school is asked through the nudges, once, to record what happened', async function () {
    // Wed 2 Dec, the last day: nothing to ask yet.
    w.clock.set(new Date('2026-12-02T10:00:00Z'));
    await w.bot.together.scheduler.tick();
    const id = (await w.bot.together.deadlines.open()).find((d) => d.capability === 'impact');
    assert.equal(id, undefined, 'not asked before the project has ended');

    // Thu 3 Dec: the round registers the deadline (nobody is nudged on the day they are first asked).
    w.clock.set(new Date('2026-12-03T09:00:00Z'));
    await w.bot.together.scheduler.tick();
    const asked = (await w.bot.together.deadlines.open()).filter((d) => d.capability === 'impact');
    assert.equal(asked.length, 1);
    assert.equal(asked[0]!.what, "Record what happened in 'STEM Week'");
    assert.deepEqual(asked[0]!.who, { kind: 'schoolReps', schoolId: w.school.oak });
    assert.equal(asked[0]!.dueAt.toISOString(), '2026-12-16T17:00:00.000Z');
    await w.bot.together.scheduler.tick();
    assert.equal((await w.bot.together.deadlines.open()).filter((d) => d.capability === 'impact').length, 1, 'a second tick the same day asks nothing more');

    // Wed 9 Dec, 7 days before it is due: Ann, Oakfield's rep, gets the nudge with the button.
    w.clock.set(new Date('2026-12-09T10:00:00Z'));
    await w.bot.together.scheduler.tick();
    const nudges = w.messagesFor(w.ann, /Record what happened in 'STEM Week'/);
    assert.equal(nudges.length, 1, `Ann was nudged once: ${w.sim.messagesTo(w.chat(w.ann)).map(textOf).join('\n---\n')}`);
    nudge = nudges[0]!;
    assert.match(textOf(nudge), /It ended on 2 Dec 2026/);
    assert.equal(w.messagesFor(w.ben, /Record what happened/).length, 0, 'partner schools are not asked');
  });

  it('when a rep of a partner school opens the form from the nudge, then they are told only the lead school records it', async function () {
    const card = adaptiveCardsOf(nudge.activity)[0]!;
    const refused = await w.sim.click(w.ben, w.chat(w.ben), card, 'Record what happened');
    assert.match(answered(refused), /Only Oakfield Academy’s reps \(or a coordinator\) record what happened in this project: Oakfield Academy leads it\./);
  });

  it('when the lead school records what happened, then bad input changes nothing, a good record is kept and the nudges stop; impact shows it beside the plan', async function () {
    const card = adaptiveCardsOf(nudge.activity)[0]!;
    const opened = await w.sim.click(w.ann, w.chat(w.ann), card, 'Record what happened');
    const form = invokeResponseCard(opened.body);
    assert.ok(form, `a form came back: ${answered(opened)}`);
    const text = cardText(form);
    assert.match(text, /What happened in 'STEM Week'/);
    assert.match(text, /Planned: 120 pupils, 12 staff\. Ended 2 Dec 2026\./);
    assert.match(text, /Outcome promised: Confidence in STEM surveyed before and after/);
    assert.match(text, /No pupil names or personal details, please\./);

    const values = { pupils: '110', staff: '11', disadvantaged: '130', send: '8', measured: '78% of teams finished a model.', evidence: 'https://example.org/stem-week', legacy: 'A shared bank of challenges.' };
    const bad = await w.sim.click(w.ann, w.chat(w.ann), form, 'Record', values, { replyToId: nudge.activityId });
    const badForm = invokeResponseCard(bad.body)!;
    assert.match(cardText(badForm), /Nothing was recorded yet: Disadvantaged pupils \(130\) can't be more than the pupils who took part \(110\)\./);
    assert.equal((await w.bot.together.deadlines.open()).filter((d) => d.capability === 'impact').length, 1, 'still asked');

    const good = await w.sim.click(w.ann, w.chat(w.ann), badForm, 'Record', { ...values, disadvantaged: '30' }, { replyToId: nudge.activityId });
    const saved = cardText(invokeResponseCard(good.body)!);
    assert.match(saved, /Recorded: 'STEM Week' reached 110 pupils \(30 disadvantaged, 8 with SEND\) and 11 staff, against 120 pupils and 12 staff planned\./);
    assert.match(saved, /Recorded by Ann Hughes, Wed 9 Dec, 10:00/);
    assert.equal((await w.bot.together.deadlines.open()).filter((d) => d.capability === 'impact').length, 0, 'the nudges stop');

    // Teams retries the same press: nothing changes.
    const again = await w.sim.click(w.ann, w.chat(w.ann), badForm, 'Record', { ...values, disadvantaged: '30' }, { replyToId: nudge.activityId });
    assert.match(cardText(invokeResponseCard(again.body)!), /Recorded by Ann Hughes, Wed 9 Dec, 10:00/);

    // A stale form with different numbers (someone else recorded meanwhile) is refused with what is stored.
    const stale = await w.sim.click(w.cora, w.chat(w.cora), form, 'Record', { ...values, disadvantaged: '1', pupils: '50' }, { replyToId: nudge.activityId });
    assert.match(cardText(invokeResponseCard(stale.body)!), /Ann Hughes recorded this project’s outcome while you were filling in the form, so I haven’t changed it/);

    const report = said(await w.sim.say(w.cora, w.staffRoom, 'impact'));
    assert.match(report, /Participants planned\n120 pupils, 12 staff/);
    assert.match(report, /Participants achieved\n110 pupils, 11 staff \(1 of 1 project recorded\)/);
    const url = /"url":"(http[^"]+\/report\?[^"]+)"/.exec(JSON.stringify(w.sim.sent.at(-1)!.activity))![1]!;
    const html = await (await fetch(url)).text();
    const projects = html.slice(html.indexOf('<section id="projects">'));
    assert.match(projects, /<td data-label="Project">STEM Week<\/td><td data-label="Lead school">Oakfield Academy<\/td><td data-label="Ends">2 Dec 2026<\/td><td data-label="Pupils planned">120<\/td><td data-label="Staff planned">12<\/td><td data-label="Pupils achieved">110<\/td><td data-label="Staff achieved">11<\/td><td data-label="Disadvantaged pupils">30<\/td><td data-label="Pupils with SEND">8<\/td>/);
    assert.match(projects, /78% of teams finished a model\.<\/td><td data-label="Evidence">https:\/\/example\.org\/stem-week<\/td>/);
    const csvUrl = /href="([^"]+\.projects\/table\.csv\?[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    const csv = (await (await fetch(csvUrl)).text()).replace(/^\uFEFF/, '').split('\r\n');
    assert.equal(csv[0], 'Project,Lead school,Ends,Pupils planned,Staff planned,Pupils achieved,Staff achieved,Disadvantaged pupils,Pupils with SEND,Outcome promised,Outcome measured,Evidence,Legacy');
    assert.match(csv[1]!, /^STEM Week,Oakfield Academy,2 Dec 2026,120,12,110,11,30,8,.*,78% of teams finished a model\.,https:\/\/example\.org\/stem-week,A shared bank of challenges\.$/);
  });

  it('when the lead school writes a pupil\'s name in what was measured, then the form comes back with the warning and nothing is recorded; "Record anyway" records it', async function () {
    const card = adaptiveCardsOf(nudge.activity)[0]!;
    const form = invokeResponseCard((await w.sim.click(w.ann, w.chat(w.ann), card, 'Record what happened')).body)!;
    const values = { pupils: '110', staff: '11', disadvantaged: '30', send: '8', measured: 'Year 10 pupil Maya Patel built the tallest tower.', evidence: '', legacy: '' };
    const warned = invokeResponseCard((await w.sim.click(w.ann, w.chat(w.ann), form, 'Record', values, { replyToId: nudge.activityId })).body)!;
    assert.match(cardText(warned), /This may name a pupil: "Year 10 pupil Maya Patel" \(the outcome measured\)\. Together must not hold pupils' personal data, so nothing has been saved yet/);
    assert.doesNotMatch(cardText(warned), /Year 10 pupil Maya Patel built the tallest tower\.\n.*Recorded by/s, 'nothing new recorded');
    const anyway = await w.sim.click(w.ann, w.chat(w.ann), warned, 'Record anyway: it is not a pupil', values, { replyToId: nudge.activityId });
    assert.match(cardText(invokeResponseCard(anyway.body)!), /Recorded/);
    const stored = await w.bot.together.tables.client('Impact').listEntities<Record<string, unknown>>({ queryOptions: { filter: "PartitionKey eq 'outcome'" } }).next();
    assert.equal(stored.value?.measured, 'Year 10 pupil Maya Patel built the tallest tower.', 'recorded once the rep said it is not a pupil');
  });
});

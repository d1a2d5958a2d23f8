import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { buttonFor, said, textOf, World } from './world';

/** The reminder the school day before a TeachMeet, registered by the TeachMeets capability as people sign up and cancel. */

const FORM = {
  title: 'Spring TeachMeet',
  date: '2026-12-04',
  start: '16:00',
  end: '17:30',
  venue: 'Library',
  link: '',
  places: '5',
  slots2: '0',
  slots5: '1',
  slots7: '0',
  deadlineDate: '2026-12-03',
  deadlineTime: '17:00',
  theme: 'Retrieval practice',
};

describe('TeachMeet reminders the day before', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when people attend, present and cancel, then each confirmed attendee and presenter gets one reminder the school day before, with time, place and buttons', async function () {
    const form = await w.sim.say(w.cora, w.staffRoom, 'teachmeet new');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const created = await w.sim.click(w.cora, w.staffRoom, formSent, 'Create and post', { ...FORM, host: w.oak });
    const card = invokeResponseCard(created.body)!;
    assert.ok(card, said(created));
    const replyToId = formSent.activityId;
    assert.match(said(await w.sim.click(w.sam, w.staffRoom, card, 'Attend', {}, { replyToId })), /You're attending/);
    assert.match(said(await w.sim.click(w.raj, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice in Year 9', slot: '5', talkLine: 'Quizzes' }, { replyToId })), /You're presenting/);
    await w.sim.click(w.bea, w.staffRoom, card, 'Attend', {}, { replyToId });
    await w.sim.click(w.bea, w.staffRoom, card, 'Cancel my place', {}, { replyToId });
    await w.bot.together.teachmeets.settle();

    await w.tickAt('2026-11-23T10:05:00Z');
    await w.tickAt('2026-12-02T16:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 0, 'not before the day before');
    await w.tickAt('2026-12-03T08:00:00Z');

    const sam = w.nudgesTo(w.sam);
    assert.equal(sam.length, 1);
    const text = textOf(sam[0]!);
    assert.match(text, /You're attending Spring TeachMeet tomorrow/);
    assert.match(text, /Fri 4 Dec, 16:00–17:30 · Oakfield Academy, Library/);
    assert.doesNotMatch(text, /Snooze|Stop reminding/, 'a one-off reminder has nothing to snooze');
    const raj = w.nudgesTo(w.raj);
    assert.equal(raj.length, 1);
    assert.match(textOf(raj[0]!), /You're presenting 'Retrieval practice in Year 9' \(5 min\) at Spring TeachMeet tomorrow/);
    assert.equal(w.nudgesTo(w.bea).length, 0, 'Bea cancelled');

    // "Cancel my place" on the reminder is the TeachMeet card's own button.
    const cancel = buttonFor(adaptiveCardsOf(sam[0]!.activity)[0]!, 'Spring TeachMeet', 'Cancel my place');
    const cancelled = await w.sim.execute(w.sam, w.sim.personalChat(w.sam), cancel.verb, cancel.data, { replyToId: sam[0]!.activityId });
    assert.equal(cancelled.status, 200);
    assert.match(cardText(invokeResponseCard(cancelled.body)!), /Your place at Spring TeachMeet is cancelled/);
    await w.bot.together.teachmeets.settle();
    const item = (await w.bot.together.deadlines.open()).find((i) => i.who.kind === 'person' && i.who.aadObjectId === w.sam.aadObjectId);
    assert.equal(item, undefined, 'Sam\'s reminder was cancelled with the place');

    await w.tickAt('2026-12-03T12:00:00Z');
    await w.tickAt('2026-12-04T08:00:00Z');
    assert.equal(w.nudgesTo(w.raj).length, 1, 'one reminder only');
  });
});

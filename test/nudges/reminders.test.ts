import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { StoredDeadline } from '../../src/platform/deadlines/store';
import { createLogger } from '../../src/platform/logging';
import { Timers } from '../../src/platform/timers';
import { REMINDERS_TIMER } from '../../src/teachmeets/service';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { answered } from '../support/said';
import type { SimUser } from '../support/simulator';
import { eventIdOf } from '../teachmeets/world';
import { buttonFor, said, textOf, World } from './world';
import { cancelMyPlace, clickAndConfirm } from '../support/confirm';

/**
 * The reminder the school day before a TeachMeet, registered by the TeachMeets capability as people sign
 * up and cancel once the TeachMeet is less than 28 days away; for one further off, by a timer 28 days
 * before the start.
 */

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

  /** Cora creates a TeachMeet at Oakfield from the form; returns its card, the message it is in, and its id. */
  async function createEvent(form: Partial<typeof FORM> = {}): Promise<{ card: object; replyToId: string; eventId: string }> {
    const typed = await w.sim.say(w.cora, w.staffRoom, 'teachmeet new');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const created = await w.sim.click(w.cora, w.staffRoom, formSent, 'Create and post', { ...FORM, ...form, host: w.oak });
    const card = invokeResponseCard(created.body);
    assert.ok(card, said(created));
    return { card, replyToId: formSent.activityId, eventId: eventIdOf(card) };
  }

  /** The reminders the registry holds open for the event, by person. */
  async function openReminders(eventId: string): Promise<StoredDeadline[]> {
    return (await w.bot.together.deadlines.open()).filter((i) => i.id.startsWith(`teachmeet:${eventId}:reminder:`));
  }

  function whoOf(items: readonly StoredDeadline[]): string[] {
    return items.map((i) => (i.who.kind === 'person' ? (i.who.name ?? '') : '')).sort();
  }

  /** Whatever the registry holds (open or not) for `user`'s reminder of the event. */
  function storedReminder(eventId: string, user: SimUser): Promise<StoredDeadline | undefined> {
    return w.bot.together.deadlines.get(`teachmeet:${eventId}:reminder:${user.aadObjectId}`);
  }

  /** Cora saves the edit form with `changes`. */
  async function edit(card: object, replyToId: string, changes: Partial<typeof FORM>): Promise<void> {
    const opened = await w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId });
    const form = invokeResponseCard(opened.body);
    assert.ok(form, said(opened));
    const saved = await w.sim.click(w.cora, w.staffRoom, form, 'Save changes', changes, { replyToId });
    assert.match(said(saved), /is updated/);
    await w.bot.together.teachmeets.settle();
  }

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
    await cancelMyPlace(w.sim, w.bea, w.staffRoom, card, { replyToId });
    await w.bot.together.teachmeets.settle();
    assert.deepEqual(whoOf(await openReminders(eventIdOf(card))), ['Raj Mehta', 'Sam Patel'], 'less than 28 days away: registered as people sign up');

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

    // "Cancel my place" on the reminder is the TeachMeet card's own button: it asks first, as on the card.
    const cancel = buttonFor(adaptiveCardsOf(sam[0]!.activity)[0]!, 'Spring TeachMeet', 'Cancel my place');
    const asked = await w.sim.execute(w.sam, w.sim.personalChat(w.sam), cancel.verb, cancel.data, { replyToId: sam[0]!.activityId });
    assert.match(cardText(invokeResponseCard(asked.body)!), /Cancel your place\?/);
    const cancelled = await w.sim.click(w.sam, w.sim.personalChat(w.sam), invokeResponseCard(asked.body)!, 'Yes, cancel my place', {}, { replyToId: sam[0]!.activityId });
    assert.equal(cancelled.status, 200);
    assert.match(cardText(invokeResponseCard(cancelled.body)!), /Your place at Spring TeachMeet is cancelled/);
    await w.bot.together.teachmeets.settle();
    const item = (await w.bot.together.deadlines.open()).find((i) => i.who.kind === 'person' && i.who.aadObjectId === w.sam.aadObjectId);
    assert.equal(item, undefined, 'Sam\'s reminder was cancelled with the place');

    await w.tickAt('2026-12-03T12:00:00Z');
    await w.tickAt('2026-12-04T08:00:00Z');
    assert.equal(w.nudgesTo(w.raj).length, 1, 'one reminder only');
  });
  it('when a TeachMeet is more than 28 days away, then sign-ups register no reminders until 28 days before, when one is registered for each confirmed attendee and presenter (not those waiting), and it arrives the school day before', async function () {
    const { card, replyToId, eventId } = await createEvent({ title: 'Winter TeachMeet', date: '2027-01-15', deadlineDate: '2027-01-14', places: '1' });
    await w.sim.click(w.sam, w.staffRoom, card, 'Attend', {}, { replyToId });
    assert.match(said(await w.sim.click(w.bea, w.staffRoom, card, 'Attend', {}, { replyToId })), /waitlist/);
    await w.sim.click(w.cora, w.staffRoom, card, 'Attend', {}, { replyToId });
    await cancelMyPlace(w.sim, w.cora, w.staffRoom, card, { replyToId });
    assert.match(said(await w.sim.click(w.raj, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice in Year 9', slot: '5', talkLine: 'Quizzes' }, { replyToId })), /You're presenting/);
    await w.bot.together.teachmeets.settle();

    for (const who of [w.sam, w.raj, w.bea, w.cora]) assert.equal(await storedReminder(eventId, who), undefined, `nothing stored for ${who.name} weeks ahead`);
    await w.tickAt('2026-12-18T15:59:00Z');
    assert.deepEqual(await openReminders(eventId), [], 'still nothing a minute before 28 days ahead');

    await w.tickAt('2026-12-18T16:00:00Z');
    const registered = await openReminders(eventId);
    assert.deepEqual(whoOf(registered), ['Raj Mehta', 'Sam Patel'], 'the confirmed, not Bea (waiting) or Cora (cancelled)');
    for (const item of registered) assert.equal(item.dueAt.toISOString(), '2027-01-15T16:00:00.000Z');
    assert.match(registered.find((i) => i.who.kind === 'person' && i.who.aadObjectId === w.raj.aadObjectId)!.what, /You're presenting 'Retrieval practice in Year 9' \(5 min\) at Winter TeachMeet/);
    assert.equal(await storedReminder(eventId, w.bea), undefined);

    // Raj cancels after that: his reminder goes with his place.
    w.clock.set('2026-12-21T10:00:00Z');
    assert.match(said(await cancelMyPlace(w.sim, w.raj, w.staffRoom, card, { replyToId })), /cancelled/);
    await w.bot.together.teachmeets.settle();
    assert.equal((await storedReminder(eventId, w.raj))?.status, 'cancelled');
    assert.deepEqual(whoOf(await openReminders(eventId)), ['Sam Patel']);

    // The timer running again (a retry after a crash) registers nothing twice and brings nothing back.
    const samBefore = (await storedReminder(eventId, w.sam))!;
    await new Timers(w.bot.together.tables, createLogger('silent', new Writable({ write: (_c, _e, done) => done() }))).schedule(REMINDERS_TIMER, eventId, w.clock.now());
    await w.tickAt('2026-12-21T10:05:00Z');
    const samAfter = (await storedReminder(eventId, w.sam))!;
    assert.equal(samAfter.rev, samBefore.rev, "Sam's reminder was not written again");
    assert.equal(samAfter.registeredAt.toISOString(), samBefore.registeredAt.toISOString());
    assert.equal((await storedReminder(eventId, w.raj))?.status, 'cancelled', 'Raj stays cancelled');
    assert.deepEqual(whoOf(await openReminders(eventId)), ['Sam Patel']);

    await w.tickAt('2027-01-13T16:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 0, 'not before the day before');
    await w.tickAt('2027-01-14T08:00:00Z');
    const sam = w.nudgesTo(w.sam);
    assert.equal(sam.length, 1);
    assert.match(textOf(sam[0]!), /You're attending Winter TeachMeet tomorrow/);
    assert.match(textOf(sam[0]!), /Fri 15 Jan 2027, 16:00–17:30 · Oakfield Academy, Library/);
    await w.tickAt('2027-01-14T12:00:00Z');
    for (const who of [w.raj, w.bea, w.cora]) assert.equal(w.nudgesTo(who).length, 0, `${who.name} has no reminder`);
    assert.equal(w.nudgesTo(w.sam).length, 1, 'one reminder only');
  });

  it('when the organiser moves a TeachMeet from weeks away to next week and back to weeks away, then the reminder is registered at once, cancelled, and registered again 28 days before the new start, arriving the school day before it', async function () {
    const { card, replyToId, eventId } = await createEvent({ date: '2027-01-15', deadlineDate: '2027-01-14' });
    await w.sim.click(w.sam, w.staffRoom, card, 'Attend', {}, { replyToId });
    await w.bot.together.teachmeets.settle();
    assert.equal(await storedReminder(eventId, w.sam), undefined, 'weeks away: nothing registered');

    await edit(card, replyToId, { date: '2026-12-04', deadlineDate: '2026-12-03' });
    const near = await openReminders(eventId);
    assert.deepEqual(whoOf(near), ['Sam Patel'], 'next week: registered at once');
    assert.equal(near[0]!.dueAt.toISOString(), '2026-12-04T16:00:00.000Z');

    await edit(card, replyToId, { date: '2027-01-22', deadlineDate: '2027-01-21' });
    assert.equal((await storedReminder(eventId, w.sam))?.status, 'cancelled', 'weeks away again: cancelled until 28 days before');
    await w.tickAt('2026-12-03T08:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 0, 'no reminder for the date it moved away from');

    // The timer planned for the first date (15 Jan) finds it too early and leaves it to the new one.
    await w.tickAt('2026-12-18T16:00:00Z');
    assert.deepEqual(await openReminders(eventId), []);
    await w.tickAt('2026-12-25T16:00:00Z');
    const far = await openReminders(eventId);
    assert.deepEqual(whoOf(far), ['Sam Patel']);
    assert.equal(far[0]!.dueAt.toISOString(), '2027-01-22T16:00:00.000Z');

    await w.tickAt('2027-01-21T08:00:00Z');
    const sam = w.nudgesTo(w.sam);
    assert.equal(sam.length, 1);
    assert.match(textOf(sam[0]!), /You're attending Spring TeachMeet tomorrow/);
    assert.match(textOf(sam[0]!), /Fri 22 Jan 2027, 16:00–17:30/);
  });

  it('when TeachMeets are cancelled, then reminders already registered (one next week) are cancelled, none are registered for one weeks away, and none arrive', async function () {
    const soon = await createEvent({ title: 'Autumn TeachMeet' });
    const later = await createEvent({ title: 'Winter TeachMeet', date: '2027-01-15', deadlineDate: '2027-01-14' });
    for (const e of [soon, later]) await w.sim.click(w.sam, w.staffRoom, e.card, 'Attend', {}, { replyToId: e.replyToId });
    await w.bot.together.teachmeets.settle();
    assert.equal((await storedReminder(soon.eventId, w.sam))?.status, 'open');
    assert.equal(await storedReminder(later.eventId, w.sam), undefined);

    for (const e of [soon, later]) {
      const cancelled = await clickAndConfirm(w.sim, w.cora, w.staffRoom, e.card, 'Cancel this TeachMeet', 'Yes, cancel this TeachMeet', { reason: 'Snow closure' }, { replyToId: e.replyToId });
      assert.match(answered(cancelled), /is cancelled/);
    }
    await w.bot.together.teachmeets.settle();
    assert.equal((await storedReminder(soon.eventId, w.sam))?.status, 'cancelled');

    await w.tickAt('2026-12-03T08:00:00Z');
    await w.tickAt('2026-12-18T16:00:00Z');
    assert.equal(await storedReminder(later.eventId, w.sam), undefined, 'the timer registers nothing for a cancelled TeachMeet');
    await w.tickAt('2027-01-14T08:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 0);
  });
});

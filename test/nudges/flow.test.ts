import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { buttonFor, FRIDAY_DUE, said, textOf, World } from './world';

/**
 * Nudges through the wire: deadlines registered as a capability registers them, the scheduler ticked
 * by hand on a controlled clock, the reps' personal chats read as they would see them.
 */

describe('nudges through the wire', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a decision is due on Friday, then Oakfield\'s reps are nudged 7 days, 2 days and on the day before, in school hours, never on a holiday, and not after it is done', async function () {
    const holiday = await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'holidays add 2 Dec 2026 INSET day');
    assert.match(said(holiday), /Added: Wed 2 Dec \(INSET day\)/);
    await w.bot.together.deadlines.register(w.stemWeek());
    await w.tickAt('2026-11-23T10:00:00Z'); // planned, nothing sent on the day it was registered
    await w.tickAt('2026-11-26T21:00:00Z');
    await w.tickAt('2026-11-27T07:59:00Z');
    assert.equal(w.nudgesTo(w.sam).length + w.nudgesTo(w.raj).length, 0, 'nothing before school on the 7-day mark');

    await w.tickAt('2026-11-27T08:00:00Z');
    for (const rep of [w.sam, w.raj]) {
      const got = w.nudgesTo(rep);
      assert.equal(got.length, 1, `${rep.name} got the 7-day nudge`);
      const text = textOf(got[0]!);
      assert.match(text, /Approve 'STEM Week' for Oakfield Academy by Fri 4 Dec, 17:00/);
      assert.match(text, /Due in 7 days/);
    }
    assert.equal(w.sim.createdConversations.filter((c) => c.memberId === w.raj.id).length, 1, 'a 1:1 was opened with Raj, found through Oakfield\'s channel');
    assert.equal(w.nudgesTo(w.bea).length, 0, 'Brookside is not asked');
    assert.equal(w.nudgesTo(w.cora).length, 0, 'coordinators are not nudged about a rep\'s decision');

    await w.tickAt('2026-11-27T08:01:00Z');
    await w.tickAt('2026-11-30T10:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 1, 'no repeat');

    await w.tickAt('2026-12-01T21:00:00Z'); // the 2-day nudge moved to Tuesday for the INSET day; missed, and 21:00 is no time to send
    await w.tickAt('2026-12-02T10:00:00Z'); // the INSET day
    assert.equal(w.nudgesTo(w.sam).length, 1, 'none at 21:00, none on the INSET day');
    await w.tickAt('2026-12-03T08:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 2);
    assert.match(textOf(w.nudgesTo(w.sam)[1]!), /Due tomorrow/);

    await w.tickAt('2026-12-04T08:00:00Z');
    const onTheDay = w.nudgesTo(w.sam);
    assert.equal(onTheDay.length, 3);
    assert.match(textOf(onTheDay[2]!), /Due today/);
    assert.equal(w.nudgesTo(w.raj).length, 3, 'Raj got each nudge too');

    // The button on the nudge runs the same handler as on the original card.
    const { verb, data } = buttonFor(adaptiveCardsOf(onTheDay[2]!.activity)[0]!, "Approve 'STEM Week'", 'Show help');
    const pressed = await w.sim.execute(w.sam, w.sim.personalChat(w.sam), verb, data, { replyToId: onTheDay[2]!.activityId });
    assert.equal(pressed.status, 200);
    assert.match(cardText(invokeResponseCard(pressed.body)!), /Commands for you as a school rep/);

    await w.bot.together.deadlines.complete(w.stemWeek().id); // the rep approved: the capability completes it
    await w.tickAt('2026-12-04T10:00:00Z');
    await w.tickAt('2026-12-07T08:00:00Z');
    await w.tickAt('2026-12-08T08:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 3, 'no nudge after it is done');
    assert.equal(w.nudgesTo(w.cora).length, 0, 'and no escalation');
  });

  it('when nobody acts by the deadline, then the coordinators are told once, naming the school and the item', async function () {
    await w.bot.together.deadlines.register(w.stemWeek());
    for (const at of ['2026-11-23T10:00:00Z', '2026-11-27T08:00:00Z', '2026-12-02T08:00:00Z', '2026-12-04T08:00:00Z', '2026-12-04T17:00:00Z', '2026-12-05T10:00:00Z']) await w.tickAt(at);
    assert.equal(w.nudgesTo(w.cora).length, 0, 'not at 17:00 on Friday, not at the weekend');
    await w.tickAt('2026-12-07T08:00:00Z');
    const told = w.nudgesTo(w.cora);
    assert.equal(told.length, 1);
    assert.match(textOf(told[0]!), /Overdue in the partnership/);
    assert.match(textOf(told[0]!), /Oakfield Academy: Approve 'STEM Week' for Oakfield Academy, was due Fri 4 Dec, 17:00/);
    await w.tickAt('2026-12-07T09:00:00Z');
    await w.tickAt('2026-12-08T08:00:00Z');
    assert.equal(w.nudgesTo(w.cora).length, 1, 'once');
    assert.equal(w.nudgesTo(w.sam).length, 3, 'the reps were not nudged again after the deadline');

    const view = await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'deadlines');
    const text = said(view);
    assert.match(text, /Deadlines across the partnership/);
    assert.match(text, /1 overdue, 0 coming up/);
    assert.match(text, /Oakfield Academy/);
    assert.match(text, /Overdue: was due Fri 4 Dec, 17:00 · coordinators told/);
    const refused = await w.sim.say(w.sam, w.sim.personalChat(w.sam), 'deadlines');
    assert.match(said(refused), /Only coordinators can use `deadlines`/);
  });

  it('when a rep has several items, then each day brings at most one message with all of them, most urgent first, and Snooze moves one item', async function () {
    const d = w.bot.together.deadlines;
    await d.register(w.stemWeek({ id: 'x', what: "Approve 'STEM Week' for Oakfield Academy" }));
    await d.register(w.stemWeek({ id: 'y', what: "Approve 'Careers Fair' for Oakfield Academy", dueAt: new Date('2026-12-03T17:00:00Z') }));
    await d.register({ id: 'z', capability: 'swaps', who: { kind: 'person', aadObjectId: w.sam.aadObjectId, teamsId: w.sam.id, name: w.sam.name }, what: 'Confirm the placement swap with Brookside Primary', dueAt: new Date('2026-12-04T12:00:00Z'), actions: [], essential: false });
    await w.tickAt('2026-11-23T10:00:00Z');

    await w.tickAt('2026-11-26T08:00:00Z');
    await w.tickAt('2026-11-27T08:00:00Z');
    const [thu, fri] = w.nudgesTo(w.sam);
    assert.equal(w.nudgesTo(w.sam).length, 2);
    assert.match(textOf(thu!), /A reminder from Together[\s\S]*Careers Fair/);
    const friday = textOf(fri!);
    assert.match(friday, /2 reminders from Together, most urgent first/);
    assert.ok(friday.indexOf('Confirm the placement swap') < friday.indexOf("Approve 'STEM Week'"), 'Fri 12:00 before Fri 17:00');
    assert.equal(w.nudgesTo(w.raj).length, 2, 'Raj has only the school\'s items');

    // Monday 10:00: Sam snoozes STEM Week for a day from Friday's card.
    w.clock.set('2026-11-30T10:00:00Z');
    const card = adaptiveCardsOf(fri!.activity)[0]!;
    const snooze = buttonFor(card, "Approve 'STEM Week'", 'Snooze 1 day');
    const snoozed = await w.sim.execute(w.sam, w.sim.personalChat(w.sam), snooze.verb, snooze.data, { replyToId: fri!.activityId });
    const shown = cardText(invokeResponseCard(snoozed.body)!);
    assert.match(shown, /Snoozed: I'll remind you about this again on Tue 1 Dec, 10:00/);
    assert.match(shown, /Snoozed until Tue 1 Dec, 10:00/);
    assert.match(shown, /Confirm the placement swap/, 'the rest of the card is still there');

    await w.tickAt('2026-12-01T08:00:00Z'); // Careers Fair's 2-day nudge
    await w.tickAt('2026-12-01T10:00:00Z'); // the snooze is up, but Sam has had today's message
    const tue = w.nudgesTo(w.sam).slice(2);
    assert.equal(tue.length, 1, 'one message on Tuesday');
    assert.match(textOf(tue[0]!), /Careers Fair/);
    assert.doesNotMatch(textOf(tue[0]!), /STEM Week/);
    assert.equal(w.nudgesTo(w.raj).length, 3, 'Raj too had one message on Tuesday (the snooze moved the school\'s item for both reps)');

    await w.tickAt('2026-12-02T08:00:00Z');
    const wed = w.nudgesTo(w.sam).slice(3);
    assert.equal(wed.length, 1);
    assert.match(textOf(wed[0]!), /STEM Week[\s\S]*Confirm the placement swap|Confirm the placement swap[\s\S]*STEM Week/);
    await w.tickAt('2026-12-02T15:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 4, 'still one message on Wednesday');
  });

  it('when a rep presses Stop reminding me on a non-essential item, then they are not reminded again and the other rep still is', async function () {
    await w.bot.together.deadlines.register(w.stemWeek({ essential: false }));
    await w.tickAt('2026-11-23T10:00:00Z');
    await w.tickAt('2026-11-27T08:00:00Z');
    const first = w.nudgesTo(w.sam)[0]!;
    const stop = buttonFor(adaptiveCardsOf(first.activity)[0]!, 'STEM Week', 'Stop reminding me');
    const stopped = await w.sim.execute(w.sam, w.sim.personalChat(w.sam), stop.verb, stop.data, { replyToId: first.activityId });
    assert.match(cardText(invokeResponseCard(stopped.body)!), /You won't be reminded about this again/);
    await w.tickAt('2026-12-02T08:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 1);
    assert.equal(w.nudgesTo(w.raj).length, 2);

    await w.bot.together.deadlines.register(w.stemWeek({ id: 'essential' }));
    await w.tickAt('2026-12-02T09:00:00Z');
    const essential = await w.sim.execute(w.sam, w.sim.personalChat(w.sam), 'nudge.stop', { verb: 'nudge.stop', deadlineId: 'essential' });
    assert.match(said(essential), /cannot be switched off: others are waiting on it/);
  });

  it('when a button is pressed for an unknown, finished or someone else\'s item, or with a tampered payload, then a clear message comes back, HTTP 200, and nothing changes', async function () {
    const d = w.bot.together.deadlines;
    await d.register(w.stemWeek());
    await d.register(w.stemWeek({ id: 'done' }));
    await d.complete('done');
    await w.tickAt('2026-11-27T09:00:00Z');
    const before = await d.get(w.stemWeek().id);
    const chat = w.sim.personalChat(w.sam);
    const press = (data: Record<string, unknown>, verb = 'nudge.snooze') => w.sim.execute(w.sam, chat, verb, { verb, ...data });
    const cases: [string, Promise<import('../support/simulator').TurnResult>, RegExp][] = [
      ['an unknown item', press({ deadlineId: 'no-such-thing', until: 'day' }), /can't find that reminder/],
      ['a completed item', press({ deadlineId: 'done', until: 'day' }), /already done, so there's nothing to snooze/],
      ['a completed item (stop)', press({ deadlineId: 'done' }, 'nudge.stop'), /already done/],
      ['an unknown snooze length', press({ deadlineId: w.stemWeek().id, until: 'forever' }), /could not read/],
      ['an overlong id', press({ deadlineId: 'x'.repeat(2000), until: 'day' }), /could not read/],
      ['an extra field', press({ deadlineId: w.stemWeek().id, until: 'day', who: 'admin' }), /could not read/],
      ['a made-up day', press({ deadlineId: w.stemWeek().id, until: 'day', day: "'); drop table" }), /could not read/],
      ['no data at all', w.sim.execute(w.sam, chat, 'nudge.snooze', {}), /could not read/],
    ];
    for (const [name, result, expected] of cases) {
      const r = await result;
      assert.equal(r.status, 200, name);
      assert.match(said(r), expected, name);
    }
    const other = await w.sim.execute(w.bea, w.sim.personalChat(w.bea), 'nudge.snooze', { verb: 'nudge.snooze', deadlineId: w.stemWeek().id, until: 'day' });
    assert.equal(other.status, 200);
    assert.match(said(other), /That reminder is for someone else/);
    const after = await d.get(w.stemWeek().id);
    assert.deepEqual(after, before, 'nothing changed');
  });

  it('when two scheduler instances tick at once over the same tables, then each nudge goes out once', async function () {
    const second = await w.secondInstance();
    await w.bot.together.deadlines.register(w.stemWeek());
    await second.together.deadlines.register(w.stemWeek({ id: 'brook', who: { kind: 'schoolReps', schoolId: w.brook }, schoolId: w.brook, what: "Approve 'STEM Week' for Brookside Primary" }));
    w.clock.set('2026-11-23T10:00:00Z');
    await Promise.all([w.bot.together.scheduler.tick(), second.together.scheduler.tick()]);
    for (let i = 0; i < 3; i += 1) {
      w.clock.set(`2026-11-27T08:0${i}:00Z`);
      await Promise.all([w.bot.together.scheduler.tick(), second.together.scheduler.tick(), w.bot.together.scheduler.tick()]);
    }
    assert.equal(w.nudgesTo(w.sam).length, 1);
    assert.equal(w.nudgesTo(w.raj).length, 1);
    assert.equal(w.nudgesTo(w.bea).length, 1);
    const item = await w.bot.together.deadlines.get(w.stemWeek().id);
    assert.equal(item?.progress.lastNudgeDay, '2026-11-27');
    assert.equal(item?.nextAt?.toISOString(), '2026-12-02T08:00:00.000Z');
  });

  it('when an instance dies mid-tick after claiming, then a restarted one sends each nudge once when the claims lapse', async function () {
    await w.bot.together.deadlines.register(w.stemWeek());
    await w.tickAt('2026-11-23T10:00:00Z');
    w.clock.set('2026-11-27T08:00:00Z');
    await assert.rejects(w.crashingScheduler('claimed').tick(), /simulated crash/);
    await w.restart();
    await w.tickAt('2026-11-27T08:01:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 0, 'the dead instance\'s claim still holds');
    await w.tickAt('2026-11-27T08:06:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 1);
    assert.equal(w.nudgesTo(w.raj).length, 1);
    await w.tickAt('2026-11-27T08:20:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 1, 'once');
  });

  it('when an instance dies after sending but before recording it, then the nudge is not lost and the item moves on', async function () {
    await w.bot.together.deadlines.register(w.stemWeek());
    await w.tickAt('2026-11-23T10:00:00Z');
    w.clock.set('2026-11-27T08:00:00Z');
    await assert.rejects(w.crashingScheduler('sent').tick(), /simulated crash/);
    assert.equal(w.nudgesTo(w.sam).length + w.nudgesTo(w.raj).length, 1, 'one message went before the crash');
    await w.restart();
    await w.tickAt('2026-11-27T08:10:00Z');
    for (const rep of [w.sam, w.raj]) {
      const n = w.nudgesTo(rep).length;
      assert.ok(n >= 1 && n <= 2, `${rep.name} got the nudge (${n}: at least once; twice only for the one whose send was not recorded)`);
    }
    const item = await w.bot.together.deadlines.get(w.stemWeek().id);
    assert.equal(item?.nextAt?.toISOString(), '2026-12-02T08:00:00.000Z', 'the item moved on to its next nudge');
    await w.tickAt('2026-11-27T09:00:00Z');
    assert.equal(w.nudgesTo(w.sam).length + w.nudgesTo(w.raj).length <= 3, true);
  });

  it('when coordinators manage holidays and the nudge policy, then the changes are kept and reps may only look', async function () {
    const chat = w.sim.personalChat(w.cora);
    assert.match(said(await w.sim.say(w.cora, chat, 'holidays add 19 Dec 2026 - 4 Jan 2027 Christmas')), /Added: Sat 19 Dec – Mon 4 Jan 2027 \(Christmas\)/);
    assert.match(said(await w.sim.say(w.cora, chat, 'holidays add 13 Feb 2027 INSET day')), /Added: Sat 13 Feb 2027 \(INSET day\)/);
    assert.match(said(await w.sim.say(w.cora, chat, 'holidays add next week')), /couldn't read the dates/);
    const list = said(await w.sim.say(w.sam, w.sim.personalChat(w.sam), 'holidays'));
    assert.match(list, /Sat 19 Dec – Mon 4 Jan 2027 \(Christmas\)[\s\S]*Sat 13 Feb 2027 \(INSET day\)/);
    assert.match(said(await w.sim.say(w.sam, w.sim.personalChat(w.sam), 'holidays add 1 Mar 2027')), /Only coordinators can use `holidays add`/);
    assert.match(said(await w.sim.say(w.cora, chat, 'holidays remove 30 Dec 2026')), /Removed: Sat 19 Dec – Mon 4 Jan 2027 \(Christmas\)/);
    assert.match(said(await w.sim.say(w.cora, chat, 'holidays remove 30 Dec 2026')), /No holiday includes/);
    assert.match(said(await w.sim.say(w.cora, chat, 'nudges hours 08:30-16:00')), /Nudges now go out 08:30–16:00/);
    assert.match(said(await w.sim.say(w.cora, chat, 'nudges ladder 5 1')), /Before a deadline: 5 days before and 1 day before/);
    assert.match(said(await w.sim.say(w.cora, chat, 'nudges hours late')), /nudges hours 08:00-17:00/);
    const shown = said(await w.sim.say(w.cora, chat, 'nudges'));
    assert.match(shown, /Mon–Fri, 08:30–16:00/);
    assert.match(shown, /Sat 13 Feb 2027 \(INSET day\)/);

    // The new policy is what the scheduler follows: 5 days and 1 day before, from 08:30.
    await w.bot.together.deadlines.register(w.stemWeek());
    await w.tickAt('2026-11-23T10:00:00Z');
    await w.tickAt('2026-11-27T08:29:00Z');
    await w.tickAt('2026-11-27T08:30:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 1);
    await w.tickAt('2026-12-02T08:30:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 1, 'no 2-day rung any more');
    await w.tickAt('2026-12-03T08:30:00Z');
    assert.equal(w.nudgesTo(w.sam).length, 2);
    assert.equal(FRIDAY_DUE.toISOString(), '2026-12-04T17:00:00.000Z');
  });
});

import assert from 'node:assert/strict';
import type { NudgeProgress, StoredDeadline } from '../../src/platform/deadlines/store';
import { renderCard } from '../../src/platform/cards';
import { digestCardData, MAX_DIGEST_ESCALATIONS, MAX_DIGEST_ITEMS } from '../../src/nudges/cards';
import { DEFAULT_POLICY, type Policy } from '../../src/nudges/model';
import {
  addHoliday,
  afterRound,
  byUrgency,
  dayMessage,
  decide,
  describePolicy,
  dueText,
  headline,
  inSchoolHours,
  mustAct,
  nextSendable,
  parseDay,
  parseHoliday,
  parseHours,
  parseLadder,
  partRound,
  removeHolidays,
  rungTimes,
  snooze,
  snoozeChoices,
  stillToNudge,
  stopReminding,
  urgency,
  weekday,
  type Decision,
} from '../../src/nudges/rules';

/**
 * The nudge rules, table-driven. Late November and December 2026 are GMT, so London time equals UTC
 * there; June 2026 is BST (London = UTC+1). Fri 4 Dec 2026 is the usual deadline; Wed 2 Dec an INSET day.
 */

const at = (iso: string) => new Date(iso);
const INSET: Policy = { ...DEFAULT_POLICY, holidays: [{ from: '2026-12-02', to: '2026-12-02', label: 'INSET day' }] };
const CHRISTMAS: Policy = { ...DEFAULT_POLICY, holidays: [{ from: '2026-12-19', to: '2027-01-04', label: 'Christmas' }] };

function item(overrides: Partial<StoredDeadline> = {}): StoredDeadline {
  return {
    id: 'proposal:p1:school:s1',
    capability: 'proposals',
    who: { kind: 'schoolReps', schoolId: 's1' },
    what: "Approve 'STEM Week' for Oakfield",
    schoolId: 's1',
    dueAt: at('2026-12-04T17:00:00Z'),
    actions: [],
    essential: true,
    kind: 'deadline',
    status: 'open',
    registeredAt: at('2026-11-23T10:00:00Z'),
    progress: {},
    rev: 1,
    ...overrides,
  };
}

function show(d: Decision): string {
  switch (d.kind) {
    case 'wait':
      return `wait ${d.until.toISOString()}`;
    case 'idle':
      return 'idle';
    default:
      return `${d.kind} ${d.round}`;
  }
}

describe('nudge rules', function () {
  describe('the calendar', function () {
    it('when dates are read, then the weekdays are right (4 Dec 2026 is a Friday)', function () {
      assert.equal(weekday('2026-12-04'), 5);
      assert.equal(weekday('2026-12-06'), 7);
      assert.equal(weekday('2026-11-23'), 1);
    });

    const hours: [string, Policy, string, boolean][] = [
      ['Monday 08:00 (GMT)', DEFAULT_POLICY, '2026-11-30T08:00:00Z', true],
      ['Monday 07:59', DEFAULT_POLICY, '2026-11-30T07:59:00Z', false],
      ['Friday 16:59', DEFAULT_POLICY, '2026-12-04T16:59:00Z', true],
      ['Friday 17:00 (the end is not in hours)', DEFAULT_POLICY, '2026-12-04T17:00:00Z', false],
      ['Tuesday 21:00', DEFAULT_POLICY, '2026-12-01T21:00:00Z', false],
      ['Saturday 10:00', DEFAULT_POLICY, '2026-12-05T10:00:00Z', false],
      ['an INSET day at 10:00', INSET, '2026-12-02T10:00:00Z', false],
      ['the day after the INSET day', INSET, '2026-12-03T10:00:00Z', true],
      ['a day inside the Christmas break', CHRISTMAS, '2026-12-30T10:00:00Z', false],
      ['the last day of the break', CHRISTMAS, '2027-01-04T10:00:00Z', false],
      ['the first day back', CHRISTMAS, '2027-01-05T08:00:00Z', true],
      ['June 07:30 UTC = 08:30 BST', DEFAULT_POLICY, '2026-06-15T07:30:00Z', true],
      ['June 06:30 UTC = 07:30 BST', DEFAULT_POLICY, '2026-06-15T06:30:00Z', false],
      ['June 16:30 UTC = 17:30 BST', DEFAULT_POLICY, '2026-06-15T16:30:00Z', false],
      ['08:30 with hours set to 08:30-16:00', { ...DEFAULT_POLICY, start: '08:30', end: '16:00' }, '2026-11-30T08:30:00Z', true],
      ['16:00 with hours set to 08:30-16:00', { ...DEFAULT_POLICY, start: '08:30', end: '16:00' }, '2026-11-30T16:00:00Z', false],
    ];
    for (const [name, policy, when, expected] of hours) {
      it(`when it is ${name}, then it is ${expected ? '' : 'not '}school hours`, function () {
        assert.equal(inSchoolHours(at(when), policy), expected);
      });
    }

    const next: [string, Policy, string, string][] = [
      ['in school hours', DEFAULT_POLICY, '2026-11-30T10:00:00Z', '2026-11-30T10:00:00.000Z'],
      ['early morning', DEFAULT_POLICY, '2026-11-30T06:00:00Z', '2026-11-30T08:00:00.000Z'],
      ['Friday evening', DEFAULT_POLICY, '2026-11-27T17:30:00Z', '2026-11-30T08:00:00.000Z'],
      ['Tuesday 21:00 before an INSET Wednesday', INSET, '2026-12-01T21:00:00Z', '2026-12-03T08:00:00.000Z'],
      ['the Christmas break', CHRISTMAS, '2026-12-21T10:00:00Z', '2027-01-05T08:00:00.000Z'],
      ['a June Saturday (BST)', DEFAULT_POLICY, '2026-06-13T10:00:00Z', '2026-06-15T07:00:00.000Z'],
    ];
    for (const [name, policy, when, expected] of next) {
      it(`when it is ${name}, then the next moment to send is ${expected}`, function () {
        assert.equal(nextSendable(at(when), policy)?.toISOString(), expected);
      });
    }
  });

  describe('the ladder', function () {
    const cases: [string, Policy, string, string[]][] = [
      ['due Fri 4 Dec 17:00', DEFAULT_POLICY, '2026-12-04T17:00:00Z', ['2026-11-27T08:00:00.000Z', '2026-12-02T08:00:00.000Z', '2026-12-04T08:00:00.000Z']],
      ['due Fri 4 Dec with Wed 2 Dec an INSET day (moved to the Tuesday)', INSET, '2026-12-04T17:00:00Z', ['2026-11-27T08:00:00.000Z', '2026-12-01T08:00:00.000Z', '2026-12-04T08:00:00.000Z']],
      ['due Mon 7 Dec (2 days before is a Saturday: the Friday)', DEFAULT_POLICY, '2026-12-07T17:00:00Z', ['2026-11-30T08:00:00.000Z', '2026-12-04T08:00:00.000Z', '2026-12-07T08:00:00.000Z']],
      ['due Mon 7 Dec 07:30 (before school: "on the day" is the Friday, one nudge)', DEFAULT_POLICY, '2026-12-07T07:30:00Z', ['2026-11-30T08:00:00.000Z', '2026-12-04T08:00:00.000Z']],
      ['due Tue 5 Jan, the first day back (2 days before is in the break)', CHRISTMAS, '2027-01-05T17:00:00Z', ['2026-12-18T08:00:00.000Z', '2027-01-05T08:00:00.000Z']],
      ['with a ladder of 3 and 1', { ...DEFAULT_POLICY, ladder: [3, 1] }, '2026-12-04T17:00:00Z', ['2026-12-01T08:00:00.000Z', '2026-12-03T08:00:00.000Z']],
      ['due in June, BST (08:00 London = 07:00 UTC)', DEFAULT_POLICY, '2026-06-19T15:00:00Z', ['2026-06-12T07:00:00.000Z', '2026-06-17T07:00:00.000Z', '2026-06-19T07:00:00.000Z']],
    ];
    for (const [name, policy, due, expected] of cases) {
      it(`when a deadline is ${name}, then the nudges are planned for ${expected.length} days`, function () {
        assert.deepEqual(rungTimes({ dueAt: at(due) }, policy).map((d) => d.toISOString()), expected);
      });
    }
  });

  describe('deciding what to do now', function () {
    const p = (progress: NudgeProgress) => progress;
    const cases: [string, Partial<StoredDeadline>, Policy, string, string][] = [
      ['just registered (Mon 23 Nov)', {}, DEFAULT_POLICY, '2026-11-23T10:00:00Z', 'wait 2026-11-27T08:00:00.000Z'],
      ['the 7-day nudge is due', {}, DEFAULT_POLICY, '2026-11-27T08:00:00Z', 'nudge 2026-11-27T08:00:00.000Z'],
      ['it is 21:00 and the nudge was missed', {}, DEFAULT_POLICY, '2026-11-27T21:00:00Z', 'wait 2026-11-30T08:00:00.000Z'],
      ['the missed nudge goes on the next school day', {}, DEFAULT_POLICY, '2026-11-30T08:00:00Z', 'nudge 2026-11-27T08:00:00.000Z'],
      ['two missed rungs make one nudge (the later)', {}, DEFAULT_POLICY, '2026-12-02T09:00:00Z', 'nudge 2026-12-02T08:00:00.000Z'],
      ['nudged today already', { progress: p({ lastNudgeDay: '2026-11-27' }) }, DEFAULT_POLICY, '2026-11-27T09:00:00Z', 'wait 2026-12-02T08:00:00.000Z'],
      ['the 2-day nudge moved off an INSET day', { progress: p({ lastNudgeDay: '2026-11-27' }) }, INSET, '2026-11-27T09:00:00Z', 'wait 2026-12-01T08:00:00.000Z'],
      ['planned before the INSET day was added, looked at on it', { progress: p({ lastNudgeDay: '2026-11-27' }) }, INSET, '2026-12-02T08:00:00Z', 'wait 2026-12-03T08:00:00.000Z'],
      ['after the on-the-day nudge', { progress: p({ lastNudgeDay: '2026-12-04' }) }, DEFAULT_POLICY, '2026-12-04T09:00:00Z', 'wait 2026-12-07T08:00:00.000Z'],
      ['overdue at the weekend', { progress: p({ lastNudgeDay: '2026-12-04' }) }, DEFAULT_POLICY, '2026-12-05T10:00:00Z', 'wait 2026-12-07T08:00:00.000Z'],
      ['overdue in school hours', { progress: p({ lastNudgeDay: '2026-12-04' }) }, DEFAULT_POLICY, '2026-12-07T08:00:00Z', 'escalate 2026-12-04T17:00:00.000Z'],
      ['overdue and already escalated', { progress: p({ escalated: true }) }, DEFAULT_POLICY, '2026-12-08T08:00:00Z', 'idle'],
      ['completed', { status: 'completed' }, DEFAULT_POLICY, '2026-11-27T08:00:00Z', 'idle'],
      ['cancelled', { status: 'cancelled' }, DEFAULT_POLICY, '2026-11-27T08:00:00Z', 'idle'],
      ['registered on the day of a rung (the person has just been asked)', { registeredAt: at('2026-11-27T07:00:00Z') }, DEFAULT_POLICY, '2026-11-27T08:00:00Z', 'wait 2026-12-02T08:00:00.000Z'],
      ['snoozed until Monday', { progress: p({ lastNudgeDay: '2026-11-27', snoozedUntil: '2026-11-30T08:00:00.000Z' }) }, DEFAULT_POLICY, '2026-11-27T09:00:00Z', 'wait 2026-11-30T08:00:00.000Z'],
      ['the snooze is up', { progress: p({ lastNudgeDay: '2026-11-27', snoozedUntil: '2026-11-30T08:00:00.000Z' }) }, DEFAULT_POLICY, '2026-11-30T08:00:00Z', 'nudge 2026-11-30T08:00:00.000Z'],
      ['snoozed until the day before (the Wednesday nudge is skipped)', { progress: p({ lastNudgeDay: '2026-11-27', snoozedUntil: '2026-12-03T08:00:00.000Z' }) }, DEFAULT_POLICY, '2026-12-02T08:00:00Z', 'wait 2026-12-03T08:00:00.000Z'],
      ['muted by the one person it is for', { who: { kind: 'person', aadObjectId: 'a1' }, essential: false, progress: p({ muted: ['a1'] }) }, DEFAULT_POLICY, '2026-11-27T08:00:00Z', 'idle'],
      ['muted by one of the school\'s reps (the others are still nudged)', { essential: false, progress: p({ muted: ['a1'] }) }, DEFAULT_POLICY, '2026-11-27T08:00:00Z', 'nudge 2026-11-27T08:00:00.000Z'],
    ];
    for (const [name, overrides, policy, now, expected] of cases) {
      it(`when ${name}, then ${expected}`, function () {
        assert.equal(show(decide(item(overrides), policy, at(now))), expected);
      });
    }

    const reminder = (overrides: Partial<StoredDeadline> = {}) => item({ kind: 'reminder', essential: false, who: { kind: 'person', aadObjectId: 'a1' }, dueAt: at('2026-12-04T16:00:00Z'), ...overrides });
    const reminders: [string, StoredDeadline, string, string][] = [
      ['a TeachMeet on Fri 4 Dec, signed up for on Mon 23 Nov', reminder(), '2026-11-23T10:00:00Z', 'wait 2026-12-03T08:00:00.000Z'],
      ['the day before, in school hours', reminder(), '2026-12-03T08:00:00Z', 'nudge 2026-12-03T08:00:00.000Z'],
      ['the reminder has gone', reminder({ progress: { lastNudgeDay: '2026-12-03' } }), '2026-12-03T09:00:00Z', 'idle'],
      ['signed up on the day before itself', reminder({ registeredAt: at('2026-12-03T10:00:00Z') }), '2026-12-03T10:00:00Z', 'idle'],
      ['the day before has passed unsent (21:00)', reminder(), '2026-12-03T21:00:00Z', 'idle'],
      ['a TeachMeet on a Monday (the Friday before)', reminder({ dueAt: at('2026-12-07T16:00:00Z') }), '2026-11-23T10:00:00Z', 'wait 2026-12-04T08:00:00.000Z'],
      ['a reminder never escalates', reminder(), '2026-12-07T09:00:00Z', 'idle'],
    ];
    for (const [name, it_, now, expected] of reminders) {
      it(`when ${name}, then ${expected}`, function () {
        assert.equal(show(decide(it_, DEFAULT_POLICY, at(now))), expected);
      });
    }

    it('when a round reached some reps, then the others are still to get it and the round is kept for them', function () {
      const decision: Decision = { kind: 'nudge', round: '2026-11-27T08:00:00.000Z' };
      const reps = [{ aadObjectId: 'a' }, { aadObjectId: 'b' }, { aadObjectId: 'c' }];
      const partly = partRound({}, decision, ['a']);
      assert.deepEqual(stillToNudge(partly, decision, reps).map((r) => r.aadObjectId), ['b', 'c']);
      assert.deepEqual(stillToNudge({ ...partly, muted: ['c'] }, decision, reps).map((r) => r.aadObjectId), ['b']);
      const nextRung: Decision = { kind: 'nudge', round: '2026-12-02T08:00:00.000Z' };
      assert.equal(stillToNudge(partly, nextRung, reps).length, 3, 'a new rung is for everyone again');
      const done = afterRound(partRound(partly, decision, ['b', 'c']), decision, at('2026-11-30T09:00:00Z'));
      assert.deepEqual(done, { lastNudgeDay: '2026-11-30' });
      assert.deepEqual(afterRound({ snoozedUntil: '2026-11-30T08:00:00.000Z' }, { kind: 'escalate', round: 'x' }, at('2026-12-07T08:00:00Z')), { lastNudgeDay: '2026-12-07', escalated: true });
    });
  });

  describe("a person's message of the day", function () {
    const owed = [
      { tag: 'n:careers', kind: 'nudge' as const, dueAt: at('2026-12-03T17:00:00Z') },
      { tag: 'n:stem', kind: 'nudge' as const, dueAt: at('2026-12-04T17:00:00Z') },
      { tag: 'n:swap', kind: 'nudge' as const, dueAt: at('2026-12-04T12:00:00Z') },
      { tag: 'e:late', kind: 'escalate' as const, dueAt: at('2026-11-20T17:00:00Z') },
    ];
    const limits = { nudges: 2, escalations: 1 };
    const tags = (list: readonly { tag: string }[] | undefined) => (list ?? []).map((o) => o.tag).join(' ');
    const cases: [string, readonly string[] | undefined, boolean, string, string, string, string][] = [
      // name, what today's message carried (undefined: none yet), reachable -> digest nudges, digest escalations, sent, held back
      ['nothing went today: the most urgent, up to the limits, the rest another day', undefined, true, 'n:careers n:swap', 'e:late', 'n:careers n:swap e:late', 'n:stem'],
      ["today's went with two of them: those count as sent, nothing new goes", ['n:careers', 'e:late'], true, '', '', 'n:careers e:late', 'n:stem n:swap'],
      ["today's went with none of them: all wait", ['n:other'], true, '', '', '', 'n:careers n:stem n:swap e:late'],
      ['nothing went today and they cannot be reached: all wait', undefined, false, '', '', '', 'n:careers n:stem n:swap e:late'],
    ];
    for (const [name, today, reachable, nudges, escalations, sent, heldBack] of cases) {
      it(`when ${name}`, function () {
        const m = dayMessage(owed, today, reachable, limits);
        assert.deepEqual([tags(m.digest?.nudges), tags(m.digest?.escalations), tags(m.sent), tags(m.heldBack)], [nudges, escalations, sent, heldBack]);
      });
    }
    it('when nothing is owed, then no message', function () {
      assert.equal(dayMessage([], undefined, true, limits).digest, undefined);
    });
  });

  describe('snooze and stop', function () {
    const choices: [string, string, string | undefined, string | undefined][] = [
      ['Friday 27 Nov, due Fri 4 Dec', '2026-11-27T08:05:00Z', '2026-11-30T08:00:00.000Z', '2026-12-03T08:00:00.000Z'],
      ['Monday 30 Nov', '2026-11-30T10:00:00Z', '2026-12-01T10:00:00.000Z', '2026-12-03T08:00:00.000Z'],
      ['Thursday 3 Dec (the day before is today)', '2026-12-03T10:00:00Z', '2026-12-04T10:00:00.000Z', undefined],
      ['Friday 4 Dec, the day it is due', '2026-12-04T10:00:00Z', undefined, undefined],
    ];
    for (const [name, now, day, before] of choices) {
      it(`when it is ${name}, then Snooze offers ${day ?? 'no day'} and ${before ?? 'no day-before'}`, function () {
        const c = snoozeChoices(item(), DEFAULT_POLICY, at(now));
        assert.equal(c.day?.toISOString(), day);
        assert.equal(c.dayBefore?.toISOString(), before);
      });
    }

    it('when someone snoozes for a day, then the item waits and the round starts again', function () {
      const r = snooze(item({ progress: { lastNudgeDay: '2026-11-27', round: { at: 'x', done: ['a'] } } }), 'day', DEFAULT_POLICY, at('2026-11-27T08:05:00Z'));
      assert.ok(r.ok);
      assert.deepEqual(r.progress, { lastNudgeDay: '2026-11-27', snoozedUntil: '2026-11-30T08:00:00.000Z' });
    });

    const refusals: [string, Partial<StoredDeadline>, string, 'day' | 'dayBefore', RegExp][] = [
      ['completed', { status: 'completed' }, '2026-11-27T09:00:00Z', 'day', /already done/],
      ['withdrawn', { status: 'cancelled' }, '2026-11-27T09:00:00Z', 'day', /no longer needed/],
      ['an event reminder', { kind: 'reminder' }, '2026-11-27T09:00:00Z', 'day', /cannot be snoozed/],
      ['overdue', {}, '2026-12-07T09:00:00Z', 'day', /past its deadline/],
      ['due too soon for a day', {}, '2026-12-04T09:00:00Z', 'day', /due Fri 4 Dec, 17:00, too soon to snooze it for a day/],
      ['due too soon for the day before', {}, '2026-12-03T09:00:00Z', 'dayBefore', /too soon to snooze it until the day before/],
    ];
    for (const [name, overrides, now, option, message] of refusals) {
      it(`when the item is ${name}, then Snooze is refused with a clear message`, function () {
        const r = snooze(item(overrides), option, DEFAULT_POLICY, at(now));
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.message, message);
      });
    }

    it('when someone stops reminders, then an essential item refuses and a non-essential one mutes them (once)', function () {
      const essential = stopReminding(item(), 'A1');
      assert.equal(essential.ok, false);
      const once = stopReminding(item({ essential: false }), 'A1');
      assert.ok(once.ok);
      assert.deepEqual(once.progress.muted, ['a1']);
      const twice = stopReminding(item({ essential: false, progress: once.progress }), 'a1');
      assert.ok(twice.ok);
      assert.deepEqual(twice.progress.muted, ['a1']);
      assert.equal(stopReminding(item({ essential: false, status: 'completed' }), 'a1').ok, false);
    });

    it('when someone presses a button, then only the person named or a rep of the school may act on it', function () {
      assert.ok(mustAct(item(), { aadObjectId: 'x', isRep: true, schoolId: 's1' }));
      assert.ok(!mustAct(item(), { aadObjectId: 'x', isRep: true, schoolId: 's2' }));
      assert.ok(!mustAct(item(), { aadObjectId: 'x', isRep: false, schoolId: 's1' }));
      const mine = item({ who: { kind: 'person', aadObjectId: 'AbC' } });
      assert.ok(mustAct(mine, { aadObjectId: 'abc', isRep: false }));
      assert.ok(!mustAct(mine, { aadObjectId: 'abd', isRep: true, schoolId: 's1' }));
    });
  });

  describe('words and order', function () {
    const now = at('2026-11-27T08:00:00Z');
    const dues: [string, string, string][] = [
      ['17:00', '2026-12-04T17:00:00Z', 'Fri 4 Dec, 17:00'],
      ['23:59 (end of the day)', '2026-12-04T23:59:00Z', 'Fri 4 Dec'],
      ['midnight (end of the day before)', '2026-12-05T00:00:00Z', 'Fri 4 Dec'],
      ['next year', '2027-01-08T12:00:00Z', 'Fri 8 Jan 2027, 12:00'],
      ['a June afternoon (BST)', '2027-06-18T15:00:00Z', 'Fri 18 Jun 2027, 16:00'],
    ];
    for (const [name, due, expected] of dues) {
      it(`when a deadline is at ${name}, then it reads "${expected}"`, function () {
        assert.equal(dueText(at(due), now), expected);
      });
    }

    it('when a nudge is written, then it is specific: what, for whom, by when', function () {
      assert.equal(headline(item(), now), "Approve 'STEM Week' for Oakfield by Fri 4 Dec, 17:00");
      assert.equal(urgency(item(), now), 'Due in 7 days');
      assert.equal(urgency(item(), at('2026-12-03T08:00:00Z')), 'Due tomorrow');
      assert.equal(urgency(item(), at('2026-12-04T08:00:00Z')), 'Due today');
      const reminder = item({ kind: 'reminder', what: "You're attending Spring TeachMeet", dueAt: at('2026-12-04T16:00:00Z') });
      assert.equal(headline(reminder, at('2026-12-03T08:00:00Z')), "You're attending Spring TeachMeet tomorrow");
      assert.equal(headline(reminder, at('2026-12-01T08:00:00Z')), "You're attending Spring TeachMeet on Fri 4 Dec");
    });

    it('when a digest is put together, then the most urgent comes first', function () {
      const items = [item({ what: 'C', dueAt: at('2026-12-09T17:00:00Z') }), item({ what: 'B', dueAt: at('2026-12-04T17:00:00Z') }), item({ what: 'A', dueAt: at('2026-12-04T17:00:00Z') })];
      assert.deepEqual([...items].sort(byUrgency).map((i) => i.what), ['A', 'B', 'C']);
      const card = digestCardData({ nudges: items, escalations: [], viewer: 'x', now, day: '2026-11-27', policy: DEFAULT_POLICY, partnership: 'P', schoolName: () => 'Oakfield' });
      assert.deepEqual(card.items.map((i) => i.headline.slice(0, 1)), ['A', 'B', 'C']);
      assert.match(card.title, /3 reminders/);
    });

    it('when a digest carries the most items it may, each with four buttons, then the card stays well under 40 KB', function () {
      const many = (n: number) => Array.from({ length: n }, (_, i) =>
        item({
          id: `proposal:${'p'.repeat(60)}${i}:school:${'s'.repeat(30)}`,
          essential: false,
          what: `Approve '${'A long project title '.repeat(4)}' for Oakfield Academy ${i}`,
          actions: Array.from({ length: 4 }, (_, j) => ({ title: `Action ${j}`, verb: 'teachmeet.show', data: { eventId: `tm${'0'.repeat(10)}`, other: 'x'.repeat(60) } })),
        }),
      );
      const card = renderCard('nudgeDigest', digestCardData({ nudges: many(MAX_DIGEST_ITEMS), escalations: many(MAX_DIGEST_ESCALATIONS), viewer: 'x', now, day: '2026-11-27', policy: DEFAULT_POLICY, partnership: 'P', schoolName: () => 'Oakfield' }));
      const bytes = Buffer.byteLength(JSON.stringify(card));
      assert.ok(bytes < 32 * 1024, `${bytes} bytes`);
    });
  });

  describe('what coordinators type', function () {
    const now = at('2026-11-23T10:00:00Z');
    const holidays: [string, string, { from: string; to: string; label: string } | RegExp][] = [
      ['19 Dec 2026 - 4 Jan 2027', '19 Dec 2026 - 4 Jan 2027', { from: '2026-12-19', to: '2027-01-04', label: '' }],
      ['a range with a name', '19 Dec 2026 – 4 Jan 2027 Christmas holidays', { from: '2026-12-19', to: '2027-01-04', label: 'Christmas holidays' }],
      ['a range without years', '19 Dec - 4 Jan', { from: '2026-12-19', to: '2027-01-04', label: '' }],
      ['the year only at the end', '19 December to 4 January 2027', { from: '2026-12-19', to: '2027-01-04', label: '' }],
      ['one day with a name', '13 Feb 2027 INSET day', { from: '2027-02-13', to: '2027-02-13', label: 'INSET day' }],
      ['an ISO date', '2027-02-13', { from: '2027-02-13', to: '2027-02-13', label: '' }],
      ['a day already past this year (next year meant)', '2 Feb', { from: '2027-02-02', to: '2027-02-02', label: '' }],
      ['ordinals and full month names', '2nd December 2026 INSET', { from: '2026-12-02', to: '2026-12-02', label: 'INSET' }],
      ['British numeric dates', '19/12/2026 - 04/01/2027', { from: '2026-12-19', to: '2027-01-04', label: '' }],
      ['nonsense', 'next week sometime', /couldn't read the dates/],
      ['a date that does not exist', '31 Feb 2027', /does not exist/],
      ['a range the wrong way round', '4 Jan 2027 - 19 Dec 2026', /ends before it starts/],
      ['a range over a year', '1 Jan 2027 - 2 Feb 2028', /at most a year/],
    ];
    for (const [name, text, expected] of holidays) {
      it(`when a coordinator types holidays add ${name}, then ${expected instanceof RegExp ? 'it is refused' : `${expected.from} to ${expected.to}`}`, function () {
        const parsed = parseHoliday(text, now);
        if (expected instanceof RegExp) {
          assert.equal(parsed.ok, false);
          if (!parsed.ok) assert.match(parsed.message, expected);
        } else {
          assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
          assert.deepEqual(parsed.holiday, expected);
        }
      });
    }

    it('when holidays are added and removed, then the list stays in order and removing names a day inside the break', function () {
      let policy = addHoliday(DEFAULT_POLICY, { from: '2027-02-13', to: '2027-02-13', label: 'INSET' });
      policy = addHoliday(policy, { from: '2026-12-19', to: '2027-01-04', label: 'Christmas' });
      assert.deepEqual(policy.holidays.map((h) => h.from), ['2026-12-19', '2027-02-13']);
      assert.equal(parseDay('30 Dec 2026', now), '2026-12-30');
      const { policy: after, removed } = removeHolidays(policy, '2026-12-30');
      assert.deepEqual(removed.map((h) => h.label), ['Christmas']);
      assert.deepEqual(after.holidays.map((h) => h.label), ['INSET']);
      assert.match(describePolicy(policy, now).join(' '), /Sat 19 Dec – Mon 4 Jan 2027 \(Christmas\)/);
    });

    const hours: [string, { start: string; end: string } | undefined][] = [
      ['08:00-17:00', { start: '08:00', end: '17:00' }],
      ['8:30 - 16:00', { start: '08:30', end: '16:00' }],
      ['9 to 15', { start: '09:00', end: '15:00' }],
      ['17:00-08:00', undefined],
      ['25:00-26:00', undefined],
      ['whenever', undefined],
    ];
    for (const [text, expected] of hours) {
      it(`when a coordinator sets the hours to "${text}", then ${expected ? `${expected.start}–${expected.end}` : 'it is refused'}`, function () {
        const parsed = parseHours(text);
        assert.deepEqual(parsed.ok ? { start: parsed.start, end: parsed.end } : undefined, expected);
      });
    }

    const ladders: [string, number[] | undefined][] = [
      ['7 2 0', [7, 2, 0]],
      ['0, 2, 7', [7, 2, 0]],
      ['10 3 1 1', [10, 3, 1]],
      ['', undefined],
      ['7 2 x', undefined],
      ['90', undefined],
      ['1 2 3 4 5 6', undefined],
    ];
    for (const [text, expected] of ladders) {
      it(`when a coordinator sets the ladder to "${text}", then ${expected ? expected.join(', ') : 'it is refused'}`, function () {
        const parsed = parseLadder(text);
        assert.deepEqual(parsed.ok ? parsed.ladder : undefined, expected);
      });
    }
  });
});

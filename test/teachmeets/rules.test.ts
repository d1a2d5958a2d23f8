import assert from 'node:assert/strict';
import { DEFAULT_OFFER_POLICY, type Aggregate, type OfferPolicy, type PersonRef, type SignUp, type SlotLength, type Talk, type TeachMeet } from '../../src/teachmeets/model';
import {
  applyAll,
  counts,
  describeChanges,
  drawRunningOrder,
  keepRunningOrder,
  MAX_ROWS,
  offerExpiry,
  reminderChanges,
  REMINDER_LEAD_DAYS,
  remindersFrom,
  remindersKept,
  statusLabel,
  waitlist,
  waitPosition,
  type Applied,
  type EventChanges,
  type Intent,
  type Notice,
} from '../../src/teachmeets/rules';
import { DEFAULT_POLICY } from '../../src/nudges/model';
import { reminderTime } from '../../src/nudges/rules';
import { londonDate } from '../../src/platform/time';

/*
 * The TeachMeet rules, pure: every test builds an aggregate in memory, applies intents at a given
 * `now`, and checks what changed and who is told. No I/O, no timers, no real clock.
 */

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Fri 4 Dec 2026, 16:00 in London (GMT). */
const START = new Date('2026-12-04T16:00:00Z');
/** Sign-ups close Wed 2 Dec 2026, 17:00. */
const DEADLINE = new Date('2026-12-02T17:00:00Z');
/** Mon 2 Nov 2026, 09:00: well before the deadline and the start. */
const NOW = new Date('2026-11-02T09:00:00Z');

const at = (base: Date, ms: number): Date => new Date(base.getTime() + ms);

/** An event factory: an open TeachMeet with sensible defaults. */
function meet(overrides: Partial<TeachMeet> = {}): TeachMeet {
  return {
    id: 'tm-1',
    title: 'Retrieval practice TeachMeet',
    theme: 'Retrieval practice',
    host: { kind: 'school', schoolId: 'oak', schoolName: 'Oakfield Academy' },
    startsAt: START,
    endsAt: at(START, 90 * MINUTE),
    venue: 'Library',
    link: '',
    places: 3,
    slots: { 2: 1, 5: 1, 7: 1 },
    deadline: DEADLINE,
    status: 'open',
    organiser: { aadObjectId: 'org', name: 'Cora Whitfield', schoolId: 'oak' },
    createdAt: at(NOW, -7 * 24 * HOUR),
    version: 1,
    waitNext: 1,
    runningOrder: [],
    addedLate: [],
    cancelReason: '',
    ...overrides,
  };
}

function aggregate(event: TeachMeet = meet()): Aggregate {
  return { event, signUps: new Map() };
}

/** A people factory: person(1) is p01, "Teacher 01", at a school chosen round-robin. */
function person(n: number): PersonRef {
  const id = `p${String(n).padStart(2, '0')}`;
  return { aadObjectId: id, teamsId: `29:${id}`, name: `Teacher ${String(n).padStart(2, '0')}`, schoolId: ['oak', 'elm', 'ash'][n % 3]! };
}

function people(count: number, from = 1): PersonRef[] {
  return Array.from({ length: count }, (_, i) => person(from + i));
}

function talk(slot: SlotLength, title = `A ${slot}-minute talk`): Talk {
  return { slot, title, line: 'What works in my classroom.' };
}

const attend = (p: PersonRef): Intent => ({ kind: 'attend', person: p });
const present = (p: PersonRef, t: Talk): Intent => ({ kind: 'present', person: p, talk: t });
const cancel = (p: PersonRef): Intent => ({ kind: 'cancel', person: p });
const accept = (p: PersonRef): Intent => ({ kind: 'acceptOffer', person: p });
const decline = (p: PersonRef): Intent => ({ kind: 'declineOffer', person: p });
const sweep: Intent = { kind: 'sweep' };

function apply(agg: Aggregate, intents: Intent | readonly Intent[], now: Date = NOW, policy: OfferPolicy = DEFAULT_OFFER_POLICY): Applied {
  return applyAll(agg, Array.isArray(intents) ? intents : [intents as Intent], now, policy);
}

/** The sign-up of a person; fails the test when there is none. */
function signUp(agg: Aggregate, p: PersonRef | string): SignUp {
  const id = typeof p === 'string' ? p : p.aadObjectId;
  const s = agg.signUps.get(id);
  assert.ok(s, `expected a sign-up for ${id}`);
  return s;
}

function statusOf(agg: Aggregate, p: PersonRef): string {
  return agg.signUps.get(p.aadObjectId)?.status ?? 'none';
}

function idsWith(agg: Aggregate, status: SignUp['status'], role?: SignUp['role']): string[] {
  return [...agg.signUps.values()].filter((s) => s.status === status && (role === undefined || s.role === role)).map((s) => s.aadObjectId).sort();
}

/** The waiting people in queue order with their positions. */
function queue(agg: Aggregate): { id: string; position: number | undefined }[] {
  return waitlist(agg).map((s) => ({ id: s.aadObjectId, position: waitPosition(agg, s.aadObjectId) }));
}

function noticesOf(applied: Applied, kind: Notice['kind']): Notice[] {
  return applied.notices.filter((n) => n.kind === kind);
}

function offersIn(applied: Applied): { id: string; expiresAt: number }[] {
  return applied.notices.flatMap((n) => (n.kind === 'offer' ? [{ id: n.aadObjectId, expiresAt: n.expiresAt.getTime() }] : []));
}

/** What must hold after any change: no overbooking, unique gapless positions, consistent fields. */
function assertInvariants(agg: Aggregate): void {
  const c = counts(agg);
  assert.ok(c.attending + c.offered <= agg.event.places, `overbooked: ${c.attending} attending + ${c.offered} offered > ${agg.event.places} places`);
  for (const len of [2, 5, 7] as const) assert.ok(c.presenting[len] <= agg.event.slots[len], `too many ${len}-minute presenters`);
  const positions = queue(agg).map((q) => q.position);
  assert.deepEqual(positions, positions.map((_, i) => i + 1), 'waitlist positions are 1..K, unique and gapless');
  const numbers = [...agg.signUps.values()].filter((s) => s.status === 'waiting' || s.status === 'offered').map((s) => s.waitNumber);
  assert.equal(new Set(numbers).size, numbers.length, 'wait numbers are unique');
  for (const s of agg.signUps.values()) {
    if (s.status === 'waiting' || s.status === 'offered') assert.notEqual(s.waitNumber, undefined, `${s.aadObjectId} queued without a number`);
    else assert.equal(s.waitNumber, undefined, `${s.aadObjectId} is ${s.status} but still has a wait number`);
    if (s.status === 'offered') assert.ok(s.offerExpiresAt, `${s.aadObjectId} offered without an expiry`);
    else assert.equal(s.offerExpiresAt, undefined, `${s.aadObjectId} is ${s.status} but still has an offer expiry`);
    if (s.role === 'presenter' && s.status === 'confirmed') assert.ok(s.talk, `${s.aadObjectId} presents without a talk`);
  }
}

/** An event with `confirmed` attendees filling all places and `waiting` more on the waitlist. */
function fullEvent(opts: { places?: number; waiting?: number; event?: Partial<TeachMeet> } = {}): { agg: Aggregate; confirmed: PersonRef[]; waiting: PersonRef[] } {
  const places = opts.places ?? 3;
  const agg = aggregate(meet({ places, ...opts.event }));
  const confirmed = people(places, 1);
  const waiting = people(opts.waiting ?? 3, places + 1);
  apply(agg, [...confirmed, ...waiting].map(attend), at(NOW, -24 * HOUR));
  assert.deepEqual(idsWith(agg, 'confirmed'), confirmed.map((p) => p.aadObjectId).sort());
  assert.deepEqual(queue(agg).map((q) => q.id), waiting.map((p) => p.aadObjectId));
  return { agg, confirmed, waiting };
}

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32), so tests need no real randomness. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('teachmeets rules: sign-ups, waitlist, offers and running order, as pure functions of now', function () {
  describe('capacity', function () {
    const cases = [
      { places: 3, asking: 5 },
      { places: 5, asking: 5 },
      { places: 5, asking: 3 },
      { places: 1, asking: 1 },
      { places: 1, asking: 12 },
      { places: 0, asking: 4 },
      { places: 10, asking: 25 },
    ];
    for (const { places, asking } of cases) {
      const n = Math.min(places, asking);
      it(`when ${asking} people ask to attend in one batch with ${places} places, then exactly ${n} are confirmed and ${asking - n} wait at positions 1..${asking - n} in arrival order`, function () {
        const agg = aggregate(meet({ places }));
        const everyone = people(asking);
        const applied = apply(agg, everyone.map(attend));

        assert.equal(applied.outcomes.length, asking);
        assert.ok(applied.outcomes.every((o) => o.ok));
        const first = everyone.slice(0, n).map((p) => p.aadObjectId);
        const rest = everyone.slice(n).map((p) => p.aadObjectId);
        assert.deepEqual(idsWith(agg, 'confirmed', 'attendee'), [...first].sort());
        assert.deepEqual(queue(agg), rest.map((id, i) => ({ id, position: i + 1 })));
        assert.equal(agg.signUps.size, asking, 'nobody is in twice');
        assert.equal(idsWith(agg, 'offered').length, 0);
        assert.deepEqual(counts(agg), {
          attending: n,
          offered: 0,
          placesLeft: places - n,
          waiting: asking - n,
          presenting: { 2: 0, 5: 0, 7: 0 },
          slotsLeft: { 2: 1, 5: 1, 7: 1 },
        });
        // Each person is told exactly once: confirmed, or waitlisted with their position.
        assert.deepEqual(
          applied.notices,
          everyone.map((p, i) => (i < n ? { kind: 'confirmed', aadObjectId: p.aadObjectId } : { kind: 'waitlisted', aadObjectId: p.aadObjectId, position: i - n + 1 })),
        );
        assert.deepEqual(applied.outcomes.slice(n).map((o) => o.message), rest.map((_, i) => `Retrieval practice TeachMeet is full: you're number ${i + 1} on the waitlist.`));
        assert.deepEqual([...applied.changed].sort(), everyone.map((p) => p.aadObjectId).sort());
        assertInvariants(agg);
      });
    }

    const duplicates: { title: string; places: number; before: number; expectStatus: SignUp['status'] }[] = [
      { title: 'a place is free', places: 3, before: 0, expectStatus: 'confirmed' },
      { title: 'the event is full', places: 2, before: 2, expectStatus: 'waiting' },
    ];
    for (const d of duplicates) {
      it(`when the same person asks to attend twice in one batch and ${d.title}, then it has one effect`, function () {
        const agg = aggregate(meet({ places: d.places }));
        apply(agg, people(d.before, 50).map(attend));
        const waitNextBefore = agg.event.waitNext;
        const ann = person(1);
        const applied = apply(agg, [attend(ann), attend(ann), attend(ann)]);

        assert.equal(agg.signUps.size, d.before + 1);
        assert.equal(signUp(agg, ann).status, d.expectStatus);
        assert.equal(applied.notices.length, 1, 'told once');
        assert.ok(applied.outcomes.every((o) => o.ok));
        assert.match(applied.outcomes[1]!.message, /already/);
        assert.equal(agg.event.waitNext, waitNextBefore + (d.expectStatus === 'waiting' ? 1 : 0), 'at most one wait number used');
        assertInvariants(agg);
      });
    }

    it('when a person who has been offered a place asks to attend again, then they are reminded of the offer and nothing changes', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 2 });
      apply(agg, cancel(confirmed[0]!));
      assert.equal(statusOf(agg, waiting[0]!), 'offered');
      const applied = apply(agg, attend(waiting[0]!));
      assert.equal(applied.notices.length, 0);
      assert.equal(applied.changed.size, 0);
      assert.match(applied.outcomes[0]!.message, /being held for you/);
    });

    it('when a person who cancelled asks to attend again while the event is full, then they rejoin at the back of the waitlist', function () {
      const { agg, waiting } = fullEvent({ places: 2, waiting: 3 });
      apply(agg, cancel(waiting[0]!));
      const applied = apply(agg, attend(waiting[0]!));
      assert.deepEqual(queue(agg).map((q) => q.id), [waiting[1]!, waiting[2]!, waiting[0]!].map((p) => p.aadObjectId));
      assert.deepEqual(applied.notices, [{ kind: 'waitlisted', aadObjectId: waiting[0]!.aadObjectId, position: 3 }]);
      assertInvariants(agg);
    });

    it('when many random batches of attend, cancel, present, accept and decline are applied, then nobody is overbooked and positions stay gapless', function () {
      for (let seed = 1; seed <= 40; seed += 1) {
        const rnd = seeded(seed);
        const agg = aggregate(meet({ places: 1 + Math.floor(rnd() * 5), slots: { 2: Math.floor(rnd() * 3), 5: Math.floor(rnd() * 3), 7: Math.floor(rnd() * 3) } }));
        const crowd = people(12);
        let now = NOW;
        for (let step = 0; step < 30; step += 1) {
          const p = crowd[Math.floor(rnd() * crowd.length)]!;
          const kinds: Intent[] = [attend(p), attend(p), cancel(p), present(p, talk(([2, 5, 7] as const)[Math.floor(rnd() * 3)]!)), accept(p), decline(p), sweep];
          const batch = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => kinds[Math.floor(rnd() * kinds.length)]!);
          apply(agg, batch, now);
          assertInvariants(agg);
          now = at(now, Math.floor(rnd() * 30) * HOUR);
        }
      }
    });
  });

  describe('presenters', function () {
    const full: { title: string; slots: Record<SlotLength, number>; taken: SlotLength[]; asking: SlotLength; expect: string }[] = [
      {
        title: 'the only 2-minute slot is taken',
        slots: { 2: 1, 5: 1, 7: 1 },
        taken: [2],
        asking: 2,
        expect: 'There are no 2-minute slots left. Slots still free: 5-minute, 7-minute.',
      },
      {
        title: 'the event has no 5-minute slots at all',
        slots: { 2: 2, 5: 0, 7: 1 },
        taken: [],
        asking: 5,
        expect: 'There are no 5-minute slots left. Slots still free: 2-minute, 7-minute.',
      },
      {
        title: 'both 7-minute slots and the 2-minute slot are taken',
        slots: { 2: 1, 5: 1, 7: 2 },
        taken: [7, 7, 2],
        asking: 7,
        expect: 'There are no 7-minute slots left. Slots still free: 5-minute.',
      },
      {
        title: 'every slot is taken',
        slots: { 2: 1, 5: 1, 7: 0 },
        taken: [2, 5],
        asking: 2,
        expect: 'There are no 2-minute slots left. All presenter slots are taken.',
      },
    ];
    for (const f of full) {
      it(`when someone asks to present and ${f.title}, then they are refused and told which lengths are free`, function () {
        const agg = aggregate(meet({ slots: f.slots }));
        apply(agg, f.taken.map((len, i) => present(person(60 + i), talk(len))));
        const before = agg.signUps.size;
        const applied = apply(agg, present(person(1), talk(f.asking)));
        assert.deepEqual(applied.outcomes, [{ ok: false, message: f.expect }]);
        assert.equal(agg.signUps.size, before, 'no sign-up was made');
        assert.equal(applied.notices.length, 0);
        assertInvariants(agg);
      });
    }

    it('when presenters fill each slot length, then each gets a slot of the length asked for and counts show what is left', function () {
      const agg = aggregate(meet({ slots: { 2: 2, 5: 1, 7: 1 } }));
      const applied = apply(agg, [present(person(1), talk(2)), present(person(2), talk(2)), present(person(3), talk(5)), present(person(4), talk(7))]);
      assert.ok(applied.outcomes.every((o) => o.ok));
      assert.deepEqual(counts(agg).presenting, { 2: 2, 5: 1, 7: 1 });
      assert.deepEqual(counts(agg).slotsLeft, { 2: 0, 5: 0, 7: 0 });
      assert.equal(counts(agg).attending, 0, 'presenters do not take attendee places');
      assert.equal(applied.outcomes[2]!.message, "You're presenting: 5 min, 'A 5-minute talk'.");
    });

    it('when an attendee switches to presenting while people wait, then they keep a place as presenter and the first person waiting is offered the freed place', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 3, waiting: 2 });
      const applied = apply(agg, present(confirmed[1]!, talk(5)));

      assert.equal(applied.outcomes[0]!.ok, true);
      const me = signUp(agg, confirmed[1]!);
      assert.equal(me.status, 'confirmed');
      assert.equal(me.role, 'presenter');
      assert.deepEqual(me.talk, talk(5));
      assert.equal(statusOf(agg, waiting[0]!), 'offered');
      assert.equal(statusOf(agg, waiting[1]!), 'waiting');
      assert.deepEqual(offersIn(applied), [{ id: waiting[0]!.aadObjectId, expiresAt: NOW.getTime() + 24 * HOUR }]);
      assert.deepEqual(queue(agg), [{ id: waiting[1]!.aadObjectId, position: 1 }]);
      assert.equal(counts(agg).attending, 2);
      assertInvariants(agg);
    });

    it('when an attendee asks to present a length that is full, then they keep their attendee place and nobody is offered anything', function () {
      const { agg, confirmed } = fullEvent({ places: 2, waiting: 1, event: { slots: { 2: 0, 5: 1, 7: 0 } } });
      apply(agg, present(person(70), talk(5)));
      const applied = apply(agg, present(confirmed[0]!, talk(5)));
      assert.deepEqual(applied.outcomes, [{ ok: false, message: 'There are no 5-minute slots left. All presenter slots are taken. You keep your attendee place.' }]);
      assert.equal(signUp(agg, confirmed[0]!).role, 'attendee');
      assert.equal(statusOf(agg, confirmed[0]!), 'confirmed');
      assert.equal(offersIn(applied).length, 0);
    });

    it('when a waiting person presents, then they leave the waitlist and the people behind them move up', function () {
      const { agg, waiting } = fullEvent({ places: 2, waiting: 3 });
      const applied = apply(agg, present(waiting[0]!, talk(7)));
      assert.equal(applied.outcomes[0]!.ok, true);
      assert.equal(signUp(agg, waiting[0]!).role, 'presenter');
      assert.deepEqual(queue(agg), [{ id: waiting[1]!.aadObjectId, position: 1 }, { id: waiting[2]!.aadObjectId, position: 2 }]);
      assert.equal(offersIn(applied).length, 0, 'no attendee place was freed');
      assertInvariants(agg);
    });

    it('when a person who was offered a place presents instead, then the offered place goes to the next person waiting', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 2 });
      apply(agg, cancel(confirmed[0]!));
      assert.equal(statusOf(agg, waiting[0]!), 'offered');
      const applied = apply(agg, present(waiting[0]!, talk(2)));
      assert.equal(signUp(agg, waiting[0]!).role, 'presenter');
      assert.deepEqual(offersIn(applied).map((o) => o.id), [waiting[1]!.aadObjectId]);
      assertInvariants(agg);
    });

    const toAttendee: { title: string; placesTaken: number; expectOk: boolean; expectRole: SignUp['role'] }[] = [
      { title: 'a place is free', placesTaken: 2, expectOk: true, expectRole: 'attendee' },
      { title: 'no place is free', placesTaken: 3, expectOk: false, expectRole: 'presenter' },
    ];
    for (const t of toAttendee) {
      it(`when a presenter asks to attend instead and ${t.title}, then ${t.expectOk ? 'they become an attendee and free their slot' : 'they are refused and keep their slot'}`, function () {
        const agg = aggregate(meet({ places: 3, slots: { 2: 1, 5: 1, 7: 1 } }));
        apply(agg, people(t.placesTaken, 20).map(attend));
        const pia = person(1);
        apply(agg, present(pia, talk(7)));
        const applied = apply(agg, attend(pia));

        assert.equal(applied.outcomes[0]!.ok, t.expectOk);
        const me = signUp(agg, pia);
        assert.equal(me.role, t.expectRole);
        assert.equal(me.status, 'confirmed');
        assert.equal(counts(agg).slotsLeft[7], t.expectOk ? 1 : 0);
        if (t.expectOk) assert.equal(me.talk, undefined);
        else assert.equal(applied.outcomes[0]!.message, 'There are no attendee places left, so you keep your presenter slot.');
        assertInvariants(agg);
      });
    }

    it('when a presenter changes to a free slot length, then their talk moves; to a full one, then they keep their slot', function () {
      const agg = aggregate(meet({ slots: { 2: 1, 5: 1, 7: 1 } }));
      const pia = person(1);
      apply(agg, [present(pia, talk(2)), present(person(2), talk(7))]);
      const moved = apply(agg, present(pia, talk(5, 'Longer now')));
      assert.equal(moved.outcomes[0]!.message, "Your talk is updated: 5 min, 'Longer now'.");
      assert.deepEqual(counts(agg).presenting, { 2: 0, 5: 1, 7: 1 });
      const refused = apply(agg, present(pia, talk(7)));
      assert.deepEqual(refused.outcomes, [{ ok: false, message: 'There are no 7-minute slots left, so you keep your 5-minute slot.' }]);
      assert.equal(signUp(agg, pia).talk?.slot, 5);
      const same = apply(agg, present(pia, talk(5, 'Longer now')));
      assert.equal(same.changed.size, 0, 'the same talk again changes nothing');
    });
  });

  describe('cancelling a sign-up', function () {
    it('when a confirmed attendee cancels while people wait, then the first person waiting is offered the place and the rest move up', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 3, waiting: 3 });
      const applied = apply(agg, cancel(confirmed[0]!));

      assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Your place at Retrieval practice TeachMeet is cancelled. Thank you for letting us know.' }]);
      assert.equal(statusOf(agg, confirmed[0]!), 'cancelled');
      assert.deepEqual(offersIn(applied), [{ id: waiting[0]!.aadObjectId, expiresAt: NOW.getTime() + 24 * HOUR }]);
      assert.deepEqual(queue(agg), [{ id: waiting[1]!.aadObjectId, position: 1 }, { id: waiting[2]!.aadObjectId, position: 2 }]);
      assert.deepEqual(counts(agg), { attending: 2, offered: 1, placesLeft: 0, waiting: 2, presenting: { 2: 0, 5: 0, 7: 0 }, slotsLeft: { 2: 1, 5: 1, 7: 1 } });
      assert.deepEqual([...applied.changed].sort(), [confirmed[0]!, waiting[0]!].map((p) => p.aadObjectId).sort());
      assertInvariants(agg);
    });

    it('when two attendees cancel in one batch, then the first two people waiting are offered places in order', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 3, waiting: 3 });
      const applied = apply(agg, [cancel(confirmed[2]!), cancel(confirmed[0]!)]);
      assert.deepEqual(offersIn(applied).map((o) => o.id), [waiting[0]!, waiting[1]!].map((p) => p.aadObjectId));
      assert.deepEqual(queue(agg), [{ id: waiting[2]!.aadObjectId, position: 1 }]);
      assertInvariants(agg);
    });

    const leaving = [
      { title: 'the first', index: 0 },
      { title: 'a middle', index: 2 },
      { title: 'the last', index: 4 },
    ];
    for (const l of leaving) {
      it(`when ${l.title} person on the waitlist cancels, then the gap closes and positions stay 1..4 in the same order`, function () {
        const { agg, waiting } = fullEvent({ places: 2, waiting: 5 });
        const applied = apply(agg, cancel(waiting[l.index]!));
        assert.deepEqual(applied.outcomes, [{ ok: true, message: "You've left the waitlist for Retrieval practice TeachMeet." }]);
        const remaining = waiting.filter((_, i) => i !== l.index).map((p) => p.aadObjectId);
        assert.deepEqual(queue(agg), remaining.map((id, i) => ({ id, position: i + 1 })));
        assert.equal(waitPosition(agg, waiting[l.index]!.aadObjectId), undefined);
        assert.equal(offersIn(applied).length, 0, 'leaving the waitlist frees no place');
        assertInvariants(agg);
      });
    }

    it('when a presenter cancels, then their slot is free again and no attendee place is offered', function () {
      const { agg, waiting } = fullEvent({ places: 1, waiting: 1 });
      const pia = person(40);
      apply(agg, present(pia, talk(2)));
      const applied = apply(agg, cancel(pia));
      assert.equal(counts(agg).slotsLeft[2], 1);
      assert.equal(offersIn(applied).length, 0);
      assert.equal(statusOf(agg, waiting[0]!), 'waiting');
    });

    const nothing: { title: string; setup: (agg: Aggregate) => void }[] = [
      { title: 'has never signed up', setup: () => undefined },
      { title: 'has already cancelled', setup: (agg) => apply(agg, [attend(person(1)), cancel(person(1))]) },
    ];
    for (const n of nothing) {
      it(`when a person who ${n.title} cancels, then they are told there was nothing to cancel and nothing changes`, function () {
        const agg = aggregate();
        n.setup(agg);
        const applied = apply(agg, cancel(person(1)));
        assert.deepEqual(applied.outcomes, [{ ok: true, message: "You don't have a place at Retrieval practice TeachMeet, so there was nothing to cancel." }]);
        assert.equal(applied.changed.size, 0);
        assert.equal(applied.notices.length, 0);
      });
    }
  });

  describe('offers', function () {
    describe('offerExpiry', function () {
      const cases: { title: string; now: Date; policy?: OfferPolicy; expect: Date | undefined }[] = [
        { title: 'the start is weeks away', now: NOW, expect: at(NOW, 24 * HOUR) },
        { title: 'the start is exactly 26 hours away', now: at(START, -26 * HOUR), expect: at(START, -2 * HOUR) },
        { title: 'the start is 25 hours away', now: at(START, -25 * HOUR), expect: at(START, -2 * HOUR) },
        { title: 'the start is 10 hours away', now: at(START, -10 * HOUR), expect: at(START, -2 * HOUR) },
        { title: 'the start is 2 hours and 1 minute away', now: at(START, -121 * MINUTE), expect: at(START, -2 * HOUR) },
        { title: 'the start is exactly 2 hours away', now: at(START, -2 * HOUR), expect: undefined },
        { title: 'the start is 1 hour away', now: at(START, -HOUR), expect: undefined },
        { title: 'the event has started', now: at(START, 10 * MINUTE), expect: undefined },
        { title: 'the policy holds places for 48 hours', now: NOW, policy: { holdHours: 48, hoursBeforeStart: 2 }, expect: at(NOW, 48 * HOUR) },
        { title: 'the policy stops offers 6 hours before, 20 hours away', now: at(START, -20 * HOUR), policy: { holdHours: 24, hoursBeforeStart: 6 }, expect: at(START, -6 * HOUR) },
        { title: 'the policy stops offers 6 hours before, 5 hours away', now: at(START, -5 * HOUR), policy: { holdHours: 24, hoursBeforeStart: 6 }, expect: undefined },
      ];
      for (const c of cases) {
        it(`when ${c.title}, then an offer made now ${c.expect ? `expires at ${c.expect.toISOString()}` : 'is not made'}`, function () {
          assert.deepEqual(offerExpiry(meet(), c.now, c.policy ?? DEFAULT_OFFER_POLICY), c.expect);
        });
      }
    });

    const timing: { title: string; now: Date; expect: Date }[] = [
      { title: 'a place frees weeks before the start', now: NOW, expect: at(NOW, 24 * HOUR) },
      { title: 'a place frees 12 hours before the start', now: at(START, -12 * HOUR), expect: at(START, -2 * HOUR) },
    ];
    for (const t of timing) {
      it(`when ${t.title}, then the offer is held until min(now + 24 h, start − 2 h)`, function () {
        const { agg, confirmed, waiting } = fullEvent({ places: 1, waiting: 1 });
        const applied = apply(agg, cancel(confirmed[0]!), t.now);
        assert.deepEqual(offersIn(applied), [{ id: waiting[0]!.aadObjectId, expiresAt: t.expect.getTime() }]);
        assert.deepEqual(signUp(agg, waiting[0]!).offerExpiresAt, t.expect);
      });
    }

    const tooLate = [
      { title: 'exactly 2 hours before the start', now: at(START, -2 * HOUR) },
      { title: '30 minutes before the start', now: at(START, -30 * MINUTE) },
    ];
    for (const t of tooLate) {
      it(`when a place frees ${t.title}, then nobody is offered it and the waitlist stays as it is`, function () {
        const { agg, confirmed, waiting } = fullEvent({ places: 1, waiting: 2 });
        const applied = apply(agg, cancel(confirmed[0]!), t.now);
        assert.equal(applied.outcomes[0]!.ok, true, 'cancelling is still allowed');
        assert.equal(offersIn(applied).length, 0);
        assert.deepEqual(queue(agg), waiting.map((p, i) => ({ id: p.aadObjectId, position: i + 1 })));
        assert.equal(counts(agg).placesLeft, 1);
        assertInvariants(agg);
      });
    }

    const accepting: { title: string; offset: number; expectOk: boolean }[] = [
      { title: 'straight away', offset: 0, expectOk: true },
      { title: '1 ms before the offer expires', offset: 24 * HOUR - 1, expectOk: true },
      { title: 'exactly when the offer expires', offset: 24 * HOUR, expectOk: false },
      { title: 'a day after the offer expired', offset: 48 * HOUR, expectOk: false },
    ];
    for (const a of accepting) {
      it(`when the person offered a place accepts ${a.title}, then ${a.expectOk ? 'their place is confirmed' : 'they are refused and the next person waiting is offered it'}`, function () {
        const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 3 });
        apply(agg, cancel(confirmed[0]!));
        const when = at(NOW, a.offset);
        const applied = apply(agg, accept(waiting[0]!), when);

        assert.equal(applied.outcomes[0]!.ok, a.expectOk);
        const me = signUp(agg, waiting[0]!);
        if (a.expectOk) {
          assert.equal(applied.outcomes[0]!.message, 'Your place at Retrieval practice TeachMeet is confirmed.');
          assert.equal(me.status, 'confirmed');
          assert.equal(me.role, 'attendee');
          assert.deepEqual(applied.notices, [{ kind: 'confirmed', aadObjectId: waiting[0]!.aadObjectId }]);
          assert.deepEqual(queue(agg).map((q) => q.id), [waiting[1]!, waiting[2]!].map((p) => p.aadObjectId));
        } else {
          assert.equal(applied.outcomes[0]!.message, 'Sorry, that offer has expired and the place has gone to the next person waiting.');
          assert.equal(me.status, 'cancelled');
          assert.deepEqual(noticesOf(applied, 'offerExpired'), [{ kind: 'offerExpired', aadObjectId: waiting[0]!.aadObjectId }]);
          assert.deepEqual(offersIn(applied), [{ id: waiting[1]!.aadObjectId, expiresAt: when.getTime() + 24 * HOUR }]);
          assert.deepEqual(queue(agg), [{ id: waiting[2]!.aadObjectId, position: 1 }]);
        }
        assertInvariants(agg);
      });
    }

    it('when the person offered a place declines, then the next person waiting is offered it', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 3 });
      apply(agg, cancel(confirmed[1]!));
      const later = at(NOW, 3 * HOUR);
      const applied = apply(agg, decline(waiting[0]!), later);
      assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Thanks for letting us know: the place goes to the next person waiting.' }]);
      assert.equal(statusOf(agg, waiting[0]!), 'cancelled');
      assert.deepEqual(offersIn(applied), [{ id: waiting[1]!.aadObjectId, expiresAt: later.getTime() + 24 * HOUR }]);
      assert.deepEqual(queue(agg), [{ id: waiting[2]!.aadObjectId, position: 1 }]);
      assertInvariants(agg);
    });

    it('when everyone waiting declines in turn, then each offer passes down the list and the place stays free at the end', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 1, waiting: 3 });
      apply(agg, cancel(confirmed[0]!));
      for (const [i, w] of waiting.entries()) {
        assert.equal(statusOf(agg, w), 'offered');
        const applied = apply(agg, decline(w), at(NOW, i * HOUR));
        assert.deepEqual(offersIn(applied).map((o) => o.id), waiting[i + 1] ? [waiting[i + 1]!.aadObjectId] : []);
        assertInvariants(agg);
      }
      assert.equal(counts(agg).placesLeft, 1);
    });

    const notOffered: { title: string; who: (w: { confirmed: PersonRef[]; waiting: PersonRef[] }) => PersonRef; intent: (p: PersonRef) => Intent; expect: { ok: boolean; message: string } }[] = [
      { title: 'a waiting person accepts', who: (w) => w.waiting[1]!, intent: accept, expect: { ok: false, message: 'That offer is no longer open, so nothing changed.' } },
      { title: 'a stranger accepts', who: () => person(99), intent: accept, expect: { ok: false, message: 'That offer is no longer open, so nothing changed.' } },
      { title: 'a confirmed attendee accepts', who: (w) => w.confirmed[1]!, intent: accept, expect: { ok: true, message: 'You already have a place at Retrieval practice TeachMeet.' } },
      { title: 'a waiting person declines', who: (w) => w.waiting[1]!, intent: decline, expect: { ok: false, message: 'That offer is no longer open, so nothing changed.' } },
    ];
    for (const n of notOffered) {
      it(`when ${n.title} without an open offer, then nothing changes`, function () {
        const w = fullEvent({ places: 2, waiting: 2 });
        const applied = apply(w.agg, n.intent(n.who(w)));
        assert.deepEqual(applied.outcomes, [n.expect]);
        assert.equal(applied.changed.size, 0);
        assert.equal(applied.notices.length, 0);
      });
    }

    describe('sweep', function () {
      it('when offers are overdue, then sweep expires only those and offers their places to the next people waiting', function () {
        const { agg, confirmed, waiting } = fullEvent({ places: 3, waiting: 5 });
        apply(agg, cancel(confirmed[0]!), NOW); // waiting[0] offered until NOW + 24 h
        apply(agg, cancel(confirmed[1]!), at(NOW, 10 * HOUR)); // waiting[1] offered until NOW + 34 h
        const when = at(NOW, 30 * HOUR);
        const applied = apply(agg, sweep, when);

        assert.deepEqual(applied.outcomes, [{ ok: true, message: 'swept' }]);
        assert.equal(statusOf(agg, waiting[0]!), 'cancelled');
        assert.equal(statusOf(agg, waiting[1]!), 'offered', 'an offer still running is left alone');
        assert.deepEqual(noticesOf(applied, 'offerExpired'), [{ kind: 'offerExpired', aadObjectId: waiting[0]!.aadObjectId }]);
        assert.deepEqual(offersIn(applied), [{ id: waiting[2]!.aadObjectId, expiresAt: when.getTime() + 24 * HOUR }]);
        assert.deepEqual(queue(agg), [waiting[3]!, waiting[4]!].map((p, i) => ({ id: p.aadObjectId, position: i + 1 })));
        assertInvariants(agg);
      });

      it('when several offers are overdue at once, then each place goes to the next person waiting, in order', function () {
        const { agg, confirmed, waiting } = fullEvent({ places: 3, waiting: 4 });
        apply(agg, [cancel(confirmed[0]!), cancel(confirmed[1]!)], NOW);
        const applied = apply(agg, sweep, at(NOW, 25 * HOUR));
        assert.deepEqual(noticesOf(applied, 'offerExpired').map((n) => n.aadObjectId).sort(), [waiting[0]!, waiting[1]!].map((p) => p.aadObjectId).sort());
        assert.deepEqual(offersIn(applied).map((o) => o.id), [waiting[2]!, waiting[3]!].map((p) => p.aadObjectId));
        assertInvariants(agg);
      });

      it('when an overdue offer is swept within 2 hours of the start, then it expires and nobody else is offered the place', function () {
        const { agg, confirmed, waiting } = fullEvent({ places: 1, waiting: 2 });
        apply(agg, cancel(confirmed[0]!), at(START, -5 * HOUR)); // offered until START − 2 h
        const applied = apply(agg, sweep, at(START, -90 * MINUTE));
        assert.equal(statusOf(agg, waiting[0]!), 'cancelled');
        assert.equal(offersIn(applied).length, 0);
        assert.deepEqual(queue(agg), [{ id: waiting[1]!.aadObjectId, position: 1 }]);
        assertInvariants(agg);
      });

      it('when the organiser adds 150 places with 200 waiting, then the edit offers as many as one commit holds and sweeps offer the rest, in waitlist order', function () {
        const { agg, waiting } = fullEvent({ places: 3, waiting: 200 });
        const edited = apply(agg, { kind: 'edit', by: 'org', changes: { places: 153 } });
        assert.equal(edited.outcomes[0]!.ok, true, edited.outcomes[0]!.message);
        assert.equal(edited.changed.size, MAX_ROWS, 'one commit changes at most MAX_ROWS sign-ups');
        assert.equal(edited.more, true, 'and says there is more to do');
        const offered = offersIn(edited).map((o) => o.id);
        const swept = apply(agg, sweep);
        assert.equal(swept.more, false, 'one sweep finishes the job');
        offered.push(...offersIn(swept).map((o) => o.id));
        assert.deepEqual(offered, waiting.slice(0, 150).map((p) => p.aadObjectId), 'the first 150 waiting are offered, in order, once each');
        assertInvariants(agg);
      });

      it('when more offers are overdue than one commit holds, then each sweep stays within it and the next carries on until every place has gone to the next person waiting', function () {
        const { agg, waiting } = fullEvent({ places: 3, waiting: 400 });
        apply(agg, { kind: 'edit', by: 'org', changes: { places: 153 } });
        while (apply(agg, sweep).more);
        const later = at(NOW, 25 * HOUR);
        const expired: string[] = [];
        const offered: string[] = [];
        for (let round = 0; round < 10; round += 1) {
          const applied = apply(agg, sweep, later);
          assert.ok(applied.changed.size <= MAX_ROWS, `round ${round + 1} changes ${applied.changed.size} sign-ups`);
          expired.push(...noticesOf(applied, 'offerExpired').map((n) => n.aadObjectId));
          offered.push(...offersIn(applied).map((o) => o.id));
          if (!applied.more) break;
        }
        assert.deepEqual(expired.sort(), waiting.slice(0, 150).map((p) => p.aadObjectId).sort(), 'every overdue offer expired once');
        assert.deepEqual(offered, waiting.slice(150, 300).map((p) => p.aadObjectId), 'and the places went to the next 150 waiting, in order');
        assertInvariants(agg);
      });

      it('when nothing is overdue, then sweep changes nothing and tells nobody', function () {
        const { agg, confirmed } = fullEvent({ places: 2, waiting: 2 });
        apply(agg, cancel(confirmed[0]!));
        const applied = apply(agg, sweep, at(NOW, 24 * HOUR - 1));
        assert.equal(applied.notices.length, 0);
        assert.equal(applied.changed.size, 0);
      });
    });

  });

  describe('closing', function () {
    const refused: { title: string; now: Date; event?: Partial<TeachMeet>; expect: string }[] = [
      { title: 'at the deadline exactly', now: DEADLINE, expect: 'Sign-ups for Retrieval practice TeachMeet closed on Wed 2 Dec, 17:00.' },
      { title: 'a minute after the deadline', now: at(DEADLINE, MINUTE), expect: 'Sign-ups for Retrieval practice TeachMeet closed on Wed 2 Dec, 17:00.' },
      { title: 'after the start (deadline set after the start)', now: at(START, MINUTE), event: { deadline: at(START, HOUR) }, expect: 'Sign-ups for Retrieval practice TeachMeet closed on Fri 4 Dec, 17:00.' },
      { title: 'on a cancelled event', now: NOW, event: { status: 'cancelled' }, expect: 'Retrieval practice TeachMeet has been cancelled.' },
    ];
    for (const r of refused) {
      for (const kind of ['attend', 'present'] as const) {
        it(`when someone asks to ${kind} ${r.title}, then they are refused and nothing changes`, function () {
          const agg = aggregate(meet(r.event));
          const p = person(1);
          const applied = apply(agg, kind === 'attend' ? attend(p) : present(p, talk(5)), r.now);
          assert.deepEqual(applied.outcomes, [{ ok: false, message: r.expect }]);
          assert.equal(agg.signUps.size, 0);
          assert.equal(applied.notices.length, 0);
        });
      }
    }

    it('when someone asks to attend a minute before the deadline, then they get a place', function () {
      const agg = aggregate();
      const applied = apply(agg, attend(person(1)), at(DEADLINE, -MINUTE));
      assert.equal(applied.outcomes[0]!.ok, true);
      assert.equal(statusOf(agg, person(1)), 'confirmed');
    });

    it('when an attendee cancels after the deadline but before the start, then it is allowed and the first person waiting is offered the place', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 1 });
      const when = at(DEADLINE, HOUR);
      const applied = apply(agg, cancel(confirmed[0]!), when);
      assert.equal(applied.outcomes[0]!.ok, true);
      assert.deepEqual(offersIn(applied), [{ id: waiting[0]!.aadObjectId, expiresAt: at(when, 24 * HOUR).getTime() }]);
    });

    it('when the person offered a place accepts after the deadline, then the offer still stands', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 1 });
      apply(agg, cancel(confirmed[0]!), at(DEADLINE, -HOUR));
      const applied = apply(agg, accept(waiting[0]!), at(DEADLINE, HOUR));
      assert.equal(applied.outcomes[0]!.ok, true);
      assert.equal(statusOf(agg, waiting[0]!), 'confirmed');
    });

    const started = [
      { title: 'at the start', now: START },
      { title: 'after the start', now: at(START, 30 * MINUTE) },
    ];
    for (const s of started) {
      it(`when an attendee cancels ${s.title}, then they are told it has started and keep their place`, function () {
        const { agg, confirmed } = fullEvent({ places: 1, waiting: 1 });
        const applied = apply(agg, cancel(confirmed[0]!), s.now);
        assert.deepEqual(applied.outcomes, [{ ok: false, message: 'Retrieval practice TeachMeet has already started.' }]);
        assert.equal(statusOf(agg, confirmed[0]!), 'confirmed');
        assert.equal(applied.changed.size, 0);
      });
    }

    describe('statusLabel', function () {
      const cases: { title: string; now: Date; event?: Partial<TeachMeet>; expect: 'Open' | 'Closed' | 'Cancelled' }[] = [
        { title: 'before the deadline', now: NOW, expect: 'Open' },
        { title: '1 ms before the deadline', now: at(DEADLINE, -1), expect: 'Open' },
        { title: 'at the deadline', now: DEADLINE, expect: 'Closed' },
        { title: 'after the start', now: at(START, HOUR), expect: 'Closed' },
        { title: 'after the start when the deadline is later', now: at(START, 1), event: { deadline: at(START, HOUR) }, expect: 'Closed' },
        { title: 'cancelled, before the deadline', now: NOW, event: { status: 'cancelled' }, expect: 'Cancelled' },
        { title: 'cancelled, after the start', now: at(START, HOUR), event: { status: 'cancelled' }, expect: 'Cancelled' },
      ];
      for (const c of cases) {
        it(`when the event is ${c.title}, then it is labelled ${c.expect}`, function () {
          assert.equal(statusLabel(meet(c.event), c.now), c.expect);
        });
      }
    });
  });

  describe('editing the event', function () {
    /** 2 confirmed attendees, 1 offered, 1 waiting, 1 cancelled; presenters on 2 and 7 minutes. */
    function busy(): { agg: Aggregate; attendees: PersonRef[]; offered: PersonRef; waiting: PersonRef; gone: PersonRef; presenters: PersonRef[] } {
      const agg = aggregate(meet({ places: 3, slots: { 2: 2, 5: 1, 7: 1 } }));
      const [a1, a2, a3, offered, waiting] = people(5);
      const presenters = [person(30), person(31)];
      apply(agg, [attend(a1!), attend(a2!), attend(a3!), attend(offered!), attend(waiting!), present(presenters[0]!, talk(2)), present(presenters[1]!, talk(7))], at(NOW, -HOUR));
      apply(agg, cancel(a3!), at(NOW, -HOUR));
      assert.equal(statusOf(agg, offered!), 'offered');
      return { agg, attendees: [a1!, a2!], offered: offered!, waiting: waiting!, gone: a3!, presenters };
    }
    const edit = (changes: EventChanges): Intent => ({ kind: 'edit', by: 'org', changes });

    const places: { places: number; expectOk: boolean }[] = [
      { places: 2, expectOk: false },
      { places: 0, expectOk: false },
      { places: 3, expectOk: true },
    ];
    for (const p of places) {
      it(`when the organiser sets places to ${p.places} with 2 confirmed and 1 offered, then it is ${p.expectOk ? 'accepted' : 'refused'}`, function () {
        const { agg } = busy();
        const applied = apply(agg, edit({ places: p.places }));
        assert.equal(applied.outcomes[0]!.ok, p.expectOk);
        assert.equal(agg.event.places, p.expectOk ? p.places : 3);
        if (!p.expectOk) {
          assert.equal(applied.outcomes[0]!.message, "3 people already have or are offered places, so places can't go below that.");
          assert.equal(applied.notices.length, 0);
          assert.equal(applied.eventChanged, false);
        }
      });
    }

    it('when the organiser sets places to 0 with one person attending, then the refusal speaks of one person in the singular', function () {
      const agg = aggregate();
      apply(agg, attend(person(1)));
      const applied = apply(agg, edit({ places: 0 }));
      assert.deepEqual(applied.outcomes, [{ ok: false, message: "1 person already has or is offered a place, so places can't go below that." }]);
    });

    it('when the organiser adds places, then the people waiting are offered them', function () {
      const { agg, waiting } = busy();
      const applied = apply(agg, edit({ places: 5 }));
      assert.equal(applied.outcomes[0]!.ok, true);
      assert.deepEqual(offersIn(applied), [{ id: waiting.aadObjectId, expiresAt: at(NOW, 24 * HOUR).getTime() }]);
      assertInvariants(agg);
    });

    const slots: { slots: Record<SlotLength, number>; expectOk: boolean; message?: string }[] = [
      { slots: { 2: 1, 5: 0, 7: 1 }, expectOk: true },
      { slots: { 2: 0, 5: 1, 7: 1 }, expectOk: false, message: '1 person already has a 2-minute slot, so there must be at least that many.' },
      { slots: { 2: 2, 5: 1, 7: 0 }, expectOk: false, message: '1 person already has a 7-minute slot, so there must be at least that many.' },
      { slots: { 2: 4, 5: 4, 7: 4 }, expectOk: true },
    ];
    for (const s of slots) {
      it(`when the organiser sets slots to ${JSON.stringify(s.slots)} with one 2-minute and one 7-minute presenter, then it is ${s.expectOk ? 'accepted' : 'refused'}`, function () {
        const { agg } = busy();
        const applied = apply(agg, edit({ slots: s.slots }));
        assert.equal(applied.outcomes[0]!.ok, s.expectOk);
        if (s.expectOk) assert.deepEqual(agg.event.slots, s.slots);
        else {
          assert.equal(applied.outcomes[0]!.message, s.message);
          assert.deepEqual(agg.event.slots, { 2: 2, 5: 1, 7: 1 });
        }
      });
    }

    it('when the organiser edits more than one thing, then everyone not cancelled is told what changed and the cancelled are not', function () {
      const { agg, attendees, offered, waiting, gone, presenters } = busy();
      const applied = apply(agg, edit({ venue: 'Main hall', places: 4 }));
      const what = ['venue: Main hall', '4 attendee places'];
      assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Retrieval practice TeachMeet is updated: venue: Main hall; 4 attendee places.' }]);
      assert.equal(applied.eventChanged, true);
      const told = noticesOf(applied, 'changed');
      assert.deepEqual(told.map((n) => n.aadObjectId).sort(), [...attendees, offered, waiting, ...presenters].map((p) => p.aadObjectId).sort());
      for (const n of told) assert.deepEqual(n.kind === 'changed' && n.what, what);
      assert.ok(!told.some((n) => n.aadObjectId === gone.aadObjectId));
    });

    it('when the organiser saves without a difference, then nothing changes and nobody is told', function () {
      const { agg } = busy();
      const applied = apply(agg, edit({ venue: 'Library', places: 3, startsAt: new Date(START.getTime()) }));
      assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Nothing was different, so nothing changed.' }]);
      assert.equal(applied.notices.length, 0);
      assert.equal(applied.eventChanged, false);
    });

    it('when the organiser edits a cancelled event, then it is refused', function () {
      const agg = aggregate(meet({ status: 'cancelled' }));
      const applied = apply(agg, edit({ venue: 'Main hall' }));
      assert.deepEqual(applied.outcomes, [{ ok: false, message: "Retrieval practice TeachMeet has been cancelled, so it can't be changed." }]);
      assert.equal(agg.event.venue, 'Library');
    });

    it('when the organiser moves the start earlier, then no outstanding offer runs later than 2 hours before the new start', function () {
      const { agg, offered } = busy(); // offered at NOW − 1 h until NOW + 23 h
      const newStart = at(NOW, 12 * HOUR);
      const applied = apply(agg, edit({ startsAt: newStart, endsAt: at(newStart, HOUR), deadline: at(newStart, -6 * HOUR) }));
      assert.equal(applied.outcomes[0]!.ok, true);
      const expiry = signUp(agg, offered).offerExpiresAt;
      assert.ok(expiry && expiry.getTime() <= newStart.getTime() - 2 * HOUR, `offer runs until ${expiry?.toISOString()}, after ${at(newStart, -2 * HOUR).toISOString()}`);
      assert.deepEqual(offersIn(applied), [{ id: offered.aadObjectId, expiresAt: newStart.getTime() - 2 * HOUR }], 'the person is sent the new expiry');
      assertInvariants(agg);
    });

    it('when the organiser moves the start to within 2 hours, then outstanding offers end and nobody new is offered', function () {
      const { agg, offered, waiting } = busy();
      const newStart = at(NOW, HOUR);
      const applied = apply(agg, edit({ startsAt: newStart, endsAt: at(newStart, HOUR), deadline: at(NOW, -MINUTE) }));
      assert.equal(applied.outcomes[0]!.ok, true);
      assert.equal(statusOf(agg, offered), 'cancelled');
      assert.deepEqual(noticesOf(applied, 'offerExpired'), [{ kind: 'offerExpired', aadObjectId: offered.aadObjectId }]);
      assert.equal(offersIn(applied).length, 0);
      assert.equal(statusOf(agg, waiting), 'waiting');
      assertInvariants(agg);
    });

    it('when the organiser moves the start later, then outstanding offers keep their expiry', function () {
      const { agg, offered } = busy();
      const before = signUp(agg, offered).offerExpiresAt;
      const applied = apply(agg, edit({ startsAt: at(START, 24 * HOUR), endsAt: at(START, 25 * HOUR) }));
      assert.deepEqual(signUp(agg, offered).offerExpiresAt, before);
      assert.equal(offersIn(applied).length, 0);
    });

    describe('describeChanges', function () {
      const event = meet();
      const cases: { title: string; changes: EventChanges; expect: string[]; now?: Date }[] = [
        { title: 'nothing is different', changes: { title: event.title, venue: event.venue, places: event.places, slots: { ...event.slots } }, expect: [] },
        { title: 'the title changes', changes: { title: 'Feedback that works' }, expect: ["now called 'Feedback that works'"] },
        { title: 'the start moves an hour later', changes: { startsAt: at(START, HOUR), endsAt: at(START, 150 * MINUTE) }, expect: ['now Fri 4 Dec, 17:00 to 18:30'] },
        { title: 'only the end changes', changes: { endsAt: at(START, 2 * HOUR) }, expect: ['now Fri 4 Dec, 16:00 to 18:00'] },
        { title: 'it moves into next year', changes: { startsAt: new Date('2027-01-08T16:00:00Z'), endsAt: new Date('2027-01-08T17:30:00Z') }, expect: ['now Fri 8 Jan 2027, 16:00 to 17:30'] },
        { title: 'it moves into British Summer Time', changes: { startsAt: new Date('2027-06-04T15:00:00Z'), endsAt: new Date('2027-06-04T16:00:00Z') }, now: new Date('2027-05-01T09:00:00Z'), expect: ['now Fri 4 Jun, 16:00 to 17:00'] },
        { title: 'it goes online', changes: { host: { kind: 'online' } }, expect: ['now online'] },
        { title: 'another school hosts', changes: { host: { kind: 'school', schoolId: 'elm', schoolName: 'Elm Park School' } }, expect: ['now hosted by Elm Park School'] },
        { title: 'the same host is given again', changes: { host: { kind: 'school', schoolId: 'oak', schoolName: 'Oakfield Academy' } }, expect: [] },
        { title: 'the venue changes', changes: { venue: 'Main hall' }, expect: ['venue: Main hall'] },
        { title: 'the venue is cleared', changes: { venue: '' }, expect: ['venue: none'] },
        { title: 'the link changes', changes: { link: 'https://teams.microsoft.com/l/meetup-join/x' }, expect: ['new meeting link'] },
        { title: 'places change', changes: { places: 40 }, expect: ['40 attendee places'] },
        { title: 'places become 1', changes: { places: 1 }, expect: ['1 attendee place'] },
        { title: 'slots change', changes: { slots: { 2: 3, 5: 2, 7: 1 } }, expect: ['presenter slots: 3 × 2 min, 2 × 5 min, 1 × 7 min'] },
        { title: 'the deadline changes', changes: { deadline: new Date('2026-12-03T12:00:00Z') }, expect: ['sign-ups close Thu 3 Dec, 12:00'] },
        { title: 'the theme changes', changes: { theme: 'Oracy' }, expect: ['theme: Oracy'] },
        { title: 'the theme is cleared', changes: { theme: '' }, expect: ['theme: none'] },
        {
          title: 'several things change',
          changes: { theme: 'Oracy', title: 'Talk for learning', places: 20, link: 'https://x', host: { kind: 'online' } },
          expect: ["now called 'Talk for learning'", 'now online', 'new meeting link', '20 attendee places', 'theme: Oracy'],
        },
      ];
      for (const c of cases) {
        it(`when ${c.title}, then it lists ${c.expect.length === 0 ? 'nothing' : JSON.stringify(c.expect)}`, function () {
          assert.deepEqual(describeChanges(event, c.changes, c.now ?? NOW), c.expect);
        });
      }

      it('when any change is described, then it uses British spelling and no American forms', function () {
        const all = cases.flatMap((c) => describeChanges(event, c.changes, c.now ?? NOW)).join(' ');
        assert.doesNotMatch(all, /\b(canceled|organize|organization|program\b|color|center)\b/i);
        assert.doesNotMatch(all, /\d+\/\d+\/\d+/, 'no numeric dates');
        assert.doesNotMatch(all, /\b(AM|PM)\b/i, '24-hour clock');
      });
    });
  });

  describe('cancelling the event', function () {
    it('when the organiser cancels the event, then everyone signed up or waiting is told and those who cancelled are not', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 3 });
      const pia = person(40);
      apply(agg, [present(pia, talk(5)), cancel(confirmed[0]!), cancel(waiting[2]!)]); // waiting[0] is offered
      assert.equal(statusOf(agg, waiting[0]!), 'offered');
      const applied = apply(agg, { kind: 'cancelEvent', by: 'org', reason: 'The hall is flooded' });

      assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Retrieval practice TeachMeet is cancelled. Everyone signed up or waiting will be told.' }]);
      assert.equal(agg.event.status, 'cancelled');
      assert.equal(applied.eventChanged, true);
      const told = applied.notices.map((n) => (n.kind === 'eventCancelled' ? n.aadObjectId : `unexpected ${n.kind}`)).sort();
      assert.deepEqual(told, [confirmed[1]!, waiting[0]!, waiting[1]!, pia].map((p) => p.aadObjectId).sort());
      assert.equal(statusLabel(agg.event, NOW), 'Cancelled');
    });

    it('when the organiser cancels an event twice, then the second time tells nobody', function () {
      const { agg } = fullEvent({ places: 1, waiting: 1 });
      apply(agg, { kind: 'cancelEvent', by: 'org', reason: 'The hall is flooded' });
      const again = apply(agg, { kind: 'cancelEvent', by: 'org', reason: 'The hall is flooded' });
      assert.deepEqual(again.outcomes, [{ ok: true, message: 'Retrieval practice TeachMeet was already cancelled.' }]);
      assert.equal(again.notices.length, 0);
    });

    it('when the event is cancelled, then an outstanding offer cannot be accepted and freed places are offered to nobody', function () {
      const { agg, confirmed, waiting } = fullEvent({ places: 2, waiting: 2 });
      apply(agg, cancel(confirmed[0]!));
      apply(agg, { kind: 'cancelEvent', by: 'org', reason: 'The hall is flooded' });
      const accepted = apply(agg, accept(waiting[0]!));
      assert.deepEqual(accepted.outcomes, [{ ok: false, message: 'Retrieval practice TeachMeet has been cancelled.' }]);
      const freed = apply(agg, cancel(confirmed[1]!));
      assert.equal(freed.outcomes[0]!.ok, true, 'people may still drop out');
      assert.equal(offersIn(freed).length, 0);
    });
  });

  describe('running order', function () {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `presenter-${i + 1}`);
    const edges: readonly number[][] = [[], [0], [0.999999], [0.5], [0, 0.999999], [0.999999, 0], [1e-12, 0.999999999999], [0.25, 0.5, 0.75]];

    it('when the running order is drawn for 0 to 12 presenters with edge and seeded random inputs, then it has every presenter exactly once', function () {
      for (let n = 0; n <= 12; n += 1) {
        const presenters = names(n);
        const inputs: readonly number[][] = [
          ...edges,
          ...edges.map((e) => Array.from({ length: n }, (_, i) => e[i % Math.max(1, e.length)] ?? 0)),
          ...Array.from({ length: 200 }, (_, seed) => {
            const rnd = seeded(seed + n * 1000);
            return Array.from({ length: seed % (n + 2) }, rnd); // shorter, equal and longer than needed
          }),
        ];
        for (const random of inputs) {
          const order = drawRunningOrder(presenters, random);
          assert.equal(order.length, n, `length for ${n} presenters and ${JSON.stringify(random)}`);
          assert.deepEqual([...order].sort(), [...presenters].sort(), `every presenter once for ${JSON.stringify(random)}`);
        }
      }
    });

    it('when the running order is drawn, then the presenters list passed in is left as it was', function () {
      const presenters = Object.freeze(names(5));
      drawRunningOrder(presenters, [0.3, 0.7]);
      assert.deepEqual(presenters, names(5));
    });

    it('when different random inputs are given, then different orders come out and every order of 4 presenters can be drawn', function () {
      const presenters = names(5);
      assert.notDeepEqual(drawRunningOrder(presenters, [0, 0, 0, 0]), drawRunningOrder(presenters, [0.999999, 0.999999, 0.999999, 0.999999]));
      assert.notDeepEqual(drawRunningOrder(presenters, [0.1, 0.2, 0.3, 0.4]), drawRunningOrder(presenters, [0.4, 0.3, 0.2, 0.1]));
      const seen = new Set<string>();
      for (let seed = 0; seed < 500; seed += 1) {
        const rnd = seeded(seed);
        seen.add(drawRunningOrder(names(4), [rnd(), rnd(), rnd()]).join(','));
      }
      assert.equal(seen.size, 24, 'all 4! orders appear');
    });

    it('when the same random input is given twice, then the same order comes out (the rule is pure)', function () {
      const random = [0.42, 0.17, 0.93, 0.5];
      assert.deepEqual(drawRunningOrder(names(5), random), drawRunningOrder(names(5), random));
    });

    it('when the organiser draws the order, then it includes every confirmed presenter exactly once and nobody else', function () {
      const agg = aggregate(meet({ places: 4, slots: { 2: 3, 5: 3, 7: 3 } }));
      const presenters = people(6, 10);
      apply(agg, [...presenters.map((p, i) => present(p, talk(([2, 5, 7] as const)[i % 3]!))), attend(person(1)), attend(person(2)), attend(person(3))]);
      apply(agg, [cancel(presenters[2]!), attend(presenters[4]!)]); // one drops out, one becomes an attendee
      assert.equal(signUp(agg, presenters[4]!).role, 'attendee');
      for (let seed = 0; seed < 50; seed += 1) {
        const rnd = seeded(seed);
        const applied = apply(agg, { kind: 'drawOrder', by: 'org', random: Array.from({ length: 8 }, rnd) });
        assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Running order drawn for 4 presenters.' }]);
        assert.equal(applied.eventChanged, true);
        assert.deepEqual([...agg.event.runningOrder].sort(), [0, 1, 3, 5].map((i) => presenters[i]!.aadObjectId).sort());
      }
    });

    it('when there is one presenter, then the message is singular', function () {
      const agg = aggregate();
      apply(agg, present(person(1), talk(2)));
      const applied = apply(agg, { kind: 'drawOrder', by: 'org', random: [0.5] });
      assert.deepEqual(applied.outcomes, [{ ok: true, message: 'Running order drawn for 1 presenter.' }]);
      assert.deepEqual(agg.event.runningOrder, [person(1).aadObjectId]);
    });

    it('when nobody is presenting, then no order is drawn', function () {
      const agg = aggregate();
      apply(agg, attend(person(1)));
      const applied = apply(agg, { kind: 'drawOrder', by: 'org', random: [0.5] });
      assert.deepEqual(applied.outcomes, [{ ok: false, message: 'Nobody is presenting yet, so there is no running order to draw.' }]);
      assert.deepEqual(agg.event.runningOrder, []);
      assert.equal(applied.eventChanged, false);
    });

    it('when presenters signed up in a different order, then the same random input gives the same running order', function () {
      const forwards = aggregate(meet({ slots: { 2: 5, 5: 0, 7: 0 } }));
      const backwards = aggregate(meet({ slots: { 2: 5, 5: 0, 7: 0 } }));
      const five = people(5);
      apply(forwards, five.map((p) => present(p, talk(2))));
      apply(backwards, [...five].reverse().map((p) => present(p, talk(2))));
      const random = [0.9, 0.1, 0.6, 0.3];
      apply(forwards, { kind: 'drawOrder', by: 'org', random });
      apply(backwards, { kind: 'drawOrder', by: 'org', random });
      assert.deepEqual(forwards.event.runningOrder, backwards.event.runningOrder);
    });
  });

  describe('presenters who sign up after the draw', function () {
    const p = people(5);
    const draw: Intent = { kind: 'drawOrder', by: 'org', random: [0.3, 0.6, 0.9] };
    const drawnAt = at(NOW, HOUR);
    interface Row {
      readonly when: string;
      readonly before: readonly Intent[];
      readonly after: readonly Intent[];
      readonly now?: Date;
      /** The order after, as indexes into p: the drawn ones first in any order (a set), then the late ones in order. */
      readonly drawn: readonly number[];
      readonly late: readonly number[];
      /** What the last intent's person is told, if anything particular. */
      readonly told?: RegExp;
      readonly eventChanged: boolean;
    }
    const rows: readonly Row[] = [
      { when: 'a presenter signs up after the draw', before: [present(p[0]!, talk(5)), present(p[1]!, talk(2))], after: [present(p[2]!, talk(7))], drawn: [0, 1], late: [2], told: /already drawn, so you're at the end of it: number 3\.$/, eventChanged: true },
      { when: 'two presenters sign up after the draw, one after the other', before: [present(p[0]!, talk(5))], after: [present(p[1]!, talk(2)), present(p[2]!, talk(7))], drawn: [0], late: [1, 2], told: /number 3\.$/, eventChanged: true },
      { when: 'an attendee becomes a presenter after the draw', before: [present(p[0]!, talk(5)), attend(p[1]!)], after: [present(p[1]!, talk(2))], drawn: [0], late: [1], told: /number 2\.$/, eventChanged: true },
      { when: 'a presenter in the order changes their talk', before: [present(p[0]!, talk(5)), present(p[1]!, talk(2))], after: [present(p[0]!, talk(5, 'A new title'))], drawn: [0, 1], late: [], eventChanged: false },
      { when: 'a presenter in the order cancels', before: [present(p[0]!, talk(5)), present(p[1]!, talk(2))], after: [cancel(p[1]!)], drawn: [0], late: [], eventChanged: true },
      { when: 'a late presenter cancels', before: [present(p[0]!, talk(5))], after: [present(p[1]!, talk(2)), cancel(p[1]!)], drawn: [0], late: [], eventChanged: true },
      { when: 'someone only attends after the draw', before: [present(p[0]!, talk(5))], after: [attend(p[1]!)], drawn: [0], late: [], eventChanged: false },
    ];
    for (const row of rows) {
      it(`when ${row.when}, then the running order is ${row.drawn.length} drawn then [${row.late.join(', ')}] added late`, function () {
        const agg = aggregate();
        apply(agg, row.before);
        apply(agg, draw, drawnAt);
        const drawn = [...agg.event.runningOrder];
        const applied = apply(agg, row.after, row.now ?? at(drawnAt, HOUR));
        const ids = (xs: readonly number[]) => xs.map((i) => p[i]!.aadObjectId);
        assert.deepEqual(agg.event.runningOrder.slice(0, row.drawn.length), drawn.filter((id) => ids(row.drawn).includes(id)), 'the drawn presenters keep their order');
        assert.deepEqual(agg.event.runningOrder.slice(row.drawn.length), ids(row.late), 'late presenters follow, in the order they signed up');
        assert.deepEqual(agg.event.addedLate, ids(row.late));
        assert.equal(applied.eventChanged, row.eventChanged);
        if (row.told) assert.match(applied.outcomes.at(-1)!.message, row.told);
        else assert.doesNotMatch(applied.outcomes.at(-1)!.message, /running order/);
      });
    }

    it('when nothing has been drawn, then presenters who sign up are not put in an order', function () {
      const agg = aggregate();
      const applied = apply(agg, [present(p[0]!, talk(5)), present(p[1]!, talk(2))]);
      assert.deepEqual(agg.event.runningOrder, []);
      assert.deepEqual(agg.event.addedLate, []);
      assert.doesNotMatch(applied.outcomes.at(-1)!.message, /running order/);
    });

    it('when the order is drawn again, then nobody is marked as added late and everyone presenting is in it once', function () {
      const agg = aggregate();
      apply(agg, [present(p[0]!, talk(5)), draw, present(p[1]!, talk(2))]);
      assert.deepEqual(agg.event.addedLate, [p[1]!.aadObjectId]);
      apply(agg, draw);
      assert.deepEqual(agg.event.addedLate, []);
      assert.deepEqual([...agg.event.runningOrder].sort(), [p[0]!, p[1]!].map((x) => x.aadObjectId).sort());
    });

    it('when the TeachMeet has started or is cancelled, then the order is left as it was', function () {
      for (const [label, setUp, now] of [
        ['started', (agg: Aggregate) => void agg, at(START, MINUTE)],
        ['cancelled', (agg: Aggregate) => void apply(agg, { kind: 'cancelEvent', by: 'org', reason: 'Snow' }), NOW],
      ] as const) {
        const agg = aggregate();
        apply(agg, [present(p[0]!, talk(5)), present(p[1]!, talk(2)), draw]);
        setUp(agg);
        const drawn = [...agg.event.runningOrder];
        signUp(agg, p[1]!).status = 'cancelled'; // however it came about, the order is history now
        assert.deepEqual(keepRunningOrder(agg, now), { added: [], changed: false }, label);
        assert.deepEqual(agg.event.runningOrder, drawn, label);
      }
    });
  });

  describe('counts', function () {
    const cases: { title: string; build: (agg: Aggregate) => void; places?: number; expect: ReturnType<typeof counts> }[] = [
      {
        title: 'nobody has signed up',
        build: () => undefined,
        expect: { attending: 0, offered: 0, placesLeft: 3, waiting: 0, presenting: { 2: 0, 5: 0, 7: 0 }, slotsLeft: { 2: 1, 5: 1, 7: 1 } },
      },
      {
        title: 'two attend and one presents',
        build: (agg) => apply(agg, [attend(person(1)), attend(person(2)), present(person(3), talk(7))]),
        expect: { attending: 2, offered: 0, placesLeft: 1, waiting: 0, presenting: { 2: 0, 5: 0, 7: 1 }, slotsLeft: { 2: 1, 5: 1, 7: 0 } },
      },
      {
        title: 'the event is full with two waiting and one offered',
        build: (agg) => apply(agg, [...people(6).map(attend), cancel(person(2))]),
        expect: { attending: 2, offered: 1, placesLeft: 0, waiting: 2, presenting: { 2: 0, 5: 0, 7: 0 }, slotsLeft: { 2: 1, 5: 1, 7: 1 } },
      },
      {
        title: 'cancelled sign-ups are present',
        build: (agg) => apply(agg, [attend(person(1)), present(person(2), talk(2)), cancel(person(1)), cancel(person(2))]),
        expect: { attending: 0, offered: 0, placesLeft: 3, waiting: 0, presenting: { 2: 0, 5: 0, 7: 0 }, slotsLeft: { 2: 1, 5: 1, 7: 1 } },
      },
      {
        title: 'places were cut below those attending (stored data)',
        places: 1,
        build: (agg) => {
          apply(agg, [attend(person(1))]);
          agg.event.places = 0;
        },
        expect: { attending: 1, offered: 0, placesLeft: 0, waiting: 0, presenting: { 2: 0, 5: 0, 7: 0 }, slotsLeft: { 2: 1, 5: 1, 7: 1 } },
      },
    ];
    for (const c of cases) {
      it(`when ${c.title}, then counts are ${JSON.stringify({ attending: c.expect.attending, offered: c.expect.offered, placesLeft: c.expect.placesLeft, waiting: c.expect.waiting })}`, function () {
        const agg = aggregate(meet({ places: c.places ?? 3 }));
        c.build(agg);
        const got = counts(agg);
        assert.equal(got.attending, c.expect.attending);
        assert.equal(got.offered, c.expect.offered);
        assert.equal(got.placesLeft, c.expect.placesLeft);
        assert.equal(got.waiting, c.expect.waiting);
        assert.deepEqual(got.presenting, c.expect.presenting);
        assert.deepEqual({ 2: got.slotsLeft[2], 5: got.slotsLeft[5], 7: got.slotsLeft[7] }, { 2: c.expect.slotsLeft[2], 5: c.expect.slotsLeft[5], 7: c.expect.slotsLeft[7] });
      });
    }
  });
});

describe('teachmeets reminders: when the reminder the school day before starts being kept', function () {
  const cases: { title: string; startsAt: string; from: string }[] = [
    { title: 'Fri 4 Dec 2026, 16:00 (GMT)', startsAt: '2026-12-04T16:00:00Z', from: '2026-11-06T16:00:00.000Z' },
    { title: 'Mon 4 Jan 2027, the first day back after Christmas', startsAt: '2027-01-04T16:00:00Z', from: '2026-12-07T16:00:00.000Z' },
    { title: 'Thu 29 Feb 2024, a leap day', startsAt: '2024-02-29T09:30:00Z', from: '2024-02-01T09:30:00.000Z' },
    // 28 days of 24 hours: across the change to summer time it is 17:00 in London, an hour later on the clock.
    { title: 'Tue 30 Mar 2027, 16:00 BST, after the clocks go forward', startsAt: '2027-03-30T15:00:00Z', from: '2027-03-02T15:00:00.000Z' },
  ];
  for (const c of cases) {
    it(`when a TeachMeet starts ${c.title}, then reminders are kept from ${c.from}, and not a millisecond before`, function () {
      const event = { startsAt: new Date(c.startsAt) };
      assert.equal(REMINDER_LEAD_DAYS, 28);
      assert.equal(remindersFrom(event).toISOString(), c.from);
      assert.equal(remindersKept(event, new Date(c.from)), true);
      assert.equal(remindersKept(event, new Date(Date.parse(c.from) - 1)), false);
      assert.equal(remindersKept(event, new Date(c.startsAt)), true);
    });
  }

  it('when a TeachMeet is on the first day back after the Christmas holiday, then its school day before (before the holiday) is still ahead when reminders start being kept', function () {
    const policy = { ...DEFAULT_POLICY, holidays: [{ from: '2026-12-19', to: '2027-01-03', label: 'Christmas' }] };
    const startsAt = new Date('2027-01-04T16:00:00Z');
    const at = reminderTime({ dueAt: startsAt }, policy);
    assert.equal(at?.toISOString(), '2026-12-18T08:00:00.000Z', 'Fri 18 Dec, the last school day before');
    assert.ok(londonDate(remindersFrom({ startsAt })) < londonDate(at!), 'registered on an earlier day, so it is sent');
  });

  it('when a TeachMeet is on the first day of the autumn term, then its school day before (in July) has passed when reminders start being kept, so it gets none', function () {
    const policy = { ...DEFAULT_POLICY, holidays: [{ from: '2027-07-22', to: '2027-09-01', label: 'Summer' }] };
    const startsAt = new Date('2027-09-02T15:00:00Z');
    const at = reminderTime({ dueAt: startsAt }, policy);
    assert.equal(at?.toISOString(), '2027-07-21T07:00:00.000Z', 'Wed 21 Jul, 08:00 BST');
    assert.ok(remindersFrom({ startsAt }) > at!, 'the known edge: reminders are registered in August');
  });
});

describe('teachmeets reminders: what the reminder registry hears after a change', function () {
  /** Two weeks before the start: reminders are kept. NOW (a month before) they are not yet. */
  const SOON = at(START, -14 * 24 * HOUR);
  const cases: { name: string; now: Date; event?: Partial<TeachMeet>; before: Intent[]; change: Intent[]; register: string[]; cancel: string[] }[] = [
    { name: 'someone gets a place two weeks before: their reminder is registered', now: SOON, before: [], change: [attend(person(1))], register: ['p01'], cancel: [] },
    { name: 'someone gets a place a month before: nothing yet (the reminders timer registers everyone later)', now: NOW, before: [], change: [attend(person(1))], register: [], cancel: [] },
    { name: 'someone confirmed cancels two weeks before: their reminder is cancelled', now: SOON, before: [attend(person(1))], change: [cancel(person(1))], register: [], cancel: ['p01'] },
    { name: 'someone joins the waitlist: nothing (there is no reminder to cancel for them)', now: SOON, event: { places: 1 }, before: [attend(person(1))], change: [attend(person(2))], register: [], cancel: [] },
    {
      name: 'the organiser cancels the TeachMeet: everyone confirmed has their reminder cancelled, someone waiting has none to cancel',
      now: SOON,
      event: { places: 2 },
      before: [attend(person(1)), attend(person(2)), attend(person(3))],
      change: [{ kind: 'cancelEvent', by: 'org', reason: 'Snow' }],
      register: [],
      cancel: ['p01', 'p02'],
    },
    {
      name: 'the TeachMeet moves five weeks later: reminders registered for the old date are cancelled (the timer registers them again nearer the time)',
      now: SOON,
      before: [attend(person(1))],
      change: [{ kind: 'edit', by: 'org', changes: { startsAt: at(START, 35 * 24 * HOUR), endsAt: at(START, 35 * 24 * HOUR + 90 * MINUTE) } }],
      register: [],
      cancel: ['p01'],
    },
    {
      name: 'the TeachMeet moves an hour later two weeks before: everyone confirmed has their reminder registered again with the new time',
      now: SOON,
      before: [attend(person(1)), attend(person(2))],
      change: [{ kind: 'edit', by: 'org', changes: { startsAt: at(START, HOUR), endsAt: at(START, HOUR + 90 * MINUTE) } }],
      register: ['p01', 'p02'],
      cancel: [],
    },
  ];
  for (const c of cases) {
    it(`when ${c.name}`, function () {
      const agg = aggregate(meet(c.event));
      apply(agg, c.before, c.now);
      const before = structuredClone(agg);
      const applied = apply(agg, c.change, c.now);
      const got = reminderChanges(agg, applied, before, c.now);
      assert.deepEqual(got.register.map((s) => s.aadObjectId).sort(), c.register);
      assert.deepEqual(got.cancel.sort(), c.cancel.map((id) => `teachmeet:tm-1:reminder:${id}`));
    });
  }
});

describe('teachmeets rules: what a change tells people (its effects, committed with it)', function () {
  /** As the queue commits: the rules, then the event version moves on by one. */
  function commit(agg: Aggregate, intents: Intent | readonly Intent[], now: Date = NOW): Applied {
    const applied = apply(agg, intents, now);
    agg.event.version += 1;
    return applied;
  }
  const told = (applied: Applied) => applied.notices.filter((n) => n.kind !== 'waitlisted').map((n) => `${n.aadObjectId}:${n.kind}`).sort();

  const cases: { name: string; run: () => { applied: Applied; agg: Aggregate }; expected: string[]; rows?: number }[] = [
    {
      name: 'someone gets a place: they are told it is confirmed; someone who joins the waitlist is told nothing (the card they pressed shows it)',
      run: () => {
        const agg = aggregate(meet({ places: 1 }));
        const [ann, ben] = people(2);
        return { agg, applied: commit(agg, [attend(ann!), attend(ben!)]) };
      },
      expected: ['p01:confirmed'],
    },
    {
      name: 'someone gets a place and cancels it in the same commit: no confirmation',
      run: () => {
        const agg = aggregate(meet({ places: 2 }));
        const [ann] = people(1);
        return { agg, applied: commit(agg, [attend(ann!), cancel(ann!)]) };
      },
      expected: [],
    },
    {
      name: 'someone joins in the same batch as the cancellation, before it: they are told of the cancellation, not a confirmation; a click after it is refused',
      run: () => {
        const agg = aggregate(meet({ places: 2 }));
        const [ann, ben] = people(2);
        return { agg, applied: commit(agg, [attend(ann!), { kind: 'cancelEvent', by: 'org', reason: 'The hall is flooded' }, attend(ben!)], at(NOW, MINUTE)) };
      },
      expected: ['p01:eventCancelled'],
    },
    {
      name: 'someone joins in the same batch as a change, after it: they are not told of it; someone before it is',
      run: () => {
        const agg = aggregate(meet({ places: 3 }));
        const [ann, ben] = people(2);
        return { agg, applied: commit(agg, [attend(ann!), { kind: 'edit', by: 'org', changes: { venue: 'Main hall' } }, attend(ben!)], at(NOW, MINUTE)) };
      },
      expected: ['p01:changed', 'p01:confirmed', 'p02:confirmed'],
    },
    {
      name: 'an offer expires: the person is told the place has gone, and the next person waiting is offered it',
      run: () => {
        const { agg, confirmed, waiting } = fullEvent({ places: 1, waiting: 2 });
        commit(agg, cancel(confirmed[0]!), at(NOW, -HOUR));
        const expiry = signUp(agg, waiting[0]!).offerExpiresAt!;
        return { agg, applied: commit(agg, sweep, at(expiry, MINUTE)) };
      },
      expected: ['p02:offerExpired', 'p03:offer'],
    },
    {
      name: 'an offer expires and the person signs up again in the same batch: they are told of their new place only',
      run: () => {
        const { agg, confirmed, waiting } = fullEvent({ places: 1, waiting: 1 });
        commit(agg, cancel(confirmed[0]!), at(NOW, -HOUR));
        const expiry = signUp(agg, waiting[0]!).offerExpiresAt!;
        return { agg, applied: commit(agg, [sweep, attend(waiting[0]!)], at(expiry, MINUTE)) };
      },
      expected: ['p02:confirmed'],
    },
  ];
  for (const c of cases) {
    it(`when ${c.name}`, function () {
      const { applied } = c.run();
      assert.deepEqual(told(applied), [...c.expected].sort());
    });
  }

  it('when the event is cancelled with 150 people confirmed, then no sign-up row is rewritten (a transaction holds 100) and each of them is told of the cancellation', function () {
    const agg = aggregate(meet({ places: 150 }));
    const crowd = people(150);
    for (let i = 0; i < crowd.length; i += MAX_ROWS) commit(agg, crowd.slice(i, i + MAX_ROWS).map(attend));
    const cancelled = commit(agg, { kind: 'cancelEvent', by: 'org', reason: 'The hall is flooded' }, at(NOW, MINUTE));
    assert.equal(cancelled.changed.size, 0);
    assert.equal(cancelled.notices.length, 150);
    assert.ok(cancelled.notices.every((n) => n.kind === 'eventCancelled'));
  });

  it('when the organiser makes two changes in one batch, then each person signed up is told of each, in order', function () {
    const agg = aggregate(meet({ places: 2 }));
    const [ann] = people(1);
    commit(agg, attend(ann!));
    const applied = commit(agg, [{ kind: 'edit', by: 'org', changes: { venue: 'Main hall' } }, { kind: 'edit', by: 'org', changes: { theme: 'Oracy' } }], at(NOW, MINUTE));
    assert.deepEqual(applied.notices.map((n) => (n.kind === 'changed' ? n.what.join('; ') : n.kind)), ['venue: Main hall', 'theme: Oracy']);
  });
});

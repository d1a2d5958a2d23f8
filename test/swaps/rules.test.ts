import assert from 'node:assert/strict';
import { checkOfferForm, isTraineeName, OFFER_FIELDS, type OfferValues } from '../../src/swaps/form';
import { DEFAULT_MATCH_POLICY, type Match, type MatchPolicy, type Offer, type PersonRef, type SwapRecord } from '../../src/swaps/model';
import {
  accept,
  agree,
  cancel,
  checkAgree,
  decline,
  effectsOf,
  expiresAt,
  fit,
  formatDate,
  formatRange,
  formatSchoolDays,
  hold,
  hostsText,
  isDueToExpire,
  mayActFor,
  overlapOf,
  parseSubjects,
  registryChanges,
  pendingDecisions,
  proposal,
  rankCandidates,
  release,
  schoolDaysBetween,
  sendsText,
  subjectKey,
  whyUnmatched,
  withdraw,
  lapse,
  type MatchContext,
  type SwapStep,
} from '../../src/swaps/rules';

/*
 * The placement swap rules, pure: offers and matches built in memory, decided at a given `now`.
 * No I/O, no timers, no real clock.
 */

/** Thu 20 Nov 2025, 10:00 London. */
const NOW = new Date('2025-11-20T10:00:00Z');
const DAY = 86_400_000;
const ANN: PersonRef = { aadObjectId: 'ann', teamsId: '29:ann', name: 'Ann Hughes' };
const BEN: PersonRef = { aadObjectId: 'ben', teamsId: '29:ben', name: 'Ben Carter' };

let seq = 0;
/** An open offer: Oakfield sends secondary maths, hosts secondary maths, Mon 12 Jan – Fri 6 Feb 2026. */
type OfferOver = Partial<Omit<Offer, 'sends' | 'hosts'>> & { sends?: Partial<Offer['sends']>; hosts?: Partial<Offer['hosts']> };
function offer(over: OfferOver = {}): Offer {
  seq += 1;
  const { sends, hosts, ...rest } = over;
  return {
    id: `so${String(seq).padStart(4, '0')}`,
    schoolId: 'oak',
    schoolName: 'Oakfield Academy',
    from: '2026-01-12',
    to: '2026-02-06',
    confirmBy: '2026-01-09',
    notes: '',
    status: 'open',
    matchId: '',
    createdAt: new Date(NOW.getTime() - 10 * DAY),
    updatedAt: NOW,
    by: ANN,
    ...rest,
    sends: { phase: 'secondary', subject: 'maths', count: 1, trainee: '', ...sends },
    hosts: { phase: 'secondary', subjects: ['maths'], ...hosts },
  };
}

const hill = (over: Parameters<typeof offer>[0] = {}) => offer({ schoolId: 'hill', schoolName: 'Hillside High', by: BEN, ...over });
const ctx = (over: Partial<MatchContext> = {}): MatchContext => ({ now: NOW, policy: DEFAULT_MATCH_POLICY, history: [], paired: new Set(), ...over });

describe('swaps: rules', function () {
  describe('school days and overlaps', function () {
    const cases: [string, string, string, number][] = [
      ['a Monday to the Friday four weeks on', '2026-01-12', '2026-02-06', 20],
      ['one working week', '2026-01-12', '2026-01-16', 5],
      ['a weekend only', '2026-01-17', '2026-01-18', 0],
      ['reversed dates', '2026-02-06', '2026-01-12', 0],
      ['not a date', '2026-02-30', '2026-03-06', 0],
    ];
    for (const [what, from, to, days] of cases) {
      it(`when the range is ${what}, then it has ${days} school days`, function () {
        assert.equal(schoolDaysBetween(from, to), days);
      });
    }

    it('when two ranges overlap over a weekend edge, then the overlap is trimmed to school days', function () {
      assert.deepEqual(overlapOf({ from: '2026-01-10', to: '2026-01-25' }, { from: '2026-01-03', to: '2026-02-01' }), { from: '2026-01-12', to: '2026-01-23', schoolDays: 10 });
      assert.equal(overlapOf({ from: '2026-01-12', to: '2026-01-16' }, { from: '2026-01-17', to: '2026-01-30' }), undefined);
      assert.equal(overlapOf({ from: '2026-01-17', to: '2026-01-18' }, { from: '2026-01-17', to: '2026-01-18' }), undefined, 'a shared weekend is no overlap');
    });

    it('when a confirm-by date is in summer or winter, then the offer expires at the end of that London day', function () {
      assert.equal(expiresAt('2026-01-09').toISOString(), '2026-01-10T00:00:00.000Z');
      assert.equal(expiresAt('2026-06-12').toISOString(), '2026-06-12T23:00:00.000Z');
    });

    const dates: { when: string; shown: () => string; reads: string }[] = [
      { when: 'a date is in this year', shown: () => formatDate('2025-12-08', NOW), reads: '8 Dec' },
      { when: 'a confirm-by date is in this year', shown: () => formatDate('2025-12-12', NOW, true), reads: 'Fri 12 Dec' },
      { when: 'a date is early next year', shown: () => formatDate('2026-01-12', NOW), reads: '12 Jan 2026' },
      { when: 'a confirm-by date is early next year', shown: () => formatDate('2026-01-09', NOW, true), reads: 'Fri 9 Jan 2026' },
      { when: 'a date is late next year', shown: () => formatDate('2026-11-02', NOW), reads: '2 Nov 2026' },
      { when: 'a date was last year', shown: () => formatDate('2025-01-02', new Date('2026-01-05T10:00:00Z')), reads: '2 Jan 2025' },
      { when: 'weeks are in this year', shown: () => formatRange('2025-12-01', '2025-12-12', NOW), reads: '1 Dec – 12 Dec' },
      { when: 'weeks are all next year', shown: () => formatRange('2026-01-12', '2026-02-06', NOW), reads: '12 Jan – 6 Feb 2026' },
      { when: 'weeks run into next year', shown: () => formatRange('2025-12-15', '2026-01-16', NOW), reads: '15 Dec 2025 – 16 Jan 2026' },
    ];
    for (const d of dates) {
      it(`when ${d.when}, then it reads "${d.reads}" (the year whenever it is not this year)`, function () {
        assert.equal(d.shown(), d.reads);
      });
    }
    it('when school days are counted, then they read in weeks and days', function () {
      assert.deepEqual([3, 5, 7, 15].map(formatSchoolDays), ['3 days', '1 school week', '1 school week and 2 days', '3 school weeks']);
    });
  });

  describe('subjects', function () {
    const same: [string, string][] = [
      ['Maths', 'maths'],
      ['MATHS', 'Mathematics'],
      ['  modern   foreign languages ', 'MFL'],
      ['Design & Technology', 'design and technology'],
      ['D&T', 'Design and technology'],
      ['P.E.', 'physical education'],
    ];
    for (const [a, b] of same) {
      it(`when subjects "${a}" and "${b}" are compared, then they are the same subject`, function () {
        assert.equal(subjectKey(a), subjectKey(b));
      });
    }
    it('when different subjects are compared, then they differ', function () {
      assert.notEqual(subjectKey('Physics'), subjectKey('Chemistry'));
      assert.notEqual(subjectKey('English'), subjectKey('English language and literature'));
    });
    const said: { when: string; over: OfferOver; sends: string; hosts: string }[] = [
      { when: 'the subject does not name the phase', over: { sends: { subject: 'Maths', trainee: 'Sam P.' }, hosts: { subjects: ['Maths', 'Physics'] } }, sends: '1 secondary Maths trainee (Sam P.)', hosts: 'secondary Maths, Physics' },
      { when: 'the subject already names the phase', over: { sends: { phase: 'primary', subject: 'General primary', count: 1, trainee: 'Amy B.' }, hosts: { phase: 'primary', subjects: ['General primary'] } }, sends: '1 General primary trainee (Amy B.)', hosts: 'General primary' },
      { when: 'only some hosted subjects name the phase', over: { hosts: { phase: 'primary', subjects: ['General primary', 'Music'] } }, sends: '1 secondary maths trainee', hosts: 'General primary, primary Music' },
      { when: 'the phase is post-16', over: { sends: { phase: 'post-16', subject: 'Post-16 physics', count: 2, trainee: '' } }, sends: '2 Post-16 physics trainees', hosts: 'secondary maths' },
    ];
    for (const c of said) {
      it(`when ${c.when}, then an offer reads "${c.sends}" and hosts "${c.hosts}"`, function () {
        const o = offer(c.over);
        assert.equal(sendsText(o), c.sends);
        assert.equal(hostsText(o), c.hosts);
      });
    }
    it('when a list of subjects is typed, then it is split on commas, semicolons and slashes without duplicates', function () {
      assert.deepEqual(parseSubjects('Maths, physics; chemistry / maths ,, '), ['Maths', 'physics', 'chemistry']);
    });
  });

  describe('reciprocal matching: which pairs fit', function () {
    const min3: MatchPolicy = { ...DEFAULT_MATCH_POLICY, minOverlapWeeks: 3 };
    const cases: { name: string; a: () => Offer; b: (a: Offer) => Offer; policy?: MatchPolicy; fits: boolean; why?: string }[] = [
      { name: 'two schools each hosting what the other sends, 4 weeks together', a: () => offer(), b: () => hill(), fits: true },
      { name: 'the same offer', a: () => offer(), b: (a) => a, fits: false, why: 'same offer' },
      { name: 'two offers from the same school (no self-match)', a: () => offer(), b: () => offer(), fits: false, why: 'same school' },
      { name: 'phases that differ (primary sent, secondary hosted)', a: () => offer(), b: () => hill({ sends: { phase: 'primary', subject: 'maths' } }), fits: false, why: 'you cannot host theirs' },
      { name: 'a host of the subject in another phase', a: () => offer(), b: () => hill({ hosts: { phase: 'post-16', subjects: ['maths'] } }), fits: false, why: 'they cannot host yours' },
      { name: 'subjects in other cases and spellings', a: () => offer({ sends: { subject: 'MATHS' }, hosts: { subjects: ['Physics', 'mathematics'] } }), b: () => hill({ sends: { subject: 'Physics' }, hosts: { subjects: ['Maths'] } }), fits: true },
      { name: 'a subject nobody hosts', a: () => offer({ sends: { subject: 'Music' } }), b: () => hill(), fits: false, why: 'they cannot host yours' },
      { name: 'exactly 2 school weeks in common', a: () => offer(), b: () => hill({ from: '2026-01-26', to: '2026-03-06' }), fits: true },
      { name: '9 school days in common', a: () => offer(), b: () => hill({ from: '2026-01-27', to: '2026-03-06' }), fits: false, why: 'weeks' },
      { name: 'no weeks in common', a: () => offer(), b: () => hill({ from: '2026-03-02', to: '2026-03-27' }), fits: false, why: 'weeks' },
      { name: '2 school weeks in common when the minimum is 3', a: () => offer(), b: () => hill({ from: '2026-01-26', to: '2026-03-06' }), policy: min3, fits: false, why: 'weeks' },
      { name: '3 school weeks in common when the minimum is 3', a: () => offer(), b: () => hill({ from: '2026-01-19', to: '2026-03-06' }), policy: min3, fits: true },
    ];
    for (const c of cases) {
      it(`when ${c.name}, then they ${c.fits ? 'fit' : `do not fit (${c.why})`}`, function () {
        const a = c.a();
        const b = c.b(a);
        const result = fit(a, b, c.policy ?? DEFAULT_MATCH_POLICY);
        assert.equal(result.ok, c.fits);
        if (!result.ok) assert.equal(result.why, c.why);
        if (c.fits) assert.equal(fit(b, a, c.policy ?? DEFAULT_MATCH_POLICY).ok, true, 'fitting is symmetric');
        assert.equal(rankCandidates(a, [b], ctx({ policy: c.policy ?? DEFAULT_MATCH_POLICY })).length, c.fits ? 1 : 0);
      });
    }

    const excluded: { name: string; b: () => Offer; context?: Partial<MatchContext> }[] = [
      { name: 'already in another proposal', b: () => hill({ status: 'proposed', matchId: 'smx' }) },
      { name: 'withdrawn', b: () => hill({ status: 'withdrawn' }) },
      { name: 'agreed elsewhere', b: () => hill({ status: 'agreed' }) },
      { name: 'past its confirm-by date though not yet marked expired', b: () => hill({ confirmBy: '2025-11-19' }) },
    ];
    for (const c of excluded) {
      it(`when the other offer is ${c.name}, then it is not a candidate`, function () {
        assert.deepEqual(rankCandidates(offer(), [c.b()], ctx(c.context)), []);
      });
    }
    it('when the pair was proposed before (and declined), then it is never a candidate again', function () {
      const b = hill();
      assert.deepEqual(rankCandidates(offer(), [b], ctx({ paired: new Set([b.id]) })), []);
    });
    it('when the offer itself is not open, then it has no candidates', function () {
      assert.deepEqual(rankCandidates(offer({ status: 'proposed' }), [hill()], ctx()), []);
    });
  });

  describe('reciprocal matching: ranking', function () {
    const school = (id: string, name: string, over: Parameters<typeof offer>[0] = {}) => offer({ schoolId: id, schoolName: name, ...over });
    const swapped = (school: string, daysAgo: number, cancelled = false): SwapRecord => ({ schoolIds: ['oak', school], agreedAt: new Date(NOW.getTime() - daysAgo * DAY), matchId: `m-${school}-${daysAgo}`, cancelled });
    const cases: { name: string; candidates: () => Offer[]; history?: SwapRecord[]; order: string[] }[] = [
      {
        name: 'overlaps differ',
        candidates: () => [school('s3w', '3 weeks', { from: '2026-01-19' }), school('s4w', '4 weeks'), school('s2w', '2 weeks', { from: '2026-01-26' })],
        order: ['s4w', 's3w', 's2w'],
      },
      {
        name: 'overlaps tie and one school swapped with us last term',
        candidates: () => [school('recent', 'Recent'), school('never', 'Never')],
        history: [swapped('recent', 100)],
        order: ['never', 'recent'],
      },
      {
        name: 'overlaps tie and both swapped recently',
        candidates: () => [school('newer', 'Newer'), school('older', 'Older')],
        history: [swapped('newer', 30), swapped('older', 200)],
        order: ['older', 'newer'],
      },
      {
        name: 'one swap was long ago and the other was cancelled',
        candidates: () => [school('long', 'Long ago', { createdAt: new Date(NOW.getTime() - 2 * DAY) }), school('cancelled', 'Cancelled', { createdAt: new Date(NOW.getTime() - 3 * DAY) })],
        history: [swapped('long', 800), swapped('cancelled', 10, true)],
        order: ['cancelled', 'long'],
      },
      {
        name: 'a longer overlap with a recent partner against a shorter one with a new partner',
        candidates: () => [school('recent', 'Recent'), school('new', 'New', { from: '2026-01-19' })],
        history: [swapped('recent', 10)],
        order: ['recent', 'new'],
      },
      {
        name: 'overlaps and history tie',
        candidates: () => [school('young', 'Young offer', { createdAt: new Date(NOW.getTime() - DAY) }), school('old', 'Old offer', { createdAt: new Date(NOW.getTime() - 5 * DAY) })],
        order: ['old', 'young'],
      },
    ];
    for (const c of cases) {
      it(`when ${c.name}, then the candidates rank ${c.order.join(', ')}`, function () {
        const ranked = rankCandidates(offer(), c.candidates(), ctx({ history: c.history ?? [] }));
        assert.deepEqual(ranked.map((r) => r.offer.schoolId), c.order);
      });
    }

    it('when everything ties, then the offer id decides, whatever order the offers come in', function () {
      const createdAt = new Date(NOW.getTime() - DAY);
      const tied = ['soc', 'soa', 'sob'].map((id, i) => ({ ...offer({ schoolId: `s${i}`, schoolName: `School ${i}`, createdAt }), id }));
      const orders = [tied, [...tied].reverse(), [tied[1]!, tied[2]!, tied[0]!]];
      for (const input of orders) assert.deepEqual(rankCandidates(offer(), input, ctx()).map((r) => r.offer.id), ['soa', 'sob', 'soc']);
    });
  });

  describe('unmatched is told why', function () {
    const cases: { name: string; others: () => Offer[]; paired?: (others: Offer[]) => string[]; expected: RegExp }[] = [
      { name: 'there are no other offers', others: () => [], expected: /^No school offers to host secondary maths in weeks 12 Jan – 6 Feb 2026\.$/ },
      { name: 'only our own school offers', others: () => [offer()], expected: /^No school offers to host secondary maths in weeks 12 Jan – 6 Feb 2026\.$/ },
      { name: 'the only host is in another phase', others: () => [hill({ hosts: { phase: 'primary', subjects: ['maths'] } })], expected: /^No school offers to host secondary maths in weeks 12 Jan – 6 Feb 2026\.$/ },
      {
        name: 'a school hosts it, in other weeks',
        others: () => [hill({ from: '2026-03-02', to: '2026-03-27' })],
        expected: /^No school offers to host secondary maths in weeks 12 Jan – 6 Feb 2026\. Hillside High \(2 Mar – 27 Mar 2026\) can host secondary maths, but not for 2 school weeks of yours\.$/,
      },
      {
        name: 'a school hosts it in our weeks, but sends what we cannot host',
        others: () => [hill({ sends: { phase: 'primary', subject: 'General' } })],
        expected: /^Hillside High can host secondary maths in your weeks, but it wants to send primary General, and you host secondary maths\.$/,
      },
      { name: 'the only fitting offer was proposed to us before', others: () => [hill()], paired: (o) => [o[0]!.id], expected: /^The only offer that fits yours \(from Hillside High\) was proposed to you before, so I won't propose it again\.$/ },
      { name: 'the only fitting offer is in another proposal', others: () => [hill({ status: 'proposed', matchId: 'smx' })], expected: /^Hillside High has an offer that fits, but it is waiting on another proposal\.$/ },
    ];
    for (const c of cases) {
      it(`when ${c.name}, then the rep reads why in plain words`, function () {
        const others = c.others();
        assert.match(whyUnmatched(offer(), others, ctx({ paired: new Set(c.paired?.(others) ?? []) })), c.expected);
      });
    }
    it('when there is a candidate, then there is nothing to explain', function () {
      assert.equal(whyUnmatched(offer(), [hill()], ctx()), '');
    });
  });

  describe('proposals, answers and their ends', function () {
    function proposed(): { match: Match; a: Offer; b: Offer } {
      const a = offer();
      const b = hill({ confirmBy: '2026-01-05' });
      const overlap = overlapOf(a, b)!;
      const match = proposal('sm1', a, b, overlap, NOW);
      hold(match, a, b, NOW);
      return { match, a, b };
    }

    it('when a pair is proposed, then side 0 is the smaller offer id, both offers are held, and answers are due when the earlier offer expires', function () {
      const { match, a, b } = proposed();
      assert.deepEqual(match.offerIds, [a.id, b.id]);
      assert.equal(match.answerBy.toISOString(), expiresAt('2026-01-05').toISOString());
      assert.deepEqual([a.status, b.status, a.matchId, b.matchId], ['proposed', 'proposed', 'sm1', 'sm1']);
    });

    it('when one school accepts, twice, then its yes is recorded once; when the other accepts, the swap can be agreed', function () {
      const { match } = proposed();
      const first = accept(match, 0, ANN, NOW);
      assert.equal(first.kind, 'recorded');
      const again = accept((first as { match: Match }).match, 0, ANN, NOW);
      assert.equal(again.kind, 'unchanged');
      assert.match((again as { message: string }).message, /already accepted \(Ann Hughes\)\. Waiting for Hillside High/);
      const both = accept((first as { match: Match }).match, 1, BEN, NOW);
      assert.equal(both.kind, 'agree');
      assert.equal(match.answers[0], undefined, 'the rules change a copy, not the match they were given');
    });

    it('when both accept and both offers are held, then the swap is agreed and a history record is made', function () {
      const { match, a, b } = proposed();
      assert.deepEqual(checkAgree(match, [a, b], NOW), { ok: true });
      const record = agree(match, a, b, NOW);
      assert.deepEqual([match.status, a.status, b.status], ['agreed', 'agreed', 'agreed']);
      assert.deepEqual(record.schoolIds, ['oak', 'hill']);
      assert.equal(accept(match, 0, ANN, NOW).kind, 'unchanged');
    });

    const unavailable: [string, (o: Offer) => void, RegExp][] = [
      ['agreed in another swap', (o) => (o.status = 'agreed'), /Hillside High's offer has been agreed in another swap/],
      ['withdrawn', (o) => (o.status = 'withdrawn'), /Hillside High withdrew its offer/],
      ['expired', (o) => (o.status = 'expired'), /Hillside High's offer has expired/],
    ];
    for (const [what, change, reason] of unavailable) {
      it(`when both accept but one offer was ${what}, then the swap cannot be agreed`, function () {
        const { match, a, b } = proposed();
        change(b);
        const check = checkAgree(match, [a, b], NOW);
        assert.equal(check.ok, false);
        if (!check.ok) {
          assert.match(check.reason, reason);
          assert.deepEqual(check.unavailable, [b.id]);
        }
      });
    }

    it('when an answer comes after the proposal lapsed, then nothing changes', function () {
      const { match } = proposed();
      const late = accept(match, 0, ANN, new Date(match.answerBy.getTime() + 1));
      assert.equal(late.kind, 'unchanged');
      assert.match((late as { message: string }).message, /lapsed/);
    });

    it('when a school declines, then the match closes with its reason, both offers can be released once, and a repeat changes nothing', function () {
      const { match, a, b } = proposed();
      const d = decline(match, 1, BEN, 'No mentor free that term', NOW);
      assert.equal(d.kind, 'declined');
      const declined = (d as { match: Match }).match;
      assert.deepEqual([declined.status, declined.reason, declined.reasonBy, declined.reasonSchoolId], ['declined', 'No mentor free that term', 'Ben Carter', 'hill']);
      assert.equal(release(a, match.id, NOW), true);
      assert.equal(release(a, match.id, NOW), false, 'an offer is released once');
      assert.equal(release(b, 'another-match', NOW), false, 'only the match holding it releases it');
      assert.equal(decline(declined, 1, BEN, 'again', NOW).kind, 'unchanged');
      assert.equal(accept(declined, 0, ANN, NOW).kind, 'unchanged');
    });

    it('when offers are withdrawn, then open and proposed ones go (a proposal it was in lapses) and closed ones say why not', function () {
      const open = withdraw(offer(), NOW);
      assert.deepEqual([open.kind, (open as { matchId: string }).matchId], ['withdrawn', '']);
      const inProposal = withdraw(offer({ status: 'proposed', matchId: 'sm9' }), NOW);
      assert.deepEqual([inProposal.kind, (inProposal as { matchId: string }).matchId], ['withdrawn', 'sm9']);
      assert.match((withdraw(offer({ status: 'agreed' }), NOW) as { message: string }).message, /part of an agreed swap/);
      assert.equal(withdraw(offer({ status: 'withdrawn' }), NOW).kind, 'unchanged');
    });

    it('when an agreed swap is cancelled, then it records who and why; a proposal cannot be cancelled', function () {
      const { match, a, b } = proposed();
      assert.equal(cancel(match, 0, ANN, 'x', NOW).kind, 'unchanged');
      agree(match, a, b, NOW);
      const c = cancel(match, 0, ANN, 'Our trainee has withdrawn from the course', NOW);
      assert.equal(c.kind, 'cancelled');
      assert.equal((c as { match: Match }).match.reasonSchoolId, 'oak');
    });

    it('when an offer reaches the end of its confirm-by day, then it is due to expire, unless it is closed', function () {
      const o = offer({ confirmBy: '2026-01-09' });
      assert.equal(isDueToExpire(o, new Date('2026-01-09T23:59:00Z')), false);
      assert.equal(isDueToExpire(o, new Date('2026-01-10T00:00:00Z')), true);
      assert.equal(isDueToExpire(offer({ confirmBy: '2026-01-09', status: 'agreed' }), new Date('2026-02-01T00:00:00Z')), false);
    });
  });

  describe('roles', function () {
    const person = (over: { isRep?: boolean; isCoordinator?: boolean; schoolId?: string }) => ({ aadObjectId: 'p', name: 'P', isRep: false, isCoordinator: false, coordinatorFromConfig: false, ...over });
    const cases: [string, ReturnType<typeof person>, boolean][] = [
      ['a rep of the school', person({ isRep: true, schoolId: 'oak' }), true],
      ['a rep of another school', person({ isRep: true, schoolId: 'hill' }), false],
      ['a rep with no school', person({ isRep: true }), false],
      ['a teacher at the school', person({ schoolId: 'oak' }), false],
      ['a coordinator', person({ isCoordinator: true }), true],
    ];
    for (const [who, p, may] of cases) {
      it(`when ${who} acts for Oakfield, then they ${may ? 'may' : 'may not'}`, function () {
        assert.equal(mayActFor(p, 'oak'), may);
      });
    }
  });

  describe('deadlines for nudges', function () {
    it('when a proposal waits on one school and an offer is open, then both are listed, soonest first, with what to do', function () {
      const a = offer();
      const b = hill({ confirmBy: '2026-01-05' });
      const match = proposal('sm1', a, b, overlapOf(a, b)!, NOW);
      hold(match, a, b, NOW);
      match.answers[0] = { by: 'Ann Hughes', aadObjectId: 'ann', at: NOW };
      const open = offer({ schoolId: 'river', schoolName: 'Riverside Primary', confirmBy: '2025-12-12', sends: { phase: 'primary', subject: 'General' } });
      const list = pendingDecisions([a, b, open], [match], NOW);
      assert.deepEqual(
        list.map((d) => [d.kind, d.schoolId, d.dueAt.toISOString(), d.what]),
        [
          ['swap.confirmBy', 'river', '2025-12-13T00:00:00.000Z', 'Your placement swap offer (primary General, 12 Jan – 6 Feb 2026) has no match yet and expires at the end of Fri 12 Dec'],
          ['swap.answer', 'hill', '2026-01-06T00:00:00.000Z', 'Answer the placement swap proposal with Oakfield Academy by Mon 5 Jan 2026'],
        ],
      );
      assert.deepEqual(list[1]!.action, { verb: 'swap.show', data: { matchId: 'sm1', schoolId: 'hill' } });
      assert.deepEqual(pendingDecisions([a, b, open], [match], new Date('2026-01-07T00:00:00Z')), [], 'nothing is pending once it has lapsed');
    });
  });

  describe('the deadline registry', function () {
    it('when offers and matches change, then open offers are reminders, unanswered proposals are essential deadlines, and the rest are completed or cancelled', function () {
      const a = offer();
      const b = hill();
      const open = offer({ schoolId: 'river', schoolName: 'Riverside Primary' });
      const withdrawn = offer({ status: 'withdrawn' });
      const match = proposal('sm1', a, b, overlapOf(a, b)!, NOW);
      hold(match, a, b, NOW);
      match.answers[0] = { by: 'Ann Hughes', aadObjectId: 'ann', at: NOW };
      const declined: Match = { ...proposal('sm2', a, open, overlapOf(a, open)!, NOW), status: 'declined', reasonSchoolId: 'oak', reason: 'x', reasonBy: 'Ann Hughes' };
      const changes = registryChanges([a, b, open, withdrawn], [match, declined], NOW);
      assert.deepEqual(
        changes.register.map((d) => [d.id, d.kind, d.essential, d.who, d.dueAt.toISOString()]),
        [
          [`swap:offer:${open.id}`, 'reminder', false, { kind: 'schoolReps', schoolId: 'river' }, '2026-01-09T09:00:00.000Z'],
          ['swap:answer:sm1:hill', 'deadline', true, { kind: 'schoolReps', schoolId: 'hill' }, '2026-01-10T00:00:00.000Z'],
        ],
      );
      assert.equal(changes.register[1]!.what, 'Answer the placement swap proposal with Oakfield Academy');
      assert.equal(changes.register[1]!.detail, 'Overlapping weeks 12 Jan – 6 Feb 2026. Oakfield Academy has accepted.');
      assert.deepEqual(changes.complete.sort(), [`swap:offer:${a.id}`, `swap:offer:${b.id}`, 'swap:answer:sm1:oak', 'swap:answer:sm2:oak'].sort());
      assert.deepEqual(changes.cancel.sort(), [`swap:offer:${withdrawn.id}`, 'swap:answer:sm2:river'].sort());
    });
  });

  describe('the effects of a change (who is told what)', function () {
    /** Oakfield's offer and Hillside's, proposed to each other (sm1), as stored before the change. */
    function before(): { a: Offer; b: Offer; m: Match } {
      const a = offer();
      const b = hill();
      const m = proposal('sm1', a, b, overlapOf(a, b)!, NOW);
      hold(m, a, b, NOW);
      return { a, b, m };
    }
    const [aSide, bSide] = [0, 1] as const;
    const copy = (o: Offer, over: Partial<Offer> = {}): Offer => ({ ...o, ...over });
    const WHY = 'No school offers to host secondary maths in weeks 12 Jan – 6 Feb 2026.';
    /** What each effect is, without the registry's details. */
    const kinds = (step: SwapStep) => effectsOf(step, NOW).map((e) => (e.kind === 'deadlines' ? 'deadlines' : JSON.stringify(e)));

    const cases: { when: string; step: () => SwapStep; then: (ids: { a: string; b: string }) => string[] }[] = [
      {
        when: 'an offer is made and no other fits',
        step: () => ({ offers: [{ after: offer() }], matches: [], unmatched: new Map() }),
        then: () => ['deadlines'],
      },
      {
        when: 'two offers are proposed to each other',
        step: () => {
          const { a, b, m } = before();
          return { offers: [{ after: a }, { before: copy(b, { status: 'open', matchId: '' }), after: b }], matches: [{ after: m }], unmatched: new Map() };
        },
        then: () => [JSON.stringify({ kind: 'propose', matchId: 'sm1' }), 'deadlines'],
      },
      {
        when: 'one school accepts',
        step: () => {
          const { m } = before();
          const next = { ...m, answers: [{ by: 'Ann Hughes', aadObjectId: 'ann', at: NOW }, undefined] as Match['answers'] };
          return { offers: [], matches: [{ before: m, after: next }], unmatched: new Map() };
        },
        then: () => [JSON.stringify({ kind: 'accepted', matchId: 'sm1', side: aSide }), 'deadlines'],
      },
      {
        when: 'the second school accepts and the swap is agreed, with a card waiting on it',
        step: () => {
          const { a, b, m } = before();
          const waiting = { ...m, answers: [{ by: 'Ann Hughes', aadObjectId: 'ann', at: NOW }, undefined] as Match['answers'], waitingCards: [{ schoolId: 'hill', reference: '{}', activityId: 'act1' }] };
          const next = { ...waiting, answers: [...waiting.answers] as Match['answers'] };
          next.answers[1] = { by: 'Ben Carter', aadObjectId: 'ben', at: NOW };
          const [a2, b2] = [copy(a), copy(b)];
          agree(next, a2, b2, NOW);
          return { offers: [{ before: a, after: a2 }, { before: b, after: b2 }], matches: [{ before: waiting, after: next }], unmatched: new Map() };
        },
        then: () => [JSON.stringify({ kind: 'agreed', matchId: 'sm1' }), JSON.stringify({ kind: 'closeCards', matchId: 'sm1' }), 'deadlines'],
      },
      {
        when: 'a school declines and neither offer finds another match',
        step: () => {
          const { a, b, m } = before();
          const d = decline(m, bSide, BEN, 'Mentor away', NOW);
          assert.equal(d.kind, 'declined');
          const [a2, b2] = [copy(a), copy(b)];
          release(a2, 'sm1', NOW);
          release(b2, 'sm1', NOW);
          return { offers: [{ before: a, after: a2 }, { before: b, after: b2 }], matches: [{ before: m, after: (d as { match: Match }).match }], unmatched: new Map([[a.id, WHY], [b.id, WHY]]) };
        },
        // Oakfield hears of the decline in the "open again" notice; Hillside declined and is answered.
        then: ({ a, b }) => [JSON.stringify({ kind: 'openAgain', offerId: a, matchId: 'sm1', by: 'declined', why: WHY }), JSON.stringify({ kind: 'openAgain', offerId: b, matchId: 'sm1', by: 'declined', why: WHY }), 'deadlines'],
      },
      {
        when: "a school declines and the other school's offer is proposed to a third school at once",
        step: () => {
          const { a, b, m } = before();
          const d = decline(m, bSide, BEN, 'Mentor away', NOW) as { match: Match };
          const c = offer({ schoolId: 'castle', schoolName: 'Castle School' });
          const [a2, b2, c2] = [copy(a), copy(b), copy(c)];
          release(a2, 'sm1', NOW);
          release(b2, 'sm1', NOW);
          const next = proposal('sm2', a2, c2, overlapOf(a2, c2)!, NOW);
          hold(next, a2, c2, NOW);
          return { offers: [{ before: a, after: a2 }, { before: b, after: b2 }, { before: c, after: c2 }], matches: [{ before: m, after: d.match }, { after: next }], unmatched: new Map([[b.id, WHY]]) };
        },
        then: ({ b }) => [JSON.stringify({ kind: 'propose', matchId: 'sm2' }), JSON.stringify({ kind: 'openAgain', offerId: b, matchId: 'sm1', by: 'declined', why: WHY }), JSON.stringify({ kind: 'declined', matchId: 'sm1', side: bSide }), 'deadlines'],
      },
      {
        when: 'an offer in a proposal is withdrawn and the other finds no match',
        step: () => {
          const { a, b, m } = before();
          const w = withdraw(a, NOW) as { offer: Offer };
          const b2 = copy(b);
          release(b2, 'sm1', NOW);
          return { offers: [{ before: a, after: w.offer }, { before: b, after: b2 }], matches: [{ before: m, after: lapse(m, 'Oakfield Academy withdrew its offer', NOW) }], unmatched: new Map([[b.id, WHY]]) };
        },
        then: ({ b }) => [JSON.stringify({ kind: 'openAgain', offerId: b, matchId: 'sm1', by: 'withdrawn', why: WHY }), 'deadlines'],
      },
      {
        when: 'an offer in a proposal expires',
        step: () => {
          const { a, b, m } = before();
          const [a2, b2] = [copy(a, { status: 'expired', matchId: '' }), copy(b)];
          release(b2, 'sm1', NOW);
          return { offers: [{ before: a, after: a2 }, { before: b, after: b2 }], matches: [{ before: m, after: lapse(m, 'expired', NOW) }], unmatched: new Map([[a.id, ''], [b.id, WHY]]) };
        },
        then: ({ a, b }) => [JSON.stringify({ kind: 'expired', offerId: a, matchId: 'sm1', why: '' }), JSON.stringify({ kind: 'openAgain', offerId: b, matchId: 'sm1', by: 'expired', why: WHY }), 'deadlines'],
      },
      {
        when: 'an open offer expires',
        step: () => {
          const a = offer();
          return { offers: [{ before: a, after: copy(a, { status: 'expired' }) }], matches: [], unmatched: new Map([[a.id, WHY]]) };
        },
        then: ({ a }) => [JSON.stringify({ kind: 'expired', offerId: a, matchId: '', why: WHY }), 'deadlines'],
      },
      {
        when: 'an agreed swap is cancelled',
        step: () => {
          const { a, b, m } = before();
          const agreedMatch = { ...m, answers: [...m.answers] as Match['answers'] };
          agree(agreedMatch, a, b, NOW);
          const c = cancel(agreedMatch, aSide, ANN, 'Trainee paused', NOW) as { match: Match };
          return { offers: [], matches: [{ before: agreedMatch, after: c.match }], unmatched: new Map() };
        },
        then: () => [JSON.stringify({ kind: 'cancelled', matchId: 'sm1', side: aSide }), 'deadlines'],
      },
      {
        when: 'the card asking a school to accept is remembered on the match',
        step: () => {
          const { m } = before();
          return { offers: [], matches: [{ before: m, after: { ...m, waitingCards: [{ schoolId: 'hill', reference: '{}', activityId: 'act1' }] } }], unmatched: new Map() };
        },
        // Nobody is told; the registry hears the same deadlines again (registering twice changes nothing).
        then: () => ['deadlines'],
      },
    ];
    for (const c of cases) {
      it(`when ${c.when}, then the change's effects say so`, function () {
        const step = c.step();
        const ids = { a: step.offers[0]?.after.id ?? '', b: step.offers[1]?.after.id ?? '' };
        assert.deepEqual(kinds(step), c.then(ids));
      });
    }

    it('when a school declines, then the registry completes its answer and cancels the other school\'s', function () {
      const { a, b, m } = before();
      const d = decline(m, bSide, BEN, 'Mentor away', NOW) as { match: Match };
      const [a2, b2] = [copy(a), copy(b)];
      release(a2, 'sm1', NOW);
      release(b2, 'sm1', NOW);
      const registry = effectsOf({ offers: [{ before: a, after: a2 }, { before: b, after: b2 }], matches: [{ before: m, after: d.match }], unmatched: new Map() }, NOW).find((e) => e.kind === 'deadlines');
      assert.ok(registry && registry.kind === 'deadlines');
      assert.deepEqual([registry.complete, registry.cancel], [['swap:answer:sm1:hill'], ['swap:answer:sm1:oak']]);
      assert.deepEqual(registry.register.map((r) => r.id).sort(), [`swap:offer:${a.id}`, `swap:offer:${b.id}`].sort(), 'both offers are open again: reminders before their confirm-by dates');
    });
  });

  describe('the offer form', function () {
    const schools = [
      { id: 'oak', name: 'Oakfield Academy' },
      { id: 'hill', name: 'Hillside High' },
    ];
    const good: OfferValues = { ...(Object.fromEntries(OFFER_FIELDS.map((f) => [f, ''])) as OfferValues), sendPhase: 'secondary', sendSubject: 'Maths', sendCount: '1', trainee: 'Sam P.', hostPhase: 'secondary', hostSubjects: 'Maths, Physics', from: '2026-01-12', to: '2026-02-06', confirmBy: '2026-01-09', notes: 'Year 9 classes' };
    const check = (over: Partial<OfferValues>, fixed: string | null = 'oak') => checkOfferForm({ ...good, ...over }, { schools, fixedSchoolId: fixed ?? undefined, now: NOW, policy: DEFAULT_MATCH_POLICY });

    it('when the form is complete, then a draft for the rep\'s school comes out', function () {
      const c = check({});
      assert.ok(c.ok);
      if (c.ok) {
        assert.equal(c.draft.schoolName, 'Oakfield Academy');
        assert.deepEqual(c.draft.hosts.subjects, ['Maths', 'Physics']);
        assert.equal(c.draft.sends.count, 1);
      }
    });

    const bad: [string, Partial<OfferValues>, string | null, keyof OfferValues, RegExp][] = [
      ['the dates are reversed', { from: '2026-02-06', to: '2026-01-12' }, 'oak', 'to', /before the first date/],
      ['the first date is past', { from: '2025-11-10', confirmBy: '2025-11-20' }, 'oak', 'from', /in the past/],
      ['the confirm-by date is past', { confirmBy: '2025-11-19' }, 'oak', 'confirmBy', /in the past/],
      ['the confirm-by date is after the placement starts', { confirmBy: '2026-01-13' }, 'oak', 'confirmBy', /by the first date/],
      ['the weeks are shorter than a swap can be', { to: '2026-01-22' }, 'oak', 'to', /at least 2 school weeks/],
      ['there is no subject', { sendSubject: '' }, 'oak', 'sendSubject', /which subject/],
      ['there are no hosted subjects', { hostSubjects: ' , ' }, 'oak', 'hostSubjects', /which subjects you can host/],
      ['zero trainees', { sendCount: '0' }, 'oak', 'sendCount', /at least one trainee/],
      ['the trainee count is not a number', { sendCount: 'two' }, 'oak', 'sendCount', /whole number/],
      ['the trainee is named in full', { trainee: 'Sam Patel' }, 'oak', 'trainee', /first name and initial at most/],
      ['the phase is made up', { sendPhase: 'nursery' }, 'oak', 'sendPhase', /phase/],
      ['a coordinator chose no school', { school: '' }, null, 'school', /Choose the school/],
      ['a coordinator chose an unknown school', { school: 'nope' }, null, 'school', /Choose the school/],
      ['the date is not a real date', { from: '2026-02-30' }, 'oak', 'from', /Choose the first date/],
    ];
    for (const [what, over, fixed, field, message] of bad) {
      it(`when ${what}, then the form says so next to ${field} and nothing is drafted`, function () {
        const c = check(over, fixed);
        assert.equal(c.ok, false);
        if (!c.ok) assert.match(c.errors[field] ?? '', message, JSON.stringify(c.errors));
      });
    }

    const names: [string, boolean][] = [
      ['Sam', true],
      ['Sam P', true],
      ['Sam P.', true],
      ['Anne-Marie O.', true],
      ['Zoë K.', true],
      ['Sam Patel', false],
      ['Sam P. Jones', false],
      ['S@m', false],
      ['', false],
    ];
    for (const [name, ok] of names) {
      it(`when the trainee is given as "${name}", then it is ${ok ? 'accepted' : 'refused'}`, function () {
        assert.equal(isTraineeName(name), ok);
      });
    }
  });
});

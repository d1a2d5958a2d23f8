import assert from 'node:assert/strict';
import { computeReport, daysBetween, FIGURES, median, SCHOOL_FIGURES } from '../../src/impact/figures';
import { safeCell, tableCsv, reportTables } from '../../src/impact/cards';
import { reportPage } from '../../src/impact/page';
import type { Period, ProposalRecord, Records, TermOverrides } from '../../src/impact/model';
import { checkOutcome, trendTerms, defaultTerm, easterSunday, labelFor, outcomeAskWindow, outcomeDueAt, parseDate, parsePeriod, setTerm, termOn, type OutcomeInput } from '../../src/impact/rules';

/*
 * The impact rules, pure: school terms, the report period a person types, and every figure computed
 * from plain records at a given `now`. No I/O.
 */

/** Wed 2 Dec 2026, 10:00 London. */
const NOW = new Date('2026-12-02T10:00:00Z');
const NONE: TermOverrides = {};

describe('impact rules: school terms', function () {
  const easter: [number, string][] = [
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2028, '2028-04-16'],
    [2038, '2038-04-25'],
  ];
  for (const [year, expected] of easter) {
    it(`when Easter ${year} is computed, then it is ${expected}`, function () {
      assert.equal(easterSunday(year), expected);
    });
  }

  const defaults: [Parameters<typeof defaultTerm>, { from: string; to: string }][] = [
    [['autumn', 2026], { from: '2026-09-01', to: '2026-12-31' }],
    [['spring', 2027], { from: '2027-01-01', to: '2027-03-28' }],
    [['summer', 2027], { from: '2027-03-29', to: '2027-08-31' }],
  ];
  for (const [[name, year], expected] of defaults) {
    it(`when no dates are set for ${name} ${year}, then it runs ${expected.from} to ${expected.to}`, function () {
      assert.deepEqual(defaultTerm(name, year), expected);
    });
  }

  const days: [string, TermOverrides, string][] = [
    ['2026-12-02', NONE, 'autumn 2026'],
    ['2027-01-01', NONE, 'spring 2027'],
    ['2027-03-29', NONE, 'summer 2027'],
    ['2027-08-31', NONE, 'summer 2027'],
    ['2026-12-24', { 'autumn 2026': { from: '2026-09-02', to: '2026-12-18' }, 'spring 2027': { from: '2027-01-05', to: '2027-03-26' } }, 'autumn 2026'],
    ['2027-01-05', { 'autumn 2026': { from: '2026-09-02', to: '2026-12-18' }, 'spring 2027': { from: '2027-01-05', to: '2027-03-26' } }, 'spring 2027'],
  ];
  for (const [day, overrides, expected] of days) {
    it(`when the day is ${day}${Object.keys(overrides).length ? ' and terms are set' : ''}, then the term is ${expected}`, function () {
      const t = termOn(day, overrides);
      assert.equal(`${t.name} ${t.year}`, expected);
    });
  }

  const sets: [string, TermOverrides, RegExp | { from: string; to: string }][] = [
    ['spring 2027 4 Jan 2027 - 26 Mar 2027', NONE, { from: '2027-01-04', to: '2027-03-26' }],
    ['Autumn term 2026 2 September 2026 to 18 December 2026', NONE, { from: '2026-09-02', to: '2026-12-18' }],
    ['winter 2026 1 Dec 2026 - 20 Dec 2026', NONE, /terms are autumn, spring and summer/],
    ['spring 2027 26 Mar 2027 - 4 Jan 2027', NONE, /runs backwards: 26 Mar 2027 is after 4 Jan 2027/],
    ['spring 2027 4 Jan 2026 - 26 Mar 2027', NONE, /has to start in 2027/],
    ['spring 2027 4 Jan 2027 - 31 Feb 2027', NONE, /couldn't read "31 Feb 2027" as a date/],
    ['spring 2027', NONE, /couldn't read that/],
    ['summer 2027 20 Mar 2027 - 20 Jul 2027', { 'spring 2027': { from: '2027-01-04', to: '2027-03-26' } }, /overlap: Spring term 2027/],
  ];
  for (const [text, overrides, expected] of sets) {
    it(`when a coordinator types "term set ${text}", then ${expected instanceof RegExp ? `it is refused (${expected.source})` : 'the term has those dates'}`, function () {
      const result = setTerm(text, overrides);
      if (expected instanceof RegExp) {
        assert.equal(result.ok, false);
        assert.match((result as { message: string }).message, expected);
      } else {
        assert.ok(result.ok, JSON.stringify(result));
        assert.deepEqual({ from: result.term.from, to: result.term.to }, expected);
        assert.equal(result.term.custom, true);
      }
    });
  }
});

describe('impact rules: the period a report covers', function () {
  const custom: TermOverrides = { 'spring 2027': { from: '2027-01-04', to: '2027-03-26' } };
  const cases: [string, TermOverrides, Period | RegExp][] = [
    ['', NONE, { label: 'Autumn term 2026', from: '2026-09-01', to: '2026-12-31' }],
    ['this term', NONE, { label: 'Autumn term 2026', from: '2026-09-01', to: '2026-12-31' }],
    ['last term', NONE, { label: 'Summer term 2026', from: '2026-04-06', to: '2026-08-31' }],
    ['spring 2027', custom, { label: 'Spring term 2027', from: '2027-01-04', to: '2027-03-26' }],
    ['Spring', NONE, { label: 'Spring term 2027', from: '2027-01-01', to: '2027-03-28' }],
    ['summer term 2027', NONE, { label: 'Summer term 2027', from: '2027-03-29', to: '2027-08-31' }],
    ['2026/27', NONE, { label: 'Academic year 2026/27', from: '2026-09-01', to: '2027-08-31' }],
    ['2026-2027', NONE, { label: 'Academic year 2026/27', from: '2026-09-01', to: '2027-08-31' }],
    ['1 Sep 2026 - 31 Oct 2026', NONE, { label: '1 Sep 2026 – 31 Oct 2026', from: '2026-09-01', to: '2026-10-31' }],
    ['2026-09-01 to 2026-10-31', NONE, { label: '1 Sep 2026 – 31 Oct 2026', from: '2026-09-01', to: '2026-10-31' }],
    ['winter 2026', NONE, /I don't know a term called "winter"/],
    ['31 Oct 2026 - 1 Sep 2026', NONE, /runs backwards: 31 Oct 2026 is after 1 Sep 2026/],
    ['2026/28', NONE, /two years in a row/],
    ['1 Sep 2026 - 31 Sep 2026', NONE, /couldn't read "31 sep 2026" as a date/],
    ['last week', NONE, /couldn't read "last week" as a period/],
    ['1 Sep 2010 - 1 Sep 2026', NONE, /over five years/],
  ];
  for (const [text, overrides, expected] of cases) {
    it(`when "${text}" is typed, then ${expected instanceof RegExp ? `it is refused (${expected.source})` : `the period is ${expected.label}`}`, function () {
      const result = parsePeriod(text, NOW, overrides);
      if (expected instanceof RegExp) {
        assert.equal(result.ok, false);
        assert.match((result as { message: string }).message, expected);
      } else {
        assert.ok(result.ok, JSON.stringify(result));
        assert.deepEqual(result.period, expected);
      }
    });
  }

  const trends: [string, Period, string, string[]][] = [
    ['a term, early in the year', { label: '', from: '2026-09-01', to: '2026-12-31' }, '2026-12-02', ['Autumn term 2026']],
    ['a term, later in the year', { label: '', from: '2027-01-01', to: '2027-03-28' }, '2027-05-01', ['Autumn term 2026', 'Spring term 2027', 'Summer term 2027']],
    ['a past academic year', { label: '', from: '2025-09-01', to: '2026-08-31' }, '2026-12-02', ['Autumn term 2025', 'Spring term 2026', 'Summer term 2026']],
    ['a range over two years', { label: '', from: '2025-11-01', to: '2026-10-31' }, '2026-12-02', ['Autumn term 2025', 'Spring term 2026', 'Summer term 2026', 'Autumn term 2026']],
  ];
  for (const [what, period, today, expected] of trends) {
    it(`when the report covers ${what}, then its trend shows ${expected.join(', ')}`, function () {
      assert.deepEqual(trendTerms(period, NONE, today).map((t) => `${t.name.charAt(0).toUpperCase()}${t.name.slice(1)} term ${t.year}`), expected);
    });
  }

  it('when a stored period is named again (from a link), then a term or year gets its name and other ranges their dates', function () {
    assert.equal(labelFor({ from: '2027-01-04', to: '2027-03-26' }, custom), 'Spring term 2027');
    assert.equal(labelFor({ from: '2026-09-01', to: '2027-08-31' }, NONE), 'Academic year 2026/27');
    assert.equal(labelFor({ from: '2026-09-01', to: '2026-10-31' }, NONE), '1 Sep 2026 – 31 Oct 2026');
  });

  it('when dates are typed in the usual ways, then they are read; impossible ones are not', function () {
    assert.equal(parseDate('4 Jan 2027'), '2027-01-04');
    assert.equal(parseDate('Mon 4th January 2027'), '2027-01-04');
    assert.equal(parseDate('4 Sept 2026'), '2026-09-04');
    assert.equal(parseDate('29 Feb 2027'), undefined);
    assert.equal(parseDate('4 Jna 2027'), undefined);
  });
});

describe('impact rules: the figures', function () {
  const schools = [
    { id: 'oak', name: 'Oakfield Academy' },
    { id: 'riv', name: 'Riverside Primary' },
    { id: 'hill', name: 'Hillview High' },
    { id: 'west', name: 'Westbrook School' },
  ];
  const autumn: Period = { label: 'Autumn term 2026', from: '2026-09-01', to: '2026-12-31' };
  const proposal = (p: Partial<ProposalRecord> & { id: string }): ProposalRecord => ({
    title: p.id,
    leadSchoolId: 'oak',
    partnerSchoolIds: ['riv'],
    submittedAt: new Date('2026-10-01T09:00:00Z'),
    withdrawn: false,
    pupils: 100,
    staff: 10,
    outcome: 'A survey.',
    endDate: '2027-02-12',
    mutualNeeds: ['STEM'],
    funderOutcomes: ['Leadership skills'],
    ...p,
  });
  const records: Records = {
    places: [
      // Counted: autumn, happened, not cancelled.
      { eventId: 'tm1', startsAt: new Date('2026-11-10T16:00:00Z'), cancelled: false, schoolId: 'oak', role: 'attendee' },
      { eventId: 'tm1', startsAt: new Date('2026-11-10T16:00:00Z'), cancelled: false, schoolId: 'riv', role: 'attendee' },
      { eventId: 'tm1', startsAt: new Date('2026-11-10T16:00:00Z'), cancelled: false, schoolId: 'oak', role: 'presenter' },
      // 31 Aug 23:30 UTC is 1 Sep 00:30 in London: autumn.
      { eventId: 'tm0', startsAt: new Date('2026-08-31T23:30:00Z'), cancelled: false, schoolId: 'hill', role: 'attendee' },
      // Not counted: cancelled; not yet happened (after NOW); before the term.
      { eventId: 'tm2', startsAt: new Date('2026-11-12T16:00:00Z'), cancelled: true, schoolId: 'oak', role: 'attendee' },
      { eventId: 'tm3', startsAt: new Date('2026-12-10T16:00:00Z'), cancelled: false, schoolId: 'oak', role: 'attendee' },
      { eventId: 'tm4', startsAt: new Date('2026-08-31T22:30:00Z'), cancelled: false, schoolId: 'oak', role: 'attendee' },
    ],
    swaps: [
      { matchId: 'm1', startsOn: '2026-11-02', sides: [{ schoolId: 'oak', sends: 2 }, { schoolId: 'hill', sends: 1 }] },
      { matchId: 'm2', startsOn: '2027-01-11', sides: [{ schoolId: 'oak', sends: 1 }, { schoolId: 'riv', sends: 1 }] },
    ],
    proposals: [
      // Approved: submitted 1 Oct 09:00, signed off 3 Oct 21:00 → 2.5 days.
      proposal({ id: 'p1', partnerSchoolIds: ['riv', 'hill'], signedOffAt: new Date('2026-10-03T21:00:00Z') }),
      // Approved: led by riv, submitted in the summer, signed off 1 Sep (32 days): counted as approved, not as led.
      proposal({ id: 'p2', leadSchoolId: 'riv', partnerSchoolIds: ['oak'], submittedAt: new Date('2026-07-31T10:00:00Z'), signedOffAt: new Date('2026-09-01T10:00:00Z'), pupils: 30, staff: 4, mutualNeeds: ['STEM', 'Public speaking'], funderOutcomes: ['Self-confidence and resilience'] }),
      // Pending: counted as led/partnered only.
      proposal({ id: 'p3', leadSchoolId: 'hill', partnerSchoolIds: ['west'] }),
      // Withdrawn: nothing.
      proposal({ id: 'p4', withdrawn: true }),
    ],
    acks: [
      { announcementId: 'an1', schoolId: 'riv', at: new Date('2026-11-01T10:00:00Z') },
      { announcementId: 'an1', schoolId: 'riv', at: new Date('2026-11-01T11:00:00Z') },
      { announcementId: 'an1', schoolId: '', at: new Date('2026-11-01T11:00:00Z') },
      { announcementId: 'an0', schoolId: 'oak', at: new Date('2026-08-01T11:00:00Z') },
    ],
    nudges: [
      { day: '2026-11-02', aadObjectId: 'a', schoolId: 'hill' },
      { day: '2026-11-03', aadObjectId: 'a', schoolId: 'hill' },
      { day: '2026-11-03', aadObjectId: 'c', schoolId: '' },
    ],
    deadlines: [
      { id: 'd1', schoolId: 'west', dueAt: new Date('2026-11-20T17:00:00Z'), status: 'open' },
      { id: 'd2', schoolId: 'riv', dueAt: new Date('2026-11-20T17:00:00Z'), status: 'completed', closedAt: new Date('2026-11-21T09:00:00Z') },
      { id: 'd3', schoolId: 'riv', dueAt: new Date('2026-11-20T17:00:00Z'), status: 'completed', closedAt: new Date('2026-11-19T09:00:00Z') },
      { id: 'd4', schoolId: 'riv', dueAt: new Date('2026-11-20T17:00:00Z'), status: 'cancelled', closedAt: new Date('2026-11-22T09:00:00Z') },
      { id: 'd5', schoolId: 'riv', dueAt: new Date('2026-12-20T17:00:00Z'), status: 'open' },
    ],
    // The lead school recorded what happened in p1 (p3 is not approved: its stray record counts nowhere).
    outcomes: [
      { proposalId: 'p1', pupils: 90, staff: 9, disadvantaged: 20, send: 5, measured: '80% finished', evidence: '', legacy: '', by: { aadObjectId: 'a', name: 'Ann' }, at: new Date('2026-10-20T10:00:00Z'), version: 1 },
      { proposalId: 'p3', pupils: 5, staff: 5, disadvantaged: 0, send: 0, measured: 'x', evidence: '', legacy: '', by: { aadObjectId: 'a', name: 'Ann' }, at: new Date('2026-10-20T10:00:00Z'), version: 1 },
    ],
    mutualNeeds: ['STEM', 'Careers provision'],
    funderOutcomes: ['Leadership skills', 'Self-confidence and resilience', 'Community pride and responsibility'],
  };

  const expected: Record<string, Record<string, number>> = {
    oak: { attended: 1, presented: 1, traineesSent: 2, traineesHosted: 1, proposalsLed: 1, proposalsPartnered: 0, projectsApproved: 2, pupilsPlanned: 100, staffPlanned: 10, pupilsAchieved: 90, staffAchieved: 9, acknowledged: 0, nudges: 0, deadlinesMissed: 0 },
    riv: { attended: 1, presented: 0, traineesSent: 0, traineesHosted: 0, proposalsLed: 0, proposalsPartnered: 1, projectsApproved: 2, pupilsPlanned: 30, staffPlanned: 4, pupilsAchieved: 0, staffAchieved: 0, acknowledged: 2, nudges: 0, deadlinesMissed: 1 },
    hill: { attended: 1, presented: 0, traineesSent: 1, traineesHosted: 2, proposalsLed: 1, proposalsPartnered: 1, projectsApproved: 1, pupilsPlanned: 0, staffPlanned: 0, pupilsAchieved: 0, staffAchieved: 0, acknowledged: 0, nudges: 2, deadlinesMissed: 0 },
    west: { attended: 0, presented: 0, traineesSent: 0, traineesHosted: 0, proposalsLed: 0, proposalsPartnered: 1, projectsApproved: 0, pupilsPlanned: 0, staffPlanned: 0, pupilsAchieved: 0, staffAchieved: 0, acknowledged: 0, nudges: 0, deadlinesMissed: 1 },
  };

  const report = computeReport(records, schools, autumn, { kind: 'all' }, NOW);

  for (const school of schools) {
    it(`when the autumn report is computed, then ${school.name}'s row is as counted by hand`, function () {
      const row = report.schools.find((r) => r.school.id === school.id);
      assert.ok(row, `${school.name} is listed`);
      assert.deepEqual(row.counts, expected[school.id]);
    });
  }

  it('when the autumn report is computed, then the totals add up (projects once each; people without a school in the total only)', function () {
    assert.deepEqual(report.totals, { attended: 3, presented: 1, traineesSent: 3, traineesHosted: 3, proposalsLed: 2, proposalsPartnered: 3, projectsApproved: 2, pupilsPlanned: 130, staffPlanned: 14, pupilsAchieved: 90, staffAchieved: 9, acknowledged: 3, nudges: 3, deadlinesMissed: 2 });
  });

  it('when the autumn report is computed, then each mutual need and funder outcome, used or not, has its projects and participants', function () {
    assert.deepEqual(report.needs, [
      { label: 'STEM', projects: 2, participants: 144, achieved: 99 },
      { label: 'Careers provision', projects: 0, participants: 0, achieved: 0 },
      { label: 'Public speaking', projects: 1, participants: 34, achieved: 0 },
    ]);
    assert.deepEqual(report.outcomes, [
      { label: 'Leadership skills', projects: 1, participants: 110, achieved: 99 },
      { label: 'Self-confidence and resilience', projects: 1, participants: 34, achieved: 0 },
      { label: 'Community pride and responsibility', projects: 0, participants: 0, achieved: 0 },
    ]);
  });

  it('when a report is computed with its terms, then each term has its own totals from the same records', function () {
    const withTrend = computeReport(records, schools, autumn, { kind: 'all' }, NOW, [{ label: 'Summer term 2026', from: '2026-04-06', to: '2026-08-31' }, autumn]);
    assert.deepEqual(withTrend.trend.map((t) => [t.label, t.totals.attended, t.totals.proposalsLed, t.totals.acknowledged]), [['Summer term 2026', 1, 1, 1], ['Autumn term 2026', 3, 2, 3]]);
    assert.deepEqual(withTrend.trend[1]!.totals, report.totals);
  });

  it('when the autumn report is computed, then the approved projects are listed oldest sign-off first, each with its record if there is one', function () {
    assert.deepEqual(report.projects.map((p) => [p.project.id, p.outcome?.pupils]), [['p2', undefined], ['p1', 90]]);
  });

  it('when the autumn report is computed, then the approval turnaround is the median of 2.5 and 32 days', function () {
    assert.deepEqual(report.turnaround, { medianDays: 17.25, projects: 2 });
  });

  it("when a rep's report is computed, then only their school is listed and only projects it is in count", function () {
    const west = computeReport(records, schools, autumn, { kind: 'school', schoolId: 'west' }, NOW);
    assert.deepEqual(west.schools.map((r) => r.school.name), ['Westbrook School']);
    assert.deepEqual(west.totals, expected.west);
    assert.deepEqual(west.turnaround, { medianDays: undefined, projects: 0 });
    assert.deepEqual(west.needs.map((n) => n.projects), [0, 0]);
  });

  it('when nothing happened in a period, then every school is still listed with zeros', function () {
    const quiet = computeReport(records, schools, { label: 'x', from: '2030-01-01', to: '2030-03-31' }, { kind: 'all' }, NOW);
    assert.equal(quiet.schools.length, 4);
    for (const row of quiet.schools) for (const f of SCHOOL_FIGURES) assert.equal(row.counts[f], 0);
  });

  const medians: [number[], number | undefined][] = [
    [[], undefined],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ];
  for (const [values, m] of medians) {
    it(`when the median of [${values.join(', ')}] is taken, then it is ${m}`, function () {
      assert.equal(median(values), m);
    });
  }

  it('when days between submission and sign-off are counted, then they are to one decimal place', function () {
    assert.equal(daysBetween(new Date('2026-10-01T09:00:00Z'), new Date('2026-10-03T21:00:00Z')), 2.5);
    assert.equal(daysBetween(new Date('2026-10-01T09:00:00Z'), new Date('2026-10-01T10:00:00Z')), 0);
  });

  it('when the figures are listed, then each has one id, a label, a one-line definition and the date that counts', function () {
    assert.equal(new Set(FIGURES.map((f) => f.id)).size, FIGURES.length);
    for (const f of FIGURES) {
      assert.ok(f.label && f.date, f.id);
      assert.ok(f.definition.length > 20 && !f.definition.includes('\n'), f.id);
    }
  });
});

describe('impact rules: CSV cells', function () {
  const cells: [string | number, string][] = [
    ['=1+1', "'=1+1"],
    ['+44 20', "'+44 20"],
    ['-3', "'-3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['＝1+1', "'＝1+1"],
    ['＋1', "'＋1"],
    ['－1', "'－1"],
    ['＠x', "'＠x"],
    ['Siân’s School', 'Siân’s School'],
    [12, '12'],
  ];
  for (const [cell, expected] of cells) {
    it(`when a cell holds ${JSON.stringify(cell)}, then the CSV holds ${JSON.stringify(expected)}`, function () {
      assert.equal(safeCell(cell), expected);
    });
  }

  it('when a table is written as CSV, then it starts with a BOM, quotes what needs quoting and ends each line with CRLF', function () {
    const report = computeReport(
      { places: [], swaps: [], proposals: [], acks: [], nudges: [], deadlines: [], outcomes: [], mutualNeeds: ['=HYPERLINK("x")', 'Arts; drama'], funderOutcomes: [] },
      [{ id: 's', name: 'Siân, "the" School' }],
      { label: 'x', from: '2026-09-01', to: '2026-12-31' },
      { kind: 'all' },
      NOW,
    );
    const [schools, , needs] = reportTables(report);
    const csv = tableCsv(schools!);
    assert.ok(csv.startsWith('\uFEFFSchool,Staff at TeachMeets (attended),'));
    assert.match(csv, /\r\n"Siân, ""the"" School",0,0,/);
    assert.match(tableCsv(needs!), /\r\n"'=HYPERLINK\(""x""\)",0,0,0\r\n"Arts; drama",0,0,0\r\n$/);
  });
});

describe('impact rules: the report page', function () {
  it('when names and labels hold HTML, then the page shows them as text, in tables, definitions and charts', function () {
    const report = computeReport(
      { places: [], swaps: [], proposals: [], acks: [], nudges: [], deadlines: [], outcomes: [], mutualNeeds: ['<script>alert(1)</script>'], funderOutcomes: ['Pride & "joy"'] },
      [{ id: 's', name: "O'Brien & <b>Sons</b>" }],
      { label: 'Autumn term 2026', from: '2026-09-01', to: '2026-12-31' },
      { kind: 'all' },
      NOW,
    );
    const html = reportPage(report, 'Riverside <Schools> Together', undefined, { csv: { schools: 'https://x/a?exp=1&sig=2', needs: 'https://x/b', outcomes: 'https://x/c', projects: 'https://x/d', terms: 'https://x/e' }, validFor: 'for 15 minutes' });
    assert.doesNotMatch(html, /<script>|<b>Sons|<Schools>/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /O&#39;Brien &amp; &lt;b&gt;Sons&lt;\/b&gt;/);
    assert.match(html, /<title>Pride &amp; &quot;joy&quot;: 0<\/title>/);
    assert.match(html, /Riverside &lt;Schools&gt; Together/);
    assert.match(html, /href="https:\/\/x\/a\?exp=1&amp;sig=2"/);
  });
});

describe('impact rules: outcome records', function () {
  it('when a project ends, then its record is due 14 days later at 17:00 London, and a round asks about projects that ended in the last 60 days', function () {
    assert.equal(outcomeDueAt('2026-12-02').toISOString(), '2026-12-16T17:00:00.000Z');
    assert.equal(outcomeDueAt('2027-06-30').toISOString(), '2027-07-14T16:00:00.000Z');
    assert.deepEqual(outcomeAskWindow(NOW), { from: '2026-10-03', to: '2026-12-01' });
  });

  const good: OutcomeInput = { pupils: '110', staff: '11', disadvantaged: '30', send: '8', measured: '  78% of teams   finished a model. ', evidence: 'https://example.org/stem', legacy: 'A bank of challenges.' };
  const cases: [string, Partial<OutcomeInput>, RegExp | object][] = [
    ['everything is filled in well', {}, { pupils: 110, staff: 11, disadvantaged: 30, send: 8, measured: '78% of teams finished a model.', evidence: 'https://example.org/stem', legacy: 'A bank of challenges.' }],
    ['evidence and legacy are left empty', { evidence: '', legacy: '' }, { pupils: 110, staff: 11, disadvantaged: 30, send: 8, measured: '78% of teams finished a model.', evidence: '', legacy: '' }],
    ['more disadvantaged pupils than pupils are given', { disadvantaged: '130' }, /Disadvantaged pupils \(130\) can't be more than the pupils who took part \(110\)/],
    ['more pupils with SEND than pupils are given', { send: '111' }, /Pupils with SEND \(111\) can't be more/],
    ['a count is not a whole number', { staff: '-1' }, /Staff who took part: a whole number, 0 or more/],
    ['a count is empty', { pupils: '' }, /Pupils who took part: a whole number/],
    ['nothing is said about the outcome', { measured: ' ' }, /What you measured: say how the project did/],
    ['the evidence is not an https link', { evidence: 'javascript:alert(1)' }, /Evidence: a link starting https:\/\//],
    ['the legacy line is too long', { legacy: 'x'.repeat(301) }, /Legacy: 300 characters at most/],
  ];
  for (const [what, change, expected] of cases) {
    it(`when ${what}, then ${expected instanceof RegExp ? 'nothing is recorded and the message says why' : 'the values are kept'}`, function () {
      const result = checkOutcome({ ...good, ...change });
      if (expected instanceof RegExp) {
        assert.equal(result.ok, false);
        assert.match((result as { message: string }).message, /^Nothing was recorded yet: /);
        assert.match((result as { message: string }).message, expected);
      } else {
        assert.ok(result.ok, JSON.stringify(result));
        assert.deepEqual(result.values, expected);
      }
    });
  }
});

import assert from 'node:assert/strict';
import { checkForm, emptyValues, parseBudget, type FormValues } from '../../src/proposals/form';
import { DEFAULT_FUNDER_OUTCOMES, DEFAULT_MUTUAL_NEEDS, type Aggregate, type Content } from '../../src/proposals/model';
import {
  addTag,
  criteriaMissing,
  deadlineChanges,
  deadlineItem,
  decide,
  edit,
  listSections,
  mayActNow,
  mayDecide,
  refreshAudience,
  removeTag,
  signOff,
  statusOf,
  submit,
  tagId,
  tagsFromLabels,
  waitingOn,
  withdraw,
  type Actor,
  type Criterion,
  type Result,
  type Summary,
} from '../../src/proposals/rules';

/** The proposal rules, table-driven and without I/O. */

const NOW = new Date('2026-11-25T10:00:00Z');
const LATER = new Date('2026-11-26T10:00:00Z');
const [OAK, RIV, HILL, WEST] = ['oak00001', 'riv00002', 'hil00003', 'wes00004'];
const NAMES: Record<string, string> = { [OAK]: 'Oakfield Academy', [RIV]: 'Riverside Primary', [HILL]: 'Hillview High', [WEST]: 'Westbrook School' };
const names = (id: string) => NAMES[id] ?? '';

const person = (key: string, schoolId: string | undefined, roles: { rep?: boolean; coordinator?: boolean } = {}): Actor => ({
  aadObjectId: `aad-${key}`,
  name: key[0]!.toUpperCase() + key.slice(1),
  schoolId,
  isRep: roles.rep ?? false,
  isCoordinator: roles.coordinator ?? false,
});
const ann = person('ann', OAK, { rep: true });
const ben = person('ben', RIV, { rep: true });
const bea = person('bea', RIV, { rep: true });
const cat = person('cat', HILL, { rep: true });
const dan = person('dan', WEST, { rep: true });
const tia = person('tia', RIV);
const cora = person('cora', undefined, { coordinator: true });

const CONTENT: Content = {
  title: 'STEM Week',
  summary: 'Engineering challenges for Year 9.',
  partnerSchoolIds: [RIV, HILL],
  contributions: 'Oakfield hosts; Riverside runs outreach; Hillview lends its DT rooms.',
  collaboration: 'Mixed-school teams.',
  pupils: 120,
  staff: 12,
  legacy: 'A shared bank of challenges.',
  outcome: 'Confidence survey before and after.',
  mutualNeeds: ['STEM'],
  funderOutcomes: ['Leadership skills'],
  startDate: '2027-02-08',
  endDate: '2027-02-12',
  budgetPence: 125_000,
  decisionBy: '2026-12-04',
};

function proposal(content: Content = CONTENT): Aggregate {
  return submit('prtest00001', { aadObjectId: ann.aadObjectId, teamsId: '29:ann', name: 'Ann' }, OAK, content, NOW).agg;
}

function ok(result: Result): Aggregate {
  if (!result.ok) assert.fail(`expected the change to be allowed, got: ${result.message}`);
  return result.next;
}

function approvedBy(...actors: Actor[]): Aggregate {
  let agg = proposal();
  for (const a of actors) agg = ok(decide(agg, a, 'approve', agg.proposal.version, '', LATER, names));
  return agg;
}

describe('proposal rules', function () {
  describe('what the person who acted is told about the proposer', function () {
    const coraWithSchool: Actor = { ...cora, schoolId: OAK };
    const byCora = () => submit('prtest00002', { aadObjectId: cora.aadObjectId, teamsId: '29:cora', name: 'Cora' }, OAK, CONTENT, NOW).agg;
    const approvedOf = (agg: Aggregate) => [ben, cat].reduce((a, r) => ok(decide(a, r, 'approve', 1, '', LATER, names)), agg);
    const cases: { when: string; result: () => Result; says: RegExp; never?: RegExp }[] = [
      { when: 'a coordinator signs off someone else\'s proposal', result: () => signOff(approvedBy(ben, cat), cora, 1, LATER, names), says: /is approved\. Ann has been told and it is announced to the reps\./ },
      { when: 'a coordinator signs off their own proposal', result: () => signOff(approvedOf(byCora()), coraWithSchool, 1, LATER, names), says: /^Signed off: 'STEM Week' is approved and it is announced to the reps\.$/, never: /has been told/ },
      { when: 'a partner school approves', result: () => decide(proposal(), ben, 'approve', 1, '', LATER, names), says: /^Approved for Riverside Primary\. Ann has been told\.$/ },
      { when: 'a partner school declines', result: () => decide(proposal(), ben, 'decline', 1, 'Not this term.', LATER, names), says: /^Declined for Riverside Primary\. Ann has been told why\.$/ },
    ];
    for (const c of cases) {
      it(`when ${c.when}, then they are told ${c.says}`, function () {
        const result = c.result();
        if (!result.ok) assert.fail(result.message);
        assert.match(result.message, c.says);
        if (c.never) assert.doesNotMatch(result.message, c.never);
      });
    }
  });

  describe('the four criteria', function () {
    const cases: { when: string; change: Partial<Content>; missing: Criterion[] }[] = [
      { when: 'everything is answered', change: {}, missing: [] },
      { when: 'no contribution is stated', change: { contributions: '  ' }, missing: ['contributes'] },
      { when: 'no pupils and no staff take part', change: { pupils: 0, staff: 0 }, missing: ['impact'] },
      { when: 'only staff take part', change: { pupils: 0, staff: 5 }, missing: [] },
      { when: 'there is no partner school', change: { partnerSchoolIds: [] }, missing: ['collaboration'] },
      { when: 'the only partner is the lead school itself', change: { partnerSchoolIds: [OAK] }, missing: ['collaboration'] },
      { when: 'there is no measurable outcome', change: { outcome: '' }, missing: ['measurable'] },
      { when: 'no legacy is stated', change: { legacy: ' ' }, missing: ['legacy'] },
      { when: 'nobody says how different groups work together', change: { collaboration: '' }, missing: ['groups'] },
      { when: 'participants are given but neither legacy nor how groups work together', change: { legacy: '', collaboration: '  ' }, missing: ['legacy', 'groups'] },
      { when: 'nothing is answered', change: { contributions: '', pupils: 0, staff: 0, legacy: '', partnerSchoolIds: [], collaboration: '', outcome: '' }, missing: ['contributes', 'impact', 'legacy', 'collaboration', 'groups', 'measurable'] },
    ];
    for (const c of cases) {
      it(`when ${c.when}, then the missing criteria are [${c.missing.join(', ')}]`, function () {
        assert.deepEqual(criteriaMissing({ ...CONTENT, ...c.change }, OAK), c.missing);
      });
    }
  });

  describe('the form', function () {
    const needs = tagsFromLabels(DEFAULT_MUTUAL_NEEDS);
    const outcomes = tagsFromLabels(DEFAULT_FUNDER_OUTCOMES);
    const schools = Object.entries(NAMES).map(([id, name]) => ({ id, name }));
    const ctx = { schools, leadSchoolId: OAK, needs, outcomes, now: NOW };
    const good: FormValues = {
      ...emptyValues(),
      title: 'STEM Week',
      summary: 'Engineering challenges.',
      partners: `${RIV},${HILL}`,
      contributions: 'Each school runs a day.',
      collaboration: 'Mixed-school teams.',
      legacy: 'A bank of challenges.',
      pupils: '120',
      staff: '12',
      outcome: 'Survey before and after.',
      needs: 'stem,collaboration',
      funderOutcomes: tagId('Cultural capital (knowledge, skills and education)'),
      startDate: '2027-02-08',
      decisionBy: '2026-12-04',
      budget: '£1,250.50',
    };

    it('when every field is filled, then the content has the partner schools and tags as Teams sent them comma-joined', function () {
      const checked = checkForm(good, ctx);
      assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.errors));
      assert.deepEqual(checked.content.partnerSchoolIds, [RIV, HILL]);
      assert.deepEqual(checked.content.mutualNeeds, ['STEM', 'Collaboration']);
      assert.deepEqual(checked.content.funderOutcomes, ['Cultural capital (knowledge, skills and education)']);
      assert.equal(checked.content.budgetPence, 125_050);
      assert.equal(checked.content.endDate, '2027-02-08', 'a one-day project ends on its start date');
    });

    it('when criteria are missing, then each is named and the field errors say what to add', function () {
      const checked = checkForm({ ...good, contributions: '', outcome: '', partners: OAK, pupils: '', staff: '0', legacy: '', collaboration: ' ' }, ctx);
      assert.ok(!checked.ok);
      assert.deepEqual(checked.missing, ['contributes', 'impact', 'legacy', 'collaboration', 'groups', 'measurable']);
      assert.match(checked.errors.legacy!, /criterion 2/);
      assert.match(checked.errors.collaboration!, /criterion 3/);
      assert.match(checked.errors.contributions!, /criterion 1/);
      assert.match(checked.errors.pupils!, /criterion 2/);
      assert.match(checked.errors.partners!, /criterion 3/);
      assert.match(checked.errors.outcome!, /criterion 4/);
    });

    const bad: [string, Partial<FormValues>, keyof FormValues, RegExp][] = [
      ['a school not in the directory is chosen', { partners: `${RIV},nosuch01` }, 'partners', /from the list/],
      ['a mutual need is not on the list', { needs: 'stem,astrology' }, 'needs', /from the list/],
      ['no mutual need is chosen', { needs: '' }, 'needs', /at least one mutual need/],
      ['the pupil count is not a number', { pupils: 'Year 9' }, 'pupils', /whole number/],
      ['the budget is not an amount', { budget: 'lots' }, 'budget', /amount in pounds/],
      ['the decision-by date has passed', { decisionBy: '2026-11-24' }, 'decisionBy', /has passed/],
      ['the decision-by date is after the start', { decisionBy: '2027-03-01' }, 'decisionBy', /on or before the start date/],
      ['the end is before the start', { endDate: '2027-02-01' }, 'endDate', /on or after the start date/],
      ['the start date is in the past', { startDate: '2026-11-01', decisionBy: '2026-11-01' }, 'startDate', /in the past/],
    ];
    for (const [when, change, field, message] of bad) {
      it(`when ${when}, then the ${field} field says so`, function () {
        const checked = checkForm({ ...good, ...change }, ctx);
        assert.ok(!checked.ok);
        assert.match(checked.errors[field] ?? '', message);
      });
    }

    it('when a budget is typed in different ways, then it is read in pence', function () {
      assert.equal(parseBudget(''), undefined);
      assert.equal(parseBudget('1250'), 125_000);
      assert.equal(parseBudget('£1,250.5'), 125_050);
      assert.ok(Number.isNaN(parseBudget('12.345')!));
    });
  });

  describe('who may decide', function () {
    const cases: { when: string; actor: Actor; agg: () => Aggregate; version?: number; refused?: RegExp }[] = [
      { when: 'a rep of a partner school decides for it', actor: ben, agg: () => proposal() },
      { when: 'a rep of the lead school tries', actor: ann, agg: () => proposal(), refused: /Oakfield Academy is the lead school/ },
      { when: 'a rep of a school that is not a partner tries', actor: dan, agg: () => proposal(), refused: /Westbrook School is not a partner school.*Riverside Primary, Hillview High/ },
      { when: 'a teacher of a partner school tries', actor: tia, agg: () => proposal(), refused: /Only a rep of a partner school/ },
      { when: 'a coordinator who is no school\'s rep tries', actor: cora, agg: () => proposal(), refused: /final sign-off/ },
      { when: 'the school has already approved this version', actor: bea, agg: () => approvedBy(ben), refused: /Riverside Primary has already approved version 1.*Ben/ },
      { when: 'the same rep presses again', actor: ben, agg: () => approvedBy(ben), refused: /already approved version 1 of 'STEM Week' \(you/ },
      { when: 'the card is for an older version', actor: ben, agg: () => proposal(), version: 0, refused: /edited since/ },
      { when: 'the proposal was withdrawn', actor: ben, agg: () => ok(withdraw(proposal(), ann, 'no longer needed', LATER)), refused: /withdrawn by Ann/ },
      { when: 'the proposal is already approved', actor: ben, agg: () => ok(signOff(approvedBy(ben, cat), cora, 1, LATER, names)), refused: /already approved/ },
    ];
    for (const c of cases) {
      it(`when ${c.when}, then ${c.refused ? 'it is refused with the reason' : 'it is allowed'}`, function () {
        const agg = c.agg();
        const refusal = mayDecide(agg, c.actor, c.version ?? agg.proposal.version, names);
        if (c.refused) assert.match(refusal?.message ?? '(allowed)', c.refused);
        else assert.equal(refusal, undefined);
      });
    }

    it('when changes are requested or declined without a comment, then it is refused; with one it is recorded', function () {
      const agg = proposal();
      const noComment = decide(agg, ben, 'requestChanges', 1, ' ', LATER, names);
      assert.ok(!noComment.ok && noComment.reason === 'invalid');
      const noReason = decide(agg, ben, 'decline', 1, '', LATER, names);
      assert.ok(!noReason.ok && /reason/.test(noReason.message));
      const asked = decide(agg, ben, 'requestChanges', 1, 'Add Year 8 too', LATER, names);
      assert.ok(asked.ok);
      assert.deepEqual(asked.audit, { kind: 'changesRequested', version: 1, by: { aadObjectId: ben.aadObjectId, name: 'Ben' }, at: LATER, schoolId: RIV, comment: 'Add Year 8 too' });
    });
  });

  describe("whose own view Teams fetches for the shared card", function () {
    const everyone = [ann, ben, bea, cat, dan, tia, cora].map((p) => ({ ...p, teamsId: `29:${p.name}` }));
    const cases: { when: string; agg: () => Aggregate; now: string[]; listed: string[]; people?: typeof everyone; limit?: number }[] = [
      { when: 'nobody has decided', agg: () => proposal(), now: ['Ann', 'Ben', 'Bea', 'Cat', 'Cora'], listed: ['Ben', 'Bea', 'Cat', 'Ann', 'Cora'] },
      { when: 'Riverside has approved', agg: () => approvedBy(ben), now: ['Ann', 'Cat', 'Cora'], listed: ['Cat', 'Ann', 'Cora', 'Ben', 'Bea'] },
      { when: 'every partner school approved', agg: () => approvedBy(ben, cat), now: ['Ann', 'Cora'], listed: ['Ann', 'Cora', 'Ben', 'Bea', 'Cat'] },
      { when: 'it is approved', agg: () => ok(signOff(approvedBy(ben, cat), cora, 1, LATER, names)), now: [], listed: ['Ben', 'Bea', 'Cat', 'Ann', 'Cora'] },
      { when: "a rep's Teams id is not known", agg: () => proposal(), now: ['Ann', 'Ben', 'Bea', 'Cat', 'Cora'], listed: ['Ben', 'Cat', 'Ann', 'Cora'], people: everyone.map((p) => (p.name === 'Bea' ? { ...p, teamsId: '' } : p)) },
      { when: 'more people than Teams refreshes for', agg: () => proposal(), now: ['Ann', 'Ben', 'Bea', 'Cat', 'Cora'], listed: ['Ben', 'Bea'], limit: 2 },
    ];
    for (const c of cases) {
      it(`when ${c.when}, then those with a button to press now come first and nobody else is listed`, function () {
        const agg = c.agg();
        assert.deepEqual(everyone.filter((p) => mayActNow(agg, p, names)).map((p) => p.name), c.now);
        // The proposer is listed from the proposal itself, even when the directory does not list them.
        const people = (c.people ?? everyone).filter((p) => p.name !== 'Ann');
        const ids = refreshAudience(agg, people, names, c.limit ?? 60);
        assert.deepEqual(ids, c.listed.map((n) => (n === 'Ann' ? agg.proposal.proposer.teamsId : `29:${n}`)));
      });
    }
  });

  describe('when a proposal is approved', function () {
    const statuses: { when: string; agg: () => Aggregate; status: string; waiting: string[] }[] = [
      { when: 'nobody has decided', agg: () => proposal(), status: 'pending', waiting: [RIV, HILL] },
      { when: 'one of two partner schools approved', agg: () => approvedBy(ben), status: 'pending', waiting: [HILL] },
      { when: 'one school asks for changes', agg: () => ok(decide(approvedBy(ben), cat, 'requestChanges', 1, 'More staff', LATER, names)), status: 'changesRequested', waiting: [] },
      { when: 'one school declines and another asks for changes', agg: () => ok(decide(ok(decide(proposal(), ben, 'requestChanges', 1, 'Dates?', LATER, names)), cat, 'decline', 1, 'No capacity', LATER, names)), status: 'declined', waiting: [] },
      { when: 'every partner school approved', agg: () => approvedBy(ben, cat), status: 'awaitingSignOff', waiting: [] },
      { when: 'a coordinator signed off', agg: () => ok(signOff(approvedBy(ben, cat), cora, 1, LATER, names)), status: 'approved', waiting: [] },
      { when: 'it was withdrawn', agg: () => ok(withdraw(approvedBy(ben), ann, '', LATER)), status: 'withdrawn', waiting: [] },
    ];
    for (const s of statuses) {
      it(`when ${s.when}, then it is ${s.status}`, function () {
        const agg = s.agg();
        assert.equal(statusOf(agg), s.status);
        if (s.status === 'pending') assert.deepEqual(waitingOn(agg), s.waiting);
      });
    }

    it('when a coordinator signs off before every school approved, then it is refused naming who is still to approve', function () {
      const result = signOff(approvedBy(ben), cora, 1, LATER, names);
      assert.ok(!result.ok);
      assert.match(result.message, /Still to approve: Hillview High \(pending\)/);
    });

    it('when a rep who is not a coordinator signs off, then it is refused', function () {
      const result = signOff(approvedBy(ben, cat), ben, 1, LATER, names);
      assert.ok(!result.ok && result.reason === 'notAllowed');
    });

    it('when a coordinator signs off twice, then the second is refused and changes nothing', function () {
      const approved = ok(signOff(approvedBy(ben, cat), cora, 1, LATER, names));
      const again = signOff(approved, cora, 1, LATER, names);
      assert.ok(!again.ok && again.reason === 'twice');
      assert.match(again.message, /already approved \(signed off by you/);
    });
  });

  describe('reset after an edit', function () {
    it('when the proposer edits after a change request, then every approval is reset for the new version and the edit is audited', function () {
      const before = ok(decide(approvedBy(ben), cat, 'requestChanges', 1, 'Add Year 8', LATER, names));
      const result = edit(before, ann, { ...CONTENT, pupils: 180, partnerSchoolIds: [RIV, HILL, WEST] }, 1, LATER, names);
      assert.ok(result.ok);
      assert.equal(result.next.proposal.version, 2);
      assert.equal(result.newVersion, true);
      assert.deepEqual(
        [...result.next.decisions.values()].map((d) => [d.schoolId, d.status, d.version]),
        [
          [RIV, 'pending', 2],
          [HILL, 'pending', 2],
          [WEST, 'pending', 2],
        ],
      );
      assert.equal(statusOf(result.next), 'pending');
      assert.equal(result.audit.kind, 'edited');
      assert.match(result.audit.comment, /Changed: partner schools, pupils/);
    });

    it('when a school is taken off in an edit, then its decision goes', function () {
      const result = edit(approvedBy(ben), ann, { ...CONTENT, partnerSchoolIds: [HILL] }, 1, LATER, names);
      assert.ok(result.ok);
      assert.deepEqual([...result.next.decisions.keys()], [HILL]);
    });

    const refusals: [string, () => Result, RegExp][] = [
      ['someone other than the proposer edits', () => edit(proposal(), ben, CONTENT, 1, LATER, names), /Only the proposer \(Ann\) or a coordinator/],
      ['the form was for an older version', () => edit(ok(edit(proposal(), cora, CONTENT, 1, LATER, names)), ann, CONTENT, 1, LATER, names), /edited by someone else/],
      ['the proposal is approved', () => edit(ok(signOff(approvedBy(ben, cat), cora, 1, LATER, names)), ann, CONTENT, 1, LATER, names), /already approved/],
      ['a rep who is not the proposer withdraws', () => withdraw(proposal(), ben, '', LATER), /Only the proposer/],
      ['it is withdrawn twice', () => withdraw(ok(withdraw(proposal(), ann, '', LATER)), ann, '', LATER), /already withdrawn/],
    ];
    for (const [when, run, message] of refusals) {
      it(`when ${when}, then it is refused`, function () {
        const result = run();
        assert.ok(!result.ok);
        assert.match(result.message, message);
      });
    }
  });

  describe('deadlines for the nudges', function () {
    const cases: { when: string; before: () => Aggregate | undefined; after: (b: Aggregate | undefined) => Aggregate; expect: { register: string[]; complete: string[]; cancel: string[] } }[] = [
      { when: 'a proposal is submitted', before: () => undefined, after: () => proposal(), expect: { register: [RIV, HILL], complete: [], cancel: [] } },
      { when: 'one school approves', before: () => proposal(), after: (b) => ok(decide(b!, ben, 'approve', 1, '', LATER, names)), expect: { register: [], complete: [RIV], cancel: [] } },
      { when: 'the last school approves', before: () => approvedBy(ben), after: (b) => ok(decide(b!, cat, 'approve', 1, '', LATER, names)), expect: { register: [], complete: [HILL], cancel: [] } },
      { when: 'one school asks for changes', before: () => proposal(), after: (b) => ok(decide(b!, ben, 'requestChanges', 1, 'Dates?', LATER, names)), expect: { register: [], complete: [RIV], cancel: [HILL] } },
      {
        when: 'the proposer edits after a change request',
        before: () => ok(decide(proposal(), ben, 'requestChanges', 1, 'Dates?', LATER, names)),
        after: (b) => ok(edit(b!, ann, CONTENT, 1, LATER, names)),
        expect: { register: [RIV, HILL], complete: [], cancel: [] },
      },
      {
        when: 'the proposer edits a pending proposal and takes a school off',
        before: () => approvedBy(ben),
        after: (b) => ok(edit(b!, ann, { ...CONTENT, partnerSchoolIds: [RIV] }, 1, LATER, names)),
        expect: { register: [RIV], complete: [], cancel: [HILL] },
      },
      { when: 'the proposal is withdrawn', before: () => approvedBy(ben), after: (b) => ok(withdraw(b!, ann, '', LATER)), expect: { register: [], complete: [], cancel: [HILL] } },
      { when: 'a coordinator signs off', before: () => approvedBy(ben, cat), after: (b) => ok(signOff(b!, cora, 1, LATER, names)), expect: { register: [], complete: [], cancel: [] } },
    ];
    for (const c of cases) {
      it(`when ${c.when}, then register [${c.expect.register}], complete [${c.expect.complete}], cancel [${c.expect.cancel}]`, function () {
        const before = c.before();
        assert.deepEqual(deadlineChanges(before, c.after(before)), c.expect);
      });
    }

    it('when a deadline item is made, then it is for the school\'s reps by 17:00 on the decision-by date with the card\'s buttons', function () {
      const item = deadlineItem(proposal(), RIV, 'Riverside Primary');
      assert.equal(item.id, 'proposal:prtest00001:school:riv00002');
      assert.deepEqual(item.who, { kind: 'schoolReps', schoolId: RIV });
      assert.equal(item.dueAt.toISOString(), '2026-12-04T17:00:00.000Z');
      assert.equal(item.what, "Approve 'STEM Week' for Riverside Primary");
      assert.deepEqual(item.actions.map((a) => [a.title, a.verb, a.data]), [
        ['Approve for my school', 'proposal.approve', { proposalId: 'prtest00001', version: '1' }],
        ['Request changes', 'proposal.requestChanges', { proposalId: 'prtest00001', version: '1' }],
        ['Decline', 'proposal.decline', { proposalId: 'prtest00001', version: '1' }],
      ]);
      assert.equal(item.essential, true);
    });
  });

  describe('the list and the partnership\'s tags', function () {
    const summary = (id: string, status: Summary['status'], waiting: string[], need: string): Summary => ({
      id,
      title: id,
      leadSchoolId: OAK,
      proposerAad: ann.aadObjectId,
      status,
      partnerSchoolIds: [RIV, HILL],
      waitingOn: waiting,
      approved: 2 - waiting.length,
      mutualNeeds: [need],
      funderOutcomes: [],
      decisionBy: '2026-12-04',
      version: 1,
      updatedAt: NOW,
    });
    const all = [summary('a', 'pending', [HILL], 'STEM'), summary('b', 'pending', [RIV, HILL], 'Resilience'), summary('c', 'awaitingSignOff', [], 'STEM'), summary('d', 'approved', [], 'STEM')];

    it('when a rep lists proposals, then what waits on their school comes first, then the rest by status', function () {
      const sections = listSections(all, ben, {}, 'Riverside Primary');
      assert.deepEqual(sections.map((s) => [s.title, s.items.map((i) => i.id)]), [
        ['Waiting on Riverside Primary', ['b']],
        ['Awaiting approval', ['a']],
        ['Awaiting sign-off', ['c']],
        ['Approved', ['d']],
      ]);
    });

    it('when a coordinator lists proposals filtered by a mutual need, then sign-offs come first and only that need shows', function () {
      const sections = listSections(all, cora, { need: 'stem' }, '');
      assert.deepEqual(sections.map((s) => [s.title, s.items.map((i) => i.id)]), [
        ['Waiting for your final sign-off', ['c']],
        ['Awaiting approval', ['a']],
        ['Approved', ['d']],
      ]);
    });

    it('when a label has commas, then its id has none (Teams joins multi-select values with commas)', function () {
      assert.equal(tagId('Cultural capital (knowledge, skills and education)'), 'cultural-capital-knowledge-skills-and-education');
    });

    it('when coordinators add and remove tags, then duplicates and the last mutual need are refused', function () {
      const needs = tagsFromLabels(['STEM']);
      const added = addTag(needs, ' Oracy ', 'mutual need');
      assert.ok(added.ok);
      assert.deepEqual(added.tags.map((t) => t.label), ['STEM', 'Oracy']);
      assert.ok(!addTag(added.tags, 'stem', 'mutual need').ok);
      assert.ok(!removeTag(needs, 'STEM', 'mutual need').ok, 'keeps at least one');
      const removed = removeTag(added.tags, 'oracy', 'mutual need');
      assert.ok(removed.ok);
      assert.deepEqual(removed.tags.map((t) => t.label), ['STEM']);
    });
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Deadline, DeadlineRegistry } from '../../src/platform/deadlines/types';
import { createLogger } from '../../src/platform/logging';
import { Outbox } from '../../src/platform/outbox/outbox';
import { TIMERS_TABLE, Timers } from '../../src/platform/timers';
import { Tables } from '../../src/platform/storage/tables';
import type { Aggregate, Content } from '../../src/proposals/model';
import { decide, submit, type Actor } from '../../src/proposals/rules';
import { ProposalService } from '../../src/proposals/service';
import { PROPOSALS_TABLE, ProposalStore, type Loaded } from '../../src/proposals/store';
import { uniquePrefix } from '../support/bot';
import { storageConnectionString } from '../support/hooks';

/**
 * The proposal store on Azurite: a change is one transaction under the proposal row's ETag, so two
 * decisions made from the same state cannot both commit, and the service applies the loser again on
 * the winner's result. The race is forced here (both read before either writes), not left to timing.
 * The outbox here is real (Azurite) with the deadline registry recording what it hears; nothing in
 * these changes goes to Teams (the proposer is told through a stand-in that records).
 */

const NOW = new Date('2026-11-25T10:00:00Z');
const [OAK, RIV, HILL] = ['oak00001', 'riv00002', 'hil00003'];
const names = (id: string) => ({ [OAK]: 'Oakfield', [RIV]: 'Riverside', [HILL]: 'Hillview' })[id] ?? '';
const rep = (key: string, schoolId: string): Actor => ({ aadObjectId: `aad-${key}`, name: key, schoolId, isRep: true, isCoordinator: false });
const CONTENT: Content = {
  title: 'STEM Week',
  summary: 'Challenges.',
  partnerSchoolIds: [RIV, HILL],
  contributions: 'Each school runs a day.',
  collaboration: '',
  pupils: 100,
  staff: 10,
  legacy: '',
  outcome: 'A survey.',
  mutualNeeds: ['STEM'],
  funderOutcomes: [],
  startDate: '2027-02-08',
  endDate: '2027-02-08',
  budgetPence: undefined,
  decisionBy: '2026-12-04',
};

/** A store whose first `readers` loads wait for each other, so they all read the same state. */
class RacingStore extends ProposalStore {
  loads = 0;
  private waiting: (() => void)[] = [];
  constructor(
    tables: Tables,
    logger: ReturnType<typeof createLogger>,
    private readers: number,
  ) {
    super(tables, logger);
  }
  override async load(id: string): Promise<Loaded | undefined> {
    const loaded = await super.load(id);
    this.loads += 1;
    if (this.readers > 0) {
      this.readers -= 1;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        if (this.readers === 0) this.waiting.forEach((r) => r());
      });
    }
    return loaded;
  }
}

describe('proposal store and service on Azurite', function () {
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  let tables: Tables;

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure([PROPOSALS_TABLE, TIMERS_TABLE]);
    lines.length = 0;
  });

  async function stored(store: ProposalStore): Promise<Aggregate> {
    const { agg, audit } = submit('pr00000000aa', { aadObjectId: 'aad-ann', teamsId: '29:ann', name: 'Ann' }, OAK, CONTENT, NOW);
    const outbox = outboxFor(store);
    assert.notEqual(await outbox.commit(PROPOSALS_TABLE, agg.proposal.id, store.createActions(agg, audit), [], '1'), false);
    assert.equal(await outbox.commit(PROPOSALS_TABLE, agg.proposal.id, store.createActions(agg, audit), [], '1'), false, 'a second create of the same id is refused');
    return agg;
  }

  const told: string[] = [];
  const heard: string[] = [];
  function outboxFor(_store: ProposalStore): Outbox {
    const deadlines: DeadlineRegistry = {
      register: async (item: Deadline) => void heard.push(`register ${item.id}`),
      complete: async (id: string) => void heard.push(`complete ${id}`),
      cancel: async (id: string) => void heard.push(`cancel ${id}`),
    };
    const proactive = { reachPerson: async (to: { name?: string }) => (told.push(to.name ?? ''), { reference: {}, activityId: 'a1' }) };
    return new Outbox({ tables, timers: new Timers(tables, logger), proactive: proactive as never, conversations: undefined as never, deadlines, clock: { now: () => NOW, elapsed: () => performance.now() }, logger });
  }

  it('when two changes are committed from the same read, then the first commits and the second writes nothing', async function () {
    const store = new ProposalStore(tables, logger);
    await stored(store);
    const a = (await store.load('pr00000000aa'))!;
    const b = (await store.load('pr00000000aa'))!;
    const byBen = decide(a.agg, rep('ben', RIV), 'approve', 1, '', NOW, names);
    const byCat = decide(b.agg, rep('cat', HILL), 'approve', 1, '', NOW, names);
    assert.ok(byBen.ok && byCat.ok);
    const outbox = outboxFor(store);
    assert.notEqual(await outbox.commit(PROPOSALS_TABLE, 'pr00000000aa', store.commitActions(a, byBen.next, byBen.audit, false), [], '2'), false);
    assert.equal(await outbox.commit(PROPOSALS_TABLE, 'pr00000000aa', store.commitActions(b, byCat.next, byCat.audit, false), [], '2'), false);
    const now = (await store.load('pr00000000aa'))!;
    assert.deepEqual([...now.agg.decisions.values()].map((d) => [d.schoolId, d.status]), [
      [HILL, 'pending'],
      [RIV, 'approved'],
    ]);
    assert.deepEqual((await store.history('pr00000000aa')).entries.map((e) => e.kind), ['submitted', 'approved']);
  });

  it('when two reps decide at the same moment through the service, then both decisions are recorded and the deadlines hear of both', async function () {
    const store = new RacingStore(tables, logger, 2);
    await stored(store);
    heard.length = 0;
    told.length = 0;
    const directory = { schools: async () => [], channels: async () => [], staff: async () => [] };
    const service = new ProposalService({ store, directory: directory as never, conversations: undefined as never, outbox: outboxFor(store), clock: { now: () => NOW, elapsed: () => 0 }, logger });
    const [ben, cat] = await Promise.all([
      service.apply('pr00000000aa', (agg) => decide(agg, rep('ben', RIV), 'approve', 1, '', NOW, names), undefined),
      service.apply('pr00000000aa', (agg) => decide(agg, rep('cat', HILL), 'requestChanges', 1, 'Add Year 8', NOW, names), undefined),
    ]);
    assert.equal(ben.kind, 'done');
    assert.equal(cat.kind, 'done');
    assert.equal(store.loads, 3, 'one of them lost the race and applied again on the new state');
    const now = (await store.load('pr00000000aa'))!;
    assert.deepEqual(Object.fromEntries([...now.agg.decisions.values()].map((d) => [d.schoolId, d.status])), { [RIV]: 'approved', [HILL]: 'changesRequested' });
    const history = await store.history('pr00000000aa');
    assert.deepEqual(history.entries.map((e) => `${e.kind} ${e.schoolId ?? ''}`.trim()).sort(), ['approved riv00002', 'changesRequested hil00003', 'submitted']);
    assert.equal(history.entries.find((e) => e.kind === 'changesRequested')?.comment, 'Add Year 8');

    // The deadline calls follow each committed change (as the outbox's effects of that change), whichever order they landed in.
    for (const applied of [ben, cat]) if (applied.kind === 'done') await applied.delivered;
    assert.deepEqual(told, ['Ann', 'Ann'], 'the proposer was told of each decision');
    assert.ok(heard.includes(`complete proposal:pr00000000aa:school:${HILL}`), heard.join('; '));
    assert.ok(heard.some((h) => h.endsWith(`proposal:pr00000000aa:school:${RIV}`) && !h.startsWith('register')), heard.join('; '));
    assert.ok(!heard.some((h) => h.startsWith('register')), 'nothing is nudged while a change request holds it up');
  });

  it('when the lists of mutual needs and funder outcomes have never been edited, then they are DOMAIN.md\'s; edits are kept', async function () {
    const store = new ProposalStore(tables, logger);
    assert.equal((await store.tags('needs')).length, 12);
    assert.deepEqual((await store.tags('outcomes')).map((t) => t.label), ['Cultural capital (knowledge, skills and education)', 'Leadership skills', 'Community pride and responsibility', 'Self-confidence and resilience']);
    await store.updateTags('outcomes', (tags) => ({ ok: true as const, tags: tags.slice(0, 1) }));
    assert.deepEqual((await store.tags('outcomes')).map((t) => t.id), ['cultural-capital-knowledge-skills-and-education']);
  });
});

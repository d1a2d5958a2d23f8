import assert from 'node:assert/strict';
import { odata } from '@azure/data-tables';
import { ManualClock } from '../../../src/platform/clock';
import { createLogger } from '../../../src/platform/logging';
import { Batches, MissingAggregate, type BatchedAggregate, type Step } from '../../../src/platform/outbox/batch';
import { stampOf } from '../../../src/platform/outbox/kernel';
import { Outbox } from '../../../src/platform/outbox/outbox';
import type { PersonAddress } from '../../../src/platform/proactive';
import { Tables } from '../../../src/platform/storage/tables';
import type { RowWrite } from '../../../src/platform/storage/transaction';
import { TIMERS_TABLE, Timers } from '../../../src/platform/timers';
import { uniquePrefix } from '../../support/bot';
import { storageConnectionString } from '../../support/hooks';

/**
 * The commit kernel's batching option with an aggregate that is not a TeachMeet (the TeachMeet rush
 * tests drive it through the wire): seats for a school trip, where each person who asks is told
 * whether they have one. It shows the option is the kernel's, not one capability's: every request is
 * answered once, what is stored matches what people were told, the ETag decides between two
 * instances, and a batch too big for one transaction is split.
 */

const silent = createLogger('silent');
const TABLE = 'Trips';

interface Trip {
  readonly etag: string;
  readonly seats: number;
  readonly version: number;
  readonly queued: number;
  readonly going: ReadonlySet<string>;
  /** Not stored with the trip's ETag: notes kept beside it (as a TeachMeet keeps where its card was posted). */
  readonly notes: readonly string[];
}

type Ask = { readonly person: string; readonly giveBack?: true };
type Answer = 'seat' | 'full' | 'already' | 'given back' | 'had none';

/** The pure rule: a seat while there are any, once per person; a seat given back is free again. */
function ask(going: Set<string>, seats: number, a: Ask): Answer {
  if (a.giveBack) return going.delete(a.person) ? 'given back' : 'had none';
  if (going.has(a.person)) return 'already';
  if (going.size >= seats) return 'full';
  going.add(a.person);
  return 'seat';
}

interface TripOptions {
  readonly maxBatch?: number;
  /** A batch that seats more than this many people at once is split (as the aggregate decides). */
  readonly splitOver?: number;
  /** Awaited while a batch is being decided (a test holds a commit in flight). */
  readonly hold?: () => Promise<void>;
}

function trips(tables: Tables, options: TripOptions = {}): BatchedAggregate<Trip, Ask, Answer> {
  const { maxBatch = 40, splitOver = Infinity, hold } = options;
  const client = tables.client(TABLE);
  return {
    name: 'trip',
    table: TABLE,
    maxBatch,
    async load(key) {
      let head: { etag: string; seats: number; version: number; queued: number } | undefined;
      const going = new Set<string>();
      for await (const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${key}` } })) {
        const rowKey = String(row.rowKey);
        if (rowKey === 'head') head = { etag: String(row.etag), seats: Number(row.seats), version: Number(row.version), queued: Number(row.queued ?? 0) };
        else if (rowKey.startsWith('going|') && row.gone !== true) going.add(rowKey.slice('going|'.length));
      }
      return head && { ...head, going, notes: [] };
    },
    version: (trip) => trip.version,
    queued: (trip) => trip.queued,
    async decide(key, base, intents, queued): Promise<Step<Trip, Answer>> {
      await hold?.();
      const going = new Set(base.going);
      const outcomes = intents.map((a) => ask(going, base.seats, a));
      const added = [...going].filter((p) => !base.going.has(p));
      const gone = [...base.going].filter((p) => !going.has(p));
      if (added.length === 0 && gone.length === 0) return { kind: 'same', outcomes };
      if (added.length > splitOver) return { kind: 'split', why: `seats ${added.length} people` };
      const version = base.version + 1;
      const rows: RowWrite[] = [
        { partitionKey: key, rowKey: 'head', values: { seats: base.seats, version, queued: queued() }, ifMatch: base.etag },
        ...added.map((p): RowWrite => ({ partitionKey: key, rowKey: `going|${p}`, values: { at: version, gone: false } })),
        ...gone.map((p): RowWrite => ({ partitionKey: key, rowKey: `going|${p}`, values: { at: version, gone: true } })),
      ];
      const to = (p: string): PersonAddress => ({ aadObjectId: p, teamsId: `29:${p}`, name: p });
      return {
        kind: 'write',
        next: { etag: '', seats: base.seats, version, queued: 0, going, notes: base.notes },
        rows,
        effects: added.map((p) => ({ kind: 'tell' as const, to: to(p), activity: { text: 'You have a seat on the trip.' } })),
        stamp: stampOf(version),
        outcomes,
      };
    },
  };
}

describe('outbox: batching changes per key (the commit kernel option any aggregate can use)', function () {
  this.timeout(60_000);
  let tables: Tables;
  let told: string[];

  const proactive = {
    async reachPerson(to: PersonAddress) {
      told.push(to.aadObjectId);
      return { reference: {}, activityId: `a${told.length}` };
    },
  };

  function instance(options?: TripOptions): { batches: Batches<Trip, Ask, Answer>; outbox: Outbox } {
    const clock = new ManualClock('2026-12-07T10:00:00Z');
    const outbox = new Outbox({ tables, timers: new Timers(tables, silent), proactive: proactive as never, conversations: undefined as never, deadlines: undefined as never, clock, logger: silent });
    return { batches: new Batches(trips(tables, options), outbox, silent), outbox };
  }

  async function newTrip(key: string, seats: number): Promise<void> {
    await tables.client(TABLE).createEntity({ partitionKey: key, rowKey: 'head', seats, version: 0, queued: 0 });
  }

  async function stored(key: string): Promise<{ going: string[]; version: number }> {
    const trip = await trips(tables).load(key);
    return { going: [...(trip?.going ?? [])].sort(), version: trip?.version ?? -1 };
  }

  const people = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `p${String(from + i).padStart(4, '0')}`);

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure([TABLE, TIMERS_TABLE]);
    told = [];
  });

  afterEach(async function () {
    await tables.dropAll([TABLE, TIMERS_TABLE]).catch(() => undefined);
  });

  it('when 150 people ask at once for 30 seats, then 30 are told they have a seat, once each, 120 hear it is full, and a handful of commits stored it', async function () {
    await newTrip('t1', 30);
    const { batches, outbox } = instance();
    const asked = people(150);
    const answers = await Promise.all(asked.map((person) => batches.submit('t1', { person })));
    await outbox.settle();

    const seated = asked.filter((_, i) => answers[i]!.outcome === 'seat');
    assert.equal(seated.length, 30);
    assert.equal(answers.filter((a) => a.outcome === 'full').length, 120);
    const { going, version } = await stored('t1');
    assert.deepEqual(going, [...seated].sort(), 'what is stored is what people were told');
    assert.deepEqual([...told].sort(), [...seated].sort(), 'each person with a seat was told once');
    assert.ok(version <= 5, `150 requests took ${version} commits (one by one would take 30 and a read before each)`);
  });

  it('when two instances take requests for the same trip at once, then the ETag decides: exactly the seats there are, nobody twice, every request answered', async function () {
    await newTrip('t2', 120);
    const [a, b] = [instance(), instance()];
    const asked = people(200);
    // Some people ask twice, once through each instance (Teams redelivering to another instance).
    const twice = asked.slice(0, 20);
    const answers = await Promise.all([
      ...asked.map((person, i) => (i % 2 === 0 ? a : b).batches.submit('t2', { person })),
      ...twice.map((person, i) => (i % 2 === 0 ? b : a).batches.submit('t2', { person })),
    ]);
    await Promise.all([a.outbox.settle(), b.outbox.settle()]);

    assert.equal(answers.length, 220, 'every request was answered');
    assert.equal(answers.filter((x) => x.outcome === 'seat').length, 120, 'exactly the seats there are');
    const { going } = await stored('t2');
    assert.equal(going.length, 120);
    assert.equal(new Set(told).size, told.length, 'nobody was told twice');
    assert.deepEqual([...told].sort(), going, 'everyone with a seat was told');
    assert.ok(a.batches.conflicts + b.batches.conflicts >= 1, 'the two instances did meet under the ETag');
  });

  it('when the trip changed through another instance since this one last held it, then its next request is decided on what is stored, not on what it held', async function () {
    await newTrip('t3', 2);
    const [a, b] = [instance(), instance()];
    assert.equal((await a.batches.submit('t3', { person: 'ann' })).outcome, 'seat');
    assert.equal((await b.batches.submit('t3', { person: 'ben' })).outcome, 'seat', 'the last seat went through the other instance');

    const late = await a.batches.submit('t3', { person: 'cat' });
    assert.equal(late.outcome, 'full', 'the first instance held the trip with a seat left; the ETag refused that and it read again');
    assert.deepEqual(late.state.going, new Set(['ann', 'ben']));
    assert.deepEqual((await stored('t3')).going, ['ann', 'ben']);
  });

  it('when a batch would need more rows than one transaction holds, then it is committed in parts, and every request still gets its answer', async function () {
    await newTrip('t4', 500);
    // Each seat writes its own row and its own message: 99 requests need 199 rows.
    const { batches, outbox } = instance({ maxBatch: 99 });
    const asked = people(99);
    const answers = await Promise.all(asked.map((person) => batches.submit('t4', { person })));
    await outbox.settle();
    assert.ok(answers.every((x) => x.outcome === 'seat'));
    const { going, version } = await stored('t4');
    assert.deepEqual(going, asked);
    assert.ok(version >= 2, `split into ${version} commits`);
    assert.deepEqual([...told].sort(), asked);
  });

  it('when the aggregate decides a batch seats too many at once, then it is committed in parts, and every request still gets its answer', async function () {
    await newTrip('t5', 100);
    const { batches, outbox } = instance({ maxBatch: 40, splitOver: 10 });
    const asked = people(40);
    const answers = await Promise.all(asked.map((person) => batches.submit('t5', { person })));
    await outbox.settle();
    assert.ok(answers.every((x) => x.outcome === 'seat'));
    const { going, version } = await stored('t5');
    assert.deepEqual(going, asked);
    assert.ok(version >= 4, `40 seats, at most 10 a commit: ${version} commits`);
  });

  it('when a seat was given back through another instance, then someone asking again through the first is decided on what is stored (nothing to write, so no ETag would have checked what it held)', async function () {
    await newTrip('t6', 5);
    const [a, b] = [instance(), instance()];
    assert.equal((await a.batches.submit('t6', { person: 'ann' })).outcome, 'seat');
    assert.equal((await b.batches.submit('t6', { person: 'ann', giveBack: true })).outcome, 'given back');

    const again = await a.batches.submit('t6', { person: 'ann' });
    assert.equal(again.outcome, 'seat', 'Ann has a seat again, not "already" from what the first instance held');
    assert.deepEqual((await stored('t6')).going, ['ann']);
  });

  it('when something beside the aggregate is noted while a commit is in flight, then what the instance holds afterwards still has it', async function () {
    await newTrip('t7', 5);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let deciding!: () => void;
    const decided = new Promise<void>((resolve) => (deciding = resolve));
    const { batches } = instance({
      hold: async () => {
        deciding();
        await held;
      },
    });
    await batches.read('t7');
    const first = batches.submit('t7', { person: 'ann' });
    await decided;
    batches.amend('t7', (trip) => ({ ...trip, notes: [...trip.notes, 'posted in the staff room'] }));
    release();
    await first;
    assert.deepEqual(batches.held('t7')?.notes, ['posted in the staff room'], 'the note made during the commit is still held after it');
  });

  it('when someone asks about a trip that is not stored, then they hear it is missing and nothing is stored', async function () {
    const { batches } = instance();
    await assert.rejects(batches.submit('nowhere', { person: 'ann' }), (err: unknown) => err instanceof MissingAggregate && err.key === 'nowhere');
    const rows = [];
    for await (const row of tables.client(TABLE).listEntities()) rows.push(row);
    assert.deepEqual(rows, []);
  });
});

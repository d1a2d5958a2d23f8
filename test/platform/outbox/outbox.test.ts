import assert from 'node:assert/strict';
import type { TableClient } from '@azure/data-tables';
import { ManualClock } from '../../../src/platform/clock';
import { newPseudonym } from '../../../src/platform/identity';
import { createLogger } from '../../../src/platform/logging';
import { Outbox, OUTBOX_TIMER } from '../../../src/platform/outbox/outbox';
import { ConnectorError, type PersonAddress } from '../../../src/platform/proactive';
import { Tables } from '../../../src/platform/storage/tables';
import { TIMERS_TABLE, Timers } from '../../../src/platform/timers';
import { uniquePrefix } from '../../support/bot';
import { storageConnectionString } from '../../support/hooks';

/**
 * The outbox on Azurite, with a stand-in for Teams that records who was told what (the capabilities'
 * crash tests drive it through the wire; here its own promises are checked where they are easiest to
 * see): order per person, a card only ever updated to its latest state, a message to hundreds made
 * into single sends without repeats or losses across a crash, and failures kept for later.
 */

const silent = createLogger('silent');

/** `tables` with one TableClient method of every client replaced (a storage blip, a slow answer). */
function intercepting(tables: Tables, method: 'deleteEntity' | 'submitTransaction', replacement: (real: TableClient) => (...args: never[]) => Promise<unknown>): Tables {
  const over = Object.create(tables) as Tables;
  over.client = (name: string) => {
    const real = tables.client(name);
    return new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === method) return replacement(real);
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
      },
    });
  };
  return over;
}

describe('outbox: what a change owes people, delivered once', function () {
  this.timeout(30_000);
  let tables: Tables;
  let clock: ManualClock;
  let sent: { to: string; text: string }[];
  let failNext: number;

  const proactive = {
    async reachPerson(to: PersonAddress, _via: unknown, activity: { text?: string }) {
      if (failNext > 0) {
        failNext -= 1;
        throw new ConnectorError(502, undefined, 'send');
      }
      sent.push({ to: to.aadObjectId, text: activity.text ?? '' });
      return { reference: {}, activityId: `a${sent.length}` };
    },
    async update(_reference: unknown, activityId: string, activity: { text?: string }) {
      sent.push({ to: `card:${activityId}`, text: activity.text ?? '' });
    },
    async post(reference: { conversation?: { id?: string } }, activity: { text?: string }) {
      sent.push({ to: `conversation:${reference.conversation?.id ?? ''}`, text: activity.text ?? '' });
      return { reference, activityId: `a${sent.length}` };
    },
  };

  function outbox(over?: Tables): Outbox {
    return new Outbox({ tables: over ?? tables, timers: new Timers(tables, silent), proactive: proactive as never, conversations: undefined as never, deadlines: undefined as never, clock, logger: silent });
  }

  const person = (i: number): PersonAddress => ({ aadObjectId: `aad-${i}`, teamsId: `29:${i}`, name: `Person ${i}` });

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure(['Agg', TIMERS_TABLE]);
    clock = new ManualClock('2026-12-07T10:00:00Z');
    sent = [];
    failNext = 0;
  });

  afterEach(async function () {
    await tables.dropAll(['Agg', TIMERS_TABLE]).catch(() => undefined);
  });

  it('when three changes each tell the same person, then they arrive in the order they were committed', async function () {
    const box = outbox();
    box.pause();
    for (const [stamp, text] of [['0000000002', 'second'], ['0000000001', 'first'], ['0000000003', 'third']] as const) {
      await box.commit('Agg', 'p1', [], [{ kind: 'tell', to: person(1), activity: { text } }], stamp);
    }
    await outbox().deliver('Agg', 'p1');
    assert.deepEqual(sent.map((s) => s.text), ['first', 'second', 'third']);
  });

  it("when a change tells someone erased (their pseudonym: alone, among many, or their chat), then only the others are told and nothing about them is left owed or failed", async function () {
    const box = outbox();
    const erased = { aadObjectId: newPseudonym(), teamsId: '', name: 'Former member' };
    const committed = await box.commit('Agg', 'pe', [], [
      { kind: 'tell', to: erased, activity: { text: 'your proposal was approved' } },
      { kind: 'tellMany', to: [person(1), erased, person(2)], activity: { text: 'the TeachMeet has moved' } },
      { kind: 'post', conversationId: newPseudonym(), activity: { text: 'in their chat' } },
    ], '0000000001');
    assert.ok(committed);
    await committed.delivered;
    assert.deepEqual(sent, [{ to: 'aad-1', text: 'the TeachMeet has moved' }, { to: 'aad-2', text: 'the TeachMeet has moved' }]);
    const left: string[] = [];
    for await (const row of tables.client('Agg').listEntities<Record<string, unknown>>()) left.push(`${row.rowKey} ${String(row.state ?? '')}`);
    assert.deepEqual(left, [], 'nothing owed or failed is left');
    assert.deepEqual({ dropped: box.stats.dropped, failed: box.stats.failed }, { dropped: 3, failed: 0 });
  });

  it('when a shared card changes three times before it is sent, then it is updated once, to the latest state', async function () {
    const box = outbox();
    box.pause();
    for (const v of [1, 2, 3]) await box.commit('Agg', 'p1', [], [{ kind: 'update', reference: {}, activityId: 'card1', activity: { text: `version ${v}` } }], String(v));
    await outbox().deliver('Agg', 'p1');
    assert.deepEqual(sent, [{ to: 'card:card1', text: 'version 3' }]);
  });

  it('when one message goes to 250 people and the instance dies after the first step, then another instance tells everyone else, and nobody twice', async function () {
    const everyone = Array.from({ length: 250 }, (_, i) => person(i));
    const first = outbox();
    first.pause();
    await first.commit('Agg', 'ev', [], [{ kind: 'tellMany', to: everyone, activity: { text: 'The TeachMeet is cancelled' } }], '0000000001');
    // The first instance makes the first 99 single rows and sends some of them, then dies.
    let told = 0;
    let inFlight = 0;
    let inFlightAtCrash = 0;
    let halted = false;
    const dying = new Outbox({
      tables,
      timers: new Timers(tables, silent),
      proactive: {
        ...proactive,
        async reachPerson(to: PersonAddress, via: unknown, activity: { text?: string }) {
          told += 1;
          inFlight += 1;
          // A dead process sends nothing more, but sends already under way (here: up to 64 side by side) may still land.
          if (halted) inFlightAtCrash += 1;
          try {
            if (told === 41) {
              inFlightAtCrash = inFlight;
              halted = true;
              dying.halt();
            }
            await new Promise((r) => setTimeout(r, 5));
            return await proactive.reachPerson(to, via, activity);
          } finally {
            inFlight -= 1;
          }
        },
      } as never,
      conversations: undefined as never,
      deadlines: undefined as never,
      clock,
      logger: silent,
    });
    await dying.deliver('Agg', 'ev');
    const before = sent.length;
    assert.ok(before > 0 && before < 250, `the first instance told ${before} before it died`);
    // Its lease runs out; the pointer brings the partition to another instance's scheduler.
    clock.advance(120_000);
    const survivor = outbox();
    const timers = new Timers(tables, silent);
    await timers.runDue(clock.now(), new Map([[OUTBOX_TIMER, (key: string) => survivor.recover(key)]]));
    await survivor.settle();
    const counts = new Map<string, number>();
    for (const s of sent) counts.set(s.to, (counts.get(s.to) ?? 0) + 1);
    assert.equal(counts.size, 250, 'everyone was told');
    const twice = [...counts.entries()].filter(([, n]) => n > 1).map(([to]) => to);
    assert.ok(twice.length <= inFlightAtCrash, `only sends in flight when it died (${inFlightAtCrash}) went twice: ${twice.length}`);
  });

  it('when Teams fails for a moment, then the message is kept and sent when its retry is due, once', async function () {
    const box = outbox();
    failNext = 1;
    const committed = await box.commit('Agg', 'p2', [], [{ kind: 'tell', to: person(7), activity: { text: 'hello' } }], '1');
    assert.ok(committed);
    await committed.delivered;
    assert.equal(sent.length, 0);
    assert.equal(box.stats.deferred, 1);
    clock.advance(120_000);
    await new Timers(tables, silent).runDue(clock.now(), new Map([[OUTBOX_TIMER, (key: string) => box.recover(key)]]));
    await box.settle();
    assert.deepEqual(sent.map((s) => s.text), ['hello']);
  });

  it('when the instance is answering many people (a rush), then what a change owes goes once they have been answered, not while they wait; one turn on its own never holds it up', async function () {
    let turns = 50;
    const box = new Outbox({ tables, timers: new Timers(tables, silent), proactive: proactive as never, conversations: undefined as never, deadlines: undefined as never, clock, logger: silent, answering: { turns: () => turns } });
    const committed = await box.commit('Agg', 'p5', [], [{ kind: 'tell', to: person(1), activity: { text: 'your place is confirmed' } }], '1');
    assert.ok(committed);
    // The people being answered are still waiting: nothing has gone.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sent.length, 0, 'nothing is sent while 50 people wait for their answer');
    turns = 3;
    await committed.delivered;
    assert.deepEqual(sent.map((s) => s.text), ['your place is confirmed'], 'sent once they have been answered');

    turns = 1; // one person whose own turn waits for this change's messages
    const own = await box.commit('Agg', 'p5', [], [{ kind: 'tell', to: person(2), activity: { text: 'posted' } }], '2');
    assert.ok(own);
    await own.delivered;
    assert.deepEqual(sent.map((s) => s.text), ['your place is confirmed', 'posted']);
  });

  it('when the instance stays busy answering, then what a change owes still goes after a short wait (it is never starved)', async function () {
    const box = new Outbox({ tables, timers: new Timers(tables, silent), proactive: proactive as never, conversations: undefined as never, deadlines: undefined as never, clock, logger: silent, answering: { turns: () => 500, yieldAtMostMs: 200 } });
    const committed = await box.commit('Agg', 'p6', [], [{ kind: 'tell', to: person(1), activity: { text: 'hello' } }], '1');
    assert.ok(committed);
    await committed.delivered;
    assert.deepEqual(sent.map((s) => s.text), ['hello']);
  });

  it("when a partition owes effects, then its latest stamp is the greatest one still owed (a card's row has none; what was delivered does not count)", async function () {
    const box = outbox();
    assert.equal(await box.latestStamp('Agg', 'p5'), undefined, 'nothing owed');
    box.pause();
    await box.commit('Agg', 'p5', [], [{ kind: 'tell', to: person(1), activity: { text: 'one' } }], '0000000007');
    await box.commit('Agg', 'p5', [], [{ kind: 'tell', to: person(2), activity: { text: 'two' } }, { kind: 'update', reference: {}, activityId: 'zzz', activity: { text: 'card' } }], '0000000009');
    assert.equal(await box.latestStamp('Agg', 'p5'), '0000000009');
    await outbox().deliver('Agg', 'p5');
    assert.equal(sent.length, 3);
    assert.equal(await box.latestStamp('Agg', 'p5'), undefined, 'everything delivered');
  });

  /** Time passes beyond any retry and the scheduler's tick runs the due pointers, as on any instance. */
  async function tickLater(box: Outbox): Promise<void> {
    clock.advance(120_000);
    await new Timers(tables, silent).runDue(clock.now(), new Map([[OUTBOX_TIMER, (key: string) => box.recover(key)]]));
    await box.settle();
  }

  it('when the step after a message fails the first time (storage busy), then the message is sent once and the step is done when its retry is due, before the next message to that person', async function () {
    const box = outbox();
    const remembered: { data: unknown; activityId?: string; toldBefore: string[] }[] = [];
    let failures = 1;
    box.on('test.remember', async (data, where) => {
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
      }
      remembered.push({ data, activityId: where?.activityId, toldBefore: sent.map((s) => s.text) });
    });
    const committed = await box.commit('Agg', 'p3', [], [
      { kind: 'tell', to: person(8), activity: { text: 'Will you accept this swap?' }, then: { handler: 'test.remember', data: { match: 'm1' } } },
      { kind: 'tell', to: person(8), activity: { text: 'The swap is off' } },
    ], '0000000001');
    assert.ok(committed);
    await committed.delivered;
    await tickLater(box);
    assert.deepEqual(sent.map((s) => s.text), ['Will you accept this swap?', 'The swap is off'], 'each message sent once, in order');
    assert.deepEqual(remembered, [{ data: { match: 'm1' }, activityId: 'a1', toldBefore: ['Will you accept this swap?'] }], 'where the card went is remembered, before the next message to that person goes');
    await tickLater(box);
    assert.equal(sent.length, 2, 'nothing is sent again');
    assert.equal(remembered.length, 1);
  });

  it("when the capability is told a message's recorded outcome and that fails the first time (storage busy), then it is told again when its retry is due, before the next message to that person, and the message is not sent again", async function () {
    const box = outbox();
    const told: { data: unknown; state?: string; sentBefore: string[] }[] = [];
    let failures = 1;
    box.on('test.outcome', async (data) => {
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
      }
      const { partitionKey, row } = data as { partitionKey: string; row: string };
      const recorded = await tables.client('Agg').getEntity<{ state?: string }>(partitionKey, row);
      told.push({ data, state: recorded.state, sentBefore: sent.map((s) => s.text) });
    });
    const committed = await box.commit('Agg', 'p5', [['create', { partitionKey: 'p5', rowKey: 'posting', state: 'pending' }]], [
      { kind: 'tell', to: person(10), activity: { text: 'Your card is posted' }, record: { row: 'posting', notify: 'test.outcome' } },
      { kind: 'tell', to: person(10), activity: { text: 'Riverside approved it' } },
    ], '0000000001');
    assert.ok(committed);
    await committed.delivered;
    assert.deepEqual(sent.map((s) => s.text), ['Your card is posted'], 'the next message to that person waits behind the step');
    await tickLater(box);
    assert.deepEqual(sent.map((s) => s.text), ['Your card is posted', 'Riverside approved it'], 'each message sent once, in order');
    assert.deepEqual(told, [{ data: { partitionKey: 'p5', row: 'posting' }, state: 'sent', sentBefore: ['Your card is posted'] }], 'told once the retry was due, with the outcome recorded, before the next message went');
    await tickLater(box);
    assert.equal(sent.length, 2, 'nothing is sent again');
    assert.equal(told.length, 1);
  });

  it("when the instance dies after a message's outcome is recorded and before the capability has heard of it (a durable notify), then another instance tells it, and the message is not sent again", async function () {
    const first = outbox();
    first.on('test.heard', async () => {
      first.halt(); // the process dies here
      throw new Error('killed');
    });
    const committed = await first.commit('Agg', 'p6', [['create', { partitionKey: 'p6', rowKey: 'posting', state: 'pending' }]], [
      { kind: 'post', conversationId: 'c1', reference: { conversation: { id: 'c1' } } as never, activity: { text: 'The card' }, record: { row: 'posting', notify: 'test.heard', durable: true } },
    ], '0000000001');
    assert.ok(committed);
    await committed.delivered.catch(() => undefined);

    const second = outbox();
    const heard: string[] = [];
    second.on('test.heard', async (data) => {
      const { partitionKey, row } = data as { partitionKey: string; row: string };
      heard.push(String((await tables.client('Agg').getEntity<{ state?: string }>(partitionKey, row)).state));
    });
    await tickLater(second);
    assert.deepEqual(heard, ['sent'], 'the capability heard the recorded outcome, once');
    assert.equal(sent.filter((s) => s.text === 'The card').length, 1, 'the message was sent once');
    await tickLater(second);
    assert.deepEqual(heard, ['sent']);
  });

  it('when the step after a message keeps failing, then the message is still sent once and the step is given up as failed after the retry policy', async function () {
    const box = outbox();
    let calls = 0;
    box.on('test.broken', async () => {
      calls += 1;
      throw new Error('the match row is gone');
    });
    const committed = await box.commit('Agg', 'p4', [], [{ kind: 'tell', to: person(9), activity: { text: 'hello' }, then: { handler: 'test.broken', data: {} } }], '0000000001');
    assert.ok(committed);
    await committed.delivered;
    for (let i = 0; i < 15; i += 1) await tickLater(box);
    assert.deepEqual(sent.map((s) => s.text), ['hello'], 'sent once');
    assert.equal(calls, 10, 'the step was tried as often as the one retry policy allows');
    const rows: string[] = [];
    for await (const row of tables.client('Agg').listEntities<{ state?: string }>({ queryOptions: { filter: "PartitionKey eq 'p4'" } })) rows.push(`${String(row.rowKey).startsWith('out|0000000001') ? 'step' : row.rowKey}:${row.state}`);
    assert.deepEqual(rows, ['step:failed'], 'kept as failed (the poison record), not pending');
  });

  /**
   * The due-index pointer (a Timers row) is for what a commit still owes: it brings a partition back to
   * a scheduler when nobody delivered, and ends once nothing is owed. A pointer that set itself again on
   * every run would leave every partition ever changed costing a timer run a minute for ever, and since
   * a tick takes at most 200 due timers, timers that matter (reminders, offers running out) would fall
   * further behind as partitions piled up.
   */
  describe('the recovery pointer', function () {
    const pointers = async () => (await new Timers(tables, silent).due(new Date(clock.now().getTime() + 86_400_000))).filter((t) => t.kind === OUTBOX_TIMER);
    /** A scheduler tick on an instance whose outbox is `box`: the pointers due run. */
    const tick = async (box: Outbox) => {
      const ran = await new Timers(tables, silent).runDue(clock.now(), new Map([[OUTBOX_TIMER, (key: string) => box.recover(key)]]));
      await box.settle();
      return ran;
    };
    const texts = () => sent.map((s) => s.text);

    it('when a change was delivered at once, then its pointer comes due once, finds nothing owed and is not set again: an hour of ticks runs it once', async function () {
      const box = outbox();
      const committed = await box.commit('Agg', 'p', [], [{ kind: 'tell', to: person(1), activity: { text: 'hello' } }], '0000000001');
      assert.ok(committed);
      await committed.delivered;
      assert.deepEqual(texts(), ['hello']);
      let runs = 0;
      for (let minute = 0; minute < 60; minute += 1) {
        clock.advance(60_000);
        runs += await tick(box);
      }
      assert.equal(runs, 1, 'the pointer ran once');
      assert.deepEqual(await pointers(), [], 'no pointer is left for the partition');
      assert.deepEqual(texts(), ['hello'], 'and nobody was told twice');
    });

    it('when a commit takes so long that the pointer it counted on comes due (finding nothing) before the commit lands, and the instance then dies, then another instance still delivers it', async function () {
      const survivor = outbox();
      let slow = false;
      // Storage answers the second commit's transaction only after 22 s, by which time the pointer the
      // first commit wrote has come due on the survivor's scheduler and found nothing owed.
      const dying = outbox(
        intercepting(tables, 'submitTransaction', (real) => async (actions: unknown) => {
          if (slow) {
            clock.advance(22_000);
            await tick(survivor);
          }
          return real.submitTransaction(actions as never);
        }),
      );
      const first = await dying.commit('Agg', 'p', [], [{ kind: 'tell', to: person(1), activity: { text: 'one' } }], '0000000001');
      assert.ok(first);
      await first.delivered;
      clock.advance(39_000); // the pointer is due in 21 s: this commit counts on it
      dying.pause();
      slow = true;
      assert.ok(await dying.commit('Agg', 'p', [], [{ kind: 'tell', to: person(1), activity: { text: 'two' } }], '0000000002'));
      dying.halt();
      clock.advance(120_000);
      await tick(survivor);
      assert.deepEqual(texts(), ['one', 'two']);
    });
  });
});

/**
 * Review of issue 14 (review2): cases the outbox's own promises cover ("in commit order per target",
 * "a duplicate only for sends in flight at the crash") that fail today. Same stand-in for Teams.
 */
describe('outbox review: order per person and sends without a crash', function () {
  this.timeout(30_000);
  let tables: Tables;
  let clock: ManualClock;
  let sent: { to: string; text: string }[];

  const person = (i: number): PersonAddress => ({ aadObjectId: `aad-${i}`, teamsId: `29:${i}`, name: `Person ${i}` });

  function stand(reachPerson: (to: PersonAddress, text: string) => Promise<void>, over?: Tables): Outbox {
    return new Outbox({
      tables: over ?? tables,
      timers: new Timers(tables, silent),
      proactive: {
        async reachPerson(to: PersonAddress, _via: unknown, activity: { text?: string }) {
          await reachPerson(to, activity.text ?? '');
          sent.push({ to: to.aadObjectId, text: activity.text ?? '' });
          return { reference: {}, activityId: `a${sent.length}` };
        },
      } as never,
      conversations: undefined as never,
      deadlines: undefined as never,
      clock,
      logger: silent,
    });
  }
  const told = (who: string) => sent.filter((s) => s.to === who).map((s) => s.text);

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure(['Agg', TIMERS_TABLE]);
    clock = new ManualClock('2026-12-07T10:00:00Z');
    sent = [];
  });

  afterEach(async function () {
    await tables.dropAll(['Agg', TIMERS_TABLE]).catch(() => undefined);
  });

  it('when the first of two messages to a person fails for a moment, then the second still waits behind it (it is not told out of order)', async function () {
    const committer = stand(async () => undefined);
    committer.pause();
    await committer.commit('Agg', 'p', [], [{ kind: 'tell', to: person(1), activity: { text: 'first' } }], '0000000001');
    await committer.commit('Agg', 'p', [], [{ kind: 'tell', to: person(1), activity: { text: 'second' } }], '0000000002');
    let failures = 1;
    const box = stand(async () => {
      if (failures > 0) {
        failures -= 1;
        throw new ConnectorError(502, undefined, 'send');
      }
    });
    await box.deliver('Agg', 'p');
    clock.advance(120_000);
    await new Timers(tables, silent).runDue(clock.now(), new Map([[OUTBOX_TIMER, (key: string) => box.recover(key)]]));
    await box.settle();
    assert.deepEqual(told('aad-1'), ['first', 'second']);
  });

  it('when a message to many is followed by a message to one of them, then that person hears them in the order they were committed', async function () {
    const committer = stand(async () => undefined);
    committer.pause();
    await committer.commit('Agg', 'ev', [], [{ kind: 'tellMany', to: [person(1), person(2)], activity: { text: 'The TeachMeet has moved: you are on the waitlist' } }], '0000000005');
    await committer.commit('Agg', 'ev', [], [{ kind: 'tell', to: person(1), activity: { text: 'Your place is confirmed' } }], '0000000006');
    await stand(async () => undefined).deliver('Agg', 'ev');
    assert.deepEqual(told('aad-1'), ['The TeachMeet has moved: you are on the waitlist', 'Your place is confirmed']);
  });

  it('when one send takes longer than the lease (Teams slow to answer) and another instance comes to the partition, then the message is still sent once', async function () {
    const committer = stand(async () => undefined);
    committer.pause();
    await committer.commit('Agg', 'slow', [], [{ kind: 'tell', to: person(3), activity: { text: 'hello' } }], '0000000001');
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    let answer!: () => void;
    const teamsAnswers = new Promise<void>((r) => (answer = r));
    const first = stand(async () => {
      started();
      await teamsAnswers;
    });
    const delivering = first.deliver('Agg', 'slow');
    await inFlight;
    // Teams takes its time (a 30 s timeout, tried again in memory): more than the lease goes by, for
    // the first instance too (its lease timer, looking every second, sees the time pass).
    clock.advance(61_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const other = stand(async () => undefined);
    const otherDelivering = other.deliver('Agg', 'slow');
    await new Promise((r) => setTimeout(r, 300));
    answer();
    await otherDelivering;
    await delivering;
    assert.deepEqual(told('aad-3'), ['hello'], 'told once; no instance died');
  });

  it('when storage fails for a moment after one message, then the lease is not given back while another message is still on its way (no second sender)', async function () {
    const committer = stand(async () => undefined);
    committer.pause();
    await committer.commit('Agg', 'two', [], [
      { kind: 'tell', to: person(4), activity: { text: 'to four' } },
      { kind: 'tell', to: person(5), activity: { text: 'to five' } },
    ], '0000000001');
    // A storage blip: the delete of four's delivered row answers 503 once.
    let blip = true;
    const flaky = intercepting(tables, 'deleteEntity', (real) => async (pk: string, rk: string, options?: unknown) => {
      if (blip && rk.startsWith('out|0000000001|000')) {
        blip = false;
        throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
      }
      return real.deleteEntity(pk, rk, options as never);
    });
    let fiveStarted!: () => void;
    const fiveInFlight = new Promise<void>((r) => (fiveStarted = r));
    let answerFive!: () => void;
    const fiveAnswered = new Promise<void>((r) => (answerFive = r));
    const first = stand(async (to) => {
      if (to.aadObjectId === 'aad-5') {
        fiveStarted();
        await fiveAnswered;
      }
    }, flaky);
    const delivering = first.deliver('Agg', 'two');
    await fiveInFlight;
    await new Promise((r) => setTimeout(r, 300)); // the blip has happened; five's send is still on the wire
    // Another instance's commit (or the pointer) comes to the partition now: the lease must still be held.
    const other = stand(async () => undefined);
    const otherDelivering = other.deliver('Agg', 'two');
    await new Promise((r) => setTimeout(r, 300));
    answerFive();
    await delivering;
    await otherDelivering;
    assert.deepEqual(told('aad-5'), ['to five'], 'told once; no instance died');
  });
});


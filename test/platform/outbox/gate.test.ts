import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OUTBOX_TABLE, SendGate, type Lane } from '../../../src/platform/outbox/gate';
import { Tables } from '../../../src/platform/storage/tables';
import { uniquePrefix } from '../../support/bot';
import { storageConnectionString } from '../../support/hooks';

/**
 * The one gate every request to Teams passes: never faster than the app's rate, 7 a second per
 * conversation, shared cards before personal messages, and the app's rate shared by the instances
 * that are sending. Pacing is checked on a clock of the test's own (see `stepped` and `following`),
 * counting the turns let through within windows of it, never how long anything took in real time.
 * What needs real time (heartbeats through storage) is waited for until it has happened, with a
 * deadline only a broken gate can reach.
 */

/** A gate on the real clock, for what does not depend on time (order, heartbeat rows). */
function gateOf(options: { ratePerSecond: number; heartbeatMs?: number }, tables?: Tables): SendGate {
  return new SendGate({ ...options, guardMs: 0 }, tables);
}

/** How far the stepped clock moves at a time (ms). */
const STEP_MS = 2.5;

/**
 * A gate on a clock of the test's own, which stands still between steps of STEP_MS (one step per short
 * real pause): the instant each turn is granted is read exactly (the clock cannot move between the
 * grant and the reading), and a busy machine only slows the clock, which can spread turns further
 * apart, never bunch them. What is asserted is at most how many turns the gate let through within
 * windows of its own clock, not how long anything took.
 */
function stepped(options: { ratePerSecond: number; perConversationPerSecond?: number }) {
  let clock = 0;
  const gate = new SendGate({ ...options, guardMs: 0, now: () => clock });
  /** Asks for every turn at once and moves the clock on until all are granted: which went, in order, and when on the gate's clock. */
  async function send(conversations: readonly string[]): Promise<{ i: number; at: number }[]> {
    const went: { i: number; at: number }[] = [];
    const all = Promise.all(conversations.map((c, i) => gate.turn(c, 'message').then(() => went.push({ i, at: clock }))));
    while (went.length < conversations.length) {
      await sleep(STEP_MS);
      clock += STEP_MS;
    }
    await all;
    return went;
  }
  return { gate, send };
}

/**
 * A clock for gates that also beat through storage (heartbeats run on real timers): it follows real
 * time, but moves only in steps of at most STEP_MS, taken by the test, and stands still between them.
 * So, as with `stepped`, the instant each turn is granted is read exactly, and a busy machine only
 * slows the clock (a stall of the process is not a jump the gates could catch up on); unlike
 * `stepped`, an idle machine keeps it close to real time, so the heartbeats come about as often as
 * they would in production.
 */
function following() {
  let clock = 0;
  let real = performance.now();
  let running = true;
  const stepping = (async () => {
    while (running) {
      await sleep(1);
      const now = performance.now();
      clock += Math.min(STEP_MS, now - real);
      real = now;
    }
  })();
  return {
    now: () => clock,
    async stop(): Promise<void> {
      running = false;
      await stepping;
    },
  };
}

/** The most turns granted within any `windowMs` of the gate's clock (the window open at its end). */
function mostWithin(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('send gate: every request to Teams at the rate Teams takes', function () {
  it("when 25 messages to different people wait at 20 a second, then they go in order, one at a time, and never more than 20 in any second of the gate's clock", async function () {
    const { gate, send } = stepped({ ratePerSecond: 20 });
    const went = await send(Array.from({ length: 25 }, (_, i) => `chat${i}`));
    assert.deepEqual(went.map((w) => w.i), Array.from({ length: 25 }, (_, i) => i));
    const at = went.map((w) => w.at);
    assert.ok(mostWithin(at, 1000) <= 20, `no 21 in any second (the gate's clock at each turn: ${at.join(', ')})`);
    // One at a time, spread out: the pacer lets a turn come early by at most a quarter of the 50 ms gap.
    assert.equal(mostWithin(at, 37.5), 1, `never two within 37.5 ms: ${at.join(', ')}`);
    assert.equal(gate.backlog, 0);
    assert.equal(gate.turns, 25);
  });

  it("when eight messages go to one conversation, then no more than seven go in any second of the gate's clock", async function () {
    const { send } = stepped({ ratePerSecond: 1000, perConversationPerSecond: 7 });
    const went = await send(Array.from({ length: 8 }, () => 'channel'));
    const at = went.map((w) => w.at);
    assert.ok(mostWithin(at, 1000) <= 7, `the gate's clock at each turn: ${at.join(', ')}`);
  });

  it('when a shared card update arrives behind waiting personal messages, then it goes next', async function () {
    const gate = gateOf({ ratePerSecond: 50 });
    const order: string[] = [];
    const go = (lane: Lane, name: string) => gate.turn(name, lane).then(() => order.push(name));
    await Promise.all([go('message', 'm1'), go('message', 'm2'), go('message', 'm3'), go('card', 'card')]);
    assert.deepEqual(order, ['m1', 'card', 'm2', 'm3']);
  });

  it('when shared cards keep coming, then a waiting personal message still goes after at most three of them', async function () {
    const gate = gateOf({ ratePerSecond: 200 });
    const order: string[] = [];
    const go = (lane: Lane, name: string) => gate.turn(name, lane).then(() => order.push(name));
    await Promise.all([go('card', 'first'), go('message', 'm1'), go('message', 'm2'), ...Array.from({ length: 8 }, (_, i) => go('card', `c${i}`))]);
    assert.deepEqual(order, ['first', 'c0', 'c1', 'c2', 'm1', 'c3', 'c4', 'c5', 'm2', 'c6', 'c7']);
  });

  it("when Teams says to wait (Retry-After) for a conversation, then nothing goes to it before then, and a message to another conversation, asked for after it, goes first, before the wait is over on the gate's clock", async function () {
    const { gate, send } = stepped({ ratePerSecond: 100 });
    gate.hold('throttled', gate.clock() + 300);
    const went = await send(['throttled', 'other']);
    const at = (i: number) => went.find((w) => w.i === i)!.at;
    const seen = `throttled at ${at(0)}, other at ${at(1)} on the gate's clock`;
    assert.deepEqual(went.map((w) => w.i), [1, 0], `the other conversation first: ${seen}`);
    assert.ok(at(0) >= 300, `nothing to the throttled conversation before its Retry-After: ${seen}`);
    assert.ok(at(1) < 300, `the other conversation was not held until the Retry-After ran out: ${seen}`);
  });

  it('when a waiting request is given up (the sender stops), then it takes no turn and the others still go', async function () {
    const gate = gateOf({ ratePerSecond: 10 });
    const abort = new AbortController();
    const first = gate.turn('a', 'message');
    const dropped = gate.turn('b', 'message', abort.signal);
    const third = gate.turn('c', 'message');
    abort.abort(new Error('stopping'));
    await assert.rejects(dropped, /stopping/);
    await Promise.all([first, third]);
    assert.equal(gate.turns, 2);
  });

  describe('with storage: two instances sending at once', function () {
    // The heartbeats go through storage on real timers, so these tests wait for what they are about
    // (a share taken, a row gone) until it has happened, however slow the machine; the deadline is
    // there to end the test when a broken gate never gets there, not to time anything.
    this.timeout(60_000);
    const DEADLINE_MS = 30_000;
    let tables: Tables;
    const gates: SendGate[] = [];

    beforeEach(async function () {
      tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
      await tables.ensure([OUTBOX_TABLE]);
    });

    afterEach(async function () {
      for (const g of gates.splice(0)) await g.stop();
      await tables.dropAll([OUTBOX_TABLE]).catch(() => undefined);
    });

    /** The heartbeat rows in the table now: each instance's id and the time its row says it is busy until. */
    async function heartbeats(): Promise<Map<string, number>> {
      const rows = new Map<string, number>();
      for await (const row of tables.client(OUTBOX_TABLE).listEntities<{ busyUntil?: number }>()) rows.set(String(row.rowKey), Number(row.busyUntil));
      return rows;
    }

    /** Polls `check` until it holds; false if the deadline came first. */
    async function until(check: () => boolean | Promise<boolean>): Promise<boolean> {
      const giveUp = performance.now() + DEADLINE_MS;
      while (!(await check())) {
        if (performance.now() > giveUp) return false;
        await sleep(20);
      }
      return true;
    }

    /** Sends through `gate`, one turn after another, until `done` holds (or the deadline). */
    async function sendUntil(gate: SendGate, name: string, done: () => boolean): Promise<void> {
      const giveUp = performance.now() + DEADLINE_MS;
      for (let i = 0; !done() && performance.now() < giveUp; i += 1) await gate.turn(`${name}${i}`, 'message');
    }

    const half = (g: SendGate) => Math.abs(g.rate - 20) < 1e-9;

    it("when two instances are both sending, then each takes half of the app's rate, and when one stops the other takes it all back", async function () {
      // Heartbeats a second apart, as in production: a row lives three heartbeats, so storage answering
      // slowly on a busy machine (which short heartbeats would pile up on) cannot make a live row look dead.
      const a = gateOf({ ratePerSecond: 40, heartbeatMs: 1_000 }, tables);
      const b = gateOf({ ratePerSecond: 40, heartbeatMs: 1_000 }, tables);
      gates.push(a, b);
      a.start();
      b.start();
      assert.equal(a.rate, 40, 'alone and quiet, an instance may use the whole rate');
      // Both keep sending until each has half (a gate that never shares runs into the deadline).
      const shared = () => half(a) && half(b);
      await Promise.all([sendUntil(a, 'a', shared), sendUntil(b, 'b', shared)]);
      assert.ok(shared(), `each has half while both send: ${a.rate}, ${b.rate}`);
      // b stops sending (and removes its row): a takes the whole rate back at a heartbeat.
      await b.stop();
      await sendUntil(a, 'again', () => a.rate === 40);
      assert.equal(a.rate, 40, 'the one left sending has the whole rate back');
      assert.deepEqual([...(await heartbeats()).keys()], [a.instanceId], 'the stopped instance removed its heartbeat');
    });

    it("when a second instance starts sending while the first uses the whole rate, then together they never go over the app's rate by more than the first's last second (the newcomer waits for the first to step down), and soon share it", async function () {
      const clock = following();
      const a = new SendGate({ ratePerSecond: 40, heartbeatMs: 1_000, guardMs: 0, now: clock.now }, tables);
      const b = new SendGate({ ratePerSecond: 40, heartbeatMs: 1_000, guardMs: 0, now: clock.now }, tables);
      gates.push(a, b);
      a.start();
      b.start();
      /** Each turn: whose, when on the gate's clock, and whether the first still had the whole rate then. */
      const grants: { who: 'a' | 'b'; at: number; firstHadAll: boolean }[] = [];
      let sharedAt: number | undefined;
      const over = () => sharedAt !== undefined && clock.now() >= sharedAt + 2_000;
      const keepSending = async (g: SendGate, who: 'a' | 'b') => {
        const giveUp = performance.now() + DEADLINE_MS;
        for (let i = 0; !over() && performance.now() < giveUp; i += 1) {
          await g.turn(`${who}${i}`, 'message');
          grants.push({ who, at: clock.now(), firstHadAll: a.rate === 40 });
          if (sharedAt === undefined && half(a) && half(b)) sharedAt = clock.now();
        }
      };
      try {
        // a sends alone, with the whole rate, for two heartbeats; b joins just after a's heartbeat, so a
        // learns of it only at the next one, a second later (the longest a newcomer could overlap it).
        const sendingA = keepSending(a, 'a');
        const beats = new Set<number>();
        const joined = await until(async () => {
          const mine = (await heartbeats()).get(a.instanceId);
          if (mine !== undefined) beats.add(mine);
          return beats.size >= 3;
        });
        assert.ok(joined, `the first instance beat: ${[...beats].join(', ')}`);
        // Both go on until each has half, then two seconds of the gate's clock more.
        await Promise.all([sendingA, keepSending(b, 'b')]);
      } finally {
        await clock.stop();
      }
      const seen = `${grants.filter((g) => g.who === 'a').length} from the first, ${grants.filter((g) => g.who === 'b').length} from the newcomer; rates now ${a.rate}, ${b.rate}`;
      assert.ok(sharedAt !== undefined, `each comes to have half: ${seen}`);
      // The newcomer waits: until the first has read its row and stepped down, it sends at 2 % of the
      // rate (one turn in 1.25 s of the gate's clock). The first steps down at its next heartbeat (a
      // second of real time, which this clock never outruns), so the newcomer has one turn in that time
      // (three allow for storage taking seconds to answer); one that took its half at once would have
      // about 20.
      const early = grants.filter((g) => g.who === 'b' && g.firstHadAll).length;
      assert.ok(early <= 3, `the newcomer's turns while the first still had the whole rate: ${early} (${seen})`);
      // What Teams counts: turns in any second. When the first steps down, its last second still holds
      // up to its 40 turns; the newcomer, at half the rate (its turns at least 37.5 ms apart), adds fewer
      // than those 40 drop out of the window. Played through with the pacer, that is at most 48 in any
      // second even if the newcomer stepped up at the very instant the first stepped down (on this
      // clock a slow machine can only bring the two closer together, never let either go faster), so
      // 40 × (1 + a quarter second) = 50 cannot fail on a slow machine; a newcomer that takes its half
      // while the first still has all 40 (for the second until the first's heartbeat) puts 55 to 60
      // in one second.
      const most = mostWithin(grants.map((g) => g.at), 1_000);
      assert.ok(most <= 50, `in any second of the gate's clock, both instances together: ${most} (${seen})`);
      // Each uses its half once the first's turns from before it stepped down (at most a second before
      // they came to share) are out of the window: the second after that.
      const later = grants.filter((g) => g.at > sharedAt! + 1_000 && g.at <= sharedAt! + 2_000);
      for (const who of ['a', 'b'] as const) {
        const n = later.filter((g) => g.who === who).length;
        assert.ok(n >= 15, `each uses its half (20 a second) once shared: ${who} had ${n} in a second (${seen})`);
      }
    });

    /** `tables` whose Outbox client's listEntities is replaced (slow or failing storage). */
    function withReads(over: (real: () => AsyncIterable<unknown>) => AsyncIterable<unknown>): Tables {
      const wrapped = Object.create(tables) as Tables;
      wrapped.client = (name: string) => {
        const real = tables.client(name);
        return new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === 'listEntities') return (...args: unknown[]) => over(() => (real.listEntities as (...a: unknown[]) => AsyncIterable<unknown>)(...args));
            const value = Reflect.get(target, prop, receiver) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
          },
        });
      };
      return wrapped;
    }

    it('when storage answers more slowly than the heartbeat, then heartbeats wait for each other rather than pile up', async function () {
      let reading = 0;
      let most = 0;
      let reads = 0;
      const slow = withReads((real) =>
        (async function* () {
          reading += 1;
          reads += 1;
          most = Math.max(most, reading);
          try {
            await sleep(150); // three heartbeats
            yield* real();
          } finally {
            reading -= 1;
          }
        })(),
      );
      const a = gateOf({ ratePerSecond: 40, heartbeatMs: 50 }, slow);
      gates.push(a);
      a.start();
      // Sends until several heartbeats have read storage (however slow the machine).
      await sendUntil(a, 'a', () => reads >= 4);
      assert.ok(reads >= 4, 'the heartbeats went on');
      assert.equal(most, 1, `one heartbeat read at a time (at most ${most} at once)`);
    });

    it('when an instance starts sending and cannot read the others\' rows, then it keeps the least rate (the others may be using the whole rate) until a heartbeat gets through', async function () {
      const warned: string[] = [];
      const logger = { warn: (_o: unknown, msg: string) => warned.push(msg), info: () => undefined, error: () => undefined, debug: () => undefined } as never;
      let failing = true;
      const flaky = withReads((real) =>
        (async function* () {
          if (failing) throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
          yield* real();
        })(),
      );
      const a = new SendGate({ ratePerSecond: 40, heartbeatMs: 100_000, guardMs: 0 }, flaky, logger);
      gates.push(a);
      a.start();
      await a.turn('x', 'message');
      assert.ok(await until(() => warned.length > 0), 'the failed heartbeat is logged');
      assert.ok(a.rate < 40 * 0.1, `it sends at the least rate, not the whole (${a.rate} a second)`);
      failing = false;
    });

    it('when an instance goes quiet, then its heartbeat row goes and it no longer counts against the others', async function () {
      const a = gateOf({ ratePerSecond: 40, heartbeatMs: 200 }, tables);
      gates.push(a);
      a.start();
      await a.turn('x', 'message');
      assert.ok(await until(async () => (await heartbeats()).has(a.instanceId)), 'a sending instance says so');
      assert.ok(await until(async () => (await heartbeats()).size === 0), 'a quiet one does not');
    });

    it('when an instance dies while sending, then its heartbeat row does not stay in the table for ever (the inventory says it goes when the instance stops)', async function () {
      const a = gateOf({ ratePerSecond: 40, heartbeatMs: 250 }, tables);
      const b = gateOf({ ratePerSecond: 40, heartbeatMs: 250 }, tables);
      gates.push(a);
      a.start();
      b.start();
      // Both send until both have said so in their rows.
      let both = false;
      const checking = until(async () => {
        const rows = await heartbeats();
        return (both = rows.has(a.instanceId) && rows.has(b.instanceId));
      });
      await Promise.all([sendUntil(a, 'a', () => both), sendUntil(b, 'b', () => both), checking]);
      assert.ok(both, 'both instances said they were sending');
      b.halt(); // killed mid-send: no graceful stop
      // The survivor keeps sending until the dead row is gone, then goes quiet: no row is left.
      let gone = false;
      const watching = until(async () => (gone = !(await heartbeats()).has(b.instanceId)));
      await Promise.all([sendUntil(a, 'a', () => gone), watching]);
      assert.ok(gone, "the dead instance's row went while the survivor was sending");
      assert.ok(await until(async () => (await heartbeats()).size === 0), 'no heartbeat row of an instance that is not sending');
    });
  });
});

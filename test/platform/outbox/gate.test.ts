import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OUTBOX_TABLE, SendGate, type Lane } from '../../../src/platform/outbox/gate';
import { Tables } from '../../../src/platform/storage/tables';
import { uniquePrefix } from '../../support/bot';
import { storageConnectionString } from '../../support/hooks';

/**
 * The one gate every request to Teams passes: never faster than the app's rate, 7 a second per
 * conversation, shared cards before personal messages, and the app's rate shared by the instances
 * that are sending. Pacing is checked on a clock of the test's own (see `stepped`), counting the turns
 * let through within windows of it; the tests with storage read the gate's clock at the instant each
 * turn is granted (a promise callback can run late, so reading the time there would measure the event loop).
 */

function clocked(options: { ratePerSecond: number; perConversationPerSecond?: number; heartbeatMs?: number }, tables?: Tables) {
  let last = 0;
  const gate = new SendGate({ ...options, guardMs: 0, now: () => (last = performance.now()) }, tables);
  return { gate, granted: () => last };
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
    const { gate } = clocked({ ratePerSecond: 50 });
    const order: string[] = [];
    const go = (lane: Lane, name: string) => gate.turn(name, lane).then(() => order.push(name));
    await Promise.all([go('message', 'm1'), go('message', 'm2'), go('message', 'm3'), go('card', 'card')]);
    assert.deepEqual(order, ['m1', 'card', 'm2', 'm3']);
  });

  it('when shared cards keep coming, then a waiting personal message still goes after at most three of them', async function () {
    const { gate } = clocked({ ratePerSecond: 200 });
    const order: string[] = [];
    const go = (lane: Lane, name: string) => gate.turn(name, lane).then(() => order.push(name));
    await Promise.all([go('card', 'first'), go('message', 'm1'), go('message', 'm2'), ...Array.from({ length: 8 }, (_, i) => go('card', `c${i}`))]);
    assert.deepEqual(order, ['first', 'c0', 'c1', 'c2', 'm1', 'c3', 'c4', 'c5', 'm2', 'c6', 'c7']);
  });

  it('when Teams says to wait (Retry-After) for a conversation, then nothing goes to it before then, and others are not held up', async function () {
    const { gate, granted } = clocked({ ratePerSecond: 100 });
    const asked = performance.now();
    gate.hold('throttled', gate.clock() + 300);
    let other = 0;
    const otherDone = gate.turn('other', 'message').then(() => (other = granted()));
    await gate.turn('throttled', 'message');
    const held = granted();
    await otherDone;
    assert.ok(held - asked >= 299, `went after ${(held - asked).toFixed(0)} ms`);
    assert.ok(other - asked < 200, `the other conversation waited ${(other - asked).toFixed(0)} ms`);
  });

  it('when a waiting request is given up (the sender stops), then it takes no turn and the others still go', async function () {
    const { gate } = clocked({ ratePerSecond: 10 });
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

    it("when two instances are both sending, then each takes half of the app's rate, and when one stops the other takes it all back", async function () {
      const a = clocked({ ratePerSecond: 40, heartbeatMs: 100 }, tables).gate;
      const b = clocked({ ratePerSecond: 40, heartbeatMs: 100 }, tables).gate;
      gates.push(a, b);
      a.start();
      b.start();
      assert.equal(a.rate, 40, 'alone and quiet, an instance may use the whole rate');
      // Both keep sending for a while.
      const until = performance.now() + 800;
      const keepSending = async (g: SendGate, name: string) => {
        for (let i = 0; performance.now() < until; i += 1) await g.turn(`${name}${i}`, 'message');
      };
      await Promise.all([keepSending(a, 'a'), keepSending(b, 'b')]);
      assert.equal(a.rate, 20);
      assert.equal(b.rate, 20);
      // b stops sending: after its heartbeat lapses, a takes the whole rate back at its next heartbeat.
      await b.stop();
      const end = performance.now() + 600;
      for (let i = 0; performance.now() < end; i += 1) await a.turn(`again${i}`, 'message');
      assert.equal(a.rate, 40);
      const rows = [];
      for await (const row of tables.client(OUTBOX_TABLE).listEntities()) rows.push(row);
      assert.equal(rows.length, 1, 'the stopped instance removed its heartbeat');
    });

    it("when a second instance starts sending while the first uses the whole rate, then together they never go over the app's rate (the newcomer waits for the first to step down), and soon share it", async function () {
      this.timeout(20_000);
      const a = clocked({ ratePerSecond: 40, heartbeatMs: 1_000 }, tables);
      const b = clocked({ ratePerSecond: 40, heartbeatMs: 1_000 }, tables);
      gates.push(a.gate, b.gate);
      a.gate.start();
      b.gate.start();
      const grants: { who: string; at: number }[] = [];
      const keepSending = async (g: ReturnType<typeof clocked>, who: string, from: number, until: number) => {
        while (performance.now() < from) await sleep(5);
        for (let i = 0; performance.now() < until; i += 1) {
          await g.gate.turn(`${who}${i}`, 'message');
          grants.push({ who, at: g.granted() });
        }
      };
      const t0 = performance.now();
      // a sends alone (it has the whole rate), then b joins; both go on for a few heartbeats.
      await Promise.all([keepSending(a, 'a', t0, t0 + 5_500), keepSending(b, 'b', t0 + 1_500, t0 + 5_500)]);
      const times = grants.map((g) => g.at).sort((x, y) => x - y);
      let most = 0;
      for (let i = 0, j = 0; i < times.length; i += 1) {
        while (times[i]! - times[j]! >= 1_000) j += 1;
        most = Math.max(most, i - j + 1);
      }
      assert.ok(most <= 42, `at most the app's 40 (and the pacer's allowance) in any second, both instances together: ${most}`);
      assert.ok(grants.filter((g) => g.who === 'b' && g.at > t0 + 4_500).length >= 15, 'the newcomer has its share once the first has stepped down');
      assert.ok(Math.abs(a.gate.rate - 20) < 1e-9 && Math.abs(b.gate.rate - 20) < 1e-9, `each has half: ${a.gate.rate}, ${b.gate.rate}`);
    });

    it('when an instance goes quiet, then its heartbeat row goes and it no longer counts against the others', async function () {
      const a = clocked({ ratePerSecond: 40, heartbeatMs: 200 }, tables).gate;
      gates.push(a);
      a.start();
      await a.turn('x', 'message');
      await sleep(100);
      let rows = 0;
      for await (const _ of tables.client(OUTBOX_TABLE).listEntities()) rows += 1;
      assert.equal(rows, 1, 'a sending instance says so');
      await sleep(1_000);
      rows = 0;
      for await (const _ of tables.client(OUTBOX_TABLE).listEntities()) rows += 1;
      assert.equal(rows, 0, 'a quiet one does not');
    });

    it('when an instance dies while sending, then its heartbeat row does not stay in the table for ever (the inventory says it goes when the instance stops)', async function () {
      const a = clocked({ ratePerSecond: 40, heartbeatMs: 100 }, tables).gate;
      const b = clocked({ ratePerSecond: 40, heartbeatMs: 100 }, tables).gate;
      gates.push(a);
      a.start();
      b.start();
      const busyUntil = performance.now() + 400;
      const keepSending = async (g: SendGate, name: string) => {
        for (let i = 0; performance.now() < busyUntil; i += 1) await g.turn(`${name}${i}`, 'message');
      };
      await Promise.all([keepSending(a, 'a'), keepSending(b, 'b')]);
      b.halt(); // killed mid-send: no graceful stop
      const atDeath: string[] = [];
      for await (const row of tables.client(OUTBOX_TABLE).listEntities()) atDeath.push(String(row.rowKey));
      assert.ok(atDeath.includes(b.instanceId), `the dead instance had said it was sending: ${atDeath.join(', ')}`);
      // The survivor keeps sending well past the dead row's busyUntil, then goes quiet.
      const until = performance.now() + 1_000;
      for (let i = 0; performance.now() < until; i += 1) await a.turn(`a${i}`, 'message');
      await sleep(800);
      const left: string[] = [];
      for await (const row of tables.client(OUTBOX_TABLE).listEntities()) left.push(String(row.rowKey));
      assert.deepEqual(left, [], 'no heartbeat row of an instance that is not sending');
    });
  });
});

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { SendPacer, type Lane } from '../../src/platform/sendPacer';

/** The instance's pace towards Teams: never faster than the rate, shared cards before personal messages. */

describe('send pacer: requests to Teams at the rate Teams takes', function () {
  it('when ten messages are waiting at 20 a second, then they go in order, never closer than 50 ms apart', async function () {
    // The instant each turn is granted, on the pacer's own clock (a promise callback can run late, so
    // reading the time there would measure the event loop, not the pacer).
    let last = 0;
    const pacer = new SendPacer(20, () => (last = performance.now()));
    const went: { i: number; at: number }[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => pacer.turn('message').then(() => went.push({ i, at: last }))));
    assert.deepEqual(went.map((w) => w.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let k = 1; k < went.length; k += 1) {
      // >= 49.5, not 50: the first grant's instant is read after the other nine asked, microseconds later.
      assert.ok(went[k]!.at - went[k - 1]!.at >= 49.5, `message ${k} went ${(went[k]!.at - went[k - 1]!.at).toFixed(1)} ms after the one before`);
    }
    assert.equal(pacer.backlog, 0);
  });

  it('when a shared card update arrives behind waiting personal messages, then it goes next', async function () {
    const pacer = new SendPacer(50);
    const order: string[] = [];
    const go = (lane: Lane, name: string) => pacer.turn(lane).then(() => order.push(name));
    const all = [go('message', 'm1'), go('message', 'm2'), go('message', 'm3'), go('card', 'card')];
    await Promise.all(all);
    assert.deepEqual(order, ['m1', 'card', 'm2', 'm3']);
  });

  it('when shared cards keep coming, then a waiting personal message still goes after at most three of them', async function () {
    const pacer = new SendPacer(200);
    const order: string[] = [];
    const go = (lane: Lane, name: string) => pacer.turn(lane).then(() => order.push(name));
    const all = [go('card', 'first'), go('message', 'm1'), go('message', 'm2'), ...Array.from({ length: 8 }, (_, i) => go('card', `c${i}`))];
    await Promise.all(all);
    assert.deepEqual(order, ['first', 'c0', 'c1', 'c2', 'm1', 'c3', 'c4', 'c5', 'm2', 'c6', 'c7']);
  });

  it('when the pacer has been quiet, then a request goes at once', async function () {
    const pacer = new SendPacer(1);
    let went = false;
    await pacer.turn('message').then(() => (went = true));
    assert.equal(went, true);
    assert.equal(pacer.backlog, 0);
  });
});

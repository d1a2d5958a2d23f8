import assert from 'node:assert/strict';
import { textOf, World } from './world';

/**
 * A nudge round's messages survive the instance dying between the commit and the sends. The round
 * commits each person's message of the day together with the record that it is theirs (their day
 * row), then the instance is killed (not stopped) before it sends any. Another instance, restarted or
 * already running, finds what is owed through the outbox's due-index and delivers each message once,
 * within two minutes; the round that takes the items up again finds the day rows and sends nothing
 * more that day.
 *
 * Oakfield's two reps (Sam, who has a chat with the bot, and Raj, found through Oakfield's channel)
 * and Brookside's rep (Bea) each have a decision due Fri 4 Dec; Fri 27 Nov 08:00 is the 7-day nudge.
 */

describe('nudges: a crash between the commit and the sends', function () {
  this.timeout(60_000);
  let w: World;

  beforeEach(async function () {
    w = await World.start();
    await w.bot.together.deadlines.register(w.stemWeek());
    await w.bot.together.deadlines.register(w.stemWeek({ id: 'brook', who: { kind: 'schoolReps', schoolId: w.brook }, schoolId: w.brook, what: "Approve 'STEM Week' for Brookside Primary" }));
    await w.tickAt('2026-11-23T10:00:00Z'); // planned; nobody is nudged on the day they are asked
  });

  afterEach(async function () {
    await w.stop();
  });

  const reps = () => [w.sam, w.raj, w.bea];
  const counts = () => reps().map((rep) => w.nudgesTo(rep).length);

  function eachGotTheirOwn(): void {
    assert.deepEqual(counts(), [1, 1, 1], 'Sam, Raj and Bea each got one message');
    for (const rep of [w.sam, w.raj]) assert.match(textOf(w.nudgesTo(rep)[0]!), /Approve 'STEM Week' for Oakfield Academy by Fri 4 Dec, 17:00/);
    assert.match(textOf(w.nudgesTo(w.bea)[0]!), /Approve 'STEM Week' for Brookside Primary by Fri 4 Dec, 17:00/);
  }

  it("when the instance dies right after the round commits the day's messages, then after a restart each rep gets theirs once, within two minutes, and later ticks that day send nothing more", async function () {
    w.dieAfterCommit();
    await w.tickAt('2026-11-27T08:00:00Z');
    assert.deepEqual(counts(), [0, 0, 0], 'nothing was sent before it died');

    await w.crashed();
    await w.later(61_000);
    eachGotTheirOwn();

    await w.tickAt('2026-11-27T10:00:00Z');
    await w.later(120_000);
    assert.deepEqual(counts(), [1, 1, 1], 'nobody is messaged twice');
    const item = await w.bot.together.deadlines.get(w.stemWeek().id);
    assert.equal(item?.nextAt?.toISOString(), '2026-12-02T08:00:00.000Z', 'the item moved on to its 2-day nudge');
  });

  it("when an instance dies right after committing, before recording the items' progress, then another delivers the messages and, once the dead one's claims lapse, its round finds them sent and sends nothing more that day", async function () {
    w.clock.set('2026-11-27T08:00:00Z');
    await assert.rejects(w.crashingScheduler('committed').tick(), /simulated crash after committed/);
    assert.deepEqual(counts(), [0, 0, 0], 'nothing was sent before it died');

    await w.later(61_000);
    eachGotTheirOwn();

    await w.tickAt('2026-11-27T08:06:00Z'); // the dead instance's claims have lapsed: the items are decided again
    await w.tickAt('2026-11-27T14:00:00Z');
    assert.deepEqual(counts(), [1, 1, 1], 'the day rows say today\'s messages have gone: nobody is messaged twice');
    const item = await w.bot.together.deadlines.get(w.stemWeek().id);
    assert.equal(item?.progress.lastNudgeDay, '2026-11-27', 'the 7-day nudge is recorded as done');
    assert.equal(item?.nextAt?.toISOString(), '2026-12-02T08:00:00.000Z');

    await w.tickAt('2026-12-02T08:00:00Z');
    assert.deepEqual(counts(), [2, 2, 2], 'the next nudge comes on its day, once');
  });

  it('when the instance dies right after committing and, after its restart, two instances tick at once, then each rep gets one message', async function () {
    const other = await w.secondInstance();
    w.dieAfterCommit();
    await w.tickAt('2026-11-27T08:00:00Z');
    assert.deepEqual(counts(), [0, 0, 0], 'nothing was sent before it died');
    await w.crashed();

    const bothTick = async (ms: number) => {
      w.clock.advance(ms);
      await Promise.all([w.bot.together.scheduler.tick(), other.together.scheduler.tick()]);
      await Promise.all([w.bot.together.outbox.settle(), other.together.outbox.settle()]);
    };
    await bothTick(61_000);
    eachGotTheirOwn();
    await bothTick(5 * 60_000);
    await bothTick(4 * 60 * 60_000);
    assert.deepEqual(counts(), [1, 1, 1], 'once each');
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { odata } from '@azure/data-tables';
import { INVENTORY } from '../../src/index';
import { createLogger } from '../../src/platform/logging';
import { RetentionJob, retentionCutoff } from '../../src/platform/retention';
import { NUDGES_TABLE, NudgeStore } from '../../src/nudges/store';
import { TEACHMEETS_TABLE } from '../../src/teachmeets/store';
import type { SimUser } from '../support/simulator';
import { said } from '../support/said';
import { World } from '../teachmeets/world';

/** Retention (UK GDPR storage limitation): records past their academic years are purged by the scheduler. */

describe('retention: records past their time are purged', function () {
  describe('the cutoff: 1 September of the academic year N years before the current one (London)', function () {
    const rows: [string, number, string][] = [
      ['2026-12-06T10:00:00Z', 6, '2020-09-01'],
      ['2026-08-31T12:00:00Z', 6, '2019-09-01'],
      ['2026-08-31T23:30:00Z', 1, '2025-09-01'], // 00:30 on 1 September in London: the new academic year has begun
      ['2027-01-15T09:00:00Z', 1, '2025-09-01'],
      ['2026-09-01T08:00:00Z', 50, '1976-09-01'],
    ];
    for (const [now, years, cutoff] of rows) {
      it(`when it is ${now} and records are kept ${years} academic years, then everything from ${cutoff} on is kept`, function () {
        assert.equal(retentionCutoff(new Date(now), years), cutoff);
      });
    }
  });

  describe('through the wire, with a controlled clock', function () {
    let w: World;
    let ann: SimUser;
    const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

    beforeEach(async function () {
      w = await World.start();
      ann = w.sim.user('ann', 'Ann Hughes');
    });
    afterEach(async function () {
      await w.stop();
    });

    async function rows(table: string, filter: string): Promise<number> {
      let n = 0;
      for await (const _ of w.bot.together.tables.client(table).listEntities({ queryOptions: { filter } })) n += 1;
      return n;
    }

    it('when six academic years have passed since a TeachMeet, then it goes with its sign-ups while a later one stays; a person\'s nudge day rows go after one', async function () {
      const first = await w.createEvent();
      await w.sim.click(ann, w.staffRoom, first.card, 'Attend', {}, { replyToId: first.activityId });
      await w.settle();
      assert.match(said(await w.sim.say(ann, w.sim.personalChat(ann), 'my teachmeets')), /Spring TeachMeet/);
      // Thu 3 Dec, the school day before: the nudge round reminds Ann (her day row, with the reminder the outbox delivered).
      w.clock.set('2026-12-03T08:00:00Z');
      await w.bot.together.scheduler.tick();
      await w.bot.together.outbox.settle();
      assert.equal(w.messagesFor(ann, /You're attending Spring TeachMeet tomorrow/).length, 1);
      const day = odata`PartitionKey eq 'day|2026-12-03'`;
      assert.deepEqual(await new NudgeStore(w.bot.together.tables, silent).sentBetween('2026-12-03', '2026-12-03'), [{ day: '2026-12-03', aadObjectId: ann.aadObjectId.toLowerCase() }]);
      const dayRows = await rows(NUDGES_TABLE, day);
      assert.ok(dayRows >= 1, 'her day row (and the outbox lease row of the day)');

      w.clock.set('2027-10-01T10:00:00Z');
      await w.bot.together.scheduler.tick();
      assert.equal(await rows(NUDGES_TABLE, day), dayRows, 'in 2027/28 the 2026/27 nudge day is still within one academic year');

      w.clock.set('2028-09-02T10:00:00Z');
      const later = await w.createEvent(w.cora, { title: 'Autumn TeachMeet', date: '2028-10-05', deadlineDate: '2028-10-04' });
      await w.sim.click(ann, w.staffRoom, later.card, 'Attend', {}, { replyToId: later.activityId });
      await w.settle();
      await w.bot.together.scheduler.tick();
      assert.equal(await rows(NUDGES_TABLE, day), 0, 'in 2028/29 the 2026/27 nudge day is gone, with all its rows');
      assert.equal(await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${first.eventId}`), 3, 'the TeachMeet is a programme record: still there (event, sign-up, card copy)');

      w.clock.set('2033-09-02T10:00:00Z');
      await w.bot.together.scheduler.tick();
      assert.equal(await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${first.eventId}`), 0, 'in 2033/34 the 2026/27 TeachMeet is gone, sign-ups and all');
      assert.ok((await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${later.eventId}`)) > 0, 'the 2028/29 one stays');
      const mine = said(await w.sim.say(ann, w.sim.personalChat(ann), 'my teachmeets'));
      assert.doesNotMatch(mine, /Spring TeachMeet/);
      assert.match(mine, /Autumn TeachMeet/);
    });

    it('when more has expired than one round may delete, then each round stops at its budget and the next goes on until none is left', async function () {
      const event = await w.createEvent();
      for (const name of ['ann', 'ben', 'cat', 'dev']) {
        const person = w.sim.user(name, name);
        await w.sim.click(person, w.staffRoom, event.card, 'Attend', {}, { replyToId: event.activityId });
      }
      await w.settle();
      const total = await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${event.eventId}`);
      assert.ok(total >= 5, `the event, its sign-ups and card copy: ${total} rows`);
      const job = new RetentionJob(w.bot.together.tables, INVENTORY, { programmeYears: 6, deliveryYears: 1 }, silent, 2);
      const later = new Date('2033-09-02T10:00:00Z');
      const rounds: number[] = [];
      for (let i = 0; i < 10 && (await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${event.eventId}`)) > 0; i += 1) rounds.push(await job.tick(later));
      assert.ok(rounds.every((n) => n <= 2), `no round deleted more than its budget: ${rounds.join(', ')}`);
      assert.equal(rounds.reduce((a, b) => a + b, 0), total);
      assert.equal(await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${event.eventId}`), 0);
    });

    it('when two instances purge at the same moment, then both finish without error and everything expired is gone once', async function () {
      const event = await w.createEvent();
      await w.sim.click(ann, w.staffRoom, event.card, 'Attend', {}, { replyToId: event.activityId });
      await w.settle();
      const one = new RetentionJob(w.bot.together.tables, INVENTORY, { programmeYears: 6, deliveryYears: 1 }, silent);
      const other = new RetentionJob(w.bot.together.tables, INVENTORY, { programmeYears: 6, deliveryYears: 1 }, silent);
      const later = new Date('2033-09-02T10:00:00Z');
      const [a, b] = await Promise.all([one.tick(later), other.tick(later)]);
      assert.ok(a + b >= 3, `together they deleted the TeachMeet's rows (${a} + ${b})`);
      assert.equal(await rows(TEACHMEETS_TABLE, odata`PartitionKey eq ${event.eventId}`), 0);
    });
  });
});

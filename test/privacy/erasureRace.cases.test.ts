import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { INVENTORY } from '../../src/index';
import { createLogger } from '../../src/platform/logging';
import type { Tables } from '../../src/platform/storage/tables';
import { forgetPerson } from '../../src/privacy/forget';
import { TEACHMEETS_TABLE } from '../../src/teachmeets/store';
import { cancelMyPlace } from '../support/confirm';
import type { SimUser } from '../support/simulator';
import { World } from '../teachmeets/world';

/**
 * Found in review, failing before its fix: an erasure that meets a concurrent change to the person's sign-up.
 * The erasure reads the sign-up row, then (for a re-keyed row) reads the event row's ETag afresh and
 * writes: delete old key (no ETag) + create new key from what it read + event row under the fresh ETag.
 * A change committed between the two reads is therefore overwritten with the older state.
 */
describe('erasure racing a change to the same TeachMeet', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
  });
  afterEach(async function () {
    await w.stop();
  });

  it('when a waitlisted teacher is erased while a place frees up and is offered to them, then their (pseudonymised) sign-up keeps the offer', async function () {
    const { card, activityId, eventId } = await w.createEvent(w.cora, { places: '1' });
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    assert.equal((await w.signUps(eventId)).agg.signUps.get(ben.aadObjectId)?.status, 'waiting');

    // Ann cancels (and Ben is offered her place) just after the erasure has read Ben's rows.
    const real = w.bot.together.tables;
    let interleaved = false;
    const tables = new Proxy(real, {
      get(target, prop) {
        if (prop !== 'client') return Reflect.get(target, prop, target);
        return (name: string) => {
          const client = target.client(name);
          if (name !== TEACHMEETS_TABLE) return client;
          return new Proxy(client, {
            get(c, p) {
              if (p === 'submitTransaction' && !interleaved) {
                return async (...args: Parameters<typeof c.submitTransaction>) => {
                  interleaved = true;
                  await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
                  await w.settle();
                  assert.equal((await w.signUps(eventId)).agg.signUps.get(ben.aadObjectId)?.status, 'offered', 'Ben was offered the place');
                  return c.submitTransaction(...args);
                };
              }
              const v = Reflect.get(c, p, c);
              return typeof v === 'function' ? v.bind(c) : v;
            },
          });
        };
      },
    }) as Tables;

    await forgetPerson(tables, INVENTORY, { aadObjectId: ben.aadObjectId, names: [ben.name], teamsIds: [ben.id], personalChats: [] }, silent);
    assert.ok(interleaved, 'the change happened between the erasure reading and writing');
    const after = await w.signUps(eventId);
    const former = [...after.agg.signUps.values()].filter((s) => s.name === 'Former member');
    assert.equal(former.length, 1);
    assert.equal(former[0]!.status, 'offered', 'the offer made to Ben survives his erasure');
  });
});

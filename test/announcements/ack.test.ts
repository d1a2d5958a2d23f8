import assert from 'node:assert/strict';
import { AnnouncementStore } from '../../src/announcements/store';
import { createLogger } from '../../src/platform/logging';
import { adaptiveCardsOf } from '../support/cardActions';
import type { SimConversation, SimUser } from '../support/simulator';
import { answered } from '../support/said';
import { eventually, said, textOf, World } from './world';

/**
 * "Got it" on an announcement is for the people it was sent to: it counts only their presses, and
 * the card it answers with (the announcement itself) goes only to them. Anyone else, even with the
 * announcement's id in a forged or forwarded card, learns nothing of it and is not counted.
 */

describe('announcements: Got it is for the people it was sent to', function () {
  this.timeout(30_000);
  let w: World;
  let ann: SimUser;
  let tia: SimUser;
  let oakfield: { id: string; channel: SimConversation };

  beforeEach(async function () {
    w = await World.start();
    oakfield = await w.addSchool('Oakfield Academy');
    ann = w.sim.user('ann', 'Ann Hughes');
    tia = w.sim.user('tia', 'Tia Brooks');
    await w.makeRep(ann, 'Oakfield Academy');
    await w.sim.say(ann, w.sim.personalChat(ann), 'whoami');
    await w.sim.say(tia, w.sim.personalChat(tia), 'my school Oakfield Academy');
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a teacher presses Got it with the id of an announcement sent only to the reps, then it is refused without showing it and is not counted; the rep it was sent to is counted', async function () {
    const me = w.sim.personalChat(w.cora);
    const compose = await w.compose(w.cora, me);
    const { card: preview } = await w.preview(w.cora, me, compose, { title: 'Reps only: exam board changes', text: 'The confidential note for reps', audience: 'reps', importance: 'normal', ack: 'true' });
    await w.press(w.cora, me, preview, 'Send', compose.activityId);
    const got = await eventually('Ann got it', () => w.announcementsIn(w.sim.personalChat(ann), 'The confidential note for reps')[0]);
    await w.settle();
    const card = adaptiveCardsOf(got.activity)[0]!;
    const announcementId = /"announcementId":"(an[0-9a-f]{10})"/.exec(JSON.stringify(card))?.[1];
    assert.ok(announcementId);

    for (const where of [w.sim.personalChat(tia), oakfield.channel]) {
      const forged = await w.sim.execute(tia, where, 'announce.ack', { announcementId });
      assert.equal(forged.status, 200);
      const shown = [answered(forged), ...forged.sent.filter((s) => s.conversationId.startsWith(where.id)).map(textOf)].join('\n');
      assert.doesNotMatch(shown, /confidential note|exam board/, `Tia is not shown the announcement in ${where.name ?? 'her chat'}`);
      assert.match(answered(forged), /was not sent to you/);
    }
    const store = new AnnouncementStore(w.tables(), createLogger('silent'));
    assert.deepEqual((await store.acks(announcementId)).map((a) => a.name), [], 'nobody is counted');

    const pressed = await w.press(ann, w.sim.personalChat(ann), card, 'Got it', got.activityId);
    assert.match(said(pressed), /Thanks, Ann: noted that you got it/);
    assert.match(said(pressed), /The confidential note for reps/);
    assert.deepEqual((await store.acks(announcementId)).map((a) => a.name), ['Ann Hughes']);
  });
});

import assert from 'node:assert/strict';
import { adaptiveCardsOf } from '../support/cardActions';
import type { SimConversation, SimUser } from '../support/simulator';
import { MATHS, messagesMatching, offer, said, startWorld, type World } from './world';

/**
 * Erasure and what a running instance remembers of people for swaps: after `forget @person`, nothing
 * of them is held in the process either, so when they come back (a coordinator makes them a rep again)
 * and act on swaps, their Teams id is stored afresh and swap messages for their school reach them.
 */

const ENGLISH = { ...MATHS, sendSubject: 'English', hostSubjects: 'English', trainee: 'Jo K.' };

describe('swaps: erasure leaves nothing of the person in the running bot', function () {
  let w: World;
  let amy: SimUser;

  beforeEach(async function () {
    w = await startWorld();
    amy = w.sim.user('amy', 'Amy Lee');
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, `rep add <at>${amy.name}</at> Oakfield Academy`, { mentions: [amy] })), /is now a rep of/);
  });

  afterEach(async function () {
    await w.stop();
  });

  /** `who` types `swap offer` in a channel (never in a personal chat) and sends the form. */
  async function offerIn(conv: SimConversation, who: SimUser, inputs: Record<string, string>): Promise<void> {
    w.clock.advance(60_000);
    const form = (await w.sim.say(who, conv, 'swap offer')).sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(form, `${who.name} got the form`);
    const sent = await w.sim.click(who, conv, form, 'Send the offer', inputs);
    assert.match(said(sent), /Your offer is saved/);
  }

  it('when a forgotten rep is made a rep again and offers in a channel, then a swap proposed to their school reaches them personally', async function () {
    const ann = w.ann;
    await offerIn(w.staffRoom, ann, ENGLISH);
    const asked = await w.sim.say(w.cora, w.staffRoom, `forget <at>${ann.name}</at>`, { mentions: [ann] });
    const confirm = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(confirm, said(asked));
    assert.match(said(await w.sim.click(w.cora, w.staffRoom, confirm, `Yes, erase ${ann.name}`)), /identifies Ann Hughes/);

    assert.match(said(await w.sim.say(w.cora, w.staffRoom, `rep add <at>${ann.name}</at> Oakfield Academy`, { mentions: [ann] })), /is now a rep of/);
    await offerIn(w.staffRoom, ann, ENGLISH);

    // Amy (Oakfield) and Ben (Hillside) offer swaps that fit: both Oakfield reps are asked.
    await offer(w, amy, MATHS);
    await offer(w, w.ben, MATHS);
    assert.equal(messagesMatching(w.sim, w.chat(amy), /Placement swap: Oakfield Academy ⇄ Hillside High/).length, 1, 'Amy is asked');
    assert.equal(messagesMatching(w.sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄ Hillside High/).length, 1, 'Ann, a rep of Oakfield again, is asked too');
  });
});

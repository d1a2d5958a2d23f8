import assert from 'node:assert/strict';
import { textOf } from '../support/said';
import type { SimUser } from '../support/simulator';
import { World } from '../teachmeets/world';

/**
 * Older Teams clients press buttons with Action.Submit: the press arrives as a message, and its answer
 * is a new message rather than the card's own update. An answer meant for the presser (who is coming,
 * with a CSV link; their own sign-up) must reach only them, in their personal chat, never the channel.
 */

describe('Action.Submit presses in a channel', function () {
  let w: World;
  let ann: SimUser;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
  });

  afterEach(async function () {
    await w.stop();
  });

  it("when the organiser presses Who's coming with Action.Submit in a channel, then the list and its CSV link come to them privately, and the channel sees neither", async function () {
    const { activityId, eventId } = await w.createEvent(w.cora);
    await w.sim.submit(ann, w.staffRoom, { verb: 'teachmeet.attend', eventId }, { replyToId: activityId });
    await w.settle();
    const channelBefore = w.sim.messagesTo(w.staffRoom).length;

    const pressed = await w.sim.submit(w.cora, w.staffRoom, { verb: 'teachmeet.list', eventId }, { replyToId: activityId });
    assert.equal(pressed.status, 200);
    await w.settle();

    const inChannel = w.sim.messagesTo(w.staffRoom).slice(channelBefore).filter((s) => s.method === 'POST').map(textOf);
    assert.deepEqual(inChannel.filter((t) => /Who's coming|Ann Hughes|\.csv/.test(t)), [], 'nothing of the list is posted in the channel');
    const privately = w.sim.messagesTo(w.sim.personalChat(w.cora)).filter((s) => s.method === 'POST');
    assert.ok(privately.some((s) => /Who's coming: Spring TeachMeet/.test(textOf(s)) && /Ann Hughes/.test(textOf(s))), 'the organiser has the list in her personal chat');
    assert.ok(privately.some((s) => /attendees\.csv/.test(JSON.stringify(s.activity))), 'with its CSV link');
  });

  it('when a teacher signs up with Action.Submit in a channel, then their own answer comes to them privately, not to the channel', async function () {
    const { activityId, eventId } = await w.createEvent(w.cora);
    const channelBefore = w.sim.messagesTo(w.staffRoom).length;
    await w.sim.submit(ann, w.staffRoom, { verb: 'teachmeet.attend', eventId }, { replyToId: activityId });
    await w.settle();
    const inChannel = w.sim.messagesTo(w.staffRoom).slice(channelBefore).filter((s) => s.method === 'POST').map(textOf);
    assert.deepEqual(inChannel.filter((t) => /You're attending/.test(t)), [], 'her answer is not posted in the channel');
    assert.ok(w.sim.messagesTo(w.sim.personalChat(ann)).some((s) => /You're attending/.test(textOf(s))), 'she has it in her personal chat');
  });
});

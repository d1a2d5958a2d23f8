import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { everyRow } from '../support/everyRow';
import { forgetMe } from '../support/privacy';
import type { ConnectorRequest, SimConversation, SimUser, TurnResult } from '../support/simulator';
import { answered, said } from '../support/said';
import type { BaseWorld } from '../support/world';
import { World as ProposalsWorld } from '../proposals/world';
import { eventIdOf, FORM, World } from '../teachmeets/world';

/**
 * Erasure and the copies of shared cards Together remembers so later changes update them. A copy in
 * the erased person's personal chat goes with the erasure (nobody else reads that chat): a later change
 * updates the copies in channels and sends nothing to the chat, so no update fails for ever against a
 * conversation Teams does not know (the chat's id in storage is now the erasure's pseudonym).
 */

/** Teams knows the conversations it made ('a:' personal chats, '19:' channels and group chats); any other id is answered 404. */
const unknownToTeams = (r: ConnectorRequest): boolean => r.conversationId !== undefined && !/^(a:|19:|29:)/.test(r.conversationId);

/**
 * Log lines of warning level or worse (pino: 40) that say a card update could not be delivered, or a
 * commit failed. (A message to the erased person themselves, e.g. a proposal's notice to its proposer,
 * is another matter, not looked at here.)
 */
function cardTrouble(logs: readonly Record<string, unknown>[]): string[] {
  return logs.filter((l) => typeof l.level === 'number' && l.level >= 40 && ((l.kind === 'update' && /could not be delivered/.test(String(l.msg))) || /commit failed/.test(String(l.msg)))).map((l) => JSON.stringify(l).slice(0, 300));
}

/** Card updates the outbox recorded as failed, in any table. */
async function failedCardUpdates(prefix: string): Promise<string[]> {
  return (await everyRow(prefix)).filter((row) => row.includes('"kind":"update"') && row.includes('"state":"failed"')).map((row) => row.slice(0, 300));
}

function cardIn(result: TurnResult): object {
  const card = invokeResponseCard(result.body) ?? result.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
  assert.ok(card, answered(result));
  return card;
}

describe('erasure: copies of shared cards in the erased person\'s personal chat', function () {
  this.timeout(30_000);
  let world: BaseWorld;

  afterEach(async function () {
    await world.stop();
  });

  /** No request went to the chat, as it was or as its pseudonym; no failed card update is recorded or logged. */
  async function nothingTowards(w: BaseWorld, chat: string): Promise<void> {
    const towards = w.sim.requests.filter((r) => r.conversationId !== undefined && (unknownToTeams(r) || r.conversationId.startsWith(chat)));
    assert.deepEqual(towards.map((r) => `${r.method} ${r.path} ${r.status}`), [], 'no request for the chat, as it was or as its pseudonym');
    assert.deepEqual(await failedCardUpdates(w.bot.tablePrefix), [], 'no failed card update is recorded');
    assert.deepEqual(cardTrouble(w.bot.logs), [], 'nothing logged about a card update that failed');
  }

  describe('a TeachMeet', function () {
    let w: World;
    let ann: SimUser;
    let announcements: SimConversation;

    beforeEach(async function () {
      world = w = await World.start();
      ann = w.sim.user('ann', 'Ann Hughes');
      announcements = w.sim.channel('Riverside Schools Together', 'Announcements');
      assert.match(said(await w.sim.say(w.cora, announcements, 'channel announcements')), /announcements channel/);
      assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'rep announcements on')), /may now announce/);
      await w.makeRep(ann, 'Oakfield Academy');
    });

    /** Ann, a rep, makes a TeachMeet in her personal chat and has it posted in the announcements channel too: two copies. */
    async function annPostsTeachMeet(): Promise<{ channelCard: string; eventId: string }> {
      const mine = w.sim.personalChat(ann);
      const typed = await w.sim.say(ann, mine, 'teachmeet new');
      const form = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
      assert.ok(form, said(typed));
      const created = await w.sim.click(ann, mine, form, 'Create and post', { ...FORM, host: w.schoolId, announce: 'true' });
      const card = invokeResponseCard(created.body);
      assert.ok(card, answered(created));
      await w.settle();
      const posted = w.sim.sent.find((s) => s.method === 'POST' && s.conversationId === announcements.id && /Spring TeachMeet/.test(JSON.stringify(s.activity)));
      assert.ok(posted, 'the card is in the announcements channel');
      return { channelCard: posted.activityId, eventId: eventIdOf(card) };
    }

    /** Cora, a coordinator, opens the TeachMeet from the list in the staff room and renames it. */
    async function coraRenames(title: string): Promise<void> {
      const list = cardIn(await w.sim.say(w.cora, w.staffRoom, 'teachmeets'));
      const shown = cardIn(await w.sim.click(w.cora, w.staffRoom, list, 'Show the card', {}));
      const form = cardIn(await w.sim.click(w.cora, w.staffRoom, shown, 'Edit details', {}));
      assert.match(cardText(form), /Edit: Spring TeachMeet/);
      const saved = await w.sim.click(w.cora, w.staffRoom, form, 'Save changes', { title });
      assert.match(answered(saved), new RegExp(`${title} is updated`));
      await w.settle();
    }

    it('when a rep who made a TeachMeet in her personal chat is erased and a coordinator then renames it, then the channel card shows the new name, nothing is sent towards her chat, and no card update fails', async function () {
      const { channelCard, eventId } = await annPostsTeachMeet();
      const annChat = w.sim.personalChat(ann).id;

      await forgetMe(w, ann);
      // Nor does what this instance still holds of the TeachMeet (a change would first be decided on it).
      const held = w.bot.together.teachmeets.queue.held(eventId);
      assert.ok(!JSON.stringify(held?.posts ?? []).toLowerCase().includes(annChat.toLowerCase()), "the TeachMeet as held in memory lists no copy in Ann's chat");

      w.sim.failNext(unknownToTeams, 404, {}, 1000);
      w.sim.clearRecords();
      await coraRenames('Summer TeachMeet');

      const updates = w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === channelCard);
      assert.ok(updates.length > 0, 'the channel card was updated');
      assert.match(cardText(adaptiveCardsOf(updates.at(-1)!.activity)[0]!), /Summer TeachMeet/);
      await nothingTowards(w, annChat);
    });
    it('when a rep who posted a TeachMeet in a channel is erased while an update of its card there is still owed, then the update still reaches the channel (it is for everyone there)', async function () {
      const { card, activityId } = await w.createEvent(ann);
      const ben = w.sim.user('ben', 'Ben Carter');
      // The instance commits Ben's place and dies before updating the card in the staff room.
      w.dieAfterCommit();
      assert.match(answered(await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId })), /You're attending/);
      await w.crashed();
      await forgetMe(w, ann);
      w.sim.clearRecords();

      await w.later(120_000); // the delivery pointer comes due
      const updates = w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId);
      assert.equal(updates.length, 1, 'the staff room card was updated once after the erasure');
      assert.match(cardText(adaptiveCardsOf(updates[0]!.activity)[0]!), /Ben Carter|1 of \d+ places taken|\d+ of \d+ left/);
      assert.ok(!JSON.stringify(updates[0]!.activity).includes('Ann Hughes'), 'and it does not name Ann');
    });
  });

  describe('a proposal', function () {
    let w: ProposalsWorld;

    it("when a rep who proposed in her personal chat (no reps' channel yet) is erased and a coordinator then edits the proposal, then the new version is posted in the reps' channel, nothing is sent towards her chat, and no card update fails", async function () {
      world = w = await ProposalsWorld.start({ repsChannel: false });
      const annChat = w.chat(w.ann).id;
      assert.match(answered(await w.propose(w.ann)), /STEM Week/);
      await w.settle();
      assert.ok((await everyRow(w.bot.tablePrefix)).some((row) => row.includes('"rowkey":"post|') && row.includes(annChat.toLowerCase())), 'the card is shared in her chat and remembered there');
      assert.match(said(await w.sim.say(w.cora, w.reps, 'channel reps')), /reps' channel/);
      await forgetMe(w, w.ann);

      w.sim.failNext(unknownToTeams, 404, {}, 1000);
      w.sim.clearRecords();
      const typed = await w.sim.say(w.cora, w.reps, 'proposal edit');
      const form = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
      assert.ok(form, said(typed));
      const saved = await w.sim.click(w.cora, w.reps, form, 'Save and ask again for approval', { pupils: '180' }, { replyToId: form.activityId });
      assert.match(answered(saved), /Saved version 2/);
      await w.settle();

      assert.equal(w.posted(w.reps).length, 1, "version 2 is in the reps' channel");
      await nothingTowards(w, annChat);
    });
  });
});

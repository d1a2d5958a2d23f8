import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { everyRow } from '../support/everyRow';
import type { ConnectorRequest, SimConversation, SimUser, TurnResult } from '../support/simulator';
import { answered, said } from '../support/said';
import { eventIdOf, FORM, World } from '../teachmeets/world';

/**
 * Erasure and the copies of shared cards Together remembers so later changes update them. A copy in
 * the erased person's personal chat goes with the erasure (nobody else reads that chat): a later change
 * updates the copies in channels and sends nothing to the chat, so no update fails for ever against a
 * conversation Teams does not know (the chat's id in storage is now the erasure's pseudonym).
 */

/** Teams knows the conversations it made ('a:' personal chats, '19:' channels and group chats); any other id is answered 404. */
const unknownToTeams = (r: ConnectorRequest): boolean => r.conversationId !== undefined && !/^(a:|19:|29:)/.test(r.conversationId);

/** Log lines of warning level or worse (pino: 40) that say a message could not be delivered or a commit failed. */
function deliveryTrouble(logs: readonly Record<string, unknown>[]): string[] {
  return logs.filter((l) => typeof l.level === 'number' && l.level >= 40 && /could not be delivered|commit failed|given up/.test(String(l.msg))).map((l) => `${String(l.msg)} ${JSON.stringify(l)}`.slice(0, 300));
}

/** Outbox rows recorded as failed, in any table. */
async function failedOutboxRows(prefix: string): Promise<string[]> {
  return (await everyRow(prefix)).filter((row) => row.includes('"rowkey":"out|') && row.includes('"state":"failed"'));
}

function cardIn(result: TurnResult): object {
  const card = invokeResponseCard(result.body) ?? result.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
  assert.ok(card, answered(result));
  return card;
}

describe('erasure: copies of shared cards in the erased person\'s personal chat', function () {
  this.timeout(30_000);
  let w: World;

  afterEach(async function () {
    await w.stop();
  });

  describe('a TeachMeet', function () {
    let ann: SimUser;
    let announcements: SimConversation;

    beforeEach(async function () {
      w = await World.start();
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

    it('when a rep who made a TeachMeet in her personal chat is erased and a coordinator then renames it, then the channel card shows the new name, nothing is sent towards her chat, and no delivery fails', async function () {
      const { channelCard, eventId } = await annPostsTeachMeet();
      const annChat = w.sim.personalChat(ann).id;

      const confirm = await w.sim.say(ann, w.sim.personalChat(ann), 'forget me');
      const card = confirm.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
      assert.ok(card, said(confirm));
      assert.match(answered(await w.sim.click(ann, w.sim.personalChat(ann), card, 'Yes, erase me')), /Done:/);
      assert.ok(!(await everyRow(w.bot.tablePrefix)).some((row) => row.includes(annChat.toLowerCase())), "no row holds Ann's chat");
      // Nor does what this instance still holds of the TeachMeet (a change would first be decided on it).
      const held = w.bot.together.teachmeets.queue.held(eventId);
      assert.ok(!JSON.stringify(held?.posts ?? []).toLowerCase().includes(annChat.toLowerCase()), "the TeachMeet as held in memory lists no copy in Ann's chat");

      w.sim.failNext(unknownToTeams, 404, {}, 1000);
      w.sim.clearRecords();
      await coraRenames('Summer TeachMeet');

      const updates = w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === channelCard);
      assert.ok(updates.length > 0, 'the channel card was updated');
      assert.match(cardText(adaptiveCardsOf(updates.at(-1)!.activity)[0]!), /Summer TeachMeet/);
      const towardsHer = w.sim.requests.filter((r) => r.conversationId !== undefined && (unknownToTeams(r) || r.conversationId.startsWith(annChat)));
      assert.deepEqual(towardsHer.map((r) => `${r.method} ${r.path} ${r.status}`), [], "no request for Ann's chat, as it was or as its pseudonym");
      assert.deepEqual(await failedOutboxRows(w.bot.tablePrefix), [], 'no failed delivery is recorded');
      assert.deepEqual(deliveryTrouble(w.bot.logs), [], 'nothing logged about a delivery that failed');
    });
  });
});

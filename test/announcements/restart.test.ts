import assert from 'node:assert/strict';
import type { Target } from '../../src/announcements/model';
import { AnnouncementStore } from '../../src/announcements/store';
import { createLogger } from '../../src/platform/logging';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimConversation, SimUser } from '../support/simulator';
import { eventually, said, World } from './world';

/**
 * The bot stopped in the middle of a send, and started again on the same storage: everyone gets the
 * announcement, and nobody whose send was recorded gets it twice. Once with a clean stop, once as a
 * crash (the outbox's pointer brings the owed messages back), and once with a second instance that
 * carries on without a restart.
 */

describe('announcements across a restart', function () {
  this.timeout(40_000);
  let w: World;
  let people: SimUser[];

  beforeEach(async function () {
    // 5 requests a second, so the send is still going when the bot stops.
    w = await World.start({ env: { TEAMS_SEND_RATE: '5' } });
    people = Array.from({ length: 12 }, (_, i) => w.sim.user(`teacher${i}`, `Teacher ${i}`));
    for (const p of people) await w.sim.say(p, w.sim.personalChat(p), 'whoami');
  });

  afterEach(async function () {
    await w.stop();
  });

  const chats = () => [w.cora, ...people].map((p) => w.sim.personalChat(p));
  /** The recipients' card (not the preview or the report, which show it too). */
  const isAnnouncement = (shown: string, text: string) => shown.includes(text) && !shown.includes('Preview: this is exactly') && !shown.includes('Your announcement');
  const count = (conv: SimConversation, text: string) => w.sim.messagesTo(conv).filter((s) => s.method === 'POST' && isAnnouncement(cardText(adaptiveCardsOf(s.activity)[0] ?? {}), text)).length;
  const deliveredTo = (text: string) => chats().filter((c) => count(c, text) > 0).length;

  /** `announce everyone: …` from Cora's chat, through the second confirmation. */
  async function sendToEveryone(text: string): Promise<string> {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, `announce everyone: ${text}`);
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.match(cardText(adaptiveCardsOf(preview.activity)[0]!), /Everyone who has installed Together/);
    const first = await w.sim.click(w.cora, me, preview, 'Send');
    const confirm = invokeResponseCard(first.body)!;
    assert.match(cardText(confirm), /This goes to everyone who has installed Together: 13 conversations/, said(first));
    assert.equal(deliveredTo(text), 0, 'nothing goes before the second confirmation');
    const sent = await w.press(w.cora, me, confirm, 'Yes, send to everyone', preview.activityId);
    assert.match(said(sent), /Your announcement/);
    return preview.activityId;
  }

  it('when the bot is stopped mid-send and started again, then everyone gets the announcement exactly once', async function () {
    await sendToEveryone('Clean stop');
    await eventually('some have it', () => deliveredTo('Clean stop') >= 3);
    assert.ok(deliveredTo('Clean stop') < 13, 'still sending when stopped');
    await w.restart();
    await w.later(61_000);
    await eventually('everyone has it', () => deliveredTo('Clean stop') === 13, 20_000);
    await w.settle();
    for (const c of chats()) assert.equal(count(c, 'Clean stop'), 1, `${c.id} got it once`);
  });

  it('when the bot dies mid-send and starts again, then everyone gets it and nobody whose send was recorded gets it twice', async function () {
    const copy = await sendToEveryone('Hard stop');
    await eventually('some have it', () => deliveredTo('Hard stop') >= 4);
    await w.crash();
    const store = new AnnouncementStore(w.tables(), createLogger('silent'));
    const id = (await store.recent(5))[0]!;
    const recorded = new Set((await store.recipients(id)).filter((r) => r.state === 'sent').map((r) => (r.target as Extract<Target, { kind: 'conversation' }>).conversationId));
    assert.ok(recorded.size >= 3 && recorded.size < 13, `${recorded.size} recorded when it died`);
    await w.started();
    assert.ok(deliveredTo('Hard stop') < 13, 'nothing more went out by itself');
    // A minute on, the scheduler finds the announcement's owed messages by the pointer the commit left.
    await w.later(61_000);
    await eventually('everyone has it', () => deliveredTo('Hard stop') === 13, 20_000);
    await w.settle();
    for (const c of chats()) {
      const n = count(c, 'Hard stop');
      assert.ok(n >= 1, `${c.id} got it`);
      if (recorded.has(c.id)) assert.equal(n, 1, `${c.id}'s send was recorded, so it was not sent again`);
    }
    const twice = chats().filter((c) => count(c, 'Hard stop') > 1).length;
    assert.ok(twice <= 1, `at most the one send on the wire when it died went twice (${twice})`);
    const me = w.sim.personalChat(w.cora);
    await eventually('the report is final', () => /Sent to all 13/.test(w.latest(me, copy)));
  });

  describe('with two instances', function () {
    it('when the instance sending dies mid-send, then the other carries on without a restart and everyone gets it', async function () {
      const other = await w.another();
      const copy = await sendToEveryone('Survivor');
      await eventually('some have it', () => deliveredTo('Survivor') >= 4);
      await w.crash();
      const before = deliveredTo('Survivor');
      assert.ok(before < 13, 'still sending when it died');
      // No restart: the other instance's scheduler finds the owed messages within a minute and a tick.
      w.clock.advance(61_000);
      await other.scheduler.tick();
      await eventually('everyone has it', () => deliveredTo('Survivor') === 13, 20_000);
      await other.outbox.settle();
      await other.announcements.settle();
      const twice = chats().filter((c) => count(c, 'Survivor') > 1).length;
      assert.ok(twice <= 1, `at most the one send on the wire when it died went twice (${twice})`);
      const me = w.sim.personalChat(w.cora);
      await eventually('the report is final', () => /Sent to all 13/.test(w.latest(me, copy)));
    });
  });
});

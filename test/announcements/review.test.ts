import assert from 'node:assert/strict';
import { actionTitles, adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { ConnectorRequest, SimConversation, SimUser } from '../support/simulator';
import { eventually, said, World } from './world';

/**
 * Found in review of the move onto the outbox (c35e2e2), each failing before its fix: a person erased
 * while their announcement is still owed to their personal chat; a stop that waits for the whole send;
 * a report whose last refresh a stop or crash cut short after the two-minute follow-up had run.
 */

const postsTo = (conv: SimConversation) => (req: ConnectorRequest) => req.method === 'POST' && req.conversationId === conv.id && req.path.endsWith('/activities');
/** The recipients' card (not the preview or the report, which show it too). */
const isAnnouncement = (shown: string, text: string) => shown.includes(text) && !shown.includes('Preview: this is exactly') && !shown.includes('Your announcement');

describe('announcements review: erasure, stopping mid-send, and the report', function () {
  this.timeout(60_000);
  let w: World;

  afterEach(async function () {
    await w.stop();
  });

  const received = (conv: SimConversation, text: string) => w.sim.messagesTo(conv).filter((s) => s.method === 'POST' && isAnnouncement(cardText(adaptiveCardsOf(s.activity)[0] ?? {}), text)).length;

  /** `announce everyone: …` from Cora's chat, through the second confirmation; returns the report's message id. */
  async function sendToEveryone(text: string): Promise<string> {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, `announce everyone: ${text}`);
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const first = await w.sim.click(w.cora, me, preview, 'Send');
    const confirm = invokeResponseCard(first.body)!;
    assert.ok(confirm, said(first));
    const sent = await w.press(w.cora, me, confirm, 'Yes, send to everyone', preview.activityId);
    assert.match(said(sent), /Your announcement/);
    return preview.activityId;
  }

  async function forgetMe(who: SimUser): Promise<void> {
    const chat = w.sim.personalChat(who);
    const asked = await w.sim.say(who, chat, 'forget me');
    const card = asked.sent.find((s) => adaptiveCardsOf(s.activity).some((c) => actionTitles(c).includes('Yes, erase me')))!;
    assert.ok(card, said(asked));
    assert.match(said(await w.sim.click(who, chat, card, 'Yes, erase me')), /no longer holds anything that identifies you/);
  }

  it('when a teacher whose announcement is still owed (Teams asked to wait) says forget me, then it never reaches them afterwards and the report does not count them as sent', async function () {
    w = await World.start();
    const ann = w.sim.user('ann', 'Ann Hughes');
    const ben = w.sim.user('ben', 'Ben Carter');
    for (const p of [ann, ben]) await w.sim.say(p, w.sim.personalChat(p), 'whoami');
    // Teams asks Together to wait before it posts to Ann: her message is kept for later.
    w.sim.failNext(postsTo(w.sim.personalChat(ann)), 429, { 'Retry-After': '3' });
    const copy = await sendToEveryone('Staff briefing moved');
    await eventually('Ben has it', () => received(w.sim.personalChat(ben), 'Staff briefing moved') === 1);
    await w.settle();
    assert.equal(received(w.sim.personalChat(ann), 'Staff briefing moved'), 0, 'Ann is still owed hers');

    await forgetMe(ann);
    const erasedAt = w.sim.messagesTo(w.sim.personalChat(ann)).length;
    // Time passes: whatever was kept for later is tried again.
    for (let i = 0; i < 3; i += 1) await w.later(61_000);
    const afterwards = w.sim.messagesTo(w.sim.personalChat(ann)).slice(erasedAt).filter((s) => s.method === 'POST' && cardText(adaptiveCardsOf(s.activity)[0] ?? {}).includes('Staff briefing moved'));
    assert.equal(afterwards.length, 0, 'nothing of the announcement reaches Ann after she was erased');
    const me = w.sim.personalChat(w.cora);
    const report = await eventually('the report is final', () => {
      const text = w.latest(me, copy);
      return /Sent to|Cancelled/.test(text) && !/Sending/.test(text) ? text : undefined;
    });
    assert.doesNotMatch(report, /Sent to all 3/, `Ann (erased) is not counted as sent: ${report}`);
    assert.match(report, /Sent to 2 of 3; 1 could not be reached/);
  });

  it('when the bot is stopped in the middle of a long send, then it stops within its shutdown grace (the rest is left to the outbox), and everyone still gets it', async function () {
    this.timeout(120_000);
    // One message a second: 31 recipients take half a minute, longer than the grace a stop waits for what is owed.
    w = await World.start({ env: { TEAMS_SEND_RATE: '1' } });
    const people = Array.from({ length: 30 }, (_, i) => w.sim.user(`teacher${i}`, `Teacher ${i}`));
    for (const p of people) await w.sim.say(p, w.sim.personalChat(p), 'whoami');
    const chats = [w.cora, ...people].map((p) => w.sim.personalChat(p));
    const deliveredTo = () => chats.filter((c) => received(c, 'Parents evening') > 0).length;
    await sendToEveryone('Parents evening');
    await eventually('some have it', () => deliveredTo() >= 2);
    const old = w.together;
    await old.close();
    const whenStopped = deliveredTo();
    // The process exits once stopped: nothing more leaves it. (A send on the wire at that moment may be sent again.)
    await old.crash();
    assert.ok(whenStopped < chats.length, `the stop did not wait for the whole send (${whenStopped} of ${chats.length} had it when it stopped)`);
    await w.started();
    await eventually(
      'everyone has it',
      async () => {
        if (deliveredTo() === chats.length) return true;
        await w.later(61_000);
        return undefined;
      },
      60_000,
    );
    await w.settle();
    const twice = chats.filter((c) => received(c, 'Parents evening') > 1).length;
    assert.ok(twice <= 1, `at most a send on the wire when the process exited went twice (${twice})`);
  });

  for (const how of ['stopped', 'crashed'] as const) {
    it(`when the bot is ${how} after the last message of a long send is recorded but before the report is refreshed, then the report still becomes final`, async function () {
      // The first refresh goes at once, later ones at most once a minute (so the last is still waiting when the bot stops).
      w = await World.start({ tuning: { reportIntervalMs: 60_000 } });
      const ash = (await w.addSchool('Ash School')).channel;
      const beech = (await w.addSchool('Beech School')).channel;
      // Beech's channel makes Together wait twice: its message is still owed when the two-minute follow-up has come and gone.
      w.sim.failNext(postsTo(beech), 429, { 'Retry-After': '3' }, 2);
      const me = w.sim.personalChat(w.cora);
      const typed = await w.sim.say(w.cora, me, 'announce schools: Moderation day moved');
      const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
      assert.equal((await w.sim.click(w.cora, me, preview, 'Send')).status, 200);
      await eventually('Ash has it', () => received(ash, 'Moderation day moved') === 1);
      await w.settle();
      assert.equal(w.sim.failures.filter(postsTo(beech)).length, 1, 'Teams asked to wait once so far');
      await w.later(121_000);
      assert.equal(w.sim.failures.filter(postsTo(beech)).length, 2, 'and again when it was tried after the wait');
      assert.equal(received(beech, 'Moderation day moved'), 0, 'Beech is still owed its message');
      assert.match(w.latest(me, preview.activityId), /Sending: 1 of 2 sent so far/);

      // Beech's turn comes: it is sent and recorded, and the report's refresh waits its interval...
      w.clock.advance(10_000);
      await w.together.scheduler.tick();
      await w.together.outbox.settle();
      await eventually('Beech has it', () => received(beech, 'Moderation day moved') === 1, 5_000);
      // ...when the bot goes.
      if (how === 'stopped') await w.restart();
      else {
        await w.crash();
        await w.started();
      }
      const report = await eventually(
        'the report is final',
        async () => {
          const text = w.latest(me, preview.activityId);
          if (/Sent to all 2/.test(text)) return text;
          await w.later(121_000);
          return undefined;
        },
        20_000,
      );
      assert.match(report, /Sent to all 2/);
      assert.match(said(await w.sim.say(w.cora, me, 'announcements')), /Moderation day moved[\s\S]*Sent to 2/);
    });
  }
});

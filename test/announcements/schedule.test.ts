import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimConversation } from '../support/simulator';
import { eventually, said, textOf, World } from './world';

/**
 * A scheduled announcement is stored with a durable timer and sent at its time (Europe/London),
 * even though the bot restarted meanwhile; a cancelled one is not sent; `announcements` lists both.
 */

describe('scheduled announcements', function () {
  this.timeout(30_000);
  let w: World;
  let oak: SimConversation;
  let hill: SimConversation;

  beforeEach(async function () {
    w = await World.start();
    oak = (await w.addSchool('Oakfield Academy')).channel;
    hill = (await w.addSchool('Hillside Primary')).channel;
  });

  afterEach(async function () {
    await w.stop();
  });

  const got = (conv: SimConversation, text: string) => w.announcementsIn(conv, text).length;

  async function schedule(text: string, sendDate: string, sendTime: string): Promise<{ copy: string }> {
    const me = w.sim.personalChat(w.cora);
    const compose = await w.compose(w.cora, me);
    const { card } = await w.preview(w.cora, me, compose, { text, audience: 'schools', sendDate, sendTime });
    assert.match(cardText(card), new RegExp(`Scheduled: .*${sendTime} \\(UK time\\)`));
    const scheduled = await w.press(w.cora, me, card, 'Schedule', compose.activityId);
    assert.match(said(scheduled), new RegExp(`Scheduled for .*${sendTime} \\(UK time\\)\\. Nothing has been sent yet`));
    return { copy: compose.activityId };
  }

  it('when an announcement is scheduled and the bot restarts before its time, then it goes out at its time, and a cancelled one never does', async function () {
    // London is on GMT in November: 09:00 there is 09:00Z.
    const { copy } = await schedule('Parents evening moved to Thursday', '2026-11-26', '09:00');
    await schedule('Cancelled notice', '2026-11-26', '10:00');

    const me = w.sim.personalChat(w.cora);
    const list = await w.sim.say(w.cora, me, 'announcements');
    assert.match(said(list), /Parents evening moved to Thursday\nScheduled · Thu 26 Nov, 09:00/);
    const listCard = list.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;

    // Cancel the second from the list: Show, then Cancel sending.
    const cards = adaptiveCardsOf(listCard.activity)[0] as { body: { type: string; items?: { type: string; text?: string; actions?: unknown[] }[] }[] };
    const second = cards.body.find((b) => b.type === 'Container' && b.items?.some((i) => i.text === 'Cancelled notice'))!;
    const showSecond = second.items!.find((i) => i.type === 'ActionSet')!;
    const shown = await w.press(w.cora, me, { type: 'AdaptiveCard', version: '1.5', body: [showSecond] }, 'Show', listCard.activityId);
    const secondReport = invokeResponseCard(shown.body)!;
    const cancelled = await w.press(w.cora, me, secondReport, 'Cancel sending', listCard.activityId);
    assert.match(said(cancelled), /Cancelled/);

    await w.restart();
    w.clock.set('2026-11-26T08:59:00Z');
    await w.together.scheduler.tick();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got(oak, 'Parents evening moved to Thursday'), 0, 'not before its time');

    w.clock.set('2026-11-26T09:00:30Z');
    await w.together.scheduler.tick();
    await eventually('both channels got it', () => got(oak, 'Parents evening moved to Thursday') === 1 && got(hill, 'Parents evening moved to Thursday') === 1);
    await eventually('the coordinator\'s copy says sent', () => /Sent to all 2/.test(w.latest(me, copy)));

    w.clock.set('2026-11-26T10:05:00Z');
    await w.together.scheduler.tick();
    await w.settle();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got(oak, 'Cancelled notice'), 0, 'the cancelled one was not sent');
    assert.equal(got(hill, 'Cancelled notice'), 0);
    assert.equal(got(oak, 'Parents evening moved to Thursday'), 1, 'still once');

    const after = said(await w.sim.say(w.cora, me, 'announcements'));
    assert.match(after, /Parents evening moved to Thursday\nSent to 2/);
    assert.match(after, /Cancelled notice\nCancelled/);
    assert.ok(textOf(listCard));
  });
});

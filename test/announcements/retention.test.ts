import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { odata } from '@azure/data-tables';
import { ANNOUNCEMENTS_TABLE } from '../../src/announcements/store';
import { INVENTORY } from '../../src/index';
import { createLogger } from '../../src/platform/logging';
import { RetentionJob } from '../../src/platform/retention';
import { adaptiveCardsOf, invokeResponseCard } from '../support/cardActions';
import type { ConnectorRequest, Sent, SimConversation } from '../support/simulator';
import { eventually, said, textOf, World } from './world';

/**
 * Retention purges each recipient's delivery record a year after it was sent (DELIVERY_RETENTION_YEARS)
 * while the announcement stays for six (RETENTION_YEARS): its report must read the same after the purge
 * as before it, not "Sent to all 0". With a controlled clock.
 */

describe('announcements: the report after retention purges the delivery records', function () {
  this.timeout(30_000);
  let w: World;
  let channels: Record<string, SimConversation>;
  const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
  /** In the academic year 2028/29: records done in 2026/27 are past one year, the announcement within six. */
  const TWO_YEARS_ON = '2028-09-04T10:00:00Z';

  beforeEach(async function () {
    w = await World.start();
    channels = {};
    for (const name of ['Ash School', 'Beech School', 'Cedar School']) channels[name] = (await w.addSchool(name)).channel;
  });

  afterEach(async function () {
    await w.stop();
  });

  const postsTo = (conv: SimConversation) => (req: ConnectorRequest) => req.method === 'POST' && req.conversationId === conv.id && req.path.endsWith('/activities');

  /** Sends an announcement (asking for Got it) to the three schools' channels; Beech's refuses it (403); a teacher at Ash presses Got it. */
  async function sentAndAcknowledged(): Promise<{ me: SimConversation; compose: Sent; id: string }> {
    w.sim.failNext(postsTo(channels['Beech School']!), 403);
    const me = w.sim.personalChat(w.cora);
    const compose = await w.compose(w.cora, me);
    const { card: preview } = await w.preview(w.cora, me, compose, { title: 'Moderation day', text: 'Year 6 writing moderation is on Friday.', audience: 'schools', importance: 'normal', ack: 'true' });
    await w.press(w.cora, me, preview, 'Send', compose.activityId);
    await eventually('the report says one could not be reached', () => /Sent to 2 of 3; 1 could not be reached/.test(w.latest(me, compose.activityId)));
    const ash = w.sim.messagesTo(channels['Ash School']!).find((s) => s.method === 'POST' && textOf(s).includes('Year 6 writing moderation'));
    assert.ok(ash, 'Ash got it');
    const teacher = w.sim.user('tia', 'Tia Green');
    await w.press(teacher, channels['Ash School']!, adaptiveCardsOf(ash.activity)[0]!, 'Got it', ash.activityId);
    await w.settle();
    const report = reportCard(compose);
    const id = /"announcementId":"(an[0-9a-f]{10})"/.exec(JSON.stringify(report))?.[1];
    assert.ok(id, 'the report carries its announcement id');
    return { me, compose, id };
  }

  /** The coordinator's copy of the report as last updated in place. */
  function reportCard(compose: Sent): object {
    const update = w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === compose.activityId).at(-1);
    assert.ok(update, 'the coordinator has the report');
    return adaptiveCardsOf(update.activity)[0]!;
  }

  /** What the coordinator reads after pressing Refresh, without the lines that tell the time of reading. */
  async function refreshed(me: SimConversation, compose: Sent): Promise<string> {
    const result = await w.press(w.cora, me, reportCard(compose), 'Refresh', compose.activityId);
    const card = invokeResponseCard(result.body);
    assert.ok(card, said(result));
    return said(result)
      .split('\n')
      .filter((line) => !/^Updated /.test(line))
      .map((line) => line.replace(/, sent .*$/, ''))
      .join('\n');
  }

  async function failuresCard(me: SimConversation, compose: Sent): Promise<string> {
    return said(await w.press(w.cora, me, reportCard(compose), 'Failures (CSV)', compose.activityId));
  }

  async function deliveryRows(id: string): Promise<number> {
    let n = 0;
    for await (const _ of w.together.tables.client(ANNOUNCEMENTS_TABLE).listEntities({ queryOptions: { filter: odata`PartitionKey eq ${id} and RowKey ge 'r|' and RowKey lt 'r}'` } })) n += 1;
    return n;
  }

  it('when the scheduler purges an old announcement\'s delivery records, then its report, the list and the failure count read as before; who failed is said to be no longer kept', async function () {
    const { me, compose, id } = await sentAndAcknowledged();
    const before = await refreshed(me, compose);
    assert.match(before, /Sent to 2 of 3; 1 could not be reached/);
    assert.match(before, /Total\s+2\s+0\s+1\s+1/);
    const listBefore = said(await w.sim.say(w.cora, me, 'announcements'));
    assert.match(listBefore, /Sent to 2, 1 failed/);
    assert.match(await failuresCard(me, compose), /Beech School/);

    w.clock.set(TWO_YEARS_ON);
    await w.together.scheduler.tick();
    assert.equal(await deliveryRows(id), 0, 'the delivery records are purged');

    const after = await refreshed(me, compose);
    assert.equal(after, before, 'the report reads as it did before the purge');
    assert.match(said(await w.sim.say(w.cora, me, 'announcements')), /Moderation day[\s\S]*Sent to 2, 1 failed/);
    const failures = await failuresCard(me, compose);
    assert.match(failures, /1 could not be reached, but who it was is no longer kept/);
    assert.doesNotMatch(failures, /Nothing has failed/);
  });

  it('when two instances purge the same delivery records at the same moment, then each is counted once', async function () {
    const { me, compose, id } = await sentAndAcknowledged();
    const before = await refreshed(me, compose);
    const jobs = [0, 1].map(() => new RetentionJob(w.together.tables, INVENTORY, { programmeYears: 6, deliveryYears: 1 }, silent));
    const later = new Date(TWO_YEARS_ON);
    await Promise.all(jobs.map((job) => job.tick(later)));
    // One of them may have met the other's change and left its rows for its next round.
    for (let i = 0; i < 5 && (await deliveryRows(id)) > 0; i += 1) await new RetentionJob(w.together.tables, INVENTORY, { programmeYears: 6, deliveryYears: 1 }, silent).tick(later);
    assert.equal(await deliveryRows(id), 0, 'the delivery records are purged');
    w.clock.set(TWO_YEARS_ON);
    assert.equal(await refreshed(me, compose), before);
  });
});

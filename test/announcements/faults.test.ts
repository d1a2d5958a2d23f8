import assert from 'node:assert/strict';
import { AnnouncementStore } from '../../src/announcements/store';
import { ANNOUNCEMENTS_TABLE } from '../../src/announcements/store';
import { createLogger } from '../../src/platform/logging';
import { DEFAULT_RETRY } from '../../src/platform/outbox/delivery';
import { actionTitles, adaptiveCardsOf, cardText, invokeResponseCard, locateAction } from '../support/cardActions';
import { readAsSpreadsheet } from '../support/csv';
import type { ConnectorRequest, SimConversation } from '../support/simulator';
import { eventually, said, World } from './world';

/**
 * Teams answering sends with 429 (with and without Retry-After), 502, 403 and a 502 that never
 * stops: retried with backoff by the outbox's one policy (Retry-After honoured; short waits in
 * memory, longer ones kept on the stored message until their time), recorded as permanent failures
 * without retry, or given up after the policy's last attempt; each outcome is recorded on the
 * recipient's row (the message's own row is gone), and the report and the failures CSV say so.
 */

describe('announcements when Teams refuses some sends', function () {
  this.timeout(30_000);
  let w: World;
  const names = ['Ash School', 'Beech School', 'Cedar School', 'Damson School', 'Elm School'];
  let channels: Record<string, SimConversation>;

  beforeEach(async function () {
    w = await World.start();
    channels = {};
    for (const name of names) channels[name] = (await w.addSchool(name)).channel;
  });

  afterEach(async function () {
    await w.stop();
  });

  const postsTo = (conv: SimConversation) => (req: ConnectorRequest) => req.method === 'POST' && req.conversationId === conv.id && req.path.endsWith('/activities');

  it('when sends get 429 (with and without Retry-After), 502, 403 and endless 502s, then they are retried, recorded or given up as the rules say, and the failures download as CSV', async function () {
    this.timeout(60_000);
    w.sim.failNext(postsTo(channels['Ash School']!), 429, { 'Retry-After': '1' });
    w.sim.failNext(postsTo(channels['Beech School']!), 429);
    w.sim.failNext(postsTo(channels['Cedar School']!), 502, {}, 2);
    w.sim.failNext(postsTo(channels['Damson School']!), 403);
    w.sim.failNext(postsTo(channels['Elm School']!), 502, {}, 100);

    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce schools: Fault drill');
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const sent = await w.sim.click(w.cora, me, preview, 'Send');
    assert.equal(sent.status, 200);

    // The endless 502: tried in memory while the waits are short, then kept on its row; time passes until the policy gives up.
    const report = await eventually(
      'the report is final',
      async () => {
        const text = w.latest(me, preview.activityId);
        if (/could not be reached/.test(text)) return text;
        await w.later(60_000);
        return undefined;
      },
      40_000,
    );
    await w.settle();
    assert.match(report, /Sent to 3 of 5; 2 could not be reached/);

    const delivered = (name: string) => w.sim.messagesTo(channels[name]!).filter((s) => s.method === 'POST' && cardText(adaptiveCardsOf(s.activity)[0] ?? {}).includes('Fault drill')).length;
    const requests = (name: string) => w.sim.requests.filter((r) => postsTo(channels[name]!)(r)).length;
    assert.equal(delivered('Ash School'), 1, '429 with Retry-After: retried, delivered once');
    assert.equal(delivered('Beech School'), 1, '429 without Retry-After: retried, delivered once');
    assert.equal(delivered('Cedar School'), 1, '502 twice: retried, delivered once');
    assert.equal(delivered('Damson School'), 0, '403: not delivered');
    assert.equal(requests('Damson School'), 1, '403 is permanent: not retried');
    assert.equal(delivered('Elm School'), 0);
    assert.equal(requests('Elm School'), DEFAULT_RETRY.maxAttempts, `endless 502: tried the policy's ${DEFAULT_RETRY.maxAttempts} times`);

    // Retry-After honoured: Ash's second request came at least a second after Teams refused the first.
    const ash = w.sim.requests.filter((r) => postsTo(channels['Ash School']!)(r));
    assert.equal(ash.length, 2);
    assert.ok(ash[1]!.at - ash[0]!.at >= 1000, `Retry-After: 1 waited out (${ash[1]!.at - ash[0]!.at} ms)`);

    // Outcomes recorded per recipient.
    const store = new AnnouncementStore(w.tables(), createLogger('silent'));
    const id = (await store.recent(5))[0]!;
    const rows = await store.recipients(id);
    const byLabel = (name: string) => rows.find((r) => r.label.includes(name))!;
    assert.equal(byLabel('Ash School').state, 'sent');
    assert.equal(byLabel('Ash School').attempts, 2);
    assert.equal(byLabel('Damson School').state, 'failed');
    assert.equal(byLabel('Damson School').lastStatus, 403);
    assert.equal(byLabel('Elm School').state, 'failed');
    assert.match(byLabel('Elm School').reason, new RegExp(`gave up after ${DEFAULT_RETRY.maxAttempts} attempts`));
    assert.equal(byLabel('Elm School').attempts, DEFAULT_RETRY.maxAttempts);
    // Nothing is left owed or parked in the outbox: the recipients' rows are the record.
    const left = [];
    for await (const row of w.tables().client(ANNOUNCEMENTS_TABLE).listEntities({ queryOptions: { filter: `PartitionKey eq '${id}' and RowKey ge 'out|' and RowKey lt 'out}'` } })) left.push(row.rowKey);
    assert.deepEqual(left, []);

    // Failures (CSV) from the report.
    const reportCard = adaptiveCardsOf(w.sim.transcript(me).find((t) => t.id === preview.activityId)!.activity)[0]!;
    assert.ok(actionTitles(reportCard).includes('Failures (CSV)'), `buttons: ${actionTitles(reportCard).join(', ')}`);
    const failures = await w.press(w.cora, me, reportCard, 'Failures (CSV)', preview.activityId);
    const failuresCard = invokeResponseCard(failures.body)!;
    assert.match(cardText(failuresCard), /Damson School/);
    const link = new URL(String(locateAction(failuresCard, 'Download CSV (link valid for 15 minutes)')!.action.url));
    const url = new URL(`${link.pathname}${link.search}`, w.together.url).toString();
    const csv = await (await fetch(url)).text();
    const sheet = readAsSpreadsheet(csv, ',');
    assert.deepEqual(sheet[0], ['School', 'Recipient', 'Kind', 'HTTP status', 'Reason', 'Attempts', 'Last tried (UK time)']);
    assert.ok(sheet.some((r) => r[0] === 'Damson School' && r[2] === 'channel' && r[3] === '403'), JSON.stringify(sheet));
    assert.ok(sheet.some((r) => r[0] === 'Elm School' && r[2] === 'channel' && r[3] === '502' && /gave up after/.test(r[4] ?? '') && r[5] === String(DEFAULT_RETRY.maxAttempts)), JSON.stringify(sheet));
    const tampered = await fetch(url.replace(/sig=[^&]+/, 'sig=forged'));
    assert.equal(tampered.status, 403);

    // A teacher cannot see the failures.
    const tia = w.sim.user('tia', 'Tia Brown');
    const refused = await w.sim.click(tia, me, reportCard, 'Failures (CSV)', {}, { replyToId: preview.activityId });
    assert.equal(refused.status, 200);
    assert.match(said(refused), /Only school reps and coordinators/);
  });
});

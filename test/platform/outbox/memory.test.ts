import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '../../../src/platform/clock';
import { createLogger } from '../../../src/platform/logging';
import { Outbox, type Effect } from '../../../src/platform/outbox/outbox';
import { Tables } from '../../../src/platform/storage/tables';
import { TIMERS_TABLE, Timers } from '../../../src/platform/timers';
import { uniquePrefix } from '../../support/bot';
import { storageConnectionString } from '../../support/hooks';

/**
 * Found in review of announcements on the outbox (c35e2e2), failing before its fix: an announcement to
 * thousands is thousands of owed messages in one partition, each with its own copy of the card (up to
 * ~28 KB). A drain that reads every owed message of the partition into memory at once holds about
 * 80 KB of heap per message once parsed: 5,000 recipients are ~400 MB, most of the heap Node gives
 * itself on the deployment's B1 plan (1.75 GB), for the whole round of sending.
 */

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const silent = createLogger('silent');

/** A card about the size of a long announcement (~25 KB of JSON; its text pasted from Word, with typographic quotes). */
function bigCard(i: number): Record<string, unknown> {
  const body = Array.from({ length: 40 }, (_, n) => ({ type: 'TextBlock', text: `Paragraph ${n} of the announcement: “bring your samples” — it’s a real line of text (${i}).`.padEnd(500, ' '), wrap: true }));
  return { type: 'message', summary: 'Moderation', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body } }] };
}

describe('outbox: a very large send', function () {
  this.timeout(120_000);
  let tables: Tables;

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure(['Agg', TIMERS_TABLE]);
  });

  afterEach(async function () {
    await tables.dropAll(['Agg', TIMERS_TABLE]).catch(() => undefined);
  });

  it('when one partition owes 2,000 long messages, then the instance delivering them never holds them all in memory at once, and each goes once', async function () {
    const clock = new ManualClock('2026-12-07T10:00:00Z');
    const delivered = new Map<string, number>();
    let baseline = 0;
    let peak = 0;
    const liveHeap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const proactive = {
      async post(reference: { conversation?: { id?: string } }) {
        const id = reference.conversation?.id ?? '';
        delivered.set(id, (delivered.get(id) ?? 0) + 1);
        if (delivered.size % 100 === 0) peak = Math.max(peak, liveHeap() - baseline);
        return { reference, activityId: `m${delivered.size}`, attempts: 1 };
      },
    };
    const outbox = () => new Outbox({ tables, timers: new Timers(tables, silent), proactive: proactive as never, conversations: undefined as never, deadlines: undefined as never, clock, logger: silent });

    const committing = outbox();
    committing.pause();
    const total = 2_000;
    for (let start = 0; start < total; start += 50) {
      const effects: Effect[] = Array.from({ length: 50 }, (_, k) => {
        const id = `a:${start + k}`;
        return { kind: 'post', conversationId: id, reference: { serviceUrl: 'https://teams.invalid/', conversation: { id, isGroup: false, conversationType: 'personal', name: '' } }, activity: bigCard(start + k) };
      });
      assert.ok(await committing.commit('Agg', 'an0000000001', [], effects, String(start).padStart(6, '0')));
    }

    baseline = liveHeap();
    await outbox().deliver('Agg', 'an0000000001');
    assert.equal(delivered.size, total, 'everyone was sent to');
    assert.ok([...delivered.values()].every((n) => n === 1), 'nobody twice');
    const mb = Math.round(peak / 1_048_576);
    assert.ok(mb < 20, `the drain held ${mb} MB more than before it started while sending (${total} messages of ~25 KB owed)`);
  });
});

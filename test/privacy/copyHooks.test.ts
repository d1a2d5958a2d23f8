import assert from 'node:assert/strict';
import { ANNOUNCEMENTS_INVENTORY } from '../../src/announcements/inventory';
import type { InTheirChat, TableInventory } from '../../src/platform/inventory';
import { PROPOSALS_INVENTORY } from '../../src/proposals/inventory';
import { SWAPS_INVENTORY } from '../../src/swaps/inventory';
import { TEACHMEETS_INVENTORY } from '../../src/teachmeets/inventory';

/**
 * On erasure, what each table does with the copies of cards it remembers (to update them on later
 * changes): one in the erased person's personal chat goes, one in a channel stays. Pure, table-driven;
 * through the bot: copies.test.ts.
 */

const AAD = 'f03f8075-6bc6-4d27-a461-06cb81b62e3a';
const HER_CHAT = 'a:1ann-Chat';
const CHANNEL = '19:staff@thread.tacv2';
const inTheirChat: InTheirChat = (id) => typeof id === 'string' && id.toLowerCase() === HER_CHAT.toLowerCase();
const reference = (conversationId: string) => JSON.stringify({ serviceUrl: 'https://smba.example/uk/', conversation: { id: conversationId }, user: { aadObjectId: AAD } });

const rowCases: { title: string; table: TableInventory; row: Record<string, unknown> & { partitionKey: string; rowKey: string }; expect: 'delete' | 'anonymise' }[] = [
  ...[TEACHMEETS_INVENTORY, PROPOSALS_INVENTORY].flatMap((table) => [
    {
      title: `${table.table}: when a copy of the card is in their personal chat (its id in another letter case), then its row is deleted`,
      table,
      row: { partitionKey: 'x1', rowKey: 'post|m1', conversationId: HER_CHAT.toUpperCase(), activityId: 'm1', reference: reference(HER_CHAT) },
      expect: 'delete' as const,
    },
    {
      title: `${table.table}: when a copy of the card is in a channel, then its row stays (anonymised where it names them)`,
      table,
      row: { partitionKey: 'x1', rowKey: 'post|m2', conversationId: CHANNEL, activityId: 'm2', reference: reference(CHANNEL) },
      expect: 'anonymise' as const,
    },
    {
      title: `${table.table}: when another row names their chat, then it is anonymised, not deleted`,
      table,
      row: { partitionKey: 'x1', rowKey: 'out|1', target: reference(HER_CHAT) },
      expect: 'anonymise' as const,
    },
  ]),
];

describe('erasure: copies of cards each table remembers', function () {
  for (const c of rowCases) {
    it(c.title, function () {
      assert.equal(c.table.erase?.(c.row, AAD, inTheirChat), c.expect);
    });
  }

  it('Swaps: when a proposed swap lists a card sent to their personal chat and one in a school channel, then only the channel card stays listed', function () {
    const waitingCards = JSON.stringify([
      { schoolId: 's1', reference: reference(HER_CHAT), activityId: 'm1' },
      { schoolId: 's1', reference: reference(CHANNEL), activityId: 'm2' },
    ]);
    const row = { partitionKey: 'swaps', rowKey: 'match|sm1', status: 'proposed', waitingCards };
    const after = SWAPS_INVENTORY.withoutCopies!(row, inTheirChat);
    assert.deepEqual(JSON.parse(String(after.waitingCards)).map((c: { activityId: string }) => c.activityId), ['m2']);
    assert.equal(after.status, 'proposed');
  });

  it('Swaps: when no card listed is in their chat, then the row is as it was', function () {
    const row = { partitionKey: 'swaps', rowKey: 'match|sm1', waitingCards: JSON.stringify([{ schoolId: 's1', reference: reference(CHANNEL), activityId: 'm2' }]) };
    assert.deepEqual(SWAPS_INVENTORY.withoutCopies!(row, inTheirChat), row);
  });

  it("Announcements: when the author's report copy is in their personal chat, then it is no longer kept; in a channel, it is", function () {
    const mine = { partitionKey: 'an1', rowKey: 'announcement', title: 'News', copyReference: reference(HER_CHAT), copyActivityId: 'm1' };
    assert.deepEqual(ANNOUNCEMENTS_INVENTORY.withoutCopies!(mine, inTheirChat), { ...mine, copyReference: '', copyActivityId: '' });
    const theirs = { ...mine, copyReference: reference(CHANNEL) };
    assert.deepEqual(ANNOUNCEMENTS_INVENTORY.withoutCopies!(theirs, inTheirChat), theirs);
  });
});

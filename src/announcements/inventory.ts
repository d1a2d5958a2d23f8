import { odata } from '@azure/data-tables';
import { fieldsOf, PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { OUTBOX_FIELDS } from '../platform/outbox/outbox';
import { withoutCopyColumns } from '../platform/conversations/cardPost';
import { encodeKey } from '../platform/storage/tables';
import { conversationKey } from './rules';
import { ANNOUNCEMENTS_TABLE, COUNTED_FIELDS, foldDeliveryCounts, indexTime } from './store';

/** What the Announcements table holds (see platform/inventory.ts). */
export const ANNOUNCEMENTS_INVENTORY: TableInventory = {
  table: ANNOUNCEMENTS_TABLE,
  capability: 'Announcements',
  rows:
    "An announcement's partition (PartitionKey = its id): the announcement row, one row per recipient conversation ('r|…') and one per acknowledgement ('ack|' + Entra object id) and, while it is being sent, each recipient's message in the outbox ('out|…'); an index partition and the partnership's setting",
  personalData:
    "Staff: the author's Entra object id, display name and role; each recipient's display name and school (for the delivery report), and for one reached in a personal chat Together had, that chat's conversation id (in the row's key, encoded, and its target); who pressed Got it (Entra object id, display name, school, when)",
  purpose: 'Composing, scheduling and delivering announcements within Teams\' limits, the delivery and acknowledgement report',
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee: 'The author and coordinators see the report (sent, failed, acknowledged per school; failures as CSV); recipients see the announcement',
  kept: "Each recipient's delivery record: DELIVERY_RETENTION_YEARS academic years (default 1) after the one it was sent in (its counts per school stay with the announcement); the announcement and its acknowledgements: RETENTION_YEARS (default 6); then purged",
  fields: {
    ...OUTBOX_FIELDS,
    ...fieldsOf('the announcement: title, text, link, importance, whether acknowledgement is asked, audience and its target', 'title', 'text', 'link', 'importance', 'askAck', 'audience', 'target'),
    ...fieldsOf("the author: Entra object id, display name, role", 'authorAad', 'authorName', 'authorRole'),
    ...fieldsOf('its life: state, version, when it was created, is due, was sent, completed or cancelled, by whom', 'state', 'version', 'createdAt', 'sendAt', 'completedAt', 'cancelledAt', 'cancelledBy', 'dispatched', 'recipients', 'recipientsWritten'),
    ...fieldsOf("the author's copy of the report card (message id and conversation reference)", 'copyActivityId', 'copyReference'),
    deliveryKept: 'counts per school (sent, pending, failed, not sent) of delivery records purged by retention, so the report stays whole',
    id: 'the announcement id (index rows)',
    ...fieldsOf('a recipient conversation: display name or label, school, delivery status, attempts, last answer from Teams, when sent, message id', 'name', 'label', 'schoolId', 'status', 'attempts', 'lastStatus', 'sentAt', 'doneAt', 'activityId', 'reason', 'via'),
    at: 'when someone pressed Got it (acknowledgement rows)',
    repsMayAnnounce: "the partnership's setting: whether reps may announce to their own school",
    changedBy: 'who last changed that setting (their Entra object id)',
  },
  head: 'announcement',
  // The author's copy of the report card, in the personal chat of an author who is erased, is no longer refreshed.
  withoutCopies: (row, inTheirChat) => withoutCopyColumns(row, { reference: 'copyReference', activityId: 'copyActivityId' }, inTheirChat),
  // A delivery still owed to an erased person is given up: the announcement finishes without them.
  afterErase: (row, now) =>
    String(row.rowKey).startsWith('r|') && row.state === 'pending' ? { ...row, state: 'failed', reason: 'erased', doneAt: now.toISOString() } : row,
  retention: [
    {
      kind: 'delivery',
      what: "each recipient's delivery record, by when it was done (its counts stay on the announcement's row for the report)",
      expired: (cutoff) => odata`RowKey ge 'r|' and RowKey lt 'r}' and doneAt lt ${cutoff} and doneAt ne ''`,
      foldIntoHead: { select: COUNTED_FIELDS, fold: foldDeliveryCounts },
    },
    { kind: 'programme', what: 'an announcement with its acknowledgements, by when it was written', wholePartition: true, expired: (cutoff) => odata`RowKey eq 'announcement' and createdAt lt ${cutoff}` },
    { kind: 'programme', what: "the list's entry for it", expired: (cutoff) => odata`PartitionKey eq 'index' and RowKey gt ${indexTime(new Date(cutoff))}` },
  ],
  about: (aad) => odata`authorAad eq ${aad} or RowKey eq ${`ack|${aad}`} or RowKey eq ${`r|p|${aad}`}`,
  // A delivery to a personal chat Together already had is kept under the chat's conversation id ('r|c|…').
  aboutPersonalChat: (conversationId) => odata`RowKey eq ${conversationKey(conversationId)}`,
  // On erasure that key is re-keyed like an 'r|p|' one: the chat's id gives way to the pseudonym (the row keeps its counts).
  personalChatInKeys: encodeKey,
};

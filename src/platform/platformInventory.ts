import { odata } from '@azure/data-tables';
import { CONVERSATIONS_TABLE } from './conversations/store';
import { DEADLINES_TABLE } from './deadlines/store';
import { DIRECTORY_TABLE } from './directory/store';
import { fieldsOf, PROGRAMME_BASIS, type TableInventory } from './inventory';
import { INBOUND_TABLE } from './inbound';
import { OUTBOX_TABLE } from './outbox/gate';
import { TIMERS_TABLE } from './timers';

/** What the platform's own tables hold (see inventory.ts). */
export const PLATFORM_INVENTORY: readonly TableInventory[] = [
  {
    table: DIRECTORY_TABLE,
    capability: 'Directory',
    rows: 'One partition: a row per school, per person who is a rep, a coordinator or has set their school (RowKey holds their Entra object id), and per channel with a role',
    personalData: "Staff: Entra object id, display name, school, whether rep or coordinator; a rep's or coordinator's Teams user id",
    purpose: 'Who is in which school and who may do what (roles are checked on every action)',
    lawfulBasis: PROGRAMME_BASIS,
    whoCanSee: 'Everyone in the partnership (`directory`): schools, reps, coordinators',
    kept: "A rep's or coordinator's role until removed; a person's row itself until removed (no automatic purge yet)",
    fields: {
      name: "a school's name, or a person's display name",
      schoolId: "a person's school",
      ...fieldsOf("a person's roles", 'rep', 'coordinator'),
      teamsId: "a rep's or coordinator's Teams user id (29:…), from the @mention that gave them the role or their own last message or click, kept while they have a role: shared cards list it so Teams shows them their own view with their buttons",
      ...fieldsOf('a channel with a role: its conversation id and label', 'conversationId', 'label'),
    },
    about: (aad) => odata`RowKey eq ${`person|${aad}`}`,
    erase: (row, aad) => (row.rowKey === `person|${aad}` ? 'delete' : 'anonymise'),
  },
  {
    table: CONVERSATIONS_TABLE,
    capability: 'Platform',
    rows: "Partition 'personal': one row per person who has chatted with Together (RowKey = Entra object id); partition 'chat': one per group chat or channel",
    personalData: "Staff: a personal chat's Teams conversation reference (service URL, conversation id, tenant, the person's Teams id and name)",
    purpose: 'Messaging people and channels proactively (confirmations, nudges, announcements)',
    lawfulBasis: PROGRAMME_BASIS,
    whoCanSee: 'Nobody through Teams: the bot reads it to send messages',
    kept: 'Until Together is uninstalled from that chat, or the team',
    fields: {
      reference: 'the Teams conversation reference (JSON)',
      kind: 'personal, groupChat or channel',
      teamId: "a channel's team",
      label: "the chat's label: the person's display name, 'Group chat', or team and channel",
    },
    about: (aad) => odata`PartitionKey eq 'personal' and RowKey eq ${aad}`,
    erase: (row, aad) => (row.partitionKey === 'personal' && row.rowKey === aad ? 'delete' : 'anonymise'),
  },
  {
    table: DEADLINES_TABLE,
    capability: 'Deadlines and nudges',
    rows: "An item row per deadline ('item|…') and a due row filed by when it is next looked at ('due|<day>')",
    personalData: 'Staff: whom a deadline waits on (a school, or a person\'s Entra object id and name)',
    purpose: 'Reminding reps of what waits on them, telling coordinators of missed deadlines',
    lawfulBasis: PROGRAMME_BASIS,
    whoCanSee: 'Coordinators (`deadlines`); a rep sees what waits on them in their reminders',
    kept: 'Open deadlines until they close; closed ones DELIVERY_RETENTION_YEARS academic years (default 1) after the one they closed in, then purged',
    fields: {
      ...fieldsOf('the deadline: id, capability, what is due, from whom (a school or a person), for which school, when, the buttons to act, whether essential, deadline or reminder, detail and link', 'id', 'capability', 'what', 'who', 'schoolId', 'dueAt', 'actions', 'essential', 'kind', 'detail', 'link'),
      ...fieldsOf('its progress: status, nudges sent, snoozes and stops, revision, when registered, closed or written', 'status', 'progress', 'rev', 'registeredAt', 'closedAt', 'writtenAt'),
      ...fieldsOf('scheduling: when it is next looked at, where its due row is, the item row\'s ETag, a claim', 'nextAt', 'duePk', 'dueRk', 'indexEtag', 'claimedUntil'),
    },
    // Item rows and their due copies: both carry whom the deadline waits on.
    retention: [{ kind: 'delivery', what: 'closed deadlines, by when they closed', expired: (cutoff) => odata`PartitionKey ge 'item|' and PartitionKey lt 'item}' and status ne 'open' and closedAt lt ${cutoff} and closedAt ne ''` }],
    about: () => odata`(PartitionKey ge 'item|' and PartitionKey lt 'item}') or (PartitionKey ge 'due|' and PartitionKey lt 'due}')`,
    // A deadline waiting on an erased person (a reminder to them) has nobody left to remind: it goes, with
    // its due copies. One that waits on a school and only mentions them (a rep who muted it) stays.
    erase: (row, aad) => (String(row.who ?? '').toLowerCase().includes(aad) ? 'delete' : 'anonymise'),
  },
  {
    table: INBOUND_TABLE,
    capability: 'Platform',
    rows: "One row per message Teams delivered (PartitionKey = UTC day; RowKey = a hash of the conversation and activity ids)",
    personalData: "Keys: a one-way hash of the conversation and message ids. The answer given to the first delivery (a card), which can hold people's Teams ids (whose own view of a shared card Teams fetches) and names",
    purpose: 'Acting once on a message or a one-time button Teams delivers twice (it retries after 15 s, maybe to another instance), and giving the repeat the same answer',
    lawfulBasis: PROGRAMME_BASIS,
    whoCanSee: 'Nobody through Teams',
    kept: 'Until the end of the next UTC day, then deleted by the scheduler',
    // Answers kept for repeats can name people: erasure scrubs them (the whole table is at most two days).
    about: () => odata`PartitionKey ne ''`,
    fields: {
      done: 'whether the first delivery has been handled',
      response: 'the answer the first delivery gave, so a repeat gets the same',
    },
  },
  {
    table: TIMERS_TABLE,
    capability: 'Platform',
    rows: 'One row per timer, filed by when it is due (PartitionKey = UTC day)',
    personalData: 'None',
    purpose: 'Looking at something again when it is due (a TeachMeet deadline, offers expiring)',
    lawfulBasis: PROGRAMME_BASIS,
    whoCanSee: 'Nobody through Teams',
    kept: 'Until it has run',
    fields: {
      ...fieldsOf('what to look at (kind and key) and when', 'kind', 'key', 'dueAt'),
      claimedUntil: 'an instance has claimed it until then',
    },
  },
  {
    table: OUTBOX_TABLE,
    capability: 'Platform',
    rows: "One row per instance that is sending to Teams now (PartitionKey = 'senders'; RowKey = a random instance id)",
    personalData: 'None',
    purpose: "Sharing Teams' rate limit between the bot's instances",
    lawfulBasis: PROGRAMME_BASIS,
    whoCanSee: 'Nobody through Teams',
    kept: 'While the instance is sending; deleted when it stops',
    fields: {
      busyUntil: "a sending instance's heartbeat: until when it is busy sending (shares the app's rate)",
      rate: "the requests a second that instance is using now (a newcomer takes only what the others leave)",
    },
  },
];

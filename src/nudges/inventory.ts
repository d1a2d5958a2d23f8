import { odata } from '@azure/data-tables';
import { PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { OUTBOX_FIELDS } from '../platform/outbox/outbox';
import { NUDGES_TABLE } from './store';

/** What the Nudges table holds (see platform/inventory.ts). */
export const NUDGES_INVENTORY: TableInventory = {
  table: NUDGES_TABLE,
  capability: 'Nudges',
  rows: "'settings': the partnership's nudge hours, days before and holidays; 'lease': which instance runs the round; one partition per London day (PartitionKey 'day|YYYY-MM-DD'): a row per person nudged that day (RowKey = their Entra object id), written with the reminder still to be delivered to them (outbox rows 'out|…', deleted once delivered)",
  personalData: "Staff: that a person (Entra object id) was sent a reminder on a day, and which items it carried; until delivered, the reminder itself and where it goes (their Entra object id, Teams id and name)",
  purpose: 'At most one reminder a person a day, in school hours, never on holidays',
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee: 'Nobody through Teams: the bot reads it to decide whom to remind',
  kept: "A person's day rows (and any reminder of that day that could not be delivered): DELIVERY_RETENTION_YEARS academic years (default 1) after the one they fall in, then purged; the settings stay",
  fields: {
    ...OUTBOX_FIELDS,
    policy: "the partnership's nudge hours, days before and holidays (JSON, settings row)",
    until: "the round's lease lasts until then (lease row); outbox: until when an instance delivers the day's reminders (ms since 1970)",
    state: "a day row: 'sent' (that day's reminder is theirs, delivered or on its way); outbox: 'pending' until delivered (then the row is deleted), or 'failed'",
    items: 'a day row: the deadline items that day\'s reminder carried',
  },
  erase: (row, aad) => (row.rowKey === aad ? 'delete' : 'anonymise'),
  retention: [{ kind: 'delivery', what: 'the per-person day rows and the day\'s undelivered reminders, by their day', expired: (cutoff) => odata`PartitionKey ge 'day|' and PartitionKey lt ${`day|${cutoff.slice(0, 10)}`}` }],
  about: (aad) => odata`PartitionKey ge 'day|' and PartitionKey lt 'day}' and RowKey eq ${aad}`,
};

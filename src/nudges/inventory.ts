import { odata } from '@azure/data-tables';
import { PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { NUDGES_TABLE } from './store';

/** What the Nudges table holds (see platform/inventory.ts). */
export const NUDGES_INVENTORY: TableInventory = {
  table: NUDGES_TABLE,
  capability: 'Nudges',
  rows: "'settings': the partnership's nudge hours, days before and holidays; 'lease': which instance runs the round; one row per person per London day they were nudged (PartitionKey 'day|YYYY-MM-DD', RowKey = their Entra object id)",
  personalData: "Staff: that a person (Entra object id) was sent a reminder on a day, and which items it carried",
  purpose: 'At most one reminder a person a day, in school hours, never on holidays',
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee: 'Nobody through Teams: the bot reads it to decide whom to remind',
  kept: "A person's day rows: DELIVERY_RETENTION_YEARS academic years (default 1) after the one they fall in, then purged; the settings stay",
  fields: {
    policy: "the partnership's nudge hours, days before and holidays (JSON, settings row)",
    until: "the round's lease, or a day row's claim, lasts until then",
    state: "a day row: sending or sent",
    items: 'a day row: the deadline items that day\'s reminder carried',
  },
  erase: (row, aad) => (row.rowKey === aad ? 'delete' : 'anonymise'),
  retention: [{ kind: 'delivery', what: 'the per-person day rows, by their day', expired: (cutoff) => odata`PartitionKey ge 'day|' and PartitionKey lt ${`day|${cutoff.slice(0, 10)}`}` }],
  about: (aad) => odata`PartitionKey ge 'day|' and PartitionKey lt 'day}' and RowKey eq ${aad}`,
};

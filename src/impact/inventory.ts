import { odata } from '@azure/data-tables';
import { fieldsOf, PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { IMPACT_TABLE } from './store';

/** What the Impact table holds (see platform/inventory.ts). */
export const IMPACT_INVENTORY: TableInventory = {
  table: IMPACT_TABLE,
  capability: 'Impact',
  rows: "'settings': the school terms coordinators have set; 'outcome': what a lead school recorded after an approved project ended (RowKey = proposal id); 'round': which London days the round asking for outcomes has run",
  personalData: "Staff: who recorded an outcome (Entra object id, display name). Pupils and staff who took part are counts only (including disadvantaged and SEND pupils), never names",
  purpose: "Showing the funder and the partnership what its projects achieved, planned against achieved",
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee: "Coordinators see every school's figures; reps their own school's (`impact`, the report page and its CSVs)",
  kept: 'An outcome record: RETENTION_YEARS academic years (default 6) after the one it was recorded in, then purged; the terms stay; round rows: DELIVERY_RETENTION_YEARS (default 1)',
  fields: {
    terms: 'the partnership\'s term dates, where coordinators changed the usual ones (JSON)',
    ...fieldsOf('what the project achieved: pupils and staff who took part, disadvantaged and SEND pupils (counts), the outcome measured, an evidence link, the legacy', 'pupils', 'staff', 'disadvantaged', 'send', 'measured', 'evidence', 'legacy'),
    ...fieldsOf('who recorded it (Entra object id, display name), when, and its version', 'byAad', 'byName', 'at', 'version'),
  },
  about: (aad) => odata`PartitionKey eq 'outcome' and byAad eq ${aad}`,
  retention: [
    { kind: 'programme', what: 'outcome records, by when they were recorded', expired: (cutoff) => odata`PartitionKey eq 'outcome' and at lt ${cutoff}` },
    { kind: 'delivery', what: 'the days the outcome round ran', expired: (cutoff) => odata`PartitionKey eq 'round' and RowKey lt ${cutoff.slice(0, 10)}` },
  ],
};

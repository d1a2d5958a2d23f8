import { INVENTORY } from '../../src/index';
import { startAzurite, type EmbeddedAzurite } from '../../src/platform/storage/azurite';
import { storedFields } from './storedFields';

/**
 * Mocha root hooks: one Azurite (its table service, in memory, on a free loopback port) for the whole
 * run. Suites keep apart by giving their tables a unique prefix.
 */
let azurite: EmbeddedAzurite | undefined;

export function storageConnectionString(): string {
  if (!azurite) throw new Error('Azurite is not running: the mocha root hook did not start it');
  return azurite.connectionString;
}

/**
 * The data inventory's promise (README, "What Together stores"): after the run, every field any test
 * stored in any table is declared in src/**\/inventory.ts. A new field or table fails the run here,
 * naming it, until it is declared for the DPO.
 */
export async function everyStoredFieldIsDeclared(connectionString: string): Promise<void> {
  const declared = new Map(INVENTORY.map((t) => [t.table, new Set(Object.keys(t.fields))]));
  const undeclared: string[] = [];
  for (const [table, fields] of await storedFields(connectionString)) {
    const known = declared.get(table);
    if (!known) {
      if (fields.size > 0) undeclared.push(`${table} (the whole table)`);
      continue;
    }
    for (const field of fields) if (!known.has(field)) undeclared.push(`${table}.${field}`);
  }
  if (undeclared.length > 0) {
    throw new Error(`data inventory: these were stored but are not declared in src/**/inventory.ts (then run \`npm run inventory\`): ${undeclared.sort().join(', ')}`);
  }
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    azurite = await startAzurite();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    try {
      if (azurite) await everyStoredFieldIsDeclared(azurite.connectionString);
    } finally {
      await azurite?.stop();
    }
  },
};

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { TableClient } from '@azure/data-tables';
import type { TermOverrides } from '../../src/impact/model';
import { setTerm } from '../../src/impact/rules';
import { IMPACT_TABLE, ImpactStore } from '../../src/impact/store';
import { createLogger } from '../../src/platform/logging';
import { Tables } from '../../src/platform/storage/tables';
import { uniquePrefix } from '../support/bot';
import { storageConnectionString } from '../support/hooks';

/**
 * The terms row on Azurite: a change is written under the ETag it was read with, so two coordinators
 * setting different terms at once both land. The race is forced (the second writes between the first's
 * read and its write), not left to timing.
 */

describe('impact store: terms on Azurite', function () {
  let tables: Tables;
  const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure([IMPACT_TABLE]);
  });

  afterEach(async function () {
    await tables.dropAll([IMPACT_TABLE]);
  });

  /** Makes the store's first write wait until `before` has run (another instance writing first). */
  function writeAfter(store: ImpactStore, before: () => Promise<unknown>): void {
    const table = (store as unknown as { table: TableClient }).table;
    let first = true;
    for (const method of ['createEntity', 'updateEntity', 'upsertEntity'] as const) {
      const original = table[method].bind(table) as (...args: unknown[]) => Promise<unknown>;
      (table as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        if (first) {
          first = false;
          await before();
        }
        return original(...args);
      };
    }
  }

  const set = (text: string) => (current: TermOverrides) => setTerm(text, current);

  for (const [what, seed] of [
    ['no terms are set yet (both create the row)', undefined],
    ['a term is already set (both replace the row)', 'summer 2027 12 Apr 2027 - 21 Jul 2027'],
  ] as const) {
    it(`when ${what} and two coordinators set different terms at the same moment, then both are kept`, async function () {
      const a = new ImpactStore(tables, logger);
      const b = new ImpactStore(tables, logger);
      if (seed) assert.ok((await a.changeTerms(set(seed))).ok);
      writeAfter(a, () => b.changeTerms(set('spring 2027 4 Jan 2027 - 26 Mar 2027')));
      const result = await a.changeTerms(set('autumn 2026 2 Sep 2026 - 18 Dec 2026'));
      assert.ok(result.ok);
      const stored = await new ImpactStore(tables, logger).terms();
      assert.deepEqual(stored['autumn 2026'], { from: '2026-09-02', to: '2026-12-18' });
      assert.deepEqual(stored['spring 2027'], { from: '2027-01-04', to: '2027-03-26' });
      if (seed) assert.deepEqual(stored['summer 2027'], { from: '2027-04-12', to: '2027-07-21' });
    });
  }

  it('when a change is refused, then nothing is written', async function () {
    const store = new ImpactStore(tables, logger);
    const refused = await store.changeTerms(set('spring 2027 26 Mar 2027 - 4 Jan 2027'));
    assert.equal(refused.ok, false);
    assert.deepEqual(await store.terms(), {});
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { INVENTORY, TABLES } from '../src/index';
import { INVENTORY_END, INVENTORY_START, inventoryMarkdown, withInventory } from '../src/platform/inventory';

/**
 * The data inventory a DPO reads (README's "What Together stores") is the code's own declaration.
 * Its other end, that every field stored is declared, is checked after the whole run on everything the
 * suite stored (test/support/hooks.ts), since only the whole run writes every kind of row.
 */

describe('data inventory: what Together stores, for a school\'s DPO', function () {
  it('when the README is read, then its inventory is exactly what the code declares (`npm run inventory` writes it)', function () {
    const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    assert.ok(readme.includes(INVENTORY_START) && readme.includes(INVENTORY_END), 'README.md has the inventory markers');
    assert.equal(withInventory(readme, inventoryMarkdown(INVENTORY)), readme, 'README.md is out of date: run `npm run inventory`');
  });

  it('when Together starts, then every table it creates is in the inventory, and the inventory names no other', function () {
    assert.deepEqual(INVENTORY.map((t) => t.table).sort(), [...TABLES].sort());
  });

  it('when a table is declared, then every column a DPO reads is filled in and every field says what it holds', function () {
    for (const t of INVENTORY) {
      for (const [column, value] of Object.entries({ capability: t.capability, rows: t.rows, personalData: t.personalData, purpose: t.purpose, lawfulBasis: t.lawfulBasis, whoCanSee: t.whoCanSee, kept: t.kept })) {
        assert.ok(value.trim().length > 3, `${t.table}: ${column} is empty`);
      }
      assert.ok(Object.keys(t.fields).length > 0, `${t.table} lists no fields`);
      for (const [field, what] of Object.entries(t.fields)) assert.ok(what.trim().length > 3, `${t.table}.${field} says nothing`);
    }
  });

  it('when the inventory is rendered, then a | in a description cannot break the table', function () {
    const md = inventoryMarkdown([{ ...INVENTORY[0]!, purpose: 'a | b', fields: { x: 'c | d' } }]);
    assert.match(md, /a \\\| b/);
    assert.match(md, /\| `x` \| c \\\| d \|/);
  });
});

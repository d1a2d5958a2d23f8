import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { INVENTORY } from '../src/index';
import { inventoryMarkdown, withInventory } from '../src/platform/inventory';

/** `npm run inventory`: writes README.md's data inventory from the capabilities' declarations. */
const readme = path.resolve(__dirname, '..', '..', 'README.md');
const before = readFileSync(readme, 'utf8');
const after = withInventory(before, inventoryMarkdown(INVENTORY));
if (after === before) console.log('README.md: the data inventory is up to date.');
else {
  writeFileSync(readme, after);
  console.log('README.md: the data inventory was rewritten.');
}

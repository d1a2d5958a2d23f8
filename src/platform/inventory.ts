/**
 * The data inventory: what Together stores, table by table, in the words a school's data protection
 * officer pastes into their record of processing (UK GDPR Art. 30).
 *
 * Why it lives in code: a README table written by hand drifts from what the stores write. Here:
 * 1. each capability declares its own tables next to its store (`<capability>/inventory.ts`): what a
 *    row is, the personal data in it, purpose, lawful basis, who can see it, how long it is kept, and
 *    every field it stores;
 * 2. `src/index.ts` lists them all (INVENTORY), and `npm run inventory` writes README.md's
 *    "What Together stores" section from them;
 * 3. the test suite holds both ends: the README section must be what this renders, and after the whole
 *    run every field any test stored in any table must be declared here (test/support/hooks.ts).
 */

import type { RetentionRule } from './retention';

/** On erasure: whether a conversation id is one of the erased person's personal chats with Together (in any letter case). */
export type InTheirChat = (conversationId: unknown) => boolean;

export interface TableInventory {
  /** The table's name (without any prefix). */
  readonly table: string;
  readonly capability: string;
  /** What one row is, and what its keys hold (keys can hold personal data too, e.g. an Entra id). */
  readonly rows: string;
  /** The personal data in the table, in words ("none" when there is none). */
  readonly personalData: string;
  readonly purpose: string;
  readonly lawfulBasis: string;
  readonly whoCanSee: string;
  readonly kept: string;
  /** Every field a row may store (besides PartitionKey, RowKey and the service's Timestamp), with what it holds. */
  readonly fields: Readonly<Record<string, string>>;
  /**
   * Where rows about a person can be (an OData filter, escaped with the `odata` tag), for `my data`;
   * absent when the table holds no personal data. It may be wider than needed: only rows whose keys or
   * values mention the person's Entra object id are kept (some ids sit inside JSON columns).
   */
  readonly about?: (aadObjectId: string) => string;
  /**
   * Where rows about a person's personal chat can be, when a row names the chat (by its conversation
   * id) rather than the person (an announcement delivered there): an OData filter, for `my data`. Of
   * the rows it finds, only those whose values mention that conversation id are kept.
   */
  readonly aboutPersonalChat?: (conversationId: string) => string;
  /**
   * How this table writes a conversation id into its keys, when not as is (announcements: base64url,
   * as a key may not hold '/' or '#'). Erasure replaces a person's personal chat there too, so no key
   * still names the chat (see privacy/erasure.ts).
   */
  readonly personalChatInKeys?: (conversationId: string) => string;
  /**
   * On erasure (`forget`), whether a row about the person is deleted (it exists only because of
   * them, e.g. a copy of a card posted in their personal chat: see `inTheirChat`) or anonymised (it
   * keeps the partnership's counts); anonymised when absent. See privacy/erasure.ts.
   */
  readonly erase?: (row: Readonly<Record<string, unknown>> & { partitionKey: string; rowKey: string }, aadObjectId: string, inTheirChat: InTheirChat) => 'delete' | 'anonymise';
  /**
   * On erasure, the row without the copies of cards it remembers (to update them on later changes)
   * that were posted in the erased person's personal chat: a column or a list of copies. Nobody else
   * reads that chat, and once its id is replaced by the erasure's pseudonym every update to such a copy
   * would fail. A copy kept as a row of its own goes through `erase` instead.
   */
  readonly withoutCopies?: (row: Readonly<Record<string, unknown>>, inTheirChat: InTheirChat) => Record<string, unknown>;
  /**
   * For a table of aggregates: the RowKey of the row every change to a partition replaces under its
   * ETag (a TeachMeet's event row). An erasure that re-keys a row there rewrites this row under its
   * ETag in the same transaction, so a writer holding an older state fails and reads again.
   */
  readonly head?: string;
  /**
   * After a row about an erased person is anonymised, what else changes in it (e.g. a message still
   * owed to them is given up, so a send that would now reach nobody does not wait for ever).
   */
  readonly afterErase?: (row: Record<string, unknown>, now: Date) => Record<string, unknown>;
  /** When its rows are purged (platform/retention.ts); absent for tables whose rows go when their purpose does. */
  readonly retention?: readonly RetentionRule[];
}

/** The basis a partnership of schools would normally rely on for its programme's records; its DPO decides. */
export const PROGRAMME_BASIS =
  'Public task, Art. 6(1)(e) (state schools and trusts) or legitimate interests, Art. 6(1)(f) (independent schools): running the partnership\'s programme';

/** Several fields that share one description. */
export function fieldsOf(description: string, ...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, description]));
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The README section: one summary row per table, then every table's fields. */
export function inventoryMarkdown(tables: readonly TableInventory[]): string {
  const lines = [
    '| Table | Capability | One row is | Personal data | Purpose | Lawful basis (usual) | Who can see it | Kept |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...tables.map((t) => `| ${[t.table, t.capability, t.rows, t.personalData, t.purpose, t.lawfulBasis, t.whoCanSee, t.kept].map(cell).join(' | ')} |`),
    '',
  ];
  for (const t of tables) {
    lines.push(`<details><summary>${t.table}: every field</summary>`, '', '| Field | Holds |', '| --- | --- |');
    for (const [name, what] of Object.entries(t.fields).sort(([a], [b]) => a.localeCompare(b))) lines.push(`| \`${name}\` | ${cell(what)} |`);
    lines.push('', '</details>', '');
  }
  return lines.join('\n').trimEnd();
}

export const INVENTORY_START = '<!-- inventory:start (generated by `npm run inventory` from src/**/inventory.ts; do not edit by hand) -->';
export const INVENTORY_END = '<!-- inventory:end -->';

/** README.md with its inventory section replaced by `section`; throws if the markers are missing. */
export function withInventory(readme: string, section: string): string {
  const start = readme.indexOf(INVENTORY_START);
  const end = readme.indexOf(INVENTORY_END);
  if (start < 0 || end < start) throw new Error('README.md has no inventory markers');
  return `${readme.slice(0, start + INVENTORY_START.length)}\n\n${section}\n\n${readme.slice(end)}`;
}

/**
 * Erasure of one person (UK GDPR Art. 17), row by row, as a pure decision.
 *
 * Why anonymise rather than delete most rows: the partnership's records must still add up (a
 * TeachMeet had 30 attendees, a school acknowledged an announcement, a proposal was approved), but
 * no longer say who. So:
 * 1. rows that exist only because of the person (their directory entry, their personal chat, their
 *    daily nudge rows, a copy of a card posted in their personal chat) are deleted, and a copy of a
 *    card in their personal chat that a row lists is taken out of it (see forget.ts);
 * 2. every other row about them keeps its counts and states, with their Entra object id replaced by a
 *    pseudonym (a random id made for this erasure, so the audit trail still tells one person's acts
 *    apart from another's but links to nobody; marked as erased, `erased-…`, unlike any Entra object
 *    id, so a message a later change addresses to it is dropped rather than tried: platform/identity.ts
 *    `isErased`), their names by "Former member" and their Teams ids
 *    removed, in keys as in values (some ids sit inside JSON columns); their personal chat's
 *    conversation id (a row can name the chat rather than them: an announcement delivered there) is
 *    replaced by the pseudonym too, as is and in the form the table writes it into keys;
 * 3. a row whose key changes is deleted and created again under the new key (the caller does that
 *    in one transaction with the rest of the partition).
 * A name shorter than three letters is looked for only in rows whose keys name the person or their
 * chat (such a row is theirs, e.g. an announcement's delivery row labelled "Jo (rep)"); elsewhere it
 * would find ordinary words in what others wrote.
 */

export interface Subject {
  readonly aadObjectId: string;
  /** Names they were known by (display names), to be removed wherever they appear in their rows. */
  readonly names: readonly string[];
  /** Their Teams ids (29:…), to be removed. */
  readonly teamsIds: readonly string[];
  /** The conversation ids of their personal chats with Together, read before the erasure deletes the stored chat. */
  readonly personalChats: readonly string[];
}

export type Erasure = 'delete' | 'anonymise';

export type RowChange =
  | { readonly kind: 'keep' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'replace'; readonly row: Record<string, unknown>; readonly rekeyed: boolean };

export const FORMER_MEMBER = 'Former member';

/** Names shorter than this are searched for only in the person's own rows (elsewhere they would match ordinary words). */
const SHORTEST_NAME = 3;

/**
 * A row is about the person when scrubbing it changes something; only then is it deleted or anonymised.
 * `chatInKeys`: how the row's table writes a conversation id into its keys, when not as is (see
 * platform/inventory.ts `personalChatInKeys`).
 */
export function eraseRow(row: Readonly<Record<string, unknown>>, subject: Subject, pseudonym: string, erasure: Erasure, chatInKeys?: (conversationId: string) => string): RowChange {
  // Each of their chats as is (an id from Teams, in any letter case) and as written into keys (encoded: letter case counts).
  const chats: ChatForm[] = subject.personalChats
    .filter((id) => id.length > 0)
    .flatMap((id) => [{ text: id, anyCase: true, by: pseudonym }, ...(chatInKeys ? [{ text: chatInKeys(id), anyCase: false, by: chatInKeys(pseudonym) }] : [])]);
  const keys = `${String(row.partitionKey ?? '')}\n${String(row.rowKey ?? '')}`;
  const holds = (text: string, anyCase: boolean) => (anyCase ? keys.toLowerCase().includes(text.toLowerCase()) : keys.includes(text));
  const theirs = holds(subject.aadObjectId, true) || chats.some((c) => holds(c.text, c.anyCase));
  const scrub = scrubber(subject, pseudonym, chats, theirs);
  let changed = false;
  const next: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value !== 'string') {
      next[key] = value;
      continue;
    }
    const cleaned = scrub(value);
    if (cleaned !== value) changed = true;
    next[key] = cleaned;
  }
  if (!changed) return { kind: 'keep' };
  if (erasure === 'delete') return { kind: 'delete' };
  return { kind: 'replace', row: next, rekeyed: next.partitionKey !== row.partitionKey || next.rowKey !== row.rowKey };
}

/** One form of a personal chat's conversation id, and what replaces it. */
interface ChatForm {
  readonly text: string;
  readonly anyCase: boolean;
  readonly by: string;
}

/** `chats`: each form of their personal chats' ids with what replaces it; `theirs`: the row's keys name them or their chat. */
function scrubber(subject: Subject, pseudonym: string, chats: readonly ChatForm[], theirs: boolean): (text: string) => string {
  const names = [...new Set(subject.names.map((n) => n.trim()).filter((n) => n.length > 0))].sort((a, b) => b.length - a.length);
  const replacements: [RegExp, string][] = [
    // Their chats first: a conversation id could hold one of the ids below, and would then no longer be found whole.
    ...chats.map((c): [RegExp, string] => [new RegExp(escape(c.text), c.anyCase ? 'gi' : 'g'), c.by]),
    ...subject.teamsIds.filter((id) => id.length > 0).map((id): [RegExp, string] => [new RegExp(escape(id), 'gi'), '']),
    [new RegExp(escape(subject.aadObjectId), 'gi'), pseudonym],
    // Whole words only: "Ann" is not erased from "Annual". A short name only in their own rows, and as written ("Jo", not "jo").
    ...names
      .filter((name) => name.length >= SHORTEST_NAME || theirs)
      .map((name): [RegExp, string] => [new RegExp(`(?<![\\p{L}\\p{N}])${escape(name)}(?![\\p{L}\\p{N}])`, name.length >= SHORTEST_NAME ? 'giu' : 'gu'), FORMER_MEMBER]),
  ];
  return (text) => replacements.reduce((out, [pattern, by]) => out.replace(pattern, by), text);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The names and Teams ids a person is recorded under, read from the rows that carry their Entra id:
 * a row keyed by them (their sign-up, directory entry, personal chat) names them in `name`, `teamsId`
 * and `label`; a pair of columns such as `organiserAad` / `organiserName` / `organiserTeamsId` does
 * when its id is theirs; so do JSON objects whose `aadObjectId` is theirs (`name`, `by`, `teamsId`),
 * and a personal chat's conversation reference (`user`). Only these, never text someone else wrote.
 */
export function identityOf(rows: readonly Readonly<Record<string, unknown>>[], aadObjectId: string): { names: string[]; teamsIds: string[] } {
  const aad = aadObjectId.toLowerCase();
  const names = new Set<string>();
  const teamsIds = new Set<string>();
  const add = (set: Set<string>, value: unknown) => {
    if (typeof value === 'string' && value.trim()) set.add(value.trim());
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!value || typeof value !== 'object') return;
    const o = value as Record<string, unknown>;
    if (typeof o.aadObjectId === 'string' && o.aadObjectId.toLowerCase() === aad) {
      add(names, o.name);
      add(names, o.by);
      add(teamsIds, o.teamsId);
      add(teamsIds, o.id);
    }
    Object.values(o).forEach(walk);
  };
  for (const row of rows) {
    if (String(row.rowKey ?? '').toLowerCase().endsWith(aad)) {
      add(names, row.name);
      add(names, row.label);
      add(teamsIds, row.teamsId);
    }
    for (const [key, value] of Object.entries(row)) {
      if (key.endsWith('Aad') && typeof value === 'string' && value.toLowerCase() === aad) {
        const prefix = key.slice(0, -3);
        add(names, row[`${prefix}Name`]);
        add(teamsIds, row[`${prefix}TeamsId`]);
      }
      if (typeof value === 'string' && /^[[{]/.test(value)) {
        try {
          walk(JSON.parse(value));
        } catch {
          // not JSON
        }
      }
    }
  }
  return { names: [...names], teamsIds: [...teamsIds].filter((id) => id.length >= 8) };
}

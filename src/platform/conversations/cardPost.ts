import type { InTheirChat } from '../inventory';
import { parseReference } from './reference';

/** A copy of a shared card posted in a conversation, kept so it can be updated in place. */
export interface CardPost {
  readonly conversationId: string;
  readonly activityId: string;
  /** The conversation reference (JSON) to update it through. */
  readonly reference: string;
}

/** On erasure: whether a stored conversation reference (JSON) is one of the erased person's personal chats. */
export function referenceInTheirChat(reference: unknown, inTheirChat: InTheirChat): boolean {
  return typeof reference === 'string' && inTheirChat(parseReference(reference)?.conversation?.id);
}

/**
 * On erasure (a table's `erase`, platform/inventory.ts): a row that is a copy of a card (RowKey
 * `prefix…`, stored as a CardPost) posted in the erased person's personal chat is deleted; other rows
 * about them are anonymised.
 */
export function eraseCopiesInTheirChat(prefix: string): (row: Readonly<Record<string, unknown>> & { rowKey: string }, aadObjectId: string, inTheirChat: InTheirChat) => 'delete' | 'anonymise' {
  return (row, _aad, inTheirChat) => (row.rowKey.startsWith(prefix) && (inTheirChat(row.conversationId) || referenceInTheirChat(row.reference, inTheirChat)) ? 'delete' : 'anonymise');
}

/**
 * On erasure (a table's `withoutCopies`): `row` without the copies listed in its JSON `column` (each
 * with a conversation `reference`) that were posted in the erased person's personal chat; the row
 * itself when there are none.
 */
export function withoutListedCopies(row: Readonly<Record<string, unknown>>, column: string, inTheirChat: InTheirChat): Record<string, unknown> {
  let listed: unknown;
  try {
    listed = JSON.parse(String(row[column] ?? '[]'));
  } catch {
    return { ...row };
  }
  if (!Array.isArray(listed)) return { ...row };
  const kept = listed.filter((c: unknown) => !(c && typeof c === 'object' && referenceInTheirChat((c as { reference?: unknown }).reference, inTheirChat)));
  return kept.length === listed.length ? { ...row } : { ...row, [column]: JSON.stringify(kept) };
}

/** On erasure: `row` without the one copy its columns hold (`reference`, `activityId`) when it was posted in the erased person's personal chat. */
export function withoutCopyColumns(row: Readonly<Record<string, unknown>>, columns: { readonly reference: string; readonly activityId: string }, inTheirChat: InTheirChat): Record<string, unknown> {
  return referenceInTheirChat(row[columns.reference], inTheirChat) ? { ...row, [columns.reference]: '', [columns.activityId]: '' } : { ...row };
}

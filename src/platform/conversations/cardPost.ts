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

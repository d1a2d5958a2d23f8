import type { ConversationReference } from 'botbuilder';

/** A stored conversation reference (JSON) read back; undefined unless it names a service URL and a conversation. */
export function parseReference(json: string): Partial<ConversationReference> | undefined {
  try {
    const parsed = JSON.parse(json) as Partial<ConversationReference>;
    return parsed && typeof parsed.serviceUrl === 'string' && parsed.conversation?.id ? parsed : undefined;
  } catch {
    return undefined;
  }
}

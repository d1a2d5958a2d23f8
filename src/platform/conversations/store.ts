import { channelLabelOf } from '../channelNames';
import { systemClock, type Clock } from '../clock';
import { odata, type TableClient } from '@azure/data-tables';
import { TurnContext, type ConversationReference } from 'botbuilder';
import { z } from 'zod';
import type { Logger } from '../logging';
import { encodeKey, parseRow, statusOf, type Tables } from '../storage/tables';
import { conversationInfo, type ConversationInfo } from '../turn';

/**
 * Conversation references, so later capabilities can message people and channels proactively.
 * Personal chats are keyed by the person's Entra id; group chats and channels by conversation id.
 * The serviceUrl is refreshed on every inbound activity (a write only when it changed, as far as this
 * instance knows).
 */

export const CONVERSATIONS_TABLE = 'Conversations';
/** How long an instance trusts that a reference it wrote is still stored. */
const KNOWN_MS = 10 * 60_000;

const ReferenceSchema = z.object({
  channelId: z.string(),
  serviceUrl: z.string().url(),
  conversation: z.object({ id: z.string(), conversationType: z.string().optional(), tenantId: z.string().optional(), isGroup: z.boolean().optional() }).passthrough(),
  bot: z.object({ id: z.string(), name: z.string().optional() }).passthrough(),
  user: z.object({ id: z.string(), name: z.string().optional(), aadObjectId: z.string().optional() }).passthrough().optional(),
  locale: z.string().optional(),
});

const Row = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  reference: z.string(),
  kind: z.enum(['personal', 'groupChat', 'channel']),
  teamId: z.string().default(''),
  label: z.string().default(''),
});

export interface StoredConversation {
  readonly kind: 'personal' | 'groupChat' | 'channel';
  readonly reference: Partial<ConversationReference>;
  readonly teamId?: string;
  readonly label: string;
}

export class ConversationStore {
  private readonly table: TableClient;
  /**
   * References this instance stored or saw stored, and when: it writes again only after KNOWN_MS, so a row
   * another instance removed (an erasure, an uninstall it never saw) comes back within minutes.
   */
  private readonly known = new Map<string, number>();
  /** Writes in flight, so a burst of turns from one conversation writes its reference once. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    tables: Tables,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.table = tables.client(CONVERSATIONS_TABLE);
  }

  /** Stores or refreshes the reference for the conversation this activity came from. */
  async remember(context: TurnContext): Promise<void> {
    const info = conversationInfo(context);
    const key = keyOf(info, context.activity.from?.aadObjectId);
    if (!key) return;
    const reference = TurnContext.getConversationReference(context.activity);
    delete reference.activityId;
    if (reference.conversation) reference.conversation = { ...reference.conversation, id: info.id };
    if (info.kind !== 'personal') delete reference.user;
    const marker = `${key.partitionKey}/${key.rowKey}/${reference.serviceUrl}`;
    // An install always writes: another instance may have deleted the row on an uninstall this one never saw.
    const install = isInstall(context.activity);
    const at = this.known.get(marker);
    if (at !== undefined && this.clock.now().getTime() - at < KNOWN_MS && !install) return;
    const inFlight = this.writing.get(marker);
    if (inFlight && !install) return inFlight;
    // Teams names a channel and its team on installs, not on messages: then Teams is asked (only when the
    // reference is written, so not on every turn); if it cannot say, the label stored is kept. The write is
    // in flight (for a rush of turns in one channel to share) from before Teams is asked.
    const write = (async () => {
      const label = info.kind === 'channel' ? await channelLabelOf(context, info, this.logger) : info.kind === 'groupChat' ? 'Group chat' : (context.activity.from?.name ?? '');
      const entity = { ...key, reference: JSON.stringify(reference), kind: info.kind, teamId: info.teamId ?? '', ...(label === undefined ? {} : { label }) };
      await this.table.upsertEntity(entity, label === undefined ? 'Merge' : 'Replace');
      this.known.set(marker, this.clock.now().getTime());
    })();
    this.writing.set(marker, write);
    try {
      await write;
    } finally {
      if (this.writing.get(marker) === write) this.writing.delete(marker);
    }
  }

  /** Stores the personal chat the bot opened with someone (a proactive 1:1). */
  async rememberPersonal(aadObjectId: string, reference: Partial<ConversationReference>, label: string): Promise<void> {
    const aad = aadObjectId.toLowerCase();
    await this.table.upsertEntity({ partitionKey: 'personal', rowKey: aad, reference: JSON.stringify(reference), kind: 'personal', teamId: '', label }, 'Replace');
    this.known.set(`personal/${aad}/${reference.serviceUrl}`, this.clock.now().getTime());
  }

  /** After a person is erased elsewhere: this instance no longer assumes their personal chat is stored (their next message stores it again). */
  forgetKnownPerson(aadObjectId: string): void {
    const prefix = `personal/${aadObjectId.toLowerCase()}/`;
    for (const marker of [...this.known.keys()]) if (marker.startsWith(prefix)) this.known.delete(marker);
  }

  /** Removes what an uninstall takes away: a personal chat, a group chat, or every channel of a team. */
  async forget(context: TurnContext): Promise<number> {
    const info = conversationInfo(context);
    this.known.clear();
    if (info.kind === 'channel' && info.teamId) {
      const rows = await this.list(odata`PartitionKey eq 'chat' and teamId eq ${info.teamId}`);
      await Promise.all(rows.map((row) => this.delete(row.partitionKey, row.rowKey)));
      return rows.length;
    }
    const key = keyOf(info, context.activity.from?.aadObjectId);
    if (!key) return 0;
    return (await this.delete(key.partitionKey, key.rowKey)) ? 1 : 0;
  }

  async personal(aadObjectId: string): Promise<StoredConversation | undefined> {
    return this.read('personal', aadObjectId.toLowerCase());
  }

  async conversation(conversationId: string): Promise<StoredConversation | undefined> {
    return this.read('chat', encodeKey(conversationId));
  }

  /**
   * Every stored conversation (for an announcement to everyone who has installed Together): personal
   * chats with the person's Entra object id, group chats and channels. Rows that do not parse are skipped.
   */
  async all(): Promise<{ aadObjectId?: string; conversation: StoredConversation }[]> {
    const out: { aadObjectId?: string; conversation: StoredConversation }[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>()) {
      const conversation = this.toStored(entity);
      if (conversation) out.push({ aadObjectId: entity.partitionKey === 'personal' ? entity.rowKey : undefined, conversation });
    }
    return out;
  }

  private async read(partitionKey: string, rowKey: string): Promise<StoredConversation | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
      return this.toStored(entity);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private toStored(entity: Record<string, unknown>): StoredConversation | undefined {
    const row = parseRow(Row, entity as never, this.logger, CONVERSATIONS_TABLE);
    if (!row) return undefined;
    const reference = ReferenceSchema.safeParse(safeJson(row.reference));
    if (!reference.success) {
      this.logger.warn({ table: CONVERSATIONS_TABLE, rowKey: row.rowKey }, 'skipped a stored conversation reference that does not parse');
      return undefined;
    }
    return { kind: row.kind, reference: reference.data as unknown as Partial<ConversationReference>, teamId: row.teamId || undefined, label: row.label };
  }

  private async list(filter: string) {
    const rows: { partitionKey: string; rowKey: string }[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
      rows.push({ partitionKey: row.partitionKey!, rowKey: row.rowKey! });
    }
    return rows;
  }

  private async delete(partitionKey: string, rowKey: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }
}

function keyOf(info: ConversationInfo, aadObjectId: string | undefined): { partitionKey: string; rowKey: string } | undefined {
  if (!info.id) return undefined;
  if (info.kind === 'personal') return aadObjectId ? { partitionKey: 'personal', rowKey: aadObjectId.toLowerCase() } : undefined;
  return { partitionKey: 'chat', rowKey: encodeKey(info.id) };
}

/** The bot was just added: installationUpdate 'add', or a conversationUpdate with the bot among membersAdded. */
function isInstall(activity: TurnContext['activity']): boolean {
  if (activity.type === 'installationUpdate') return String(activity.action ?? '').startsWith('add');
  if (activity.type === 'conversationUpdate') return !!activity.membersAdded?.some((m) => m.id === activity.recipient?.id);
  return false;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

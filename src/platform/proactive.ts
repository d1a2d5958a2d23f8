import { setTimeout as sleep } from 'node:timers/promises';
import { TeamsInfo, TurnContext, type Activity, type CloudAdapter, type ConversationReference } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import { connectorRequest, type ConnectorResult, type ServiceClientCredentials } from './connectorRequest';
import type { ConversationStore } from './conversations/store';
import type { Logger } from './logging';
import { afterAttempt, DEFAULT_RETRY, parseRetryAfter } from './outbox/delivery';
import { SendGate, type Lane } from './outbox/gate';

/**
 * Proactive messages through one place: to a stored conversation, to a person (their personal chat,
 * opened or found through Teams), and updates of cards sent earlier. Each is one request to the Bot
 * Connector, made directly (connectorRequest.ts) rather than through a botbuilder turn per message,
 * and retried here when Teams throttles (429, after Retry-After) or fails for a moment (5xx, no
 * answer) by the one retry policy (outbox/delivery.ts), waiting in memory up to HOLD_MAX_MS; a longer
 * wait is the caller's to keep (the error says the failure was transient). Every request takes its
 * turn at the one send gate (outbox/gate.ts): the app's rate shared with every instance and the
 * announcement fan-out, 7 a second per conversation, shared-card updates before personal messages.
 */

export type { ServiceClientCredentials };

export interface PersonAddress {
  readonly aadObjectId: string;
  /** The person's Teams id ('29:...'), needed to open a 1:1 the first time. */
  readonly teamsId: string;
  readonly name?: string;
}

/** A message delivered: the conversation it went to, its activity id ('' if Teams gave none), and the requests it took. */
export interface SentMessage {
  readonly reference: Partial<ConversationReference>;
  readonly activityId: string;
  readonly attempts?: number;
}

/** A connector call that failed for good; `statusCode` as botbuilder's errors have it. */
export class ConnectorError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string | undefined,
    what: string,
    /** Requests made for it so far (the retry policy counts them all, in memory and from the outbox). */
    readonly attempts = 1,
    /** Teams' Retry-After, when it gave one (ms): whoever tries again later waits at least that long. */
    readonly retryAfterMs?: number,
  ) {
    super(`${what}: Teams answered ${statusCode || 'nothing'}${code ? ` (${code})` : ''}`);
  }
}

/**
 * Thrown when a message's `still` (asked again right before it leaves, once its turn at the gate has
 * come) says it no longer holds: nothing was sent.
 */
export class NoLongerHolds extends Error {
  constructor() {
    super('the message no longer holds');
  }
}

/** Asked right before a message leaves: whether it should still go. */
export type Still = () => Promise<boolean>;

/** Backoffs (and Retry-After) up to this long are waited out here; longer ones are kept durably by the caller (the outbox's row). */
const HOLD_MAX_MS = 2_000;
const TIMEOUT_MS = 30_000;
/** Personal chats found or opened, per instance (Teams gives the same chat every time; this saves asking again). */
const KNOWN_CHATS = 5_000;

interface PersonalChat {
  readonly reference: Partial<ConversationReference>;
}

export class Proactive {
  private readonly credentialsByUrl = new Map<string, Promise<ServiceClientCredentials>>();
  private readonly chats = new Map<string, PersonalChat>();
  /** Chats being opened now, per person, so two messages at once open one. */
  private readonly opening = new Map<string, Promise<PersonalChat | undefined>>();

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly botAppId: string,
    private readonly conversations: ConversationStore,
    private readonly logger: Logger,
    /** The one gate every request to Teams passes (TEAMS_SEND_RATE, shared by every instance and sender); without one, this instance alone at Teams' rate. */
    private readonly gate: SendGate = new SendGate({ ratePerSecond: 50 }),
  ) {}

  /** Sends to a conversation (into the thread of the reference's activity, if it names one); returns the new activity's id. */
  async send(reference: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string | undefined> {
    return (await this.post(reference, activity)).activityId;
  }

  /**
   * As send, saying where it went and how many requests it took. `still`, if given, is asked once the
   * message's turn at the gate has come (right before it leaves); if it says no, nothing is sent and
   * NoLongerHolds is thrown.
   */
  async post(reference: Partial<ConversationReference>, activity: Partial<Activity>, still?: Still): Promise<SentMessage> {
    const outgoing = TurnContext.applyConversationReference({ type: 'message', ...activity }, reference);
    const conversationId = conversationIdOf(reference);
    const path = outgoing.replyToId
      ? `v3/conversations/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(outgoing.replyToId)}`
      : `v3/conversations/${encodeURIComponent(conversationId)}/activities`;
    const result = await this.call('POST', serviceUrlOf(reference), path, outgoing, 'send', conversationId, 'message', still);
    return { reference, activityId: result.activityId ?? '', attempts: result.attempts };
  }

  /**
   * The credentials the adapter signs its outbound calls to `serviceUrl` with (a bearer token from the
   * bot's app registration when BOT_ID is set; nothing in local mode), for a sender that makes its own
   * HTTP calls (the announcements fan-out, which must see every 429 itself rather than have the
   * connector client retry it). Kept per service URL: the credentials cache and refresh their token.
   */
  async credentials(serviceUrl: string): Promise<ServiceClientCredentials> {
    let cached = this.credentialsByUrl.get(serviceUrl);
    if (!cached) {
      cached = (async () => {
        let found: ServiceClientCredentials | undefined;
        await this.adapter.continueConversationAsync(this.botAppId, { serviceUrl, channelId: 'msteams', conversation: { id: 'credentials', isGroup: false, conversationType: 'personal', name: '' } }, async (context: TurnContext) => {
          found = context.turnState.get<ConnectorClient>(context.adapter.ConnectorClientKey)?.credentials;
        });
        if (!found) throw new Error('the adapter gave no connector credentials');
        return found;
      })();
      cached.catch(() => this.credentialsByUrl.delete(serviceUrl));
      this.credentialsByUrl.set(serviceUrl, cached);
    }
    return cached;
  }

  /**
   * Replaces an activity sent earlier: a shared card's new state (ahead of personal messages at the
   * gate), or, in the messages' lane, a card only one person sees (a coordinator's own report).
   */
  async update(reference: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>, lane: Lane = 'card'): Promise<void> {
    const conversationId = conversationIdOf(reference);
    const outgoing = TurnContext.applyConversationReference({ ...activity, id: activityId, type: 'message' }, reference);
    await this.call('PUT', serviceUrlOf(reference), `v3/conversations/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(activityId)}`, outgoing, 'update', conversationId, lane);
  }

  /**
   * Finds a person's Teams id from their Entra object id among the members of a conversation the bot
   * is in (a team channel), so a 1:1 can be opened with someone who never wrote to the bot. Undefined
   * when they are not a member or the look-up fails (logged).
   */
  async member(via: Partial<ConversationReference>, aadObjectId: string): Promise<PersonAddress | undefined> {
    let found: PersonAddress | undefined;
    try {
      await this.adapter.continueConversationAsync(this.botAppId, via, async (context: TurnContext) => {
        const member = await TeamsInfo.getMember(context, aadObjectId);
        if (member?.id) found = { aadObjectId: aadObjectId.toLowerCase(), teamsId: member.id, name: member.name };
      });
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message, status: (err as { statusCode?: number }).statusCode } }, 'member look-up failed');
    }
    return found;
  }

  /**
   * Sends to a person's personal chat. Teams gives the bot the same 1:1 chat every time it asks to
   * create one, so with the person's Teams id that is one request (kept here and stored for next
   * time, and for announcements to everyone); without it, or if Teams will not open it, the personal
   * chat stored when they talked to the bot. `via` is any conversation in their tenant (its serviceUrl
   * and bot identity are used to open the chat). Returns false when the message could not be
   * delivered (logged, not thrown: a nudge must not break the turn).
   */
  async toPerson(person: PersonAddress, via: Partial<ConversationReference> | undefined, activity: Partial<Activity>): Promise<boolean> {
    return (await this.toPersonSent(person, via, activity)) !== undefined;
  }

  /** As toPerson, but says where the message went and its id, so it can be updated later (undefined when not delivered). */
  async toPersonSent(person: PersonAddress, via: Partial<ConversationReference> | undefined, activity: Partial<Activity>): Promise<SentMessage | undefined> {
    try {
      return await this.reachPerson(person, via, activity);
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message, status: (err as { statusCode?: number }).statusCode } }, 'personal message not sent');
      return undefined;
    }
  }

  /**
   * Sends to a person's personal chat (see toPerson); throws ConnectorError when it could not be
   * delivered: with Teams' status, or 404 'NoPersonalChat' when there is no chat and no way to open one.
   * `still`: as for post (asked once the message itself is about to leave, after its chat is open).
   */
  async reachPerson(person: PersonAddress, via: Partial<ConversationReference> | undefined, activity: Partial<Activity>, still?: Still): Promise<SentMessage> {
    const aad = person.aadObjectId.toLowerCase();
    try {
      let chat = this.chats.get(aad);
      let opening: unknown;
      // Teams can move a tenant to another service URL: a chat known at the old one is opened again at the new.
      if (chat && via?.serviceUrl && chat.reference.serviceUrl !== serviceUrlOf(via)) chat = undefined;
      if (!chat && person.teamsId && via?.serviceUrl) {
        chat = await this.openChat(person, via).catch((err: unknown) => {
          opening = err;
          this.logger.warn({ err: { message: (err as Error).message, status: (err as { statusCode?: number }).statusCode } }, 'could not open a personal chat; trying the stored one');
          return undefined;
        });
      }
      if (chat) return await this.post(chat.reference, activity, still);
      const stored = await this.conversations.personal(aad);
      if (stored) return await this.post(stored.reference, activity, still);
      // Without their Teams id, Teams opens the chat from their Entra object id (someone an announcement reaches who never talked to the bot).
      if (!person.teamsId && via?.serviceUrl) {
        chat = await this.openChat(person, via);
        if (chat) return await this.post(chat.reference, activity, still);
      }
      // Teams failing to open the chat for a moment is worth another try later; having no way at all is not.
      if (opening instanceof ConnectorError) throw opening;
      throw new ConnectorError(404, 'NoPersonalChat', 'no personal chat and no way to open one');
    } catch (err) {
      if (err instanceof ConnectorError && (err.statusCode === 403 || err.statusCode === 404)) this.chats.delete(aad);
      throw err;
    }
  }

  /** Opens (or finds: Teams answers with the existing one) the 1:1 chat between the bot and a person, once at a time per person. */
  private openChat(person: PersonAddress, via: Partial<ConversationReference>): Promise<PersonalChat | undefined> {
    const aad = person.aadObjectId.toLowerCase();
    let pending = this.opening.get(aad);
    if (!pending) {
      pending = this.createChat(person, via).finally(() => this.opening.delete(aad));
      this.opening.set(aad, pending);
    }
    return pending;
  }

  private async createChat(person: PersonAddress, via: Partial<ConversationReference>): Promise<PersonalChat | undefined> {
    const serviceUrl = serviceUrlOf(via);
    const tenantId = via.conversation?.tenantId;
    const body = { isGroup: false, bot: via.bot, members: [{ id: person.teamsId || person.aadObjectId, name: person.name ?? '' }], tenantId, channelData: { tenant: { id: tenantId } } };
    const result = await this.call('POST', serviceUrl, 'v3/conversations', body, 'open a personal chat', `person:${person.aadObjectId.toLowerCase()}`, 'message');
    if (!result.conversationId) return undefined;
    const reference: Partial<ConversationReference> = {
      channelId: 'msteams',
      serviceUrl,
      conversation: { id: result.conversationId, conversationType: 'personal', isGroup: false, tenantId, name: '' },
      bot: via.bot,
      user: { id: person.teamsId || person.aadObjectId, name: person.name ?? '', aadObjectId: person.aadObjectId },
    } as Partial<ConversationReference>;
    const aad = person.aadObjectId.toLowerCase();
    const chat = { reference };
    if (this.chats.size >= KNOWN_CHATS) this.chats.delete(this.chats.keys().next().value as string);
    this.chats.set(aad, chat);
    // Stored too: other instances and later starts find it, and an announcement to everyone includes them.
    await this.conversations.rememberPersonal(aad, reference, person.name ?? '').catch((err: unknown) => this.logger.warn({ err: { message: (err as Error).message } }, 'could not store a personal chat'));
    return chat;
  }

  /** One connector request, tried again after throttling or a passing failure; throws ConnectorError when it fails for good or would wait longer than HOLD_MAX_MS. */
  private async call(method: 'POST' | 'PUT', serviceUrl: string, path: string, body: unknown, what: string, conversation: string, lane: Lane, still?: Still): Promise<ConnectorResult & { attempts: number }> {
    const credentials = await this.credentials(serviceUrl);
    const turn = async () => {
      await this.gate.turn(conversation, lane);
      if (still && !(await still())) throw new NoLongerHolds();
    };
    for (let attempt = 1; ; attempt += 1) {
      const result = await connectorRequest(credentials, { method, serviceUrl, path, body, timeoutMs: TIMEOUT_MS, turn });
      const retryAfter = parseRetryAfter(result.retryAfter, Date.now());
      const next = afterAttempt(attempt, result.status, retryAfter, Math.random(), DEFAULT_RETRY, result.code);
      if (next.kind === 'sent') return { ...result, attempts: attempt };
      if (result.status === 429 && retryAfter !== undefined) this.gate.hold(conversation, this.gate.clock() + retryAfter);
      if (next.kind !== 'retry' || result.code === 'NoToken' || next.delayMs > HOLD_MAX_MS) throw new ConnectorError(result.status, result.code, what, attempt, retryAfter);
      await sleep(next.delayMs);
    }
  }
}

function serviceUrlOf(reference: Partial<ConversationReference>): string {
  if (!reference.serviceUrl) throw new ConnectorError(0, 'NoServiceUrl', 'no service URL to send to');
  return reference.serviceUrl;
}

function conversationIdOf(reference: Partial<ConversationReference>): string {
  const id = reference.conversation?.id;
  if (!id) throw new ConnectorError(0, 'NoConversation', 'no conversation to send to');
  return id;
}

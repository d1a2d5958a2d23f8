import { TeamsInfo, TurnContext, type Activity, type CloudAdapter, type ConversationReference } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import type { ConversationStore } from './conversations/store';
import type { Logger } from './logging';

/**
 * Proactive messages through one place: to a stored conversation, to a person (their stored personal
 * chat, or a new 1:1 opened through the members they share with the bot), and updates of cards sent
 * earlier. botbuilder's connector client already retries 429s with Retry-After and 5xx a few times.
 * Bulk fan-out with durable queues and rate limits belongs to the announcements capability.
 */

/** What signs a request to the Bot Connector (sets its Authorization header). */
export type ServiceClientCredentials = ConnectorClient['credentials'];

export interface PersonAddress {
  readonly aadObjectId: string;
  /** The person's Teams id ('29:...'), needed to open a 1:1 the first time. */
  readonly teamsId: string;
  readonly name?: string;
}

export class Proactive {
  private readonly credentialsByUrl = new Map<string, Promise<ServiceClientCredentials>>();

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly botAppId: string,
    private readonly conversations: ConversationStore,
    private readonly logger: Logger,
  ) {}

  /** Sends to a conversation; returns the new activity's id. */
  async send(reference: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string | undefined> {
    let id: string | undefined;
    await this.adapter.continueConversationAsync(this.botAppId, reference, async (context: TurnContext) => {
      id = (await context.sendActivity(activity))?.id;
    });
    return id;
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

  /** Replaces an activity sent earlier (a shared card's new state). */
  async update(reference: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>): Promise<void> {
    await this.adapter.continueConversationAsync(this.botAppId, reference, async (context: TurnContext) => {
      await context.updateActivity({ ...activity, id: activityId, type: 'message', conversation: context.activity.conversation });
    });
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
   * Sends to a person's personal chat, opening one if the bot has none yet. `via` is any conversation
   * in their tenant (its serviceUrl and bot identity are used to open the chat). Returns false when
   * the message could not be delivered (logged, not thrown: a nudge must not break the turn).
   */
  async toPerson(person: PersonAddress, via: Partial<ConversationReference> | undefined, activity: Partial<Activity>): Promise<boolean> {
    try {
      const stored = await this.conversations.personal(person.aadObjectId);
      if (stored) {
        await this.send(stored.reference, activity);
        return true;
      }
      const serviceUrl = via?.serviceUrl;
      const tenantId = via?.conversation?.tenantId;
      if (!serviceUrl || !person.teamsId) {
        this.logger.warn({ reason: 'no personal chat and no way to open one' }, 'personal message not sent');
        return false;
      }
      await this.adapter.createConversationAsync(
        this.botAppId,
        'msteams',
        serviceUrl,
        '',
        { isGroup: false, bot: via?.bot as never, members: [{ id: person.teamsId, name: person.name ?? '' }], tenantId, channelData: { tenant: { id: tenantId } } } as never,
        async (context: TurnContext) => {
          const reference = TurnContext.getConversationReference(context.activity);
          const ref = { ...reference, conversation: { ...reference.conversation, tenantId, conversationType: 'personal' }, bot: via?.bot ?? reference.bot } as Partial<ConversationReference>;
          await this.conversations.rememberPersonal(person.aadObjectId, ref, person.name ?? '');
          await context.sendActivity(activity);
        },
      );
      return true;
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message, status: (err as { statusCode?: number }).statusCode } }, 'personal message not sent');
      return false;
    }
  }
}

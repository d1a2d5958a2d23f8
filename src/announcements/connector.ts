import { connectorRequest, type ConnectorResult, type ServiceClientCredentials } from '../platform/connectorRequest';
import type { Target } from './model';

/**
 * The fan-out's own calls to the Bot Connector: one HTTP request per call and no retries of its own.
 *
 * botbuilder's connector client retries 429 (after Retry-After) and 5xx up to three times inside one
 * call, invisibly: a worker using it would not know how many requests it really made (so it could not
 * keep to Teams' per-app rate), could not record attempts, and would wait in places it cannot cut
 * short on shutdown. So the fan-out makes the request itself and decides about every answer
 * (delivery.ts). It is authenticated exactly as the adapter's own calls are: the Authorization header
 * comes from the credentials the adapter's connector factory gives for that service URL (a bearer
 * token for the bot's app registration when BOT_ID is set; none in local mode), see
 * Proactive.credentials.
 */

export type { ConnectorResult };

export type Activity = Record<string, unknown>;

export interface Connector {
  /**
   * Sends a new message to a conversation, or opens a personal chat with a person and sends it there.
   * `turn` is awaited right before the request leaves (after signing): the caller's rate limiting, so
   * the moment it counts is the moment the request goes. If it throws, nothing is sent and it rethrows.
   */
  send(target: Target, activity: Activity, turn?: () => Promise<void>): Promise<ConnectorResult>;
  /** Replaces a message sent earlier. */
  update(place: { serviceUrl: string; conversationId: string }, activityId: string, activity: Activity, turn?: () => Promise<void>): Promise<ConnectorResult>;
}

export type CredentialsFor = (serviceUrl: string) => Promise<ServiceClientCredentials>;

export class BotConnector implements Connector {
  constructor(
    private readonly credentials: CredentialsFor,
    private readonly timeoutMs = 30_000,
  ) {}

  async send(target: Target, activity: Activity, turn?: () => Promise<void>): Promise<ConnectorResult> {
    if (target.kind === 'conversation') {
      const body = { ...activity, conversation: { id: target.conversationId }, from: { id: target.botId } };
      return this.call('POST', target.serviceUrl, `v3/conversations/${encodeURIComponent(target.conversationId)}/activities`, body, turn);
    }
    // A personal chat with someone who has none with the bot yet: create it with the message in it (one request).
    const body = {
      isGroup: false,
      bot: { id: target.botId },
      members: [{ id: target.aadObjectId }],
      tenantId: target.tenantId,
      channelData: { tenant: { id: target.tenantId } },
      activity: { ...activity, from: { id: target.botId } },
    };
    return this.call('POST', target.serviceUrl, 'v3/conversations', body, turn);
  }

  async update(place: { serviceUrl: string; conversationId: string }, activityId: string, activity: Activity, turn?: () => Promise<void>): Promise<ConnectorResult> {
    const body = { ...activity, id: activityId, conversation: { id: place.conversationId } };
    return this.call('PUT', place.serviceUrl, `v3/conversations/${encodeURIComponent(place.conversationId)}/activities/${encodeURIComponent(activityId)}`, body, turn);
  }

  private async call(method: 'POST' | 'PUT', serviceUrl: string, path: string, body: unknown, turn?: () => Promise<void>): Promise<ConnectorResult> {
    let credentials: ServiceClientCredentials;
    try {
      credentials = await this.credentials(serviceUrl);
    } catch {
      return { status: 0, code: 'NoToken' };
    }
    return connectorRequest(credentials, { method, serviceUrl, path, body, turn, timeoutMs: this.timeoutMs });
  }
}

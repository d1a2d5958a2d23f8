import type { ServiceClientCredentials } from '../platform/proactive';
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

export interface ConnectorResult {
  /** HTTP status; 0 when there was no answer (connection failed, timed out). */
  readonly status: number;
  /** The new message's id (POST), or the updated one's. */
  readonly activityId?: string;
  /** For a new personal chat: its conversation id. */
  readonly conversationId?: string;
  readonly retryAfter?: string;
  /** The connector's error code, e.g. 'ConversationBlockedByUser'. */
  readonly code?: string;
}

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
    let headers: Record<string, string>;
    try {
      headers = { 'Content-Type': 'application/json; charset=utf-8', ...(await this.authorization(serviceUrl)) };
    } catch {
      return { status: 0, code: 'NoToken' };
    }
    const base = serviceUrl.endsWith('/') ? serviceUrl : `${serviceUrl}/`;
    const url = new URL(path, base);
    const payload = JSON.stringify(body);
    if (turn) await turn();
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch {
      return { status: 0 };
    }
    const text = await response.text().catch(() => '');
    const json = parse(text) as { id?: unknown; activityId?: unknown; error?: { code?: unknown } } | undefined;
    const retryAfter = response.headers.get('retry-after') ?? undefined;
    if (!response.ok) return { status: response.status, retryAfter, code: typeof json?.error?.code === 'string' ? json.error.code : undefined };
    if (path === 'v3/conversations') {
      return { status: response.status, conversationId: typeof json?.id === 'string' ? json.id : undefined, activityId: typeof json?.activityId === 'string' ? json.activityId : undefined };
    }
    return { status: response.status, activityId: typeof json?.id === 'string' ? json.id : undefined };
  }

  /** The Authorization header the adapter's credentials give (none in local mode). */
  private async authorization(serviceUrl: string): Promise<Record<string, string>> {
    const credentials = await this.credentials(serviceUrl);
    const set = new Map<string, string>();
    const resource = {
      headers: {
        set: (name: string, value: string) => set.set(name.toLowerCase(), String(value)),
        get: (name: string) => set.get(name.toLowerCase()),
        contains: (name: string) => set.has(name.toLowerCase()),
        remove: (name: string) => set.delete(name.toLowerCase()),
      },
    };
    await credentials.signRequest(resource as never);
    const auth = set.get('authorization');
    return auth ? { Authorization: auth } : {};
  }
}

function parse(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

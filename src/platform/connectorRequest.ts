import type { ConnectorClient } from 'botframework-connector';

/**
 * One HTTP request to the Bot Connector, made directly rather than through botbuilder's turn machinery
 * (which builds a turn context and a new connector client for every proactive call, and retries
 * inside one call where the caller cannot see it). Authenticated exactly as the adapter's own calls
 * are: the Authorization header comes from the credentials the adapter's connector factory gives for
 * that service URL (a bearer token for the bot's app registration when BOT_ID is set; none in local
 * mode), see Proactive.credentials. One request, no retries: callers decide what an answer means.
 */

/** What signs a request to the Bot Connector (sets its Authorization header). */
export type ServiceClientCredentials = ConnectorClient['credentials'];

export interface ConnectorResult {
  /** HTTP status; 0 when there was no answer (connection failed, timed out, no token). */
  readonly status: number;
  /** The new message's id (POST), or the updated one's. */
  readonly activityId?: string;
  /** For a new personal chat: its conversation id. */
  readonly conversationId?: string;
  readonly retryAfter?: string;
  /** The connector's error code, e.g. 'ConversationBlockedByUser'. */
  readonly code?: string;
}

export interface ConnectorCall {
  readonly method: 'POST' | 'PUT';
  readonly serviceUrl: string;
  /** Relative to the service URL, e.g. 'v3/conversations/a%3A1x/activities'. */
  readonly path: string;
  readonly body: unknown;
  readonly timeoutMs: number;
  /** Awaited right before the request leaves (after signing): a caller's rate limiting. If it throws, nothing is sent. */
  readonly turn?: () => Promise<void>;
}

export async function connectorRequest(credentials: ServiceClientCredentials, call: ConnectorCall): Promise<ConnectorResult> {
  let headers: Record<string, string>;
  try {
    headers = { 'Content-Type': 'application/json; charset=utf-8', ...(await authorization(credentials)) };
  } catch {
    return { status: 0, code: 'NoToken' };
  }
  const base = call.serviceUrl.endsWith('/') ? call.serviceUrl : `${call.serviceUrl}/`;
  const url = new URL(call.path, base);
  const payload = JSON.stringify(call.body);
  if (call.turn) await call.turn();
  let response: Response;
  try {
    response = await fetch(url, { method: call.method, headers, body: payload, signal: AbortSignal.timeout(call.timeoutMs) });
  } catch {
    return { status: 0 };
  }
  const text = await response.text().catch(() => '');
  const json = parse(text) as { id?: unknown; activityId?: unknown; error?: { code?: unknown } } | undefined;
  const retryAfter = response.headers.get('retry-after') ?? undefined;
  if (!response.ok) return { status: response.status, retryAfter, code: typeof json?.error?.code === 'string' ? json.error.code : undefined };
  if (call.path === 'v3/conversations') {
    return { status: response.status, conversationId: typeof json?.id === 'string' ? json.id : undefined, activityId: typeof json?.activityId === 'string' ? json.activityId : undefined };
  }
  return { status: response.status, activityId: typeof json?.id === 'string' ? json.id : undefined };
}

/**
 * Answers worth trying again, for every request the app makes to Teams. Teams' guidance for proactive
 * messages: 429 (throttled), 412 (precondition failed), 502 and 504 are transient: retry with backoff.
 * 500 and 503 are retried too, as is no answer at all (status 0: a connection reset or a timeout; the
 * message may or may not have gone) and 408. Anything else (403 removed or blocked, 404 gone, another
 * 4xx) would fail again.
 */
export function isTransient(status: number): boolean {
  return status === 0 || status === 408 || status === 412 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** The Authorization header the adapter's credentials give (none in local mode). */
async function authorization(credentials: ServiceClientCredentials): Promise<Record<string, string>> {
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

function parse(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

import type { Activity } from 'botbuilder';
import {
  BotFrameworkAuthentication,
  ConnectorFactory,
  AuthenticationConstants,
  type AuthenticateRequestResult,
  type BotFrameworkClient,
  type ClaimsIdentity,
  type ConnectorClient,
  type UserTokenClient,
} from 'botframework-connector';

/**
 * botbuilder's authentication, except that the outbound clients it makes for every turn (a Bot
 * Connector client and a user-token client, each building its own HTTP pipeline) are made once per
 * bot id, service URL and audience and then reused. Every inbound request is still authenticated by
 * the wrapped authentication; only the making of clients is shared. The clients hold no per-turn state
 * (their credentials cache tokens per bot id and audience, which is part of the key).
 */
export class ReusedClients extends BotFrameworkAuthentication {
  private readonly connectors = new Map<string, Promise<ConnectorClient>>();
  private readonly tokenClients = new Map<string, Promise<UserTokenClient>>();

  constructor(private readonly inner: BotFrameworkAuthentication) {
    super();
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    const result = await this.inner.authenticateRequest(activity, authHeader);
    return result.connectorFactory ? { ...result, connectorFactory: this.reuse(result.connectorFactory, result.claimsIdentity) } : result;
  }

  override async authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    const result = await this.inner.authenticateStreamingRequest(authHeader, channelIdHeader);
    return result.connectorFactory ? { ...result, connectorFactory: this.reuse(result.connectorFactory, result.claimsIdentity) } : result;
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reuse(this.inner.createConnectorFactory(claimsIdentity), claimsIdentity);
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return remembered(this.tokenClients, appIdOf(claimsIdentity), () => this.inner.createUserTokenClient(claimsIdentity));
  }

  override createBotFrameworkClient(): BotFrameworkClient {
    return this.inner.createBotFrameworkClient();
  }

  override getOriginatingAudience(): string {
    return this.inner.getOriginatingAudience();
  }

  override authenticateChannelRequest(authHeader: string): Promise<ClaimsIdentity> {
    return this.inner.authenticateChannelRequest(authHeader);
  }

  private reuse(factory: ConnectorFactory, claimsIdentity: ClaimsIdentity): ConnectorFactory {
    const appId = appIdOf(claimsIdentity);
    const connectors = this.connectors;
    return new (class extends ConnectorFactory {
      create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
        return remembered(connectors, JSON.stringify([appId, serviceUrl, audience ?? '']), () => factory.create(serviceUrl, audience));
      }
    })();
  }
}

/** Teams uses a handful of service URLs; the bound only guards against a caller that sends many. */
const MAX_CLIENTS = 64;

function remembered<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const known = map.get(key);
  if (known) return known;
  if (map.size >= MAX_CLIENTS) map.clear();
  const made = make();
  map.set(key, made);
  made.catch(() => {
    if (map.get(key) === made) map.delete(key);
  });
  return made;
}

/** The bot id botbuilder makes clients for: the audience claim, else the app id claim (as ParameterizedBotFrameworkAuthentication does). */
function appIdOf(claimsIdentity: ClaimsIdentity): string {
  return claimsIdentity.getClaimValue(AuthenticationConstants.AudienceClaim) ?? claimsIdentity.getClaimValue(AuthenticationConstants.AppIdClaim) ?? '';
}

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { AuthenticationConstants } from 'botframework-connector';
// Not re-exported by the package; its static cache of signing-key lookups is where the test stands in for Bot Service.
import { JwtTokenExtractor } from 'botframework-connector/lib/auth/jwtTokenExtractor';
import { createAdapter } from '../../src/platform/bot';
import { ConversationStore } from '../../src/platform/conversations/store';
import { createLogger } from '../../src/platform/logging';
import { Proactive } from '../../src/platform/proactive';
import { storageCredential, Tables } from '../../src/platform/storage/tables';
import { loadConfig } from '../../src/config';
import { startTestBot, testConfig, uniquePrefix, type TestBot } from '../support/bot';
import { storageConnectionString } from '../support/hooks';

/**
 * The bot's identity as Azure provisions it, offline: a user-assigned managed identity (what infra/
 * deploys, BOT_TYPE=UserAssignedMsi) and a single-tenant app registration (BOT_TYPE=SingleTenant).
 *
 * Stand-ins, said plainly: App Service's managed identity endpoint (IDENTITY_ENDPOINT and
 * IDENTITY_HEADER, which App Service sets for the app) is a local HTTP server that hands out a token;
 * Bot Service's signing keys are a key pair made here (as in server.test.ts); the Bot Connector is a
 * local HTTP server that records the Authorization header of each call. What is real: botbuilder's
 * and @azure/identity's own token acquisition, inbound JWT validation and outbound signing.
 */

const BOT_ID = '7d1b6a52-2f1e-4c3a-9a54-8d1f0c2b3e4f';
const TENANT = '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d';
const MSI_TOKEN = 'eyJ0eXAiOiJKV1QifQ.managed-identity-token-for-the-bot.sig';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function listen(handler: (seen: Seen, res: http.ServerResponse) => void): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('the bot\'s identity: user-assigned managed identity and single tenant, offline', function () {
  const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

  describe('BOT_TYPE=UserAssignedMsi (as infra/azure.bicep deploys it)', function () {
    let identity: Awaited<ReturnType<typeof listen>>;
    let connector: Awaited<ReturnType<typeof listen>>;
    const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

    before(async function () {
      identity = await listen((seen, res) => {
        const url = new URL(seen.url, 'http://x');
        if (seen.headers['x-identity-header'] !== 'app-service-secret' || url.searchParams.get('client_id') !== BOT_ID) {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: 'unknown identity' }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: MSI_TOKEN, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: url.searchParams.get('resource'), token_type: 'Bearer', client_id: BOT_ID }));
      });
      connector = await listen((_seen, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ id: '1700000000001' }));
      });
      process.env.IDENTITY_ENDPOINT = `${identity.url}/msi/token`;
      process.env.IDENTITY_HEADER = 'app-service-secret';
    });
    after(async function () {
      if (saved.endpoint === undefined) delete process.env.IDENTITY_ENDPOINT;
      else process.env.IDENTITY_ENDPOINT = saved.endpoint;
      if (saved.header === undefined) delete process.env.IDENTITY_HEADER;
      else process.env.IDENTITY_HEADER = saved.header;
      await identity.close();
      await connector.close();
    });
    beforeEach(function () {
      identity.seen.length = 0;
      connector.seen.length = 0;
    });

    it('when the outbox posts (an announcement to a channel), then its call carries the token App Service\'s identity endpoint gave for BOT_ID and the Bot Framework', async function () {
      const config = testConfig({ BOT_ID, BOT_TYPE: 'UserAssignedMsi', BOT_TENANT_ID: TENANT, ALLOWED_TENANTS: TENANT, LINK_SIGNING_KEY: 'k'.repeat(40) });
      const tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
      const proactive = new Proactive(createAdapter(config), BOT_ID, new ConversationStore(tables, silent), silent);
      const sent = await proactive.post(
        { channelId: 'msteams', serviceUrl: `${connector.url}/uk/`, bot: { id: `28:${BOT_ID}`, name: '' }, conversation: { id: '19:abc@thread.tacv2', conversationType: 'channel', tenantId: TENANT, isGroup: true, name: '' } },
        { type: 'message', text: 'Staff briefing moved to 08:15' },
      );
      assert.equal(sent.attempts, 1);
      assert.equal(connector.seen.length, 1);
      assert.equal(connector.seen[0]!.headers.authorization, `Bearer ${MSI_TOKEN}`);
      const asked = new URL(identity.seen[0]!.url, 'http://x');
      assert.equal(asked.searchParams.get('client_id'), BOT_ID, 'the user-assigned identity is asked for by its client id');
      assert.match(asked.searchParams.get('resource') ?? '', /^https:\/\/api\.botframework\.com/);
    });

    it('when storage is reached by account name, then the token is asked for as the bot\'s own identity (client id BOT_ID), for Azure Storage', async function () {
      const loaded = loadConfig({ BOT_ID, BOT_TYPE: 'UserAssignedMsi', BOT_TENANT_ID: TENANT, ALLOWED_TENANTS: TENANT, LINK_SIGNING_KEY: 'k'.repeat(40), PUBLIC_URL: 'https://together.example.org', STORAGE_ACCOUNT_NAME: 'togetherstore01' });
      assert.ok(loaded.ok && loaded.config.storage.kind === 'managedIdentity');
      const token = await storageCredential(loaded.config.storage).getToken('https://storage.azure.com/.default');
      assert.equal(token.token, MSI_TOKEN);
      const asked = new URL(identity.seen.at(-1)!.url, 'http://x');
      assert.equal(asked.searchParams.get('client_id'), BOT_ID);
      assert.match(asked.searchParams.get('resource') ?? '', /^https:\/\/storage\.azure\.com/);
    });

    describe('with Bot Service\'s signing keys known (stood in for offline)', function () {
      const metadataUrl = AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl;
      const cache = (JwtTokenExtractor as unknown as { openIdMetadataCache: Map<string, unknown> }).openIdMetadataCache;
      const botService = generateKeyPairSync('rsa', { modulusLength: 2048 });
      let previous: unknown;
      let bot: TestBot;

      before(async function () {
        previous = cache.get(metadataUrl);
        const key = botService.publicKey.export({ type: 'spki', format: 'pem' }).toString();
        cache.set(metadataUrl, { getKey: async () => ({ key, endorsements: ['msteams'] }) });
        bot = await startTestBot({ env: { BOT_ID, BOT_TYPE: 'UserAssignedMsi', BOT_TENANT_ID: TENANT, ALLOWED_TENANTS: TENANT, LINK_SIGNING_KEY: 'k'.repeat(40) } });
      });
      after(async function () {
        await bot.stop();
        if (previous === undefined) cache.delete(metadataUrl);
        else cache.set(metadataUrl, previous);
      });

      /** A token Bot Service would send, signed with its (stood-in) key; `valid` moves its validity window (seconds from now). */
      function signed(serviceUrl: string, valid: { nbf: number; exp: number } = { nbf: -60, exp: 3600 }): string {
        const now = Math.floor(Date.now() / 1000);
        const unsigned = `${base64url({ alg: 'RS256', typ: 'JWT', kid: 'bot-service-key' })}.${base64url({ iss: AuthenticationConstants.ToBotFromChannelTokenIssuer, aud: BOT_ID, serviceurl: serviceUrl, nbf: now + valid.nbf, exp: now + valid.exp })}`;
        return `${unsigned}.${sign('sha256', Buffer.from(unsigned), botService.privateKey).toString('base64url')}`;
      }

      for (const [what, valid] of [
        ['expired an hour ago (signed by Bot Service, otherwise right)', { nbf: -7200, exp: -3600 }],
        ['not valid until tomorrow (signed by Bot Service, otherwise right)', { nbf: 86_400, exp: 90_000 }],
      ] as const) {
        it(`when a token ${what}, then it answers 401 and nothing is sent`, async function () {
          const serviceUrl = `${connector.url}/uk/`;
          const before = connector.seen.length;
          const activity = { type: 'message', id: `t${valid.exp}`, serviceUrl, channelId: 'msteams', from: { id: '29:tia', aadObjectId: 'aad0f00d-0000-4000-8000-000000000001' }, recipient: { id: `28:${BOT_ID}` }, conversation: { id: 'a:tia-chat', tenantId: TENANT }, channelData: { tenant: { id: TENANT } }, text: 'help' };
          const response = await fetch(bot.url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${signed(serviceUrl, valid)}` }, body: JSON.stringify(activity) });
          assert.equal(response.status, 401);
          assert.equal(connector.seen.length, before, 'nothing was sent');
        });
      }

      it('when Bot Service sends a teacher\'s help, then it is accepted and the reply is signed with the managed identity\'s token', async function () {
        const serviceUrl = `${connector.url}/uk/`;
        const activity = {
          type: 'message',
          id: '1700000000000',
          timestamp: new Date().toISOString(),
          serviceUrl,
          channelId: 'msteams',
          from: { id: '29:tia', name: 'Tia Okafor', aadObjectId: 'aad0f00d-0000-4000-8000-000000000001' },
          recipient: { id: `28:${BOT_ID}`, name: 'Together' },
          conversation: { id: 'a:tia-chat', conversationType: 'personal', tenantId: TENANT },
          channelData: { tenant: { id: TENANT } },
          text: 'help',
        };
        const response = await fetch(bot.url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${signed(serviceUrl)}` }, body: JSON.stringify(activity) });
        assert.equal(response.status, 200);
        const reply = connector.seen.find((s) => s.method === 'POST' && s.url.includes('/v3/conversations/a%3Atia-chat/activities'));
        assert.ok(reply, `the reply reached the connector; saw ${connector.seen.map((s) => `${s.method} ${s.url}`).join(', ')}`);
        assert.equal(reply.headers.authorization, `Bearer ${MSI_TOKEN}`);
        assert.match(reply.body, /Commands for you as a teacher/);
      });

      it('when a token is for another bot (aud), then it answers 401 and nothing is sent', async function () {
        const now = Math.floor(Date.now() / 1000);
        const unsigned = `${base64url({ alg: 'RS256', typ: 'JWT', kid: 'bot-service-key' })}.${base64url({ iss: AuthenticationConstants.ToBotFromChannelTokenIssuer, aud: '00000000-0000-4000-8000-00000000dead', serviceurl: connector.url, nbf: now - 60, exp: now + 3600 })}`;
        const token = `${unsigned}.${sign('sha256', Buffer.from(unsigned), botService.privateKey).toString('base64url')}`;
        const activity = { type: 'message', id: '2', serviceUrl: `${connector.url}/uk/`, channelId: 'msteams', from: { id: '29:tia', aadObjectId: 'aad0f00d-0000-4000-8000-000000000001' }, recipient: { id: `28:${BOT_ID}` }, conversation: { id: 'a:tia-chat', tenantId: TENANT }, text: 'help' };
        const response = await fetch(bot.url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify(activity) });
        assert.equal(response.status, 401);
        assert.equal(connector.seen.length, 0);
      });
    });
  });

  describe('BOT_TYPE=SingleTenant', function () {
    it('when the bot signs its calls, then the credentials are its app registration\'s, from its own tenant\'s authority (not the multi-tenant one)', async function () {
      const config = testConfig({ BOT_ID, BOT_TYPE: 'SingleTenant', BOT_PASSWORD: 'not-a-real-secret', BOT_TENANT_ID: TENANT, ALLOWED_TENANTS: TENANT });
      const tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
      const proactive = new Proactive(createAdapter(config), BOT_ID, new ConversationStore(tables, silent), silent);
      const credentials = (await proactive.credentials('https://smba.trafficmanager.net/uk/')) as unknown as { appId?: string; oAuthEndpoint?: string; oAuthScope?: string };
      assert.equal(credentials.appId, BOT_ID);
      assert.equal(credentials.oAuthEndpoint?.toLowerCase(), `https://login.microsoftonline.com/${TENANT}`);
      assert.equal(credentials.oAuthScope, 'https://api.botframework.com');
    });
  });
});

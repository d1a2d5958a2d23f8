import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { TokenCredentials } from 'botframework-connector';
import { BotConnector } from '../../src/announcements/connector';
import { ConversationStore } from '../../src/platform/conversations/store';
import { createAdapter } from '../../src/platform/bot';
import { createLogger } from '../../src/platform/logging';
import { Proactive } from '../../src/platform/proactive';
import { Tables } from '../../src/platform/storage/tables';
import { testConfig, uniquePrefix } from '../support/bot';
import { storageConnectionString } from '../support/hooks';

/**
 * The fan-out's own connector calls: one HTTP request per call (no hidden retries), every status and
 * Retry-After passed back, and signed with the adapter's own credentials (a bearer token when BOT_ID
 * is set, nothing in local mode).
 */

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: any;
}

describe('the fan-out connector', function () {
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];
  let answer: { status: number; headers?: Record<string, string>; body?: unknown; hang?: boolean } = { status: 200, body: { id: '1' } };
  const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

  before(async function () {
    server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined });
        if (answer.hang) return;
        res.writeHead(answer.status, { 'Content-Type': 'application/json', ...(answer.headers ?? {}) });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uk/`;
  });

  after(async function () {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(function () {
    seen.length = 0;
    answer = { status: 200, body: { id: '1' } };
  });

  const target = () => ({ kind: 'conversation' as const, conversationId: '19:abc@thread.tacv2', conversationKind: 'channel' as const, serviceUrl: base, tenantId: 't', botId: '28:bot' });

  it('when it posts with credentials, then the request carries their bearer token and goes once to the conversation', async function () {
    const connector = new BotConnector(async () => new TokenCredentials('secret-token'));
    const result = await connector.send(target(), { type: 'message', text: 'hi' });
    assert.deepEqual(result, { status: 200, activityId: '1' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.url, '/uk/v3/conversations/19%3Aabc%40thread.tacv2/activities');
    assert.equal(seen[0]!.authorization, 'Bearer secret-token');
    assert.deepEqual(seen[0]!.body.from, { id: '28:bot' });
  });

  const answers: [number, Record<string, string>, unknown, { status: number; retryAfter?: string; code?: string }][] = [
    [429, { 'Retry-After': '3' }, { error: { code: 'TooManyRequests' } }, { status: 429, retryAfter: '3', code: 'TooManyRequests' }],
    [502, {}, undefined, { status: 502 }],
    [403, {}, { error: { code: 'ConversationBlockedByUser' } }, { status: 403, code: 'ConversationBlockedByUser' }],
  ];
  for (const [status, headers, body, expected] of answers) {
    it(`when Teams answers ${status}, then that answer comes back after exactly one request (no retries inside)`, async function () {
      answer = { status, headers, body };
      const connector = new BotConnector(async () => new TokenCredentials('t'));
      const result = await connector.send(target(), { type: 'message' });
      assert.deepEqual({ ...result }, { ...expected, retryAfter: expected.retryAfter, code: expected.code });
      assert.equal(seen.length, 1);
    });
  }

  it('when nobody answers in time or nobody listens, then the status is 0 (retried by the worker)', async function () {
    answer = { status: 200, hang: true };
    const slow = new BotConnector(async () => new TokenCredentials('t'), 200);
    assert.equal((await slow.send(target(), { type: 'message' })).status, 0);
    const nowhere = new BotConnector(async () => new TokenCredentials('t'));
    assert.equal((await nowhere.send({ ...target(), serviceUrl: 'http://127.0.0.1:1/' }, { type: 'message' })).status, 0);
  });

  it('when it opens a personal chat, then it creates the conversation with the message in one request', async function () {
    answer = { status: 201, body: { id: 'a:new', activityId: '9' } };
    const connector = new BotConnector(async () => new TokenCredentials('t'));
    const result = await connector.send({ kind: 'person', aadObjectId: 'aad-1', name: 'Ben', serviceUrl: base, tenantId: 'ten', botId: '28:bot' }, { type: 'message', text: 'hi' });
    assert.deepEqual(result, { status: 201, conversationId: 'a:new', activityId: '9' });
    assert.equal(seen[0]!.url, '/uk/v3/conversations');
    assert.deepEqual(seen[0]!.body.members, [{ id: 'aad-1' }]);
    assert.equal(seen[0]!.body.activity.text, 'hi');
    assert.equal(seen[0]!.body.tenantId, 'ten');
  });

  it('when the bot runs with BOT_ID, then the credentials are the adapter\'s own for the bot\'s app id; in local mode nothing is added', async function () {
    const tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    const appId = '00000000-0000-4000-8000-000000000001';
    const config = testConfig({ BOT_ID: appId, BOT_PASSWORD: 'pw', ALLOWED_TENANTS: '00000000-0000-4000-8000-000000000002' });
    const proactive = new Proactive(createAdapter(config), appId, new ConversationStore(tables, silent), silent);
    const credentials = (await proactive.credentials(base)) as unknown as { appId?: string };
    assert.equal(credentials.appId, appId);
    assert.equal(await proactive.credentials(base), credentials as never, 'kept per service URL');

    const local = new Proactive(createAdapter(testConfig()), '', new ConversationStore(tables, silent), silent);
    const connector = new BotConnector((url) => local.credentials(url));
    await connector.send(target(), { type: 'message' });
    assert.equal(seen.at(-1)!.authorization, undefined);
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { Writable } from 'node:stream';
import { AuthenticationConstants } from 'botframework-connector';
// Not re-exported by the package; its static cache of signing-key lookups is where the test stands in for Bot Service.
import { JwtTokenExtractor } from 'botframework-connector/lib/auth/jwtTokenExtractor';
import { startTogether, type Together } from '../../src/index';
import { createLogger } from '../../src/platform/logging';
import { startAzurite, type EmbeddedAzurite } from '../../src/platform/storage/azurite';
import { startTestBot, testConfig, type TestBot } from '../support/bot';
import { messageFrom } from '../support/activities';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { TeamsSimulator, type SimUser } from '../support/simulator';

/** The HTTP surface as Bot Service, a load balancer or an attacker sees it. */

const BOT_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const OTHER_TENANT = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function said(sent: { activity: any }[]): string {
  return sent.map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n')).join('\n');
}

describe('server: the HTTP surface', function () {
  describe('health', function () {
    let bot: TestBot;
    afterEach(async function () {
      await bot?.stop();
    });

    it('when storage answers, then GET /api/health says ok in JSON', async function () {
      bot = await startTestBot();
      const { status, body } = await getJson(`${bot.together.url}/api/health`);
      assert.equal(status, 200);
      assert.equal(body.status, 'ok');
      assert.equal(body.storage, 'ok');
      assert.equal(body.mode, 'local');
    });

    describe('when storage stops answering', function () {
      let azurite: EmbeddedAzurite | undefined;
      let together: Together | undefined;
      afterEach(async function () {
        await together?.close();
        await azurite?.stop();
      });

      it('then GET /api/health answers 503 and says storage is unavailable', async function () {
        this.timeout(60_000);
        azurite = await startAzurite();
        const config = testConfig();
        const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
        together = await startTogether({ config, storage: { connectionString: azurite.connectionString }, logger: createLogger('info', sink), port: 0, host: '127.0.0.1' });
        const before = await getJson(`${together.url}/api/health`);
        assert.equal(before.status, 200, 'healthy while storage is up');

        await azurite.stop();
        azurite = undefined;
        const after = await getJson(`${together.url}/api/health`);
        assert.equal(after.status, 503);
        assert.equal(after.body.status, 'unavailable');
        assert.equal(after.body.storage, 'unavailable');
      });
    });
  });

  describe('requests that are not activities (local mode)', function () {
    let bot: TestBot;
    let sim: TeamsSimulator;
    let tia: SimUser;

    before(async function () {
      bot = await startTestBot();
      sim = await TeamsSimulator.start();
      sim.botEndpoint = bot.url;
      tia = sim.user('tia', 'Tia Okafor');
    });
    after(async function () {
      await bot.stop();
      await sim.stop();
    });
    beforeEach(function () {
      sim.clearRecords();
    });

    it('when the body is malformed JSON, then it answers 400 and sends nothing', async function () {
      const result = await sim.post('{"type":"message","text":');
      assert.equal(result.status, 400);
      assert.equal(sim.requests.length, 0);
    });

    const notActivities: [string, (a: Record<string, any>) => unknown][] = [
      ['an object with none of the fields', () => ({ a: 1 })],
      ['JSON null', () => null],
      ['a JSON array', (a) => [a]],
      ['a JSON string', () => 'help'],
      ['an activity without serviceUrl', (a) => ({ ...a, serviceUrl: undefined })],
      ['an activity whose serviceUrl is not a URL', (a) => ({ ...a, serviceUrl: 'not a url' })],
      ['an activity whose type is a number', (a) => ({ ...a, type: 7 })],
      ['an activity without a conversation', (a) => ({ ...a, conversation: undefined })],
      ['an activity whose conversation id is empty', (a) => ({ ...a, conversation: { ...a.conversation, id: '' } })],
      ['an activity without from', (a) => ({ ...a, from: undefined })],
      ['an activity without recipient', (a) => ({ ...a, recipient: undefined })],
      ['an activity whose sender\'s Entra id is a number', (a) => ({ ...a, from: { ...a.from, aadObjectId: 5 } })],
      ['an activity whose entities are a string', (a) => ({ ...a, entities: 'mention' })],
      ['an activity whose entities hold null', (a) => ({ ...a, entities: [null] })],
      ['a conversationUpdate whose membersAdded is not a list', (a) => ({ ...a, type: 'conversationUpdate', text: undefined, membersAdded: 'bot' })],
      ['an activity whose tenant id is a number', (a) => ({ ...a, conversation: { ...a.conversation, tenantId: 5 } })],
      ['an activity whose text is longer than Teams allows', (a) => ({ ...a, text: 'x'.repeat(30_000) })],
    ];
    for (const [what, make] of notActivities) {
      it(`when the body is ${what}, then it answers 400, never 500, and sends nothing`, async function () {
        const result = await sim.post(JSON.stringify(make(messageFrom(sim, tia, 'help'))));
        assert.equal(result.status, 400, `status; body: ${JSON.stringify(result.body)}`);
        assert.deepEqual(result.body, { error: 'The request body is not a Bot Framework activity.' });
        assert.equal(sim.requests.length, 0, 'nothing reached the connector');
      });
    }

    it('when the body is bigger than any activity, then it is refused with a 4xx and sends nothing', async function () {
      const result = await sim.post(JSON.stringify({ ...messageFrom(sim, tia, 'help'), padding: 'x'.repeat(300 * 1024) }));
      assert.ok(result.status >= 400 && result.status < 500, `status ${result.status}`);
      assert.equal(sim.requests.length, 0);
    });

    it('when the body is not JSON at all, then it is refused with a 4xx', async function () {
      const url = new URL(bot.url);
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'help' });
      assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
    });

    it('when a well-formed message arrives after all that, then it is answered (the refusals left nothing broken)', async function () {
      const result = await sim.post(messageFrom(sim, tia, 'help'));
      assert.equal(result.status, 200);
      assert.match(said(result.sent), /Commands for you as a teacher/);
    });
  });

  describe('authentication (BOT_ID set)', function () {
    let bot: TestBot;
    let sim: TeamsSimulator;
    let tia: SimUser;

    before(async function () {
      sim = await TeamsSimulator.start();
      bot = await startTestBot({ env: { BOT_ID, BOT_PASSWORD: 'x', ALLOWED_TENANTS: sim.tenantId } });
      sim.botEndpoint = bot.url;
      tia = sim.user('tia', 'Tia Okafor');
    });
    after(async function () {
      await bot.stop();
      await sim.stop();
    });
    beforeEach(function () {
      sim.clearRecords();
    });

    it('when a valid-looking activity has no Authorization header, then it answers 401 and sends nothing', async function () {
      const result = await sim.say(tia, sim.personalChat(tia), 'help');
      assert.equal(result.status, 401);
      assert.equal(sim.requests.length, 0, 'nothing reached the connector');
      assert.equal(await bot.together.conversations.personal(tia.aadObjectId), undefined, 'no conversation reference was stored');
    });

    const refusedHeaders: [string, () => string][] = [
      ['a Bearer that is not a JWT', () => 'Bearer not-a-token'],
      ['another scheme', () => `Basic ${Buffer.from('together:x').toString('base64')}`],
      [
        'an unsigned JWT from an issuer Bot Service does not use',
        () => `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: 'https://issuer.example', aud: BOT_ID, exp: Math.floor(Date.now() / 1000) + 3600 })}.`,
      ],
    ];
    for (const [what, header] of refusedHeaders) {
      it(`when the Authorization header is ${what}, then it answers 401 and sends nothing`, async function () {
        const result = await sim.post(messageFrom(sim, tia, 'help'), { Authorization: header() });
        assert.equal(result.status, 401);
        assert.equal(sim.requests.length, 0);
      });
    }

    describe('with Bot Service\'s signing keys known (stood in for offline)', function () {
      // The bot looks Bot Service's signing keys up on the internet; stand in for that lookup with a
      // key only Bot Service (this test) holds, so a forged token is checked against it offline.
      const metadataUrl = AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl;
      const cache = (JwtTokenExtractor as unknown as { openIdMetadataCache: Map<string, unknown> }).openIdMetadataCache;
      const botService = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
      let previous: unknown;
      const consoleError = console.error;

      before(function () {
        // botframework-connector prints the key it tried to stderr on a bad signature; keep the run quiet.
        console.error = () => undefined;
        previous = cache.get(metadataUrl);
        const key = botService.publicKey.export({ type: 'spki', format: 'pem' }).toString();
        cache.set(metadataUrl, { getKey: async () => ({ key, endorsements: ['msteams'] }) });
      });
      after(function () {
        console.error = consoleError;
        if (previous === undefined) cache.delete(metadataUrl);
        else cache.set(metadataUrl, previous);
      });

      const claims = () => ({
        iss: AuthenticationConstants.ToBotFromChannelTokenIssuer,
        aud: BOT_ID,
        serviceurl: sim.serviceUrl,
        nbf: Math.floor(Date.now() / 1000) - 60,
        exp: Math.floor(Date.now() / 1000) + 3600,
      });

      it('when a hand-built unsigned JWT claims to come from Bot Service, then it answers 401 and sends nothing', async function () {
        const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`;
        const result = await sim.post(messageFrom(sim, tia, 'help'), { Authorization: `Bearer ${token}` });
        assert.equal(result.status, 401, `status; body: ${JSON.stringify(result.body)}`);
        assert.equal(sim.requests.length, 0);
      });

      it('when a JWT claiming to come from Bot Service is signed with someone else\'s key, then it answers 401 and sends nothing', async function () {
        const unsigned = `${base64url({ alg: 'RS256', typ: 'JWT', kid: 'bot-service-key' })}.${base64url(claims())}`;
        const signature = sign('sha256', Buffer.from(unsigned), forger.privateKey).toString('base64url');
        const result = await sim.post(messageFrom(sim, tia, 'help'), { Authorization: `Bearer ${unsigned}.${signature}` });
        assert.equal(result.status, 401, `status; body: ${JSON.stringify(result.body)}`);
        assert.equal(sim.requests.length, 0);
      });
    });
  });

  describe('tenants (ALLOWED_TENANTS in local mode)', function () {
    let bot: TestBot;
    let partnership: TeamsSimulator; // the partnership's tenant
    let outsider: TeamsSimulator; // another organisation's tenant

    before(async function () {
      partnership = await TeamsSimulator.start({ tenantId: OTHER_TENANT });
      outsider = await TeamsSimulator.start();
      bot = await startTestBot({ env: { ALLOWED_TENANTS: OTHER_TENANT.toUpperCase() } });
      partnership.botEndpoint = bot.url;
      outsider.botEndpoint = bot.url;
    });
    after(async function () {
      await bot.stop();
      await partnership.stop();
      await outsider.stop();
    });

    it('when someone from a tenant outside ALLOWED_TENANTS says help, then it answers 403, sends nothing and stores nothing', async function () {
      const eve = outsider.user('eve', 'Eve Stranger');
      const result = await outsider.say(eve, outsider.personalChat(eve), 'help');
      assert.equal(result.status, 403);
      assert.equal(outsider.requests.length, 0, 'nothing reached the connector');
      assert.equal(await bot.together.conversations.personal(eve.aadObjectId), undefined, 'no conversation reference was stored');
    });

    it('when an outsider installs the bot, then no welcome is sent and nothing is stored', async function () {
      const eve = outsider.user('eve', 'Eve Stranger');
      const result = await outsider.install(eve, outsider.channel('Outsiders', 'General'));
      assert.equal(result.status, 403);
      assert.equal(outsider.requests.length, 0);
    });

    it('when someone from the allowed tenant says help, then they get the help card', async function () {
      const tia = partnership.user('tia', 'Tia Okafor');
      const result = await partnership.say(tia, partnership.personalChat(tia), 'help');
      assert.equal(result.status, 200);
      assert.match(said(result.sent), /Commands for you as a teacher/);
    });

    it('when the tenant is only in channelData (not on the conversation), then the allowed tenant is still recognised', async function () {
      const tia = partnership.user('tia', 'Tia Okafor');
      const activity = messageFrom(partnership, tia, 'help');
      delete activity.conversation.tenantId;
      const result = await partnership.post(activity);
      assert.equal(result.status, 200);
      assert.match(said(result.sent), /Commands for you as a teacher/);
    });

    it('when an outsider puts the allowed tenant only in channelData but their own on the conversation, then it is refused', async function () {
      const eve = outsider.user('eve', 'Eve Stranger');
      const activity = messageFrom(outsider, eve, 'help');
      activity.channelData = { tenant: { id: OTHER_TENANT } };
      const result = await outsider.post(activity);
      assert.equal(result.status, 403);
      assert.equal(outsider.requests.length, 0);
    });
  });
});

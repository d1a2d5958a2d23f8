import assert from 'node:assert/strict';
import { ConfigurationBotFrameworkAuthentication, ConfigurationServiceClientCredentialFactory, type Activity } from 'botbuilder';
import { createAdapter } from '../../src/platform/bot';
import { ReusedClients } from '../../src/platform/reusedClients';
import type { Config } from '../../src/config';

/** The outbound clients botbuilder makes for every turn are made once and reused; authentication is untouched. */

function activity(serviceUrl: string): Activity {
  return {
    type: 'message',
    channelId: 'msteams',
    serviceUrl,
    from: { id: '29:ann', name: 'Ann' },
    recipient: { id: '28:bot', name: 'Together' },
    conversation: { id: 'a:ann', isGroup: false, conversationType: 'personal', name: '' },
    text: 'help',
  } as Activity;
}

describe('ReusedClients', function () {
  it('when two turns come through the same service URL, then they share one connector client, and another service URL gets its own', async function () {
    const auth = new ReusedClients(new ConfigurationBotFrameworkAuthentication({}));
    const first = await auth.authenticateRequest(activity('https://smba.trafficmanager.net/emea/'), '');
    const second = await auth.authenticateRequest(activity('https://smba.trafficmanager.net/emea/'), '');
    const elsewhere = await auth.authenticateRequest(activity('https://smba.trafficmanager.net/amer/'), '');

    const a = await first.connectorFactory!.create('https://smba.trafficmanager.net/emea/', first.audience);
    const b = await second.connectorFactory!.create('https://smba.trafficmanager.net/emea/', second.audience);
    const c = await elsewhere.connectorFactory!.create('https://smba.trafficmanager.net/amer/', elsewhere.audience);
    assert.equal(a, b, 'one client for one service URL');
    assert.notEqual(a, c, 'a client per service URL');
    assert.equal((c as unknown as { baseUri: string }).baseUri, 'https://smba.trafficmanager.net/amer/', 'and each client talks to its own service URL');
    assert.equal(await auth.createUserTokenClient(first.claimsIdentity), await auth.createUserTokenClient(second.claimsIdentity), 'one user-token client per bot');
  });

  it('when the bot has an id and a request comes without a valid token, then it is still refused', async function () {
    const config = { MicrosoftAppId: '00000000-0000-0000-0000-000000000001', MicrosoftAppPassword: 'not-a-real-secret', MicrosoftAppType: 'MultiTenant' };
    const auth = new ReusedClients(new ConfigurationBotFrameworkAuthentication(config, new ConfigurationServiceClientCredentialFactory(config)));

    await assert.rejects(auth.authenticateRequest(activity('https://smba.trafficmanager.net/emea/'), ''), 'no Authorization header');
    await assert.rejects(auth.authenticateRequest(activity('https://smba.trafficmanager.net/emea/'), 'Bearer not.a.jwt'), 'a malformed token');
  });

  it('when the bot makes its adapter, with or without a bot id, then the adapter reuses clients this way', function () {
    const withId = { bot: { id: '00000000-0000-0000-0000-000000000001', password: 'not-a-real-secret', type: 'MultiTenant', tenantId: '' } } as unknown as Config;
    for (const config of [{} as Config, withId]) {
      const adapter = createAdapter(config) as unknown as { botFrameworkAuthentication: unknown };
      assert.ok(adapter.botFrameworkAuthentication instanceof ReusedClients);
    }
  });
});

import assert from 'node:assert/strict';
import type { ConversationReference } from 'botbuilder';
import { createAdapter } from '../../src/platform/bot';
import { ConversationStore } from '../../src/platform/conversations/store';
import { createLogger } from '../../src/platform/logging';
import { Proactive } from '../../src/platform/proactive';
import { Tables } from '../../src/platform/storage/tables';
import { TABLES } from '../../src/index';
import { testConfig, uniquePrefix } from '../support/bot';
import { storageConnectionString } from '../support/hooks';
import { TeamsSimulator, type SimConversation, type SimUser } from '../support/simulator';

/**
 * Proactive messages as Teams sees them: each is one request to the Bot Connector, retried after
 * throttling or a passing failure, never after a refusal; a person's personal chat is opened once.
 */

const silent = createLogger('silent');

describe('proactive messages: what reaches Teams', function () {
  let sim: TeamsSimulator;
  let tables: Tables;
  let conversations: ConversationStore;
  let proactive: Proactive;
  let channel: SimConversation;
  let tia: SimUser;

  const channelRef = (activityId?: string): Partial<ConversationReference> => ({
    channelId: 'msteams',
    serviceUrl: sim.serviceUrl,
    conversation: { id: channel.id, isGroup: true, conversationType: 'channel', tenantId: sim.tenantId, name: '' },
    bot: sim.bot,
    ...(activityId ? { activityId } : {}),
  });
  const text = (t: string) => ({ type: 'message', text: t });

  beforeEach(async function () {
    sim = await TeamsSimulator.start();
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure(TABLES);
    conversations = new ConversationStore(tables, silent);
    proactive = new Proactive(createAdapter(testConfig()), '', conversations, silent);
    channel = sim.channel('Riverside Schools Together', 'TeachMeets');
    tia = sim.user('tia', 'Tia Okafor');
  });

  afterEach(async function () {
    await sim.stop();
    await tables.dropAll(TABLES).catch(() => undefined);
  });

  it('when a message goes to a channel, then it is posted there as the bot and its id comes back', async function () {
    const id = await proactive.send(channelRef(), text('Hello, partnership'));
    const posted = sim.sentTo(channel).filter((s) => s.method === 'POST');
    assert.equal(posted.length, 1);
    assert.equal(posted[0]!.activity.text, 'Hello, partnership');
    assert.equal(posted[0]!.activity.from?.id, sim.bot.id);
    assert.equal(posted[0]!.activityId, id);
  });

  it('when the reference names a message, then the new one is a reply in its thread', async function () {
    const root = await proactive.send(channelRef(), text('The root post'));
    await proactive.send(channelRef(root), text('A reply'));
    const reply = sim.requests.filter((r) => r.method === 'POST').at(-1)!;
    assert.equal(reply.path, `/v3/conversations/${channel.id}/activities/${root}`);
    assert.equal(reply.body.replyToId, root);
  });

  it('when Teams throttles an update (429, Retry-After 0), then it is sent again and the card changes once', async function () {
    const id = (await proactive.send(channelRef(), text('3 places left')))!;
    sim.failNext((r) => r.method === 'PUT', 429, { 'Retry-After': '0' });
    await proactive.update(channelRef(), id, text('2 places left'));
    assert.equal(sim.failures.filter((f) => f.status === 429).length, 1, 'the first try was throttled');
    const updates = sim.sentTo(channel).filter((s) => s.method === 'PUT' && s.activityId === id);
    assert.equal(updates.length, 1);
    assert.equal(updates[0]!.activity.text, '2 places left');
  });

  for (const status of [502, 412]) {
    it(`when Teams fails for a moment (${status} twice), then the message still arrives once`, async function () {
      this.timeout(10_000);
      sim.failNext((r) => r.method === 'POST', status, {}, 2);
      await proactive.send(channelRef(), text('Sign-ups are open'));
      assert.equal(sim.failures.length, 2);
      assert.deepEqual(
        sim.sentTo(channel).map((s) => s.activity.text),
        ['Sign-ups are open'],
      );
    });
  }

  it('when Teams refuses (403), then it is not tried again and the caller hears why', async function () {
    sim.failNext((r) => r.method === 'POST', 403, {}, 5);
    await assert.rejects(proactive.send(channelRef(), text('Nobody will see this')), (err: { statusCode?: number }) => err.statusCode === 403);
    assert.equal(sim.failures.length, 1, 'one request, no retries');
    assert.equal(sim.sentTo(channel).length, 0);
  });

  it('when a person with a Teams id is messaged twice, then their personal chat is opened once and both messages are in it', async function () {
    const person = { aadObjectId: tia.aadObjectId, teamsId: tia.id, name: tia.name };
    assert.equal(await proactive.toPerson(person, channelRef(), text('Your place is confirmed')), true);
    assert.equal(await proactive.toPerson(person, channelRef(), text('The venue has changed')), true);
    assert.equal(sim.createdConversations.length, 1);
    assert.equal(sim.createdConversations[0]!.memberId, tia.id);
    assert.deepEqual(
      sim.sentTo(sim.personalChat(tia)).map((s) => s.activity.text),
      ['Your place is confirmed', 'The venue has changed'],
    );
  });

  it("when Teams' service URL has moved since a person's chat was opened, then the chat is opened again at the new one and the message arrives there", async function () {
    // Two simulators with one seed: the same people and chats, at two service URLs.
    const [before, after] = [await TeamsSimulator.start({ seed: 'moved' }), await TeamsSimulator.start({ seed: 'moved' })];
    try {
      const refOf = (at: TeamsSimulator): Partial<ConversationReference> => ({
        channelId: 'msteams',
        serviceUrl: at.serviceUrl,
        conversation: { id: at.channel('Riverside Schools Together', 'TeachMeets').id, isGroup: true, conversationType: 'channel', tenantId: at.tenantId, name: '' },
        bot: at.bot,
      });
      const tom = before.user('tom', 'Tom Reyes');
      after.user('tom', 'Tom Reyes');
      const person = { aadObjectId: tom.aadObjectId, teamsId: tom.id, name: tom.name };
      assert.equal(await proactive.toPerson(person, refOf(before), text('Your place is confirmed')), true);
      assert.equal(await proactive.toPerson(person, refOf(after), text('The venue has changed')), true);
      assert.deepEqual(after.sentTo(after.personalChat(tom)).map((s) => s.activity.text), ['The venue has changed']);
      assert.equal(before.sentTo(before.personalChat(tom)).length, 1, 'nothing more went to the old service URL');
    } finally {
      await before.stop();
      await after.stop();
    }
  });

  it('when a personal chat is opened, then it is stored for later (other instances, announcements to everyone)', async function () {
    const person = { aadObjectId: tia.aadObjectId, teamsId: tia.id, name: tia.name };
    assert.equal(await proactive.toPerson(person, channelRef(), text('Your place is confirmed')), true);
    const stored = await conversations.personal(tia.aadObjectId);
    assert.equal(stored?.reference.conversation?.id, sim.personalChat(tia).id);
    assert.equal(stored?.reference.conversation?.tenantId, sim.tenantId);
  });

  it('when two messages for one person go at once, then one chat is opened and both arrive', async function () {
    const person = { aadObjectId: tia.aadObjectId, teamsId: tia.id, name: tia.name };
    const sent = await Promise.all([proactive.toPerson(person, channelRef(), text('One')), proactive.toPerson(person, channelRef(), text('Two'))]);
    assert.deepEqual(sent, [true, true]);
    assert.equal(sim.createdConversations.length, 1);
    assert.deepEqual(sim.sentTo(sim.personalChat(tia)).map((s) => s.activity.text).sort(), ['One', 'Two']);
  });

  it('when Teams will not open the chat, then the personal chat stored when they talked to the bot is used', async function () {
    const chat = sim.personalChat(tia);
    await conversations.rememberPersonal(tia.aadObjectId, { channelId: 'msteams', serviceUrl: sim.serviceUrl, conversation: { id: chat.id, isGroup: false, conversationType: 'personal', name: '' }, bot: sim.bot }, tia.name);
    sim.failNext((r) => r.method === 'POST' && r.path === '/v3/conversations', 403);
    const person = { aadObjectId: tia.aadObjectId, teamsId: tia.id, name: tia.name };
    assert.equal(await proactive.toPerson(person, channelRef(), text('Still reached')), true);
    assert.deepEqual(sim.sentTo(chat).map((s) => s.activity.text), ['Still reached']);
  });

  it('when only the Entra id is known, then the personal chat stored when they talked to the bot is used; with none, one is opened by the Entra id (Teams allows it where the app is installed for them), and where Teams refuses, nothing is sent', async function () {
    const chat = sim.personalChat(tia);
    const noTeamsId = { aadObjectId: tia.aadObjectId, teamsId: '', name: tia.name };
    await conversations.rememberPersonal(tia.aadObjectId, { channelId: 'msteams', serviceUrl: sim.serviceUrl, conversation: { id: chat.id, isGroup: false, conversationType: 'personal', name: '' }, bot: sim.bot }, tia.name);
    assert.equal(await proactive.toPerson(noTeamsId, channelRef(), text('A reminder from Together')), true);
    assert.deepEqual(
      sim.sentTo(chat).map((s) => s.activity.text),
      ['A reminder from Together'],
    );
    assert.equal(sim.createdConversations.length, 0, 'the stored chat is used first');

    const ben = sim.user('ben', 'Ben Okafor');
    const benByEntraId = { aadObjectId: ben.aadObjectId, teamsId: '', name: ben.name };
    assert.equal(await proactive.toPerson(benByEntraId, channelRef(), text('Opened by Entra id')), true);
    assert.deepEqual(sim.sentTo(sim.personalChat(ben)).map((s) => s.activity.text), ['Opened by Entra id']);
    assert.equal(sim.createdConversations.length, 1);

    const cy = sim.user('cy', 'Cy Patel');
    sim.failNext((r) => r.method === 'POST' && r.path === '/v3/conversations', 403);
    assert.equal(await proactive.toPerson({ aadObjectId: cy.aadObjectId, teamsId: '', name: cy.name }, channelRef(), text('Not installed for them')), false);
    assert.equal(sim.sentTo(sim.personalChat(cy)).length, 0);
  });

  it('when the person has blocked the bot (403), then toPerson says it was not delivered and does not throw', async function () {
    sim.failNext((r) => r.method === 'POST' && r.path.startsWith('/v3/conversations/a:'), 403);
    const person = { aadObjectId: tia.aadObjectId, teamsId: tia.id, name: tia.name };
    assert.equal(await proactive.toPerson(person, channelRef(), text('Blocked')), false);
    assert.equal(sim.sentTo(sim.personalChat(tia)).length, 0);
    assert.equal(await proactive.toPerson(person, channelRef(), text('Unblocked later')), true, 'the chat is opened again next time');
    assert.equal(sim.createdConversations.length, 2);
  });
});

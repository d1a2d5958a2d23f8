import assert from 'node:assert/strict';
import { startTestBot, type TestBot } from '../support/bot';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser } from '../support/simulator';

/** Installing, using and removing the bot: the welcome, and the conversation references kept for later messages. */

function said(sent: Sent[]): string {
  return sent.map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n')).join('\n');
}

function welcomes(sent: Sent[]): Sent[] {
  return sent.filter((s) => adaptiveCardsOf(s.activity).some((c) => /Welcome to Together/.test(cardText(c))));
}

describe('conversations: installing, greeting and remembering where to write', function () {
  let sim: TeamsSimulator;
  let bot: TestBot;
  let tia: SimUser;
  let cora: SimUser;

  beforeEach(async function () {
    sim = await TeamsSimulator.start();
    tia = sim.user('tia', 'Tia Okafor');
    cora = sim.user('cora', 'Cora Whitfield');
    bot = await startTestBot({ env: { COORDINATORS: cora.aadObjectId } });
    sim.botEndpoint = bot.url;
  });

  afterEach(async function () {
    await bot.stop();
    await sim.stop();
  });

  describe('personal chat', function () {
    let chat: SimConversation;
    beforeEach(function () {
      chat = sim.personalChat(tia);
    });

    it('when a teacher installs the bot, then they get one welcome card and their chat is remembered', async function () {
      const installed = await sim.install(tia, chat);
      assert.equal(installed.status, 200);
      const welcome = welcomes(sim.messagesTo(chat));
      assert.equal(welcome.length, 1, 'exactly one welcome');
      const text = cardText(adaptiveCardsOf(welcome[0]!.activity)[0]!);
      assert.match(text, /Welcome to Together — Riverside Schools Together/);
      assert.match(text, /all from this chat/);

      const stored = await bot.together.conversations.personal(tia.aadObjectId);
      assert.ok(stored, 'the personal chat is stored');
      assert.equal(stored.kind, 'personal');
      assert.equal(stored.reference.serviceUrl, sim.serviceUrl);
      assert.equal(stored.reference.conversation?.id, chat.id);
      assert.equal(stored.reference.user?.aadObjectId, tia.aadObjectId);
      assert.equal(stored.reference.bot?.id, sim.bot.id);
      assert.equal(stored.label, 'Tia Okafor');
    });

    it('when the Entra id arrives in capitals, then the chat is still found by the lower-case id', async function () {
      await sim.install(tia, chat);
      assert.ok(await bot.together.conversations.personal(tia.aadObjectId.toUpperCase()));
    });

    it('when the teacher uninstalls the bot, then the chat is forgotten; installing again remembers it again', async function () {
      await sim.install(tia, chat);
      const removed = await sim.uninstall(tia, chat);
      assert.equal(removed.status, 200);
      assert.equal(await bot.together.conversations.personal(tia.aadObjectId), undefined);
      assert.equal(removed.sent.length, 0, 'nothing is said to a chat the bot has left');

      await sim.install(tia, chat);
      const stored = await bot.together.conversations.personal(tia.aadObjectId);
      assert.equal(stored?.reference.conversation?.id, chat.id);
    });

    it('when two instances share the tables and the uninstall reaches the other one, then a reinstall on the first is remembered again', async function () {
      const second = await startTestBot({ env: { COORDINATORS: cora.aadObjectId }, tablePrefix: bot.tablePrefix });
      try {
        await sim.install(tia, chat); // instance one
        await sim.say(tia, chat, 'whoami');
        sim.botEndpoint = second.url;
        await sim.uninstall(tia, chat); // instance two
        assert.equal(await bot.together.conversations.personal(tia.aadObjectId), undefined);
        sim.botEndpoint = bot.url;
        await sim.install(tia, chat); // instance one again
        const stored = await bot.together.conversations.personal(tia.aadObjectId);
        assert.equal(stored?.reference.conversation?.id, chat.id, 'the reinstalled chat is stored');
      } finally {
        await second.stop();
      }
    });

    it('when a message arrives from a different serviceUrl, then the stored reference follows it and replies go there', async function () {
      await sim.say(tia, chat, 'whoami');
      assert.equal((await bot.together.conversations.personal(tia.aadObjectId))?.reference.serviceUrl, sim.serviceUrl);

      // Teams moved this tenant to another region: same chat, another connector.
      const moved = await TeamsSimulator.start();
      try {
        const activity = {
          type: 'message',
          id: String(Date.now()),
          timestamp: new Date().toISOString(),
          serviceUrl: moved.serviceUrl,
          channelId: 'msteams',
          from: { id: tia.id, name: tia.name, aadObjectId: tia.aadObjectId },
          recipient: { id: sim.bot.id, name: sim.bot.name },
          conversation: { id: chat.id, conversationType: 'personal', tenantId: sim.tenantId },
          channelData: { tenant: { id: sim.tenantId } },
          text: 'whoami',
          textFormat: 'plain',
        };
        const result = await sim.post(activity);
        assert.equal(result.status, 200);
        assert.equal(result.sent.length, 0, 'the old connector got nothing');
        assert.match(said(moved.sent), /You're a teacher/, 'the reply went to the new connector');

        const stored = await bot.together.conversations.personal(tia.aadObjectId);
        assert.equal(stored?.reference.serviceUrl, moved.serviceUrl);
        assert.equal(stored?.reference.conversation?.id, chat.id);

        // A restarted instance (nothing cached) reads the new one.
        bot = await bot.restart();
        sim.botEndpoint = bot.url;
        assert.equal((await bot.together.conversations.personal(tia.aadObjectId))?.reference.serviceUrl, moved.serviceUrl);
      } finally {
        await moved.stop();
      }
    });

    it('when someone else joins a conversation from a new serviceUrl (no reply needed), then the reference is refreshed', async function () {
      const group = sim.groupChat([tia, cora], 'Year 7 leads');
      await sim.install(tia, group);
      assert.equal((await bot.together.conversations.conversation(group.id))?.reference.serviceUrl, sim.serviceUrl);
      const elsewhere = 'https://smba.trafficmanager.net/uk/';
      const update = {
        type: 'conversationUpdate',
        id: 'f:1',
        timestamp: new Date().toISOString(),
        serviceUrl: elsewhere,
        channelId: 'msteams',
        from: { id: tia.id, name: tia.name, aadObjectId: tia.aadObjectId },
        recipient: { id: sim.bot.id, name: sim.bot.name },
        conversation: { id: group.id, conversationType: 'groupChat', tenantId: sim.tenantId, isGroup: true },
        channelData: { tenant: { id: sim.tenantId } },
        membersAdded: [{ id: sim.user('sam', 'Sam Patel').id }],
      };
      const result = await sim.post(update);
      assert.equal(result.status, 200);
      const stored = await bot.together.conversations.conversation(group.id);
      assert.equal(stored?.reference.serviceUrl, elsewhere);
      assert.equal(stored?.kind, 'groupChat');
    });
  });

  describe('team', function () {
    it('when a coordinator adds the bot to a team, then the welcome is posted in General and the channel is remembered', async function () {
      const staffRoom = sim.channel('Riverside Schools Together', 'Staff room');
      const general = sim.channel('Riverside Schools Together', 'General');
      const installed = await sim.install(cora, staffRoom);
      assert.equal(installed.status, 200);
      const welcome = welcomes(sim.messagesTo(general));
      assert.equal(welcome.length, 1, 'one welcome, in General');
      assert.match(said(welcome), /all from this team/);
      assert.equal(welcomes(sim.messagesTo(staffRoom)).length, 0);

      const stored = await bot.together.conversations.conversation(general.id);
      assert.ok(stored, 'General is stored');
      assert.equal(stored.kind, 'channel');
      assert.equal(stored.reference.serviceUrl, sim.serviceUrl);
      assert.equal(stored.reference.conversation?.id, general.id);
      assert.equal(stored.reference.user, undefined, 'a channel reference does not name whoever happened to speak');
      assert.equal(stored.label, 'Riverside Schools Together › General');
      assert.equal(stored.teamId, general.teamId);
    });

    it('when someone writes in a thread of another channel, then that channel (not the thread) is remembered', async function () {
      await sim.stop();
      sim = await TeamsSimulator.start({ threadedChannelIds: true });
      sim.botEndpoint = bot.url;
      cora = sim.user('cora', 'Cora Whitfield');
      const staffRoom = sim.channel('Riverside Schools Together', 'Staff room');
      await sim.install(cora, staffRoom);
      const reply = await sim.say(cora, staffRoom, 'help', { replyToId: '1700000000000' });
      assert.equal(reply.status, 200);
      const stored = await bot.together.conversations.conversation(staffRoom.id);
      assert.ok(stored, 'the Staff room channel is stored under its own id');
      assert.equal(stored.reference.conversation?.id, staffRoom.id, 'no ;messageid= suffix');
      assert.equal(stored.label, 'Riverside Schools Together › Staff room');
    });

    it('when the bot is removed from the team, then every channel of that team is forgotten, and other teams are kept', async function () {
      const general = sim.channel('Riverside Schools Together', 'General');
      const staffRoom = sim.channel('Riverside Schools Together', 'Staff room');
      const otherTeam = sim.channel('Hillside Trust', 'General');
      await sim.install(cora, general);
      await sim.install(cora, otherTeam);
      await sim.say(cora, staffRoom, 'whoami');
      assert.ok(await bot.together.conversations.conversation(staffRoom.id));

      const removed = await sim.uninstall(cora, staffRoom);
      assert.equal(removed.status, 200);
      assert.equal(await bot.together.conversations.conversation(general.id), undefined);
      assert.equal(await bot.together.conversations.conversation(staffRoom.id), undefined);
      assert.ok(await bot.together.conversations.conversation(otherTeam.id), 'the other team is untouched');
    });
  });

  describe('the welcome card\'s buttons', function () {
    it('when a teacher clicks "Show help", then the help card comes back in place of the welcome', async function () {
      const chat = sim.personalChat(tia);
      await sim.install(tia, chat);
      const welcome = welcomes(sim.messagesTo(chat))[0]!;
      const clicked = await sim.click(tia, chat, welcome, 'Show help');
      assert.equal(clicked.status, 200);
      const card = sim.invokeCard(clicked);
      assert.ok(card, `expected a card as the invoke response; got ${JSON.stringify(clicked.body)}`);
      const text = cardText(card);
      assert.match(text, /Together — Riverside Schools Together/);
      assert.match(text, /Commands for you as a teacher/);
      assert.match(text, /whoami/);
      assert.equal(clicked.sent.length, 0, 'the answer is the invoke response, not a new message');
    });

    it('when a teacher clicks "Who am I?", then a message says who they are', async function () {
      const chat = sim.personalChat(tia);
      await sim.install(tia, chat);
      const welcome = welcomes(sim.messagesTo(chat))[0]!;
      const clicked = await sim.click(tia, chat, welcome, 'Who am I?');
      assert.equal(clicked.status, 200);
      const body = clicked.body as { statusCode?: number; type?: string; value?: unknown };
      assert.equal(body.statusCode, 200);
      assert.equal(body.type, 'application/vnd.microsoft.activity.message');
      assert.match(String(body.value), /You're a teacher/);
    });

    it('when a client without Action.Execute presses the Submit fallback of "Show help", then the help card arrives as a message', async function () {
      const chat = sim.personalChat(tia);
      await sim.install(tia, chat);
      const welcome = welcomes(sim.messagesTo(chat))[0]!;
      const card = adaptiveCardsOf(welcome.activity)[0] as { actions: { title: string; fallback: object }[] };
      const fallback = card.actions.find((a) => a.title === 'Show help')!.fallback;
      const clicked = await sim.click(tia, chat, { type: 'AdaptiveCard', version: '1.5', body: [], actions: [fallback] }, 'Show help', {}, { replyToId: welcome.activityId });
      assert.equal(clicked.status, 200);
      assert.match(said(clicked.sent), /Commands for you as a teacher/);
    });
  });
});

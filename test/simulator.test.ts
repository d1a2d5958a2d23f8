// The Teams simulator, tested against a tiny echo bot built here with botbuilder's CloudAdapter
// (no app id, so authentication is off). This proves the wire protocol without the real bot.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  type Activity,
  ActivityTypes,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationParameters,
  type ConversationReference,
  TeamsInfo,
  TurnContext,
} from 'botbuilder';

import { actionTitles, cardText, findAction } from './support/cardActions';
import { type Sent, TeamsSimulator, localTimestamp } from './support/simulator';

const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';

/** A card with one of everything click() and the helpers must find. */
function signUpCard(eventId: string): object {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      { type: 'TextBlock', text: 'TeachMeet at Oakfield', weight: 'Bolder' },
      { type: 'FactSet', facts: [{ title: 'When', value: 'Thursday 16:00' }] },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Hosted by ' }, 'Ms Patel'] },
      { type: 'Input.Text', id: 'note', label: 'Anything we should know?' },
      {
        type: 'Input.ChoiceSet',
        id: 'role',
        label: 'Role',
        value: 'attendee',
        choices: [
          { title: 'Attendee', value: 'attendee' },
          { title: 'Speaker', value: 'speaker' },
        ],
      },
      {
        type: 'ColumnSet',
        columns: [
          {
            type: 'Column',
            items: [
              {
                type: 'ActionSet',
                actions: [{ type: 'Action.Submit', title: 'Old sign up', data: { verb: 'teachmeet.signUp', eventId } }],
              },
            ],
          },
        ],
      },
    ],
    actions: [
      {
        type: 'Action.Execute',
        title: 'Sign up',
        verb: 'teachmeet.signUp',
        data: { eventId },
        fallback: { type: 'Action.Submit', title: 'Sign up', data: { verb: 'teachmeet.signUp', eventId } },
      },
      {
        type: 'Action.ShowCard',
        title: 'More',
        card: {
          type: 'AdaptiveCard',
          body: [{ type: 'Input.Text', id: 'reason', label: 'Why are you leaving?', isRequired: true }],
          actions: [{ type: 'Action.Execute', title: 'Withdraw', verb: 'teachmeet.withdraw', data: { eventId } }],
        },
      },
      { type: 'Action.OpenUrl', title: 'Details', url: 'https://example.org' },
    ],
  };
}

/** The echo bot: a plain node http server calling CloudAdapter.process. */
class EchoBot {
  readonly seen: Activity[] = [];
  readonly errors: string[] = [];
  endpoint = '';
  private server?: http.Server;
  private readonly adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));

  async start(): Promise<string> {
    this.adapter.onTurnError = async (_context, error) => {
      this.errors.push(String(error));
      throw error;
    };
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}/api/messages`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const response = {
      socket: res.socket,
      status(code: number) {
        res.statusCode = code;
      },
      header(name: string, value: unknown) {
        res.setHeader(name, String(value));
      },
      send(payload?: unknown) {
        if (payload === undefined) return;
        if (typeof payload === 'string') {
          res.write(payload);
        } else {
          res.setHeader('Content-Type', 'application/json');
          res.write(JSON.stringify(payload));
        }
      },
      end() {
        res.end();
      },
    };
    const request: { body?: Record<string, unknown>; headers: http.IncomingHttpHeaders; method?: string } = {
      headers: req.headers,
    };
    if (body !== undefined) request.body = body;
    if (req.method !== undefined) request.method = req.method;
    try {
      await this.adapter.process(request, response, (context) => this.logic(context));
    } catch (err) {
      this.errors.push(String(err));
      if (!res.writableEnded) {
        res.statusCode = 500;
        res.end();
      }
    }
  }

  private async logic(context: TurnContext): Promise<void> {
    const activity = context.activity;
    // A copy: removeRecipientMention() later edits the activity's text in place.
    this.seen.push(JSON.parse(JSON.stringify(activity)) as Activity);
    switch (activity.type) {
      case ActivityTypes.Message:
        return this.onMessage(context);
      case ActivityTypes.Invoke:
        if (activity.name === 'adaptiveCard/action') {
          const value = activity.value as { action: { verb: string; data: Record<string, unknown> } };
          const card = {
            type: 'AdaptiveCard',
            version: '1.5',
            body: [{ type: 'TextBlock', text: `Done: ${value.action.verb} ${JSON.stringify(value.action.data)}` }],
          };
          await context.sendActivity({
            type: ActivityTypes.InvokeResponse,
            value: { status: 200, body: { statusCode: 200, type: ADAPTIVE, value: card } },
          });
        }
        return;
      case ActivityTypes.InstallationUpdate:
        if (activity.action === 'add') await context.sendActivity('Hello from Together');
        return;
      case ActivityTypes.ConversationUpdate:
        if (activity.membersRemoved?.some((m) => m.id === activity.recipient.id)) {
          try {
            await context.sendActivity('Goodbye');
          } catch (err) {
            this.errors.push(`goodbye refused: ${(err as { statusCode?: number }).statusCode ?? String(err)}`);
          }
        }
        return;
      default:
        return;
    }
  }

  private async onMessage(context: TurnContext): Promise<void> {
    const activity = context.activity;
    if (activity.value !== undefined && !activity.text) {
      await context.sendActivity(`submitted ${JSON.stringify(activity.value)}`);
      return;
    }
    const text = (TurnContext.removeRecipientMention(activity) ?? '').trim();
    const mentions = TurnContext.getMentions(activity).map((m) => m.mentioned.id);
    if (text === 'card') {
      await context.sendActivity({ attachments: [{ contentType: ADAPTIVE, content: signUpCard('e1') }] });
    } else if (text === 'whoami') {
      const member = await TeamsInfo.getMember(context, activity.from.id);
      await context.sendActivity(`aad ${member.aadObjectId ?? '?'} email ${member.email ?? '?'}`);
    } else if (text === 'who is stranger') {
      try {
        await TeamsInfo.getMember(context, '29:nobody');
        await context.sendActivity('found');
      } catch (err) {
        await context.sendActivity(`lookup failed ${(err as { statusCode?: number }).statusCode ?? '?'}`);
      }
    } else if (text === 'update') {
      const draft = await context.sendActivity('draft');
      await context.updateActivity({ id: draft?.id, type: ActivityTypes.Message, text: 'final' });
    } else if (text === 'delete') {
      const draft = await context.sendActivity('oops');
      if (draft?.id) await context.deleteActivity(draft.id);
    } else if (text === 'dm me') {
      await this.directMessage(context);
    } else {
      await context.sendActivity(`echo: ${text} | mentions: ${mentions.join(',')}`);
    }
  }

  /** Proactive 1:1, the way the real bot will start a chat with someone. */
  private async directMessage(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const params = {
      isGroup: false,
      bot: activity.recipient,
      members: [{ id: activity.from.id, name: activity.from.name }],
      tenantId: activity.conversation.tenantId,
      channelData: { tenant: { id: activity.conversation.tenantId } },
    } as ConversationParameters;
    await this.adapter.createConversationAsync('', 'msteams', activity.serviceUrl, '', params, async (proactive) => {
      const ref: Partial<ConversationReference> = TurnContext.getConversationReference(proactive.activity);
      await proactive.sendActivity(`psst, in ${ref.conversation?.id ?? '?'}`);
    });
    await context.sendActivity('sent you a message');
  }
}

function textsOf(sent: Sent[]): string[] {
  return sent.flatMap((s) => (typeof s.activity?.text === 'string' ? [s.activity.text as string] : []));
}

describe('Teams simulator', () => {
  let sim: TeamsSimulator;
  let bot: EchoBot;

  beforeEach(async () => {
    sim = await TeamsSimulator.start();
    bot = new EchoBot();
    sim.botEndpoint = await bot.start();
  });

  afterEach(async () => {
    await bot.stop();
    await sim.stop();
  });

  describe('people and places', () => {
    it('when the same key is asked for twice, then the same person and 1:1 chat come back', () => {
      const alice = sim.user('alice');
      assert.equal(sim.user('alice'), alice);
      assert.equal(alice.name, 'Alice');
      assert.match(alice.id, /^29:1/);
      assert.match(alice.aadObjectId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(sim.user('bob.jones').name, 'Bob Jones');
      assert.equal(sim.personalChat(alice), sim.personalChat(alice));
      assert.match(sim.personalChat(alice).id, /^a:1/);
      assert.match(sim.bot.id, /^28:/);
      assert.equal(sim.bot.name, 'Together');
      assert.match(sim.serviceUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    });

    it("when a team's channels are made, then General's id is the team id and others differ", () => {
      const general = sim.channel('Oakfield Partnership', 'General');
      const teachMeets = sim.channel('Oakfield Partnership', 'TeachMeets');
      assert.equal(general.id, general.teamId);
      assert.equal(teachMeets.teamId, general.teamId);
      assert.notEqual(teachMeets.id, general.id);
      assert.match(teachMeets.id, /^19:[0-9a-f]{32}@thread\.tacv2$/);
      assert.equal(teachMeets.channelId, teachMeets.id);
      assert.match(sim.groupChat([sim.user('a'), sim.user('b')]).id, /^19:.*@thread\.v2$/);
    });

    it('when a time is formatted for London, then the offset follows summer time', () => {
      assert.equal(localTimestamp(Date.UTC(2025, 6, 1, 9, 30, 0, 5)), '2025-07-01T10:30:00.005+01:00');
      assert.equal(localTimestamp(Date.UTC(2025, 0, 15, 9, 30)), '2025-01-15T09:30:00.000+00:00');
    });
  });

  describe('messages', () => {
    it('when a person messages the bot in a personal chat, then the reply is recorded with replyToId', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      const result = await sim.say(alice, chat, 'hello', { id: '1700000000001' });

      assert.equal(result.status, 200);
      assert.equal(result.sent.length, 1);
      const [reply] = result.sent;
      assert.ok(reply);
      assert.equal(reply.method, 'POST');
      assert.equal(reply.conversationId, chat.id);
      assert.equal(reply.replyToId, '1700000000001');
      assert.equal(reply.activity.text, 'echo: hello | mentions: ');
      assert.equal(reply.activity.replyToId, '1700000000001');
      assert.ok(reply.activityId.length > 0);
      assert.deepEqual(sim.sentTo(chat), [reply]);

      const seen = bot.seen[0];
      assert.ok(seen);
      assert.equal(seen.channelId, 'msteams');
      assert.equal(seen.from.aadObjectId, alice.aadObjectId);
      assert.equal(seen.conversation.conversationType, 'personal');
      assert.equal(seen.conversation.tenantId, sim.tenantId);
      assert.equal(seen.locale, 'en-GB');
      assert.deepEqual((seen.channelData as { tenant: unknown }).tenant, { id: sim.tenantId });
      assert.ok(seen.entities?.some((e) => e.type === 'clientInfo' && e.timezone === 'Europe/London'));
    });

    it('when a person writes in a channel, then the bot is @mentioned as Teams does it, and only ids (no names) of the team and channel come with it', async () => {
      const alice = sim.user('alice');
      const channel = sim.channel('Oakfield Partnership', 'TeachMeets');
      const result = await sim.say(alice, channel, 'hello');

      const seen = bot.seen[0];
      assert.ok(seen);
      assert.equal(seen.text, `<at>Together</at> hello`);
      assert.equal(seen.conversation.isGroup, true);
      assert.equal(seen.conversation.conversationType, 'channel');
      const channelData = seen.channelData as { team: { id: string; name: string }; channel: { id: string; name: string } };
      assert.equal(channelData.team.id, channel.teamId);
      assert.equal(channelData.team.name, undefined, 'Teams names the team on installs, not on messages');
      assert.deepEqual(channelData.channel, { id: channel.id });
      assert.deepEqual(textsOf(result.sent), [`echo: hello | mentions: ${sim.bot.id}`]);
    });

    it('when channel ids are threaded, then the bot replies in the thread and sentTo still finds it', async () => {
      const threaded = await TeamsSimulator.start({ threadedChannelIds: true });
      try {
        threaded.botEndpoint = sim.botEndpoint;
        const alice = threaded.user('alice');
        const channel = threaded.channel('Oakfield Partnership', 'General');
        const result = await threaded.say(alice, channel, 'hello', { id: '1700000000123' });
        assert.equal(bot.seen[0]?.conversation.id, `${channel.id};messageid=1700000000123`);
        assert.equal(result.sent[0]?.conversationId, `${channel.id};messageid=1700000000123`);
        assert.equal(threaded.sentTo(channel).length, 1);
      } finally {
        await threaded.stop();
      }
    });

    it('when mentionBot is false and others are mentioned, then only their mention entities are sent', async () => {
      const alice = sim.user('alice');
      const bob = sim.user('bob');
      const chat = sim.groupChat([alice, bob], 'Planning');
      const result = await sim.say(alice, chat, 'ask <at>Bob</at>', { mentions: [bob], mentionBot: false });
      assert.deepEqual(textsOf(result.sent), [`echo: ask <at>Bob</at> | mentions: ${bob.id}`]);
      await assert.rejects(sim.say(alice, chat, 'no tag here', { mentions: [bob] }), /must contain '<at>Bob<\/at>'/);
    });

    it('when the body is not JSON, then the bot answers 400', async () => {
      const result = await sim.post('{not json');
      assert.equal(result.status, 400);
      assert.deepEqual(result.sent, []);
    });
  });

  describe('cards', () => {
    it('when an Action.Execute button is clicked, then the invoke carries verb, data and inputs and its response body comes back', async () => {
      const alice = sim.user('alice');
      const channel = sim.channel('Oakfield Partnership', 'General');
      await sim.say(alice, channel, 'card');
      const last = sim.lastCard(channel);
      assert.ok(last);

      const result = await sim.click(alice, channel, last.sent, 'Sign up', { note: 'vegetarian' });

      assert.equal(result.status, 200);
      assert.deepEqual(result.sent, []);
      const invoke = bot.seen[1];
      assert.ok(invoke);
      assert.equal(invoke.type, 'invoke');
      assert.equal(invoke.name, 'adaptiveCard/action');
      assert.equal(invoke.replyToId, last.sent.activityId);
      assert.deepEqual(invoke.value, {
        action: {
          type: 'Action.Execute',
          verb: 'teachmeet.signUp',
          data: { eventId: 'e1', note: 'vegetarian', role: 'attendee' },
        },
        trigger: 'manual',
      });
      const card = sim.invokeCard(result);
      assert.ok(card);
      const done = /^Done: teachmeet\.signUp (.*)$/.exec(cardText(card));
      assert.ok(done?.[1], cardText(card));
      assert.deepEqual(JSON.parse(done[1]), { eventId: 'e1', note: 'vegetarian', role: 'attendee' });
    });

    it('when an Action.Submit button is clicked, then a message with value and no text reaches the bot', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      await sim.say(alice, chat, 'card');
      const last = sim.lastCard(chat);
      assert.ok(last);

      const result = await sim.click(alice, chat, last.sent, 'Old sign up', { role: 'speaker' });

      const submit = bot.seen[1];
      assert.ok(submit);
      assert.equal(submit.type, 'message');
      assert.equal(submit.text, undefined);
      assert.equal(submit.replyToId, last.sent.activityId);
      assert.deepEqual(submit.value, { verb: 'teachmeet.signUp', eventId: 'e1', role: 'speaker' });
      assert.deepEqual(textsOf(result.sent), ['submitted {"verb":"teachmeet.signUp","eventId":"e1","role":"speaker"}']);
    });

    it('when a button inside a ShowCard is clicked, then its required input must be filled', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      await sim.say(alice, chat, 'card');
      const last = sim.lastCard(chat);
      assert.ok(last);
      await assert.rejects(sim.click(alice, chat, last.sent, 'Withdraw'), /required input\(s\) 'reason'/);
      const result = await sim.click(alice, chat, last.sent, 'Withdraw', { reason: 'ill' });
      assert.equal(result.status, 200);
      const invoke = bot.seen[1];
      assert.deepEqual((invoke?.value as { action: { data: unknown } }).action.data, {
        eventId: 'e1',
        role: 'attendee',
        reason: 'ill',
      });
    });

    it('when the title or an input is not on the card, then the error lists what is', async () => {
      const alice = sim.user('alice');
      const card = signUpCard('e2');
      await assert.rejects(
        sim.click(alice, sim.personalChat(alice), card, 'Sign me up'),
        /no action titled 'Sign me up'.*'Old sign up', 'Sign up', 'More', 'Withdraw', 'Details'/,
      );
      await assert.rejects(sim.click(alice, sim.personalChat(alice), card, 'Sign up', { nite: 'x' }), /'nite'.*available inputs: 'note', 'role'/);
      await assert.rejects(sim.click(alice, sim.personalChat(alice), card, 'Details'), /Action\.OpenUrl does not reach the bot/);
    });

    it('when a card is read, then the helpers see its text, titles and actions', () => {
      const card = signUpCard('e3');
      const text = cardText(card);
      for (const expected of ['TeachMeet at Oakfield', 'When', 'Thursday 16:00', 'Hosted by Ms Patel', 'Anything we should know?', 'Speaker', 'Why are you leaving?']) {
        assert.ok(text.split('\n').includes(expected), `cardText lacks '${expected}':\n${text}`);
      }
      assert.deepEqual(actionTitles(card), ['Old sign up', 'Sign up', 'More', 'Withdraw', 'Details']);
      assert.deepEqual(findAction(card, 'Sign up')?.data, { eventId: 'e3' });
      assert.equal(findAction(card, 'Sign up')?.verb, 'teachmeet.signUp');
      assert.equal(findAction(card, 'Nope'), undefined);
      assert.equal(sim.cards([{ method: 'POST', conversationId: 'x', activityId: '1', activity: { attachments: [{ contentType: ADAPTIVE, content: JSON.stringify(card) }] }, at: 0 }]).length, 1);
    });
  });

  describe('connector', () => {
    it('when the bot looks up a member, then the aadObjectId round-trips and strangers get 404', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      const found = await sim.say(alice, chat, 'whoami');
      assert.deepEqual(textsOf(found.sent), [`aad ${alice.aadObjectId} email alice@together.example`]);

      const channel = sim.channel('Oakfield Partnership', 'TeachMeets');
      const missing = await sim.say(alice, channel, 'who is stranger');
      assert.deepEqual(textsOf(missing.sent), ['lookup failed 404']);

      assert.deepEqual(sim.memberLookups, [
        { conversationId: chat.id, memberId: alice.id, status: 200 },
        // In a team, TeamsInfo asks the team (the General channel's id), not the channel.
        { conversationId: channel.teamId, memberId: '29:nobody', status: 404 },
      ]);
    });

    it('when the bot updates and deletes activities, then PUT and DELETE are recorded against their targets', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      const updated = await sim.say(alice, chat, 'update');
      const [draft, put] = updated.sent;
      assert.ok(draft && put);
      assert.equal(put.method, 'PUT');
      assert.equal(put.activityId, draft.activityId);
      assert.equal(put.activity.text, 'final');

      const deleted = await sim.say(alice, chat, 'delete');
      const [oops, del] = deleted.sent;
      assert.ok(oops && del);
      assert.equal(del.method, 'DELETE');
      assert.equal(del.activityId, oops.activityId);

      assert.deepEqual(
        sim.transcript(chat).map((m) => m.activity.text),
        ['final'],
      );
    });

    it('when the bot starts a 1:1 chat proactively, then createConversation answers with the personal chat id', async () => {
      const alice = sim.user('alice');
      const channel = sim.channel('Oakfield Partnership', 'General');
      const result = await sim.say(alice, channel, 'dm me');
      const chat = sim.personalChat(alice);
      assert.equal(sim.createdConversations.length, 1);
      assert.equal(sim.createdConversations[0]?.conversationId, chat.id);
      assert.deepEqual(textsOf(sim.sentTo(chat)), [`psst, in ${chat.id}`]);
      assert.deepEqual(textsOf(result.sent), [`psst, in ${chat.id}`, 'sent you a message']);
    });

    it('when a permanent fault is injected, then the bot sees it and nothing is recorded as delivered', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      sim.failNext((req) => req.method === 'POST' && req.conversationId === chat.id, 403);
      const consoleError = console.error;
      console.error = () => undefined; // CloudAdapter logs the failed turn; expected here.
      let failed;
      try {
        failed = await sim.say(alice, chat, 'hello');
      } finally {
        console.error = consoleError;
      }
      assert.equal(failed.status, 500);
      assert.deepEqual(failed.sent, []);
      assert.deepEqual(
        sim.failures.map((f) => f.status),
        [403],
      );

      const next = await sim.say(alice, chat, 'hello again');
      assert.equal(next.status, 200);
      assert.deepEqual(textsOf(next.sent), ['echo: hello again | mentions: ']);
    });

    it("when a 429 with Retry-After is injected once, then botbuilder's own retry is the one recorded", async () => {
      // The connector client under botbuilder retries 429s that carry Retry-After (and 5xx, with
      // several seconds of back-off) by itself: up to 4 attempts in all.
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      sim.failNext((req) => req.method === 'POST', 429, { 'Retry-After': '0' });
      const result = await sim.say(alice, chat, 'hello');
      assert.equal(result.status, 200);
      assert.equal(sim.failures.length, 1);
      assert.deepEqual(textsOf(result.sent), ['echo: hello | mentions: ']);
    });

    it('when the connector gets a path it does not serve, then it answers 404 and notes it', async () => {
      const res = await fetch(`${sim.serviceUrl}v3/nonsense`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 404);
      assert.equal(sim.unknown.length, 1);
    });
  });

  describe('installation', () => {
    it('when the bot is installed in a team, then installationUpdate and conversationUpdate arrive at the General channel', async () => {
      const alice = sim.user('alice');
      const teachMeets = sim.channel('Oakfield Partnership', 'TeachMeets');
      const result = await sim.install(alice, teachMeets);

      assert.equal(result.status, 200);
      const [install, update] = bot.seen;
      assert.ok(install && update);
      assert.equal(install.type, 'installationUpdate');
      assert.equal(install.action, 'add');
      assert.equal(install.conversation.id, teachMeets.teamId);
      assert.equal(update.type, 'conversationUpdate');
      assert.deepEqual(update.membersAdded, [{ id: sim.bot.id }]);
      assert.equal((update.channelData as { eventType: string }).eventType, 'teamMemberAdded');
      assert.deepEqual(textsOf(result.sent), ['Hello from Together']);
    });

    it('when the bot is uninstalled from a personal chat, then sends to it are refused with 403', async () => {
      const alice = sim.user('alice');
      const chat = sim.personalChat(alice);
      await sim.install(alice, chat);
      const result = await sim.uninstall(alice, chat);

      const [remove, update] = bot.seen.slice(2);
      assert.ok(remove && update);
      assert.equal(remove.action, 'remove');
      assert.deepEqual(update.membersRemoved, [{ id: sim.bot.id }]);
      assert.deepEqual(result.sent, []);
      assert.deepEqual(bot.errors, ['goodbye refused: 403']);

      await sim.install(alice, chat);
      assert.deepEqual(textsOf(sim.sentTo(chat)), ['Hello from Together', 'Hello from Together']);
    });
  });
});

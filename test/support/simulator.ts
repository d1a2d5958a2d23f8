// A small Teams simulator for through-the-wire tests.
//
// It plays two parts:
//  1. the Teams client and channel, which POSTs real Bot Framework activities (messages, card
//     submits, `adaptiveCard/action` invokes, installationUpdate, conversationUpdate) to the bot's
//     `/api/messages` endpoint, shaped as Teams shapes them;
//  2. the Bot Connector service at the bot's `serviceUrl`, which records everything the bot sends
//     (new messages, replies, updates, deletes, member look-ups, new conversations) and answers as
//     the real connector does.
//
// Only Node built-ins are used. Authentication is not simulated: the bot under test runs with no
// app id (auth off), and any Authorization header it sends to the connector is ignored.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

import {
  actionTitles,
  adaptiveCardsOf,
  gatherInputs,
  invokeResponseCard,
  locateAction,
  type LocatedAction,
} from './cardActions';

export interface SimUser {
  /** The test's own name for this person (stable ids are derived from it). */
  key: string;
  /** Teams user id, '29:...'. */
  id: string;
  /** Entra ID (AAD) object id, a uuid. */
  aadObjectId: string;
  name: string;
  tenantId: string;
}

export interface SimConversation {
  id: string;
  conversationType: 'personal' | 'groupChat' | 'channel';
  tenantId: string;
  teamId?: string;
  /** Teams channel id, for channels (equals `id`). */
  channelId?: string;
  /** Channel name for channels, chat topic for group chats. */
  name?: string;
  /** Team name, for channels. */
  teamName?: string;
}

export interface Sent {
  method: 'POST' | 'PUT' | 'DELETE';
  /** Decoded conversation id from the request path. */
  conversationId: string;
  replyToId?: string;
  /** The id the connector assigned (POST), or the target activity id (PUT, DELETE). */
  activityId: string;
  /** The JSON body the bot sent (undefined for DELETE). */
  activity: any;
  at: number;
}

export interface TurnResult {
  /** The bot's HTTP status. */
  status: number;
  /** The bot's parsed JSON response body; the raw text if it was not JSON; undefined if empty. */
  body: unknown;
  /** What the connector recorded while this request was in flight, in order. */
  sent: Sent[];
}

export interface ConnectorRequest {
  method: string;
  /** The path with each segment URL-decoded, e.g. '/v3/conversations/a:1xyz/activities'. */
  path: string;
  body: any;
  /** The decoded conversation id, for /v3/conversations/:id/... paths. */
  conversationId?: string;
}

export interface ConnectorLogEntry extends ConnectorRequest {
  status: number;
  at: number;
}

export interface MemberLookup {
  conversationId: string;
  memberId: string;
  status: number;
}

export interface CreatedConversation {
  conversationId: string;
  /** The member asked for (members[0].id), or the channel id for a new channel thread. */
  memberId: string;
  body: any;
  at: number;
}

export interface SimulatorOptions {
  tenantId?: string;
  /** The bot's Teams id; '28:' is prefixed if missing. Defaults to '28:' + a random uuid. */
  botId?: string;
  botName?: string;
  /**
   * Seed for the ids derived from user keys, team names and so on. Defaults to a random seed, so
   * two simulators sharing one storage account never see each other's people.
   */
  seed?: string;
  /** The clock used for activity timestamps and `at`. Defaults to Date.now. */
  now?: () => number;
  /**
   * Give channel activities the thread suffix Teams adds: `conversation.id` becomes
   * `19:...@thread.tacv2;messageid=<root post id>`. Off by default.
   */
  threadedChannelIds?: boolean;
}

interface Fault {
  match: (req: ConnectorRequest) => boolean;
  status: number;
  headers: Record<string, string>;
  remaining: number;
}

export interface ActivityOptions {
  id?: string;
  replyToId?: string;
}

const LOCALE = 'en-GB';
const TIMEZONE = 'Europe/London';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deterministic hex string from the seed and some parts. */
function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

function uuidFrom(hex: string): string {
  // Shape a hash as a version-4-looking uuid, as Entra ID object ids look.
  const h = hex.padEnd(32, '0');
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function base64urlFrom(hex: string, length: number): string {
  return Buffer.from(hex, 'hex').toString('base64url').slice(0, length);
}

/** 'alice.smith' -> 'Alice Smith'. */
function nameFromKey(key: string): string {
  return key
    .split(/[._\-\s]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '.').replace(/^\.+|\.+$/g, '') || 'user';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone: making one is far dearer than using it, and every activity needs one. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** ISO timestamp in `timeZone` with its offset, as Teams' `localTimestamp` (e.g. '...T10:00:00.000+01:00'). */
export function localTimestamp(ms: number, timeZone = TIMEZONE): string {
  const date = new Date(ms);
  const parts = formatterFor(timeZone).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '00';
  const asUtc = Date.UTC(
    Number(get('year')),
    Number(get('month')) - 1,
    Number(get('day')),
    Number(get('hour')),
    Number(get('minute')),
    Number(get('second')),
  );
  const offsetMinutes = Math.round((asUtc - (ms - date.getUTCMilliseconds())) / 60000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const millis = String(date.getUTCMilliseconds()).padStart(3, '0');
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}.${millis}${offset}`;
}

function errorCodeFor(status: number): string {
  switch (status) {
    case 400:
      return 'BadArgument';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 412:
      return 'PreconditionFailed';
    case 429:
      return 'TooManyRequests';
    case 502:
      return 'BadGateway';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'GatewayTimeout';
    default:
      return status >= 500 ? 'ServiceError' : 'BadRequest';
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class TeamsSimulator {
  readonly serviceUrl: string;
  readonly tenantId: string;
  readonly bot: { id: string; name: string };
  /** Where activities are POSTed, e.g. http://127.0.0.1:BOTPORT/api/messages. */
  botEndpoint = '';

  /** Every activity the bot delivered through the connector (POST, PUT, DELETE), in order. */
  readonly sent: Sent[] = [];
  /** Every member look-up (GET .../members/:id), with the status it got. */
  readonly memberLookups: MemberLookup[] = [];
  /** Every createConversation call (POST /v3/conversations). */
  readonly createdConversations: CreatedConversation[] = [];
  /** Every request the connector received, with the status it answered. */
  readonly requests: ConnectorLogEntry[] = [];
  /** Requests refused by failNext or by an uninstalled conversation (not delivered, not in `sent`). */
  readonly failures: ConnectorLogEntry[] = [];
  /** Requests for paths the connector does not serve (answered 404). */
  readonly unknown: ConnectorLogEntry[] = [];
  /** Requests parked by `hold` (answered, if at all, only after `release`), in the order they came. */
  readonly held: ConnectorLogEntry[] = [];
  /**
   * Held requests whose sender hung up while they were held (its process was killed): never answered,
   * so never accepted; not in `sent` or `requests`.
   */
  readonly hungUp: ConnectorLogEntry[] = [];

  private readonly server: http.Server;
  private readonly seed: string;
  private readonly now: () => number;
  private readonly threadedChannelIds: boolean;
  private readonly users = new Map<string, SimUser>();
  private readonly conversations = new Map<string, SimConversation>();
  private readonly members = new Map<string, SimUser[]>();
  private readonly teams = new Map<string, { id: string; name: string; aadGroupId: string }>();
  private readonly uninstalled = new Set<string>();
  private readonly faults: Fault[] = [];
  private readonly collectors = new Set<Sent[]>();
  private holding: ((req: ConnectorRequest) => boolean) | undefined;
  private readonly parked: (() => void)[] = [];
  private lastMessageId = 0;

  private constructor(server: http.Server, port: number, opts: SimulatorOptions) {
    this.server = server;
    this.serviceUrl = `http://127.0.0.1:${port}/`;
    this.seed = opts.seed ?? randomBytes(8).toString('hex');
    this.now = opts.now ?? Date.now;
    this.threadedChannelIds = opts.threadedChannelIds ?? false;
    this.tenantId = opts.tenantId ?? uuidFrom(digest(this.seed, 'tenant'));
    const botId = opts.botId ?? randomUUID();
    this.bot = { id: botId.startsWith('28:') ? botId : `28:${botId}`, name: opts.botName ?? 'Together' };
  }

  /** Starts the connector on 127.0.0.1 on an ephemeral port. */
  static async start(opts: SimulatorOptions = {}): Promise<TeamsSimulator> {
    let sim: TeamsSimulator | undefined;
    const server = http.createServer((req, res) => {
      if (!sim) {
        res.statusCode = 503;
        res.end();
        return;
      }
      sim.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'application/json');
        }
        res.end(JSON.stringify({ error: { code: 'SimulatorError', message: String(err) } }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    sim = new TeamsSimulator(server, port, opts);
    return sim;
  }

  async stop(): Promise<void> {
    this.holding = undefined;
    await new Promise<void>((resolve) => {
      for (const resume of this.parked.splice(0)) resume();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // People and places

  /** Creates or gets a simulated person; ids are stable per key within this simulator's seed. */
  user(key: string, name?: string): SimUser {
    const existing = this.users.get(key);
    if (existing) return existing;
    const h = digest(this.seed, 'user', key);
    const user: SimUser = {
      key,
      id: `29:1${base64urlFrom(h, 43)}`,
      aadObjectId: uuidFrom(digest(this.seed, 'aad', key)),
      name: name ?? nameFromKey(key),
      tenantId: this.tenantId,
    };
    this.users.set(key, user);
    return user;
  }

  /** Creates or gets the 1:1 chat between the person and the bot ('a:1...'). */
  personalChat(user: SimUser): SimConversation {
    const id = `a:1${base64urlFrom(digest(this.seed, 'personal', user.id) + digest(this.seed, 'personal2', user.id), 86)}`;
    return this.remember({ id, conversationType: 'personal', tenantId: this.tenantId }, [user]);
  }

  /** Creates or gets a group chat with these people ('19:...@thread.v2'). */
  groupChat(users: SimUser[], name?: string): SimConversation {
    const ids = users.map((u) => u.id).sort();
    const id = `19:${digest(this.seed, 'group', ...ids, name ?? '').slice(0, 32)}@thread.v2`;
    const conv: SimConversation = { id, conversationType: 'groupChat', tenantId: this.tenantId };
    if (name !== undefined) conv.name = name;
    return this.remember(conv, users);
  }

  /** Creates or gets a team's channel ('19:...@thread.tacv2'); the General channel's id is the team id. */
  channel(teamName: string, channelName: string): SimConversation {
    let team = this.teams.get(teamName);
    if (!team) {
      team = {
        id: `19:${digest(this.seed, 'team', teamName).slice(0, 32)}@thread.tacv2`,
        name: teamName,
        aadGroupId: uuidFrom(digest(this.seed, 'group', teamName)),
      };
      this.teams.set(teamName, team);
    }
    const id =
      channelName === 'General'
        ? team.id
        : `19:${digest(this.seed, 'channel', teamName, channelName).slice(0, 32)}@thread.tacv2`;
    return this.remember({
      id,
      conversationType: 'channel',
      tenantId: this.tenantId,
      teamId: team.id,
      channelId: id,
      name: channelName,
      teamName,
    });
  }

  private remember(conv: SimConversation, members?: SimUser[]): SimConversation {
    const existing = this.conversations.get(conv.id);
    if (existing) return existing;
    this.conversations.set(conv.id, conv);
    if (members) this.members.set(conv.id, [...members]);
    return conv;
  }

  /** Finds a known person by Teams id or Entra object id. */
  findUser(idOrAadObjectId: string): SimUser | undefined {
    for (const user of this.users.values()) {
      if (user.id === idOrAadObjectId || user.aadObjectId === idOrAadObjectId) return user;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Activities from Teams to the bot

  /**
   * A person writes a message. In channels and group chats the bot is @mentioned by default, as
   * Teams requires for the bot to hear it; pass mentionBot:false to send without.
   */
  async say(
    user: SimUser,
    conv: SimConversation,
    text: string,
    opts: { mentions?: SimUser[]; id?: string; replyToId?: string; value?: unknown; mentionBot?: boolean } = {},
  ): Promise<TurnResult> {
    const mentionBot = opts.mentionBot ?? conv.conversationType !== 'personal';
    const entities: any[] = [];
    let fullText = text;
    if (mentionBot) {
      const atBot = `<at>${this.bot.name}</at>`;
      fullText = `${atBot} ${text}`;
      entities.push({ type: 'mention', text: atBot, mentioned: { id: this.bot.id, name: this.bot.name } });
    }
    for (const mentioned of opts.mentions ?? []) {
      const at = `<at>${mentioned.name}</at>`;
      if (!text.includes(at)) {
        throw new Error(`say(): to mention ${mentioned.name}, the text must contain '${at}'; got: ${JSON.stringify(text)}`);
      }
      entities.push({ type: 'mention', text: at, mentioned: { id: mentioned.id, name: mentioned.name } });
    }
    const activity = this.activity('message', user, conv, opts);
    activity.text = fullText;
    activity.textFormat = 'plain';
    if (opts.value !== undefined) activity.value = opts.value;
    if (conv.conversationType !== 'personal') {
      // Teams attaches the rendered HTML of chat and channel messages.
      activity.attachments = [{ contentType: 'text/html', content: `<p>${this.htmlOf(fullText, entities)}</p>` }];
    }
    activity.entities = [...entities, ...activity.entities];
    return this.post(activity);
  }

  /** An Action.Submit press: a message activity carrying `value` and no text. */
  submit(user: SimUser, conv: SimConversation, value: Record<string, unknown>, opts: ActivityOptions = {}): Promise<TurnResult> {
    const activity = this.activity('message', user, conv, opts);
    activity.textFormat = 'plain';
    activity.value = value;
    activity.channelData.source = { name: 'message' };
    activity.channelData.postBack = true;
    if (opts.replyToId !== undefined) activity.channelData.legacy = { replyToId: opts.replyToId };
    return this.post(activity);
  }

  /** A generic invoke activity. */
  invoke(user: SimUser, conv: SimConversation, name: string, value: unknown, opts: ActivityOptions = {}): Promise<TurnResult> {
    const activity = this.activity('invoke', user, conv, opts);
    activity.name = name;
    activity.value = value;
    activity.channelData.source = { name: 'message' };
    if (opts.replyToId !== undefined) activity.channelData.legacy = { replyToId: opts.replyToId };
    return this.post(activity);
  }

  /** An Action.Execute press: invoke 'adaptiveCard/action', exactly as Teams sends it. */
  execute(
    user: SimUser,
    conv: SimConversation,
    verb: string,
    data: Record<string, unknown>,
    opts: ActivityOptions & { actionId?: string } = {},
  ): Promise<TurnResult> {
    const action: Record<string, unknown> = { type: 'Action.Execute', verb, data };
    if (opts.actionId !== undefined) action.id = opts.actionId;
    return this.invoke(user, conv, 'adaptiveCard/action', { action, trigger: 'manual' }, opts);
  }

  /**
   * A person presses the button titled `title` on a card the bot sent (a Sent) or on a bare card.
   * Action.Execute becomes an invoke, Action.Submit a message with `value`; the card's inputs
   * (their initial values overlaid with `inputs`) are merged into the action's data, as Teams
   * does. For a Sent, replyToId is the card's message id; for a bare card pass opts.replyToId.
   */
  async click(
    user: SimUser,
    conv: SimConversation,
    card: Sent | object,
    title: string,
    inputs: Record<string, string> = {},
    opts: ActivityOptions = {},
  ): Promise<TurnResult> {
    let cards: object[];
    let replyToId = opts.replyToId;
    if (isSent(card)) {
      cards = adaptiveCardsOf(card.activity);
      if (cards.length === 0) {
        throw new Error(`click('${title}'): the ${card.method} to ${card.conversationId} carries no Adaptive Card`);
      }
      replyToId ??= card.activityId;
    } else {
      cards = [card];
    }
    let located: LocatedAction | undefined;
    for (const c of cards) {
      located = locateAction(c, title);
      if (located) break;
    }
    if (!located) {
      const titles = cards.flatMap((c) => actionTitles(c));
      const available = titles.length > 0 ? titles.map((t) => `'${t}'`).join(', ') : '(none)';
      throw new Error(`click(): no action titled '${title}' on the card; available: ${available}`);
    }
    const { action } = located;
    const activityOpts: ActivityOptions = {};
    if (replyToId !== undefined) activityOpts.replyToId = replyToId;
    if (opts.id !== undefined) activityOpts.id = opts.id;
    const values = gatherInputs(located, inputs);
    switch (action.type) {
      case 'Action.Execute': {
        const data: Record<string, unknown> = isRecord(action.data) ? { ...action.data, ...values } : { ...values };
        const executeOpts: ActivityOptions & { actionId?: string } = { ...activityOpts };
        if (typeof action.id === 'string') executeOpts.actionId = action.id;
        return this.execute(user, conv, action.verb ?? '', data, executeOpts);
      }
      case 'Action.Submit':
        return this.submitAction(user, conv, action.data, values, activityOpts);
      default:
        throw new Error(
          `click('${title}'): a ${action.type} does not reach the bot (it acts in the client); ` +
            `press an Action.Execute or Action.Submit`,
        );
    }
  }

  /** Action.Submit, including Teams' msteams imBack/messageBack forms. */
  private submitAction(
    user: SimUser,
    conv: SimConversation,
    data: unknown,
    values: Record<string, string>,
    opts: ActivityOptions,
  ): Promise<TurnResult> {
    if (isRecord(data) && isRecord(data.msteams)) {
      const ms = data.msteams;
      if (ms.type === 'imBack' && typeof ms.value === 'string') {
        return this.say(user, conv, ms.value, { ...opts, mentionBot: false });
      }
      if (ms.type === 'messageBack') {
        const activity = this.activity('message', user, conv, opts);
        activity.textFormat = 'plain';
        if (typeof ms.text === 'string') activity.text = ms.text;
        const base = isRecord(ms.value) ? ms.value : {};
        activity.value = { ...base, ...values };
        activity.channelData.source = { name: 'message' };
        activity.channelData.postBack = true;
        return this.post(activity);
      }
    }
    if (data !== undefined && !isRecord(data)) {
      // Teams sends a non-object data as the value when there are no inputs.
      if (Object.keys(values).length === 0) return this.submitValue(user, conv, data, opts);
    }
    const value: Record<string, unknown> = isRecord(data) ? { ...data, ...values } : { ...values };
    return this.submit(user, conv, value, opts);
  }

  private submitValue(user: SimUser, conv: SimConversation, value: unknown, opts: ActivityOptions): Promise<TurnResult> {
    const activity = this.activity('message', user, conv, opts);
    activity.textFormat = 'plain';
    activity.value = value;
    activity.channelData.source = { name: 'message' };
    activity.channelData.postBack = true;
    return this.post(activity);
  }

  /**
   * Installs the bot: installationUpdate 'add', then conversationUpdate with the bot in
   * membersAdded. In a channel, Teams addresses both to the team (the General channel), whichever
   * channel is given.
   */
  async install(user: SimUser, conv: SimConversation): Promise<TurnResult> {
    const target = this.installTarget(conv);
    this.uninstalled.delete(target.id);
    const first = this.activity('installationUpdate', user, target, {});
    first.action = 'add';
    const a = await this.post(first);
    const second = this.activity('conversationUpdate', user, target, {});
    second.membersAdded = [{ id: this.bot.id }];
    if (target.conversationType === 'channel') second.channelData.eventType = 'teamMemberAdded';
    const b = await this.post(second);
    return { status: b.status >= 400 ? b.status : a.status, body: b.body, sent: [...a.sent, ...b.sent] };
  }

  /**
   * Uninstalls the bot: installationUpdate 'remove', then conversationUpdate with the bot in
   * membersRemoved. Afterwards the connector refuses sends to that conversation with 403, as Teams
   * does once the bot is no longer in the conversation's roster.
   */
  async uninstall(user: SimUser, conv: SimConversation): Promise<TurnResult> {
    const target = this.installTarget(conv);
    const first = this.activity('installationUpdate', user, target, {});
    first.action = 'remove';
    const a = await this.post(first);
    const second = this.activity('conversationUpdate', user, target, {});
    second.membersRemoved = [{ id: this.bot.id }];
    if (target.conversationType === 'channel') second.channelData.eventType = 'teamMemberRemoved';
    // Teams has already taken the bot out of the roster when it tells the bot so.
    this.uninstalled.add(target.id);
    if (target.conversationType === 'channel') {
      for (const c of this.conversations.values()) if (c.teamId === target.teamId) this.uninstalled.add(c.id);
    }
    const b = await this.post(second);
    return { status: b.status >= 400 ? b.status : a.status, body: b.body, sent: [...a.sent, ...b.sent] };
  }

  private installTarget(conv: SimConversation): SimConversation {
    if (conv.conversationType !== 'channel' || !conv.teamName) return conv;
    return this.channel(conv.teamName, 'General');
  }

  /**
   * POSTs any body to the bot's endpoint: an object is sent as JSON, a string as-is (for
   * malformed-request tests). Returns the bot's status, its parsed body and what the connector
   * recorded meanwhile.
   */
  async post(activity: object | string, headers: Record<string, string> = {}): Promise<TurnResult> {
    if (!this.botEndpoint) throw new Error('TeamsSimulator: set botEndpoint before posting activities');
    const collected: Sent[] = [];
    this.collectors.add(collected);
    try {
      const payload = typeof activity === 'string' ? activity : JSON.stringify(activity);
      const { status, text } = await request(this.botEndpoint, payload, {
        'Content-Type': 'application/json; charset=utf-8',
        'User-Agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)',
        ...headers,
      });
      return { status, body: parseJson(text), sent: collected };
    } finally {
      this.collectors.delete(collected);
    }
  }

  /** The skeleton every Teams activity shares. */
  private activity(type: string, user: SimUser, conv: SimConversation, opts: ActivityOptions): any {
    const at = this.now();
    const id = opts.id ?? (type === 'message' ? this.nextMessageId(at) : `f:${randomDigits(19)}`);
    const conversation: Record<string, unknown> = {
      conversationType: conv.conversationType,
      tenantId: conv.tenantId,
      id: conv.id,
    };
    if (conv.conversationType !== 'personal') conversation.isGroup = true;
    if (conv.conversationType === 'groupChat' && conv.name !== undefined) conversation.name = conv.name;
    if (conv.conversationType === 'channel' && this.threadedChannelIds && (type === 'message' || type === 'invoke')) {
      conversation.id = `${conv.id};messageid=${opts.replyToId ?? id}`;
    }
    const channelData: Record<string, unknown> = { tenant: { id: conv.tenantId } };
    if (conv.conversationType === 'channel' && conv.teamName !== undefined) {
      const team = this.teams.get(conv.teamName);
      if (team) {
        channelData.teamsChannelId = conv.channelId ?? conv.id;
        channelData.teamsTeamId = team.id;
        // As Teams does: messages and invokes carry the channel's and team's ids only; their names come
        // on conversation updates (installs), or from the team's channel list (GET /v3/teams/:id/conversations).
        const named = type !== 'message' && type !== 'invoke';
        channelData.channel = named ? { id: conv.channelId ?? conv.id, name: conv.name } : { id: conv.channelId ?? conv.id };
        channelData.team = named ? { id: team.id, name: team.name, aadGroupId: team.aadGroupId } : { id: team.id, aadGroupId: team.aadGroupId };
      }
    }
    const activity: Record<string, unknown> = {
      type,
      id,
      timestamp: new Date(at).toISOString(),
      localTimestamp: localTimestamp(at),
      localTimezone: TIMEZONE,
      serviceUrl: this.serviceUrl,
      channelId: 'msteams',
      from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
      conversation,
      recipient: { id: this.bot.id, name: this.bot.name },
      locale: LOCALE,
      entities: [{ type: 'clientInfo', locale: LOCALE, country: 'GB', platform: 'Web', timezone: TIMEZONE }],
      channelData,
    };
    if (opts.replyToId !== undefined) activity.replyToId = opts.replyToId;
    return activity;
  }

  /** Teams message ids are millisecond timestamps as strings; keep them unique and increasing. */
  private nextMessageId(at: number): string {
    this.lastMessageId = Math.max(this.lastMessageId + 1, Math.floor(at));
    return String(this.lastMessageId);
  }

  private htmlOf(text: string, mentions: any[]): string {
    let html = text.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    mentions.forEach((m: { text: string; mentioned: { name: string } }, i) => {
      const escaped = m.text.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      html = html.replace(
        escaped,
        `<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="${i}">${m.mentioned.name}</span>`,
      );
    });
    return html;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading what the bot sent

  /** Everything delivered to a conversation (a thread suffix ';messageid=...' is ignored). */
  sentTo(conv: SimConversation | string): Sent[] {
    const id = typeof conv === 'string' ? conv : conv.id;
    return this.sent.filter((s) => baseConversationId(s.conversationId) === baseConversationId(id));
  }

  /** Only the message activities (not typing indicators) delivered to a conversation. */
  messagesTo(conv: SimConversation | string): Sent[] {
    return this.sentTo(conv).filter((s) => s.method !== 'DELETE' && isRecord(s.activity) && s.activity.type === 'message');
  }

  /** The Adaptive Card contents among these sent activities. */
  cards(sent: Sent[]): object[] {
    return sent.flatMap((s) => (s.method === 'DELETE' ? [] : adaptiveCardsOf(s.activity)));
  }

  /** The most recent card sent to (or updated in) a conversation, with the Sent carrying it. */
  lastCard(conv: SimConversation): { sent: Sent; card: any } | undefined {
    const sent = this.sentTo(conv);
    for (let i = sent.length - 1; i >= 0; i--) {
      const s = sent[i];
      if (!s || s.method === 'DELETE') continue;
      const cards = adaptiveCardsOf(s.activity);
      const card = cards[cards.length - 1];
      if (card) return { sent: s, card };
    }
    return undefined;
  }

  /**
   * The conversation as a person sees it: each message once, at its latest content (after any
   * updates), without deleted ones, in the order first posted.
   */
  transcript(conv: SimConversation | string): { id: string; activity: any; updated: boolean }[] {
    const order: string[] = [];
    const current = new Map<string, { id: string; activity: any; updated: boolean }>();
    for (const s of this.sentTo(conv)) {
      if (s.method === 'POST') {
        if (!isRecord(s.activity) || s.activity.type !== 'message') continue;
        order.push(s.activityId);
        current.set(s.activityId, { id: s.activityId, activity: s.activity, updated: false });
      } else if (s.method === 'PUT') {
        if (!current.has(s.activityId)) order.push(s.activityId);
        current.set(s.activityId, { id: s.activityId, activity: s.activity, updated: true });
      } else {
        current.delete(s.activityId);
      }
    }
    return order.flatMap((id) => {
      const entry = current.get(id);
      return entry ? [entry] : [];
    });
  }

  /** The card the bot answered an `adaptiveCard/action` invoke with, if any. */
  invokeCard(result: TurnResult): any {
    return invokeResponseCard(result.body);
  }

  /**
   * Fault injection: the next `times` requests matching `match` are answered with `status` (and
   * `headers`, e.g. Retry-After) and a connector-style error body, and are not recorded as
   * delivered. They appear in `failures` and `requests`.
   */
  failNext(
    match: (req: ConnectorRequest) => boolean,
    status: number,
    headers: Record<string, string> = {},
    times = 1,
  ): void {
    this.faults.push({ match, status, headers, remaining: times });
  }

  /**
   * From now on, requests matching `match` are taken in but not answered (a connector that has gone
   * quiet): the bot's send is made and stays in flight, never accepted, until `release`.
   */
  hold(match: (req: ConnectorRequest) => boolean = () => true): void {
    this.holding = match;
  }

  /**
   * Stops holding. Each parked request whose sender still waits is then answered as usual (and
   * recorded); one whose sender hung up meanwhile (see `hungUp`) is dropped, never accepted.
   */
  async release(): Promise<void> {
    this.holding = undefined;
    for (const resume of this.parked.splice(0)) resume();
    await new Promise((resolve) => setImmediate(resolve)); // each parked request has been answered or dropped
  }

  /** Drops any faults not yet triggered. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Forget everything recorded so far (people, conversations and faults are kept). */
  clearRecords(): void {
    this.sent.length = 0;
    this.memberLookups.length = 0;
    this.createdConversations.length = 0;
    this.requests.length = 0;
    this.failures.length = 0;
    this.unknown.length = 0;
    this.held.length = 0;
    this.hungUp.length = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // The connector

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rawSegments = url.pathname.split('/').filter((s) => s.length > 0);
    const segments = rawSegments.map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const text = await readBody(req);
    const body = parseJson(text);
    let at = this.now();
    // Tolerate a path prefix before /v3 (Teams' serviceUrls have one, e.g. /uk/).
    const v3 = segments.indexOf('v3');
    const route = v3 >= 0 ? segments.slice(v3 + 1) : segments;
    const info: ConnectorRequest = { method, path: `/${segments.join('/')}`, body };
    if (route[0] === 'conversations' && route[1] !== undefined) info.conversationId = route[1];

    if (this.holding?.(info)) {
      const entry = { ...info, status: 0, at };
      let parked = true;
      res.once('close', () => {
        if (parked) this.hungUp.push(entry);
      });
      this.held.push(entry);
      await new Promise<void>((resume) => this.parked.push(resume));
      parked = false;
      if (this.hungUp.includes(entry) || req.socket.destroyed) return;
      at = this.now();
    }

    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}): void => {
      this.requests.push({ ...info, status, at });
      res.statusCode = status;
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      if (payload === undefined) {
        res.end();
        return;
      }
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify(payload));
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
      reply(status, { error: { code, message } }, headers);
    };

    const fault = this.faults.find((f) => f.remaining > 0 && f.match(info));
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      this.failures.push({ ...info, status: fault.status, at });
      if (info.conversationId !== undefined && route[3] !== undefined && method === 'GET' && route[2] === 'members') {
        this.memberLookups.push({ conversationId: info.conversationId, memberId: route[3], status: fault.status });
      }
      error(fault.status, errorCodeFor(fault.status), `Injected fault (HTTP ${fault.status})`, fault.headers);
      return;
    }

    const notFound = (): void => {
      this.unknown.push({ ...info, status: 404, at });
      error(404, 'NotFound', `The simulator's connector does not serve ${method} ${info.path}`);
    };

    if (v3 < 0) return notFound();

    // /v3/conversations
    if (route[0] === 'conversations' && route.length === 1) {
      if (method === 'POST') return this.createConversation(body, at, reply, error);
      if (method === 'GET') {
        const conversations = [...this.conversations.values()].map((c) => ({ id: c.id, members: this.membersOf(c.id).map((u) => this.account(u)) }));
        return reply(200, { conversations });
      }
      return notFound();
    }

    if (route[0] === 'conversations' && info.conversationId !== undefined) {
      const conversationId = info.conversationId;
      const [, , resource, itemId, sub] = route;

      if (resource === 'activities' && sub === undefined && (method === 'POST' || method === 'PUT' || method === 'DELETE')) {
        if (method !== 'POST' && itemId === undefined) return notFound();
        if (method === 'POST' && this.uninstalled.has(baseConversationId(conversationId))) {
          this.failures.push({ ...info, status: 403, at });
          return error(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
        }
        if (method === 'POST') {
          const activityId = this.nextMessageId(at);
          const record: Sent = { method, conversationId, activityId, activity: body, at };
          if (itemId !== undefined) record.replyToId = itemId;
          this.record(record);
          return reply(200, { id: activityId });
        }
        const activityId = itemId ?? '';
        this.record({ method, conversationId, activityId, activity: method === 'PUT' ? body : undefined, at });
        return reply(200, method === 'PUT' ? { id: activityId } : undefined);
      }

      if (resource === 'members' && method === 'GET') {
        if (itemId === undefined) return reply(200, this.membersOf(conversationId).map((u) => this.account(u)));
        const user = this.findUser(itemId);
        this.memberLookups.push({ conversationId, memberId: itemId, status: user ? 200 : 404 });
        if (!user) return error(404, 'MemberNotFoundInConversation', 'The member was not found in the conversation.');
        return reply(200, this.account(user));
      }

      if (resource === 'pagedmembers' && method === 'GET') {
        return reply(200, { members: this.membersOf(conversationId).map((u) => this.account(u)) });
      }
    }

    // /v3/teams/:teamId and /v3/teams/:teamId/conversations
    if (route[0] === 'teams' && route[1] !== undefined && method === 'GET') {
      const team = [...this.teams.values()].find((t) => t.id === route[1]);
      if (!team) return error(404, 'NotFound', 'Team not found');
      if (route.length === 2) return reply(200, { id: team.id, name: team.name, aadGroupId: team.aadGroupId });
      if (route[2] === 'conversations' && route.length === 3) {
        const conversations = [...this.conversations.values()]
          .filter((c) => c.teamId === team.id)
          .map((c) => (c.id === team.id ? { id: c.id } : { id: c.id, name: c.name }));
        return reply(200, { conversations });
      }
    }

    return notFound();
  }

  private createConversation(
    body: unknown,
    at: number,
    reply: (status: number, payload?: unknown) => void,
    error: (status: number, code: string, message: string) => void,
  ): void {
    if (!isRecord(body)) return error(400, 'BadArgument', 'Expected conversation parameters');
    const channelData = isRecord(body.channelData) ? body.channelData : {};
    const activity = isRecord(body.activity) ? body.activity : undefined;

    // A new thread in a channel (TeamsInfo.sendMessageToTeamsChannel).
    const channel = isRecord(channelData.channel) ? channelData.channel : undefined;
    if (channel && typeof channel.id === 'string') {
      const channelId = channel.id;
      if (!activity) return error(400, 'BadArgument', 'A new channel thread needs an activity');
      if (this.uninstalled.has(channelId)) {
        return error(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
      }
      const activityId = this.nextMessageId(at);
      const conversationId = `${channelId};messageid=${activityId}`;
      this.createdConversations.push({ conversationId, memberId: channelId, body, at });
      this.record({ method: 'POST', conversationId: channelId, activityId, activity, at });
      return reply(200, { id: conversationId, activityId });
    }

    // A 1:1 chat with a person (proactive messaging): create-or-get.
    const members = Array.isArray(body.members) ? body.members : [];
    const first: unknown = members[0];
    const memberId = isRecord(first) && typeof first.id === 'string' ? first.id : undefined;
    if (!memberId) return error(400, 'BadArgument', 'Expected members[0].id');
    const user = this.findUser(memberId);
    if (!user) return error(404, 'NotFound', `Unknown member ${memberId}`);
    const conv = this.personalChat(user);
    this.createdConversations.push({ conversationId: conv.id, memberId, body, at });
    if (activity) {
      if (this.uninstalled.has(conv.id)) {
        return error(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
      }
      const activityId = this.nextMessageId(at);
      this.record({ method: 'POST', conversationId: conv.id, activityId, activity, at });
      return reply(200, { id: conv.id, activityId });
    }
    return reply(200, { id: conv.id });
  }

  private record(sent: Sent): void {
    this.sent.push(sent);
    for (const collector of this.collectors) collector.push(sent);
  }

  private membersOf(conversationId: string): SimUser[] {
    const base = baseConversationId(conversationId);
    const conv = this.conversations.get(base);
    if (conv && conv.conversationType !== 'channel') return this.members.get(base) ?? [];
    return [...this.users.values()];
  }

  /** The TeamsChannelAccount the connector returns for a person. */
  private account(user: SimUser): Record<string, unknown> {
    const [givenName, ...rest] = user.name.split(' ');
    const email = `${slug(user.key)}@together.example`;
    return {
      id: user.id,
      name: user.name,
      aadObjectId: user.aadObjectId,
      givenName: givenName ?? user.name,
      surname: rest.join(' '),
      email,
      userPrincipalName: email,
      tenantId: user.tenantId,
      userRole: 'user',
    };
  }
}

function isSent(value: object): value is Sent {
  return (
    isRecord(value) &&
    typeof value.method === 'string' &&
    typeof value.activityId === 'string' &&
    typeof value.conversationId === 'string' &&
    'activity' in value
  );
}

/** A channel conversation id without Teams' thread suffix (';messageid=...'). */
export function baseConversationId(id: string): string {
  const i = id.indexOf(';messageid=');
  return i >= 0 ? id.slice(0, i) : id;
}

function randomDigits(n: number): string {
  let out = '';
  const bytes = randomBytes(n);
  for (const b of bytes) out += String(b % 10);
  return out;
}

function request(
  endpoint: string,
  payload: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(payload)) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

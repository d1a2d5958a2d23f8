import { performance } from 'node:perf_hooks';
import { Application, TeamsAdapter } from '@microsoft/teams-ai';
import {
  ActivityTypes,
  ConfigurationServiceClientCredentialFactory,
  MessageFactory,
  TurnContext,
  type Activity,
  type InvokeResponse,
} from 'botbuilder';
import { AuthenticationError, type BotFrameworkAuthentication } from 'botframework-connector';
import type { Config } from '../config';
import { parseActionData, type ActionResult, type ActionSpec } from './actions';
import { cardAttachment } from './cards';
import type { Clock } from './clock';
import { extractMentions, parseCommand, type CommandSpec, type MentionEntity } from './commands';
import type { ConversationStore } from './conversations/store';
import type { DirectoryStore } from './directory/store';
import { mayUse, roleLabel, type Actor } from './identity';
import type { Delivery, InboundLog } from './inbound';
import type { Logger, TurnRecord } from './logging';
import type { Proactive } from './proactive';
import { DEFAULT_PRESS_LIMITS, LogLimiter, PressLimiter, type PressLimits } from './rateLimit';
import { ReusedClients } from './reusedClients';
import { makeTurn, type Turn } from './turn';

/** The adapter, with the authenticated entry point the server uses (so it can answer 400/401/403 itself). */
export class TogetherAdapter extends TeamsAdapter {
  constructor(...args: ConstructorParameters<typeof TeamsAdapter>) {
    super(...args);
    // TeamsAdapter makes its own authentication; wrap it so each turn does not build new outbound clients.
    const self = this as unknown as { botFrameworkAuthentication: BotFrameworkAuthentication };
    self.botFrameworkAuthentication = new ReusedClients(self.botFrameworkAuthentication);
  }

  handle(authHeader: string, activity: Activity, logic: (context: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(authHeader, activity, logic);
  }
}

export interface BotDeps {
  readonly config: Config;
  readonly adapter: TogetherAdapter;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  /** Which messages and invokes have been taken on already (Teams delivers some twice). */
  readonly inbound: InboundLog;
  /** Sends to people's personal chats (answers to presses made in a chat or channel). */
  readonly proactive: Proactive;
  readonly commands: readonly CommandSpec[];
  readonly actions: readonly ActionSpec[];
  /** How many commands and clicks one person may send (default DEFAULT_PRESS_LIMITS). */
  readonly pressLimits?: PressLimits;
  /** Answers `help` and any unknown command. */
  help(turn: Turn, unknown?: string): Promise<void>;
  /** Greets a person, chat or team the bot was just added to. */
  welcome(turn: Turn): Promise<void>;
}

export interface HandledRequest {
  readonly status: number;
  readonly body?: unknown;
}

const ACTION_INVOKE = 'adaptiveCard/action';
const CARD_RESPONSE = 'application/vnd.microsoft.card.adaptive';
const MESSAGE_RESPONSE = 'application/vnd.microsoft.activity.message';
const SORRY = 'Sorry, something went wrong at our end. Please try again in a minute.';

/** The adapter: authenticates inbound requests when BOT_ID is set, and signs outbound calls. */
export function createAdapter(config: Config): TogetherAdapter {
  if (!config.bot) return new TogetherAdapter({});
  const auth = {
    MicrosoftAppId: config.bot.id,
    MicrosoftAppPassword: config.bot.password,
    MicrosoftAppType: config.bot.type === 'UserAssignedMsi' ? 'UserAssignedMSI' : config.bot.type,
    MicrosoftAppTenantId: config.bot.tenantId,
  };
  return new TogetherAdapter(auth, new ConfigurationServiceClientCredentialFactory(auth));
}

export function createBot(deps: BotDeps) {
  const { config, logger, adapter } = deps;
  // Real time (not the injectable clock): these limit how fast requests really come.
  const presses = new PressLimiter(deps.pressLimits ?? DEFAULT_PRESS_LIMITS, () => performance.now());
  const errorLines = new LogLimiter(ERROR_LINES_PER_SENDER, ERROR_WINDOW_MS, () => performance.now());
  adapter.onTurnError = async (context, error) => {
    const record = recordOf(context);
    if (record) record.outcome = 'error';
    const line = errorLines.allow(senderOf(context.activity));
    if (line) logger.error({ err: { message: error.message, stack: error.stack }, activityType: context.activity.type, ...suppressed(line) }, 'turn failed');
    if (context.activity.type === ActivityTypes.Invoke) {
      await sendInvoke(context, { statusCode: 200, type: MESSAGE_RESPONSE, value: SORRY }).catch(() => undefined);
    } else if (context.activity.type === ActivityTypes.Message) {
      await context.sendActivity(SORRY).catch(() => undefined);
    }
  };

  const app = new Application({ adapter, botAppId: config.bot?.id ?? '', removeRecipientMention: true, startTypingTimer: false, longRunningMessages: false });
  const actions = new Map(deps.actions.map((a) => [a.verb, a]));

  app.turn('beforeTurn', async (context) => {
    if (!isLeaving(context.activity)) await deps.conversations.remember(context);
    return true;
  });

  app.activity(ActivityTypes.InstallationUpdate, async (context) => {
    const action = String(context.activity.action ?? '');
    if (action.startsWith('remove')) await deps.conversations.forget(context);
  });

  app.activity(ActivityTypes.ConversationUpdate, async (context) => {
    const botId = context.activity.recipient?.id;
    const activity = context.activity;
    if (activity.membersRemoved?.some((m) => m.id === botId)) {
      await deps.conversations.forget(context);
      return;
    }
    if (activity.membersAdded?.some((m) => m.id === botId)) {
      const turn = await turnFor(context);
      if (turn) await deps.welcome(turn);
    }
  });

  app.activity(ActivityTypes.Message, async (context) => {
    const record = recordOf(context)!;
    const turn = await turnFor(context);
    if (!turn) return;
    const value = context.activity.value as Record<string, unknown> | undefined;
    if (value && typeof value === 'object' && typeof value.verb === 'string') {
      // Action.Submit from a client without Action.Execute: same handlers, answered with a new message.
      const result = await runAction(turn, value.verb, value);
      const answer = 'card' in result ? MessageFactory.attachment(cardAttachment(result.card)) : MessageFactory.text(result.message);
      if (turn.conversation.kind === 'personal') await context.sendActivity(answer);
      else await answerPrivately(turn, answer);
      return;
    }
    const mentions = (context.activity.entities ?? [])
      .filter((e) => e.type === 'mention' && (e as unknown as MentionEntity).mentioned?.id !== context.activity.recipient?.id)
      .map((e) => e as unknown as MentionEntity);
    const input = extractMentions(context.activity.text ?? '', mentions);
    const parsed = parseCommand(deps.commands, input);
    if (!parsed) {
      record.command = input.text ? 'unknown' : 'empty';
      await deps.help(turn, input.text || undefined);
      return;
    }
    record.command = parsed.command.name;
    if (!mayUse(turn.person, parsed.command.audience)) {
      await turn.refuse(await refusal(parsed.command.name, parsed.command.audience));
      return;
    }
    await parsed.command.run(turn, parsed.input);
  });

  app.addRoute(
    async (context) => context.activity.type === ActivityTypes.Invoke && context.activity.name === ACTION_INVOKE,
    async (context) => {
      const action = (context.activity.value as { action?: { verb?: unknown; data?: unknown } } | undefined)?.action;
      const spec = typeof action?.verb === 'string' ? actions.get(action.verb) : undefined;
      const turn = await turnFor(context, spec?.audience === 'everyone' && spec.recentIdentityIsEnough === true);
      const result: ActionResult = turn ? await runAction(turn, action?.verb, action?.data) : { message: NO_IDENTITY };
      await sendInvoke(context, 'card' in result ? { statusCode: 200, type: CARD_RESPONSE, value: result.card } : { statusCode: 200, type: MESSAGE_RESPONSE, value: result.message });
    },
    true,
  );

  async function runAction(turn: Turn, verb: unknown, raw: unknown): Promise<ActionResult> {
    const spec = typeof verb === 'string' ? actions.get(verb) : undefined;
    turn.record.verb = typeof verb === 'string' ? verb.slice(0, 60) : 'none';
    if (!spec) {
      turn.record.outcome = 'invalid';
      return { message: 'That button is not one I know. Type `help` to see what you can do.' };
    }
    if (!mayUse(turn.person, spec.audience)) {
      turn.record.outcome = 'refused';
      return { message: await refusal(null, spec.audience) };
    }
    const parsed = parseActionData(spec, raw);
    if (!parsed.ok) {
      turn.record.outcome = 'invalid';
      logger.info({ verb: spec.verb, problem: parsed.problem }, 'card data refused');
      return { message: 'That card sent something I could not read, so nothing was changed. Please use a fresh card.' };
    }
    return spec.run(turn, parsed.data);
  }

  /**
   * An answer to a press is for the presser (Action.Execute shows it to them alone): from a chat or
   * channel, an Action.Submit press is answered in their personal chat, never where everyone sees it.
   */
  async function answerPrivately(turn: Turn, answer: Partial<Activity>): Promise<void> {
    const here = TurnContext.getConversationReference(turn.context.activity);
    const sent = await deps.proactive.toPerson({ aadObjectId: turn.actor.aadObjectId, teamsId: turn.actor.teamsId, name: turn.actor.name }, here, answer);
    if (!sent) await turn.reply(NOT_PRIVATE);
  }

  async function refusal(command: string | null, audience: 'everyone' | 'rep' | 'coordinator'): Promise<string> {
    const coordinators = (await deps.directory.coordinators()).map((c) => c.name).filter((n) => n);
    const who = coordinators.length > 0 ? ` Your coordinators: ${coordinators.join(', ')}.` : '';
    const what = command ? `\`${command}\`` : 'that';
    return `Only ${roleLabel(audience)} can use ${what}.${who}`;
  }

  async function turnFor(context: TurnContext, recentIsEnough = false): Promise<Turn | undefined> {
    const from = context.activity.from;
    const aad = from?.aadObjectId?.toLowerCase();
    const record = recordOf(context)!;
    if (!aad) {
      record.outcome = 'refused';
      if (context.activity.type === ActivityTypes.Message) await context.sendActivity(NO_IDENTITY);
      return undefined;
    }
    const actor: Actor = { aadObjectId: aad, name: from.name ?? '', teamsId: from.id };
    const person = await deps.directory.resolve(aad, actor.name, recentIsEnough ? 30_000 : 0, actor.teamsId);
    return makeTurn(context, actor, person, record, deps.clock.now());
  }

  /** Runs one authenticated activity; answers 401 for bad credentials and 403 for a tenant outside ALLOWED_TENANTS. */
  async function handle(authHeader: string, activity: Activity): Promise<HandledRequest> {
    const record: TurnRecord = { activityType: String(activity.type).slice(0, 40), outcome: 'ok' };
    if (activity.type === ActivityTypes.Invoke) record.name = String(activity.name ?? '').slice(0, 60);
    const started = performance.now();
    let refusedTenant = false;
    /** A refused press not worth a log line of its own (one is logged when the sender is told to slow down). */
    let quiet = false;
    try {
      const response = await adapter.handle(authHeader, activity, async (context) => {
        context.turnState.set(RECORD, record);
        if (!tenantAllowed(config, context.activity)) {
          refusedTenant = true;
          return;
        }
        if (isPress(context.activity)) {
          // Refused before anything is read or written: a flood costs no storage calls.
          const verdict = presses.take(senderOf(context.activity));
          if (!verdict.allowed) {
            record.outcome = 'limited';
            quiet = !verdict.tell;
            if (context.activity.type === ActivityTypes.Invoke) await sendInvoke(context, { statusCode: 200, type: MESSAGE_RESPONSE, value: SLOW_DOWN });
            else if (verdict.tell) await context.sendActivity(SLOW_DOWN);
            return;
          }
        }
        const delivery = await claimDelivery(context);
        if (delivery?.kind === 'repeat') {
          // Acted on already (or being acted on): answer as the first delivery was answered, run nothing.
          record.outcome = 'ignored';
          if (context.activity.type === ActivityTypes.Invoke) {
            const response = (delivery.response as { statusCode: number; type: string; value: unknown } | undefined) ?? { statusCode: 200, type: MESSAGE_RESPONSE, value: STILL_WORKING };
            await sendInvoke(context, response);
          }
          return;
        }
        let answer: unknown;
        context.onSendActivities(async (_ctx, activities, next) => {
          for (const a of activities) if (a.type === ActivityTypes.InvokeResponse) answer = (a.value as { body?: unknown } | undefined)?.body;
          return next();
        });
        try {
          await app.run(context);
        } catch (err) {
          await delivery?.release();
          throw err;
        }
        await delivery?.finish(answer);
      });
      if (refusedTenant) {
        record.outcome = 'refused';
        return { status: 403, body: { error: 'This tenant is not part of the partnership.' } };
      }
      return { status: response?.status ?? 200, body: response?.body };
    } catch (err) {
      if (err instanceof AuthenticationError || (err as { statusCode?: number }).statusCode === 401 || isTokenError(err)) {
        record.outcome = 'refused';
        return { status: 401, body: { error: 'Unauthorised' } };
      }
      record.outcome = 'error';
      const line = errorLines.allow(senderOf(activity));
      if (line) logger.error({ err: { message: (err as Error).message }, ...suppressed(line) }, 'request failed');
      return { status: 500, body: { error: 'Internal error' } };
    } finally {
      if (!quiet) logger.info({ turn: { ...record, durationMs: Math.round(performance.now() - started) } }, 'turn');
    }
  }

  /**
   * Messages (commands), and presses of buttons marked `once`, are claimed once across instances. Other button presses are not: every action is
   * idempotent by design (its rule sees the stored state and does what is still to do), and claiming
   * each click would add two storage calls to every sign-up in a rush and keep its answer (which can
   * list people) for two days. Installs and joins are idempotent too.
   */
  async function claimDelivery(context: TurnContext): Promise<Delivery | undefined> {
    const { id, conversation } = context.activity;
    if (!id || !conversation?.id) return undefined;
    if (context.activity.type !== ActivityTypes.Message && !(context.activity.type === ActivityTypes.Invoke && onceOnly(context.activity))) return undefined;
    return deps.inbound.claim(conversation.id, id, deps.clock.now());
  }

  /** A press of a button marked `once`. */
  function onceOnly(activity: Activity): boolean {
    if (activity.name !== ACTION_INVOKE) return false;
    const verb = (activity.value as { action?: { verb?: unknown } } | undefined)?.action?.verb;
    return typeof verb === 'string' && actions.get(verb)?.once === true;
  }

  return { adapter, app, handle };
}

const RECORD = Symbol('together.turnRecord');
const SLOW_DOWN = 'You are sending me a lot very quickly, so I have skipped some. Please wait a few seconds and try again.';
/** Error lines one sender may cause a minute; the rest are counted on the next line let through. */
const ERROR_LINES_PER_SENDER = 5;
const ERROR_WINDOW_MS = 60_000;
const NOT_PRIVATE = 'I could not send you the answer in a personal chat. Open a chat with Together and press the button again.';
const STILL_WORKING = 'I am still working on that. Please look again in a moment.';
const NO_IDENTITY = 'I can only work with people signed in to Microsoft Teams with a work or school account.';

/**
 * botframework-connector lets jsonwebtoken's own errors through (a bad signature, a token not yet
 * valid): those are forged or broken credentials, so 401 like any other, not a 500.
 */
function isTokenError(err: unknown): boolean {
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === 'JsonWebTokenError' || name === 'NotBeforeError' || name === 'TokenExpiredError';
}

/** Commands and clicks: what a person sends (installs and joins are not counted). */
function isPress(activity: Activity): boolean {
  return activity.type === ActivityTypes.Message || activity.type === ActivityTypes.Invoke;
}

/** Who sent an activity, for the per-sender limits. */
function senderOf(activity: Partial<Activity>): string {
  return (activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown').toLowerCase();
}

function suppressed(line: { suppressed: number }): { suppressedSinceLast?: number } {
  return line.suppressed > 0 ? { suppressedSinceLast: line.suppressed } : {};
}

function recordOf(context: TurnContext): TurnRecord | undefined {
  return context.turnState.get(RECORD) as TurnRecord | undefined;
}

function isLeaving(activity: Activity): boolean {
  if (activity.type === ActivityTypes.InstallationUpdate) return String(activity.action ?? '').startsWith('remove');
  if (activity.type === ActivityTypes.ConversationUpdate) return !!activity.membersRemoved?.some((m) => m.id === activity.recipient?.id);
  return false;
}

function tenantAllowed(config: Config, activity: Activity): boolean {
  if (config.allowedTenants.length === 0) return true;
  const tenant = (activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? '').toLowerCase();
  return config.allowedTenants.includes(tenant);
}

async function sendInvoke(context: TurnContext, value: { statusCode: number; type: string; value: unknown }): Promise<void> {
  await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body: value } });
}


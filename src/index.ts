import type { Config } from './config';
import type { ActionSpec } from './platform/actions';
import { createAdapter, createBot } from './platform/bot';
import { systemClock, type Clock } from './platform/clock';
import type { CommandSpec } from './platform/commands';
import { CONVERSATIONS_TABLE, ConversationStore } from './platform/conversations/store';
import { directoryRoutes } from './platform/directory/routes';
import { DIRECTORY_TABLE, DirectoryStore } from './platform/directory/store';
import { helpRoutes } from './platform/help';
import { SignedLinks } from './platform/links';
import type { Logger } from './platform/logging';
import { Proactive } from './platform/proactive';
import { startServer, type Download } from './platform/server';
import { Tables, type TableTarget } from './platform/storage/tables';
import { Scheduler, TIMERS_TABLE, Timers, type TimerHandler } from './platform/timers';
import type { Turn } from './platform/turn';
import { attendeeRows, attendeesCsv } from './teachmeets/cards';
import { DEFAULT_OFFER_POLICY, type OfferPolicy } from './teachmeets/model';
import { teachMeetRoutes } from './teachmeets/routes';
import { SWEEP_TIMER, TeachMeetService } from './teachmeets/service';
import { TEACHMEETS_TABLE, TeachMeetStore } from './teachmeets/store';

/**
 * The composition root: builds the storage clients, wires every capability into the bot, starts the
 * server and the scheduler. The only file that knows every capability. The process entry
 * (environment, embedded storage, signals) is main.ts.
 */

export interface TogetherOptions {
  readonly config: Config;
  readonly storage: TableTarget;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Prefix for every table name (tests give each suite its own). */
  readonly tablePrefix?: string;
  /** Port to listen on; defaults to config.port (0 picks a free one). */
  readonly port?: number;
  readonly host?: string;
  /** How often the scheduler ticks; 0 turns the timer off (tests tick by hand). Default 60 s. */
  readonly schedulerIntervalMs?: number;
  readonly offerPolicy?: OfferPolicy;
}

export interface Together {
  readonly url: string;
  readonly port: number;
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly scheduler: Scheduler;
  readonly teachmeets: TeachMeetService;
  close(): Promise<void>;
}

export const TABLES = [DIRECTORY_TABLE, CONVERSATIONS_TABLE, TIMERS_TABLE, TEACHMEETS_TABLE] as const;

export interface Capabilities {
  readonly commands: readonly CommandSpec[];
  readonly actions: readonly ActionSpec[];
  readonly timers: ReadonlyMap<string, TimerHandler>;
  readonly downloads: readonly Download[];
  help(turn: Turn, unknown?: string): Promise<void>;
  welcome(turn: Turn): Promise<void>;
}

export interface CapabilityDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly proactive: Proactive;
  readonly timers: Timers;
  readonly links: SignedLinks;
  readonly offerPolicy: OfferPolicy;
}

/** Every capability's commands, card actions, timers and downloads, in the order help lists them. */
export function wireCapabilities(deps: CapabilityDeps): Capabilities & { teachmeets: TeachMeetService } {
  const { config, logger, directory } = deps;
  const directoryPart = directoryRoutes({ directory, logger, partnershipName: config.partnershipName, localMode: config.localMode });

  const teachMeetStore = new TeachMeetStore(deps.tables, logger);
  const teachmeets = new TeachMeetService({ store: teachMeetStore, directory, proactive: deps.proactive, timers: deps.timers, clock: deps.clock, logger, policy: deps.offerPolicy });
  const csvPath = (eventId: string) => `/api/teachmeets/${eventId}/attendees.csv`;
  const teachMeetPart = teachMeetRoutes({
    service: teachmeets,
    store: teachMeetStore,
    directory,
    proactive: deps.proactive,
    conversations: deps.conversations,
    csvLink: (eventId, now) => ({ url: deps.links.make(csvPath(eventId), new Date(now.getTime() + 15 * 60_000)), validFor: 'for 15 minutes' }),
  });
  const downloads: Download[] = [
    {
      path: '/api/teachmeets/:eventId/attendees.csv',
      async handle(params, query) {
        const eventId = String(params.eventId ?? '');
        if (!/^tm[0-9a-f]{10}$/.test(eventId) || !deps.links.verify(csvPath(eventId), query.exp, query.sig, deps.clock.now())) {
          return { status: 403, contentType: 'text/plain; charset=utf-8', body: 'This link has expired or is not valid. Ask for a new one from the TeachMeet card.' };
        }
        const loaded = await teachmeets.queue.read(eventId);
        if (!loaded) return { status: 404, contentType: 'text/plain; charset=utf-8', body: 'That TeachMeet no longer exists.' };
        const csv = attendeesCsv(attendeeRows(loaded.agg, await teachmeets.schoolNames()));
        return { status: 200, contentType: 'text/csv; charset=utf-8', body: csv, filename: `teachmeet-${eventId}.csv` };
      },
    },
  ];

  let commands: CommandSpec[] = [];
  const help = helpRoutes(config.partnershipName, () => commands);
  commands = [help.command, ...directoryPart.commands, ...teachMeetPart.commands];
  const actions = [...help.actions, ...directoryPart.actions, ...teachMeetPart.actions];
  const timers = new Map<string, TimerHandler>([[SWEEP_TIMER, (key) => teachmeets.sweep(key)]]);
  return { commands, actions, timers, downloads, help: help.help, welcome: help.welcome, teachmeets };
}

/**
 * The capabilities as a running bot would have them, without starting anything: for checks such as
 * "every verb a card names has a route" and "the manifest lists real commands".
 */
export function inspectCapabilities(deps: { config: Config; logger: Logger; tables: Tables; clock?: Clock }): Capabilities {
  const { config, logger, tables } = deps;
  const directory = new DirectoryStore(tables, config.coordinators, logger);
  const conversations = new ConversationStore(tables, logger);
  const proactive = new Proactive(createAdapter(config), config.bot?.id ?? '', conversations, logger);
  return wireCapabilities({
    config,
    logger,
    clock: deps.clock ?? systemClock,
    tables,
    directory,
    conversations,
    proactive,
    timers: new Timers(tables, logger),
    links: new SignedLinks('http://localhost', undefined),
    offerPolicy: DEFAULT_OFFER_POLICY,
  });
}

export async function startTogether(options: TogetherOptions): Promise<Together> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const tables = new Tables(options.storage, options.tablePrefix ?? '');
  await tables.ensure(TABLES);

  const directory = new DirectoryStore(tables, config.coordinators, logger);
  const conversations = new ConversationStore(tables, logger);
  const adapter = createAdapter(config);
  const proactive = new Proactive(adapter, config.bot?.id ?? '', conversations, logger);
  const timers = new Timers(tables, logger);
  const publicUrl = config.publicUrl ?? `http://localhost:${options.port ?? config.port}`;
  const links = new SignedLinks(publicUrl, config.linkSigningKey);

  const capabilities = wireCapabilities({ config, logger, clock, tables, directory, conversations, proactive, timers, links, offerPolicy: options.offerPolicy ?? DEFAULT_OFFER_POLICY });
  const bot = createBot({ config, logger, clock, directory, conversations, adapter, ...capabilities });

  const server = await startServer(
    {
      logger,
      handle: bot.handle,
      downloads: capabilities.downloads,
      async health() {
        try {
          await tables.ping(DIRECTORY_TABLE);
          return { ok: true, detail: { storage: 'ok', partnership: config.partnershipName, mode: config.localMode ? 'local' : 'authenticated' } };
        } catch (err) {
          logger.warn({ err: { message: (err as Error).message } }, 'health check: storage did not answer');
          return { ok: false, detail: { storage: 'unavailable' } };
        }
      },
    },
    options.port ?? config.port,
    options.host,
  );

  const scheduler = new Scheduler(timers, capabilities.timers, clock, logger, options.schedulerIntervalMs ?? 60_000);
  scheduler.start();

  return {
    url: server.url,
    port: server.port,
    tables,
    directory,
    conversations,
    scheduler,
    teachmeets: capabilities.teachmeets,
    async close() {
      await server.close();
      await scheduler.stop();
      await capabilities.teachmeets.settle();
    },
  };
}

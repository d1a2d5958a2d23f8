import type { Config } from './config';
import { createBot } from './platform/bot';
import { systemClock, type Clock } from './platform/clock';
import type { ActionSpec } from './platform/actions';
import type { CommandSpec } from './platform/commands';
import { CONVERSATIONS_TABLE, ConversationStore } from './platform/conversations/store';
import { directoryRoutes } from './platform/directory/routes';
import { DIRECTORY_TABLE, DirectoryStore } from './platform/directory/store';
import { helpRoutes } from './platform/help';
import type { Logger } from './platform/logging';
import { startServer } from './platform/server';
import { Tables, type TableTarget } from './platform/storage/tables';
import type { Turn } from './platform/turn';

/**
 * The composition root: builds the storage clients, wires every capability into the bot, starts the
 * server. The only file that knows every capability. The process entry (environment, embedded
 * storage, signals) is main.ts.
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
}

export interface Together {
  readonly url: string;
  readonly port: number;
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  close(): Promise<void>;
}

export const TABLES = [DIRECTORY_TABLE, CONVERSATIONS_TABLE] as const;

export interface Capabilities {
  readonly commands: readonly CommandSpec[];
  readonly actions: readonly ActionSpec[];
  help(turn: Turn, unknown?: string): Promise<void>;
  welcome(turn: Turn): Promise<void>;
}

/** Every capability's commands and card actions, in the order help lists them. */
export function wireCapabilities(deps: { config: Config; logger: Logger; directory: DirectoryStore }): Capabilities {
  const { config, logger, directory } = deps;
  const directoryPart = directoryRoutes({ directory, logger, partnershipName: config.partnershipName, localMode: config.localMode });
  let commands: CommandSpec[] = [];
  const help = helpRoutes(config.partnershipName, () => commands);
  commands = [help.command, ...directoryPart.commands];
  const actions = [...help.actions, ...directoryPart.actions];
  return { commands, actions, help: help.help, welcome: help.welcome };
}

export async function startTogether(options: TogetherOptions): Promise<Together> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const tables = new Tables(options.storage, options.tablePrefix ?? '');
  await tables.ensure(TABLES);

  const directory = new DirectoryStore(tables, config.coordinators, logger);
  const conversations = new ConversationStore(tables, logger);

  const routes = wireCapabilities({ config, logger, directory });
  const bot = createBot({ config, logger, clock, directory, conversations, ...routes });

  const server = await startServer(
    {
      logger,
      handle: bot.handle,
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

  return {
    url: server.url,
    port: server.port,
    tables,
    directory,
    conversations,
    async close() {
      await server.close();
    },
  };
}

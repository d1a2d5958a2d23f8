import path from 'node:path';
import { describeProblems, loadConfig } from './config';
import { startTogether } from './index';
import { createLogger } from './platform/logging';
import { startAzurite, type EmbeddedAzurite } from './platform/storage/azurite';
import type { TableTarget } from './platform/storage/tables';

/** `npm start`: read the environment, start embedded storage if none is configured, run, stop cleanly. */
async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    console.error(describeProblems(loaded.problems));
    process.exit(1);
  }
  const config = loaded.config;
  const logger = createLogger(config.logLevel);

  if (config.localMode) {
    const banner = 'LOCAL MODE: BOT_ID is not set, so inbound requests are NOT authenticated. Never expose this to the internet.';
    console.warn(`\n${'!'.repeat(banner.length)}\n${banner}\n${'!'.repeat(banner.length)}\n`);
    logger.warn({ mode: 'local' }, banner);
  }

  let azurite: EmbeddedAzurite | undefined;
  let storage: TableTarget;
  switch (config.storage.kind) {
    case 'connectionString':
      storage = { connectionString: config.storage.connectionString };
      break;
    case 'managedIdentity':
      storage = { accountName: config.storage.accountName, clientId: config.storage.clientId };
      break;
    case 'embedded': {
      const location = path.resolve(config.storage.dataDir, 'azurite');
      try {
        azurite = await startAzurite({ location });
      } catch (err) {
        const message = `Together cannot start: ${(err as Error).message}`;
        console.error(message);
        logger.fatal({ err: { message: (err as Error).message } }, 'could not start the embedded storage emulator');
        logger.flush?.();
        process.exit(1);
      }
      storage = { connectionString: azurite.connectionString };
      logger.info({ tablePort: azurite.tablePort, location }, 'started embedded Azurite');
      break;
    }
  }

  let together;
  try {
    together = await startTogether({ config, storage, logger });
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, 'could not start');
    await azurite?.stop();
    process.exit(1);
  }
  logger.info({ port: together.port }, 'Together is listening');
  console.log(
    [
      '',
      `Together is running for ${config.partnershipName}: http://${config.localMode ? 'localhost' : config.host}:${together.port}/api/messages (health: http://localhost:${together.port}/api/health)`,
      'Open it in the Microsoft 365 Agents Playground: in another terminal run `npm run playground`, then open http://localhost:56150 and type "help".',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing turns in flight');
    let code = 0;
    try {
      await together.close();
    } catch (err) {
      code = 1;
      logger.error({ err: { message: (err as Error).message } }, 'could not stop cleanly');
    }
    await azurite?.stop().catch(() => undefined);
    logger.info({ code }, 'stopped');
    logger.flush?.();
    process.exit(code);
  };
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: { message: reason instanceof Error ? reason.message : String(reason) } }, 'unhandled rejection');
  });
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // Without its storage the bot can only answer "Sorry": stop loudly so the operator (or a supervisor) sees it and restarts.
  void azurite?.died.then(async ({ service, code, signal }) => {
    if (stopping) return;
    stopping = true;
    const message = `The embedded storage emulator (Azurite ${service} service) stopped unexpectedly (${signal ?? `exit code ${code}`}). Together is stopping; start it again with npm start.`;
    console.error(`\n${message}\n`);
    logger.fatal({ service, code, signal }, 'embedded storage stopped: Together is stopping');
    await together.close().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
    logger.flush?.();
    process.exit(1);
  });
}

void main();

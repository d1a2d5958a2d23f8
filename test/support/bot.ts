import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config';
import { startTogether, type Together } from '../../src/index';
import type { Clock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logging';
import { storageConnectionString } from './hooks';
import { TeamsSimulator } from './simulator';
import type { PressLimits } from '../../src/platform/rateLimit';

/** A Together instance in-process on an ephemeral port, on the shared test Azurite, with its own tables. */
export interface TestBot {
  readonly together: Together;
  readonly url: string;
  readonly tablePrefix: string;
  /** Every JSON log line the bot wrote. */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
  /** Stops and starts again on the same tables (a restart, or a second instance). */
  restart(): Promise<TestBot>;
  /** Dies as if killed (nothing more sent or written) and, if `restart`, starts again on the same tables. */
  crash(): Promise<void>;
}

export interface TestBotOptions {
  readonly env?: Record<string, string>;
  readonly tablePrefix?: string;
  readonly clock?: Clock;
  /** The scheduler's tick interval; 0 (the default in tests) means tests tick by hand with a controlled clock. */
  readonly schedulerIntervalMs?: number;
  /** How many commands and clicks one person may send (default: the bot's). */
  readonly pressLimits?: PressLimits;
}

export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/**
 * A configuration as the tests run it. With BOT_ID set, what production requires besides (storage,
 * a public URL) is filled in unless the test gives it: the test bot is handed its storage separately.
 */
export function testConfig(env: Record<string, string> = {}): Config {
  const authenticated = env.BOT_ID
    ? { BOT_TYPE: env.BOT_PASSWORD ? 'SingleTenant' : 'UserAssignedMsi', BOT_TENANT_ID: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d', STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', PUBLIC_URL: 'https://together.test' }
    : {};
  const loaded = loadConfig({ PARTNERSHIP_NAME: 'Riverside Schools Together', LOG_LEVEL: 'info', ...authenticated, ...env });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config;
}

export async function startTestBot(options: TestBotOptions = {}): Promise<TestBot> {
  const tablePrefix = options.tablePrefix ?? uniquePrefix();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = testConfig(options.env);
  const together = await startTogether({
    config,
    storage: { connectionString: storageConnectionString() },
    logger: createLogger(config.logLevel, sink),
    clock: options.clock,
    schedulerIntervalMs: options.schedulerIntervalMs ?? 0,
    pressLimits: options.pressLimits,
    tablePrefix,
    port: 0,
    host: '127.0.0.1',
  });
  const bot: TestBot = {
    together,
    url: `${together.url}/api/messages`,
    tablePrefix,
    logs,
    stop: () => together.close(),
    async restart() {
      await together.close();
      return startTestBot({ ...options, tablePrefix });
    },
    crash: () => together.crash(),
  };
  return bot;
}

/** A simulator pointed at a bot, with the usual cast: a coordinator, two reps-to-be and a teacher. */
export async function simulatorFor(bot: TestBot): Promise<TeamsSimulator> {
  const sim = await TeamsSimulator.start();
  sim.botEndpoint = bot.url;
  return sim;
}

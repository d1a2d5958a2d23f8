import { z } from 'zod';

/**
 * One schema over the environment, with Teams Toolkit names. `loadConfig` never throws:
 * it returns every problem at once so the process can say them all in one message.
 */

const csv = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  );

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalText = z.preprocess(emptyToUndefined, z.string().trim().optional());

/** A number of academic years to keep something for, 1 to 50. */
const years = (what: string, fallback: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .regex(/^\d{1,2}$/, `must be a whole number of academic years to keep ${what}, from 1 to 50`)
      .transform(Number)
      .pipe(z.number().min(1, `must be a whole number of academic years to keep ${what}, from 1 to 50`).max(50, `must be a whole number of academic years to keep ${what}, from 1 to 50`))
      .default(fallback),
  );

const EnvSchema = z
  .object({
    NODE_ENV: optionalText,
    PORT: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .trim()
        .regex(/^\d{1,5}$/, 'must be a port number from 0 to 65535')
        .transform(Number)
        .pipe(z.number().max(65535, 'must be a port number from 0 to 65535'))
        .default('3978'),
    ),
    BOT_ID: z.preprocess(emptyToUndefined, z.string().trim().regex(guid, 'must be a GUID (the bot\'s Microsoft App ID)').optional()),
    BOT_PASSWORD: optionalText,
    // No default: Azure no longer creates MultiTenant bots, and guessing the kind of identity wrong only shows as 401s later.
    BOT_TYPE: z.preprocess(emptyToUndefined, z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMsi']).optional()),
    BOT_TENANT_ID: z.preprocess(emptyToUndefined, z.string().trim().regex(guid, 'must be a GUID (the Entra tenant id)').optional()),
    STORAGE_CONNECTION_STRING: optionalText,
    STORAGE_ACCOUNT_NAME: z.preprocess(
      emptyToUndefined,
      z.string().trim().regex(/^[a-z0-9]{3,24}$/, 'must be 3-24 lower-case letters and digits').optional(),
    ),
    DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.data')),
    PARTNERSHIP_NAME: z.preprocess(emptyToUndefined, z.string().trim().max(80).default('Our partnership')),
    COORDINATORS: csv.pipe(z.array(z.string().regex(guid, 'each coordinator must be an Entra object id (a GUID)'))),
    ALLOWED_TENANTS: csv.pipe(z.array(z.string().regex(guid, 'each tenant must be a GUID'))),
    LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
    PUBLIC_URL: z.preprocess(emptyToUndefined, z.string().trim().url('must be the bot\'s public base URL, e.g. https://together.example.org').optional()),
    LINK_SIGNING_KEY: z.preprocess(emptyToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
    SCHEDULER_INTERVAL_SECONDS: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .trim()
        .regex(/^\d{1,4}$/, 'must be a whole number of seconds from 5 to 3600')
        .transform(Number)
        .pipe(z.number().min(5, 'must be a whole number of seconds from 5 to 3600').max(3600, 'must be a whole number of seconds from 5 to 3600'))
        .default('60'),
    ),
    RETENTION_YEARS: years('programme records', '6'),
    DELIVERY_RETENTION_YEARS: years('delivery records', '1'),
    TEAMS_SEND_RATE: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .trim()
        .regex(/^\d{1,4}(\.\d+)?$/, 'must be a number of requests per second, e.g. 50')
        .transform(Number)
        .pipe(z.number().min(1, 'must be at least 1 request per second').max(1000, 'must be at most 1000 requests per second'))
        .default('50'),
    ),
  });

/**
 * Problems that depend on several settings. Checked on the raw environment (not on the parsed one)
 * so they are reported even when another setting has a problem of its own: one message lists them all.
 */
function crossProblems(raw: Record<string, string | undefined>): string[] {
  const value = (name: string) => {
    const v = raw[name]?.trim();
    return v ? v : undefined;
  };
  const problems: string[] = [];
  const production = value('NODE_ENV')?.toLowerCase() === 'production';
  if (value('STORAGE_CONNECTION_STRING') && value('STORAGE_ACCOUNT_NAME')) {
    problems.push('STORAGE_ACCOUNT_NAME: set either STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_NAME, not both');
  }
  const connection = value('STORAGE_CONNECTION_STRING') ?? '';
  if (production && (/UseDevelopmentStorage=true/i.test(connection) || /devstoreaccount1|Endpoint=https?:\/\/(127\.|localhost)/i.test(connection))) {
    problems.push('STORAGE_CONNECTION_STRING: is the development storage emulator, which is not for NODE_ENV=production (it saves every 5 s and keeps each instance apart)');
  }
  const publicUrl = value('PUBLIC_URL');
  if (value('BOT_ID') && publicUrl && !/^https:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(publicUrl)) {
    problems.push('PUBLIC_URL: must be the https:// address people reach the bot at, with no ? or # (e.g. https://together.example.org)');
  } else if (value('BOT_ID') && publicUrl && /^https:\/\/(localhost|127\.)/i.test(publicUrl)) {
    problems.push("PUBLIC_URL: must be the bot's public address, not this machine's");
  }
  if ((production || value('BOT_ID')) && !value('STORAGE_CONNECTION_STRING') && !value('STORAGE_ACCOUNT_NAME')) {
    // The embedded emulator saves every 5 s (a crash loses confirmed writes) and each instance would have its own store.
    problems.push(
      `STORAGE_ACCOUNT_NAME or STORAGE_CONNECTION_STRING: one is required when ${production ? 'NODE_ENV=production' : 'BOT_ID is set'} (the embedded storage emulator is for development only)`,
    );
  }
  if (!value('BOT_ID')) {
    if (production) {
      problems.push('BOT_ID: is required when NODE_ENV=production (local mode turns inbound authentication off)');
    }
    if (value('BOT_PASSWORD')) problems.push('BOT_PASSWORD: is set but BOT_ID is not');
    return problems;
  }
  const botType = value('BOT_TYPE');
  if (!botType) {
    problems.push('BOT_TYPE: is required when BOT_ID is set: UserAssignedMsi (a managed identity, as infra/ provisions) or SingleTenant (an app registration with a secret)');
  }
  const knownType = botType !== undefined && ['MultiTenant', 'SingleTenant', 'UserAssignedMsi'].includes(botType);
  if (knownType && botType !== 'UserAssignedMsi' && !value('BOT_PASSWORD')) {
    problems.push(`BOT_PASSWORD: is required for BOT_TYPE=${botType}`);
  }
  if (botType === 'UserAssignedMsi' && value('BOT_PASSWORD')) {
    problems.push('BOT_PASSWORD: must not be set for BOT_TYPE=UserAssignedMsi (the managed identity has no secret)');
  }
  if (knownType && botType !== 'MultiTenant' && !value('BOT_TENANT_ID')) {
    problems.push(`BOT_TENANT_ID: is required for BOT_TYPE=${botType}`);
  }
  if (!(raw.ALLOWED_TENANTS ?? '').split(',').some((part) => part.trim().length > 0)) {
    problems.push("ALLOWED_TENANTS: must list the partnership's tenant ids when BOT_ID is set (any tenant is allowed in local mode only)");
  }
  if (!value('PUBLIC_URL')) {
    problems.push('PUBLIC_URL: is required when BOT_ID is set (download links must reach the bot, not localhost)');
  }
  if (!value('BOT_PASSWORD') && !value('LINK_SIGNING_KEY')) {
    problems.push('LINK_SIGNING_KEY: is required when there is no BOT_PASSWORD to derive it from (every instance must sign download links alike)');
  }
  return problems;
}

export type StorageTarget =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'managedIdentity'; accountName: string; clientId?: string }
  | { kind: 'embedded'; dataDir: string };

export interface Config {
  readonly production: boolean;
  readonly port: number;
  /** Local mode: no BOT_ID, inbound authentication off. */
  readonly localMode: boolean;
  readonly bot: Readonly<{ id: string; password?: string; type: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMsi'; tenantId?: string }> | undefined;
  /** Where the server listens: loopback only in local mode (an unauthenticated bot must not be reachable from the network). */
  readonly host: string;
  readonly storage: StorageTarget;
  readonly dataDir: string;
  readonly partnershipName: string;
  readonly coordinators: readonly string[];
  readonly allowedTenants: readonly string[];
  readonly logLevel: string;
  /** Base URL people's browsers reach the bot at (for download links); defaults to http://localhost:PORT. */
  readonly publicUrl?: string;
  /** Secret for short-lived download links; a random one per process when unset (fine for one instance). */
  readonly linkSigningKey?: string;
  /** Requests per second the bot may make to Teams, shared by all its instances (announcement fan-out). */
  readonly sendRatePerSecond: number;
  /** How often the scheduler ticks in each instance (timers, the nudge round). */
  readonly schedulerIntervalMs: number;
  /** Academic years programme records and delivery records are kept for (platform/retention.ts). */
  readonly retention: Readonly<{ programmeYears: number; deliveryYears: number }>;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const parsed = EnvSchema.safeParse(env);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`)),
    ...crossProblems(env),
  ];
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const e = parsed.data;
  const storage: StorageTarget = e.STORAGE_CONNECTION_STRING
    ? { kind: 'connectionString', connectionString: e.STORAGE_CONNECTION_STRING }
    : e.STORAGE_ACCOUNT_NAME
      ? // A user-assigned identity is the bot's own (BOT_ID is its client id); DefaultAzureCredential needs telling which.
        { kind: 'managedIdentity', accountName: e.STORAGE_ACCOUNT_NAME, ...(e.BOT_TYPE === 'UserAssignedMsi' ? { clientId: e.BOT_ID } : {}) }
      : { kind: 'embedded', dataDir: e.DATA_DIR };
  const config: Config = {
    production: e.NODE_ENV?.toLowerCase() === 'production',
    port: e.PORT,
    localMode: !e.BOT_ID,
    bot: e.BOT_ID
      ? Object.freeze({ id: e.BOT_ID, password: e.BOT_PASSWORD, type: e.BOT_TYPE!, tenantId: e.BOT_TENANT_ID })
      : undefined,
    host: e.BOT_ID ? '0.0.0.0' : '127.0.0.1',
    storage,
    dataDir: e.DATA_DIR,
    partnershipName: e.PARTNERSHIP_NAME,
    coordinators: Object.freeze(e.COORDINATORS.map((id) => id.toLowerCase())),
    allowedTenants: Object.freeze(e.ALLOWED_TENANTS.map((id) => id.toLowerCase())),
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL,
    linkSigningKey: e.LINK_SIGNING_KEY,
    sendRatePerSecond: e.TEAMS_SEND_RATE,
    schedulerIntervalMs: e.SCHEDULER_INTERVAL_SECONDS * 1000,
    retention: Object.freeze({ programmeYears: e.RETENTION_YEARS, deliveryYears: e.DELIVERY_RETENTION_YEARS }),
  };
  return { ok: true, config: Object.freeze(config) };
}

/** The one message printed when the configuration is wrong. */
export function describeProblems(problems: string[]): string {
  return ['Together cannot start: the configuration has problems:', ...problems.map((p) => `  - ${p}`), 'See the configuration table in README.md.'].join('\n');
}

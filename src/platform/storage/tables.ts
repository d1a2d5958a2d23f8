import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { z } from 'zod';
import type { Logger } from '../logging';

/** Where Table Storage is: a connection string (Azure or Azurite) or an account reached with managed identity. */
export type TableTarget = { connectionString: string } | { accountName: string; clientId?: string };

/** The managed identity that reaches an account: a user-assigned one by its client id, else whatever DefaultAzureCredential finds. */
export function storageCredential(target: { accountName: string; clientId?: string }): DefaultAzureCredential {
  return new DefaultAzureCredential(target.clientId ? { managedIdentityClientId: target.clientId } : undefined);
}

/**
 * The one TableClient factory. Every table name gets the prefix (empty in production; a unique one per
 * test suite so suites sharing one Azurite never see each other's rows). Counts storage calls for benchmarks.
 */
export class Tables {
  private readonly clients = new Map<string, TableClient>();
  private readonly credential: DefaultAzureCredential | undefined;
  private calls = 0;
  private readonly counter: PipelinePolicy = {
    name: 'togetherStorageCallCounter',
    sendRequest: (request, next) => {
      this.calls += 1;
      return next(request);
    },
  };

  constructor(
    private readonly target: TableTarget,
    private readonly prefix = '',
  ) {
    this.credential = 'accountName' in target ? storageCredential(target) : undefined;
  }

  /** Storage requests made so far by every client from this factory. */
  get callCount(): number {
    return this.calls;
  }

  client(name: string): TableClient {
    const full = `${this.prefix}${name}`;
    let client = this.clients.get(full);
    if (!client) {
      client =
        'connectionString' in this.target
          ? TableClient.fromConnectionString(this.target.connectionString, full, { allowInsecureConnection: isLoopback(this.target.connectionString) })
          : new TableClient(`https://${this.target.accountName}.table.core.windows.net`, full, this.credential!);
      client.pipeline.addPolicy(this.counter);
      this.clients.set(full, client);
    }
    return client;
  }

  /** Creates the tables if they are missing (a 409 "already exists" is fine). */
  async ensure(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => this.client(name).createTable()));
  }

  /** Answers when storage answers: a point read of a row that need not exist. */
  async ping(name: string, timeoutMs = 3000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.client(name).getEntity('health', 'probe', { abortSignal: signal });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
  }

  /** For tests and tools: removes this factory's tables. */
  async dropAll(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => this.client(name).deleteTable()));
  }

  serviceClient(): TableServiceClient {
    return 'connectionString' in this.target
      ? TableServiceClient.fromConnectionString(this.target.connectionString, { allowInsecureConnection: isLoopback(this.target.connectionString) })
      : new TableServiceClient(`https://${this.target.accountName}.table.core.windows.net`, this.credential!);
  }
}

function isLoopback(connectionString: string): boolean {
  return /UseDevelopmentStorage=true/i.test(connectionString) || /Endpoint=http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/i.test(connectionString);
}

/** HTTP status of an Azure SDK error (Azurite's 412 may come without `code`). */
export function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/**
 * Encodes an external id (Teams ids contain ':' and may contain characters keys forbid: / \ # ?)
 * into a safe, reversible key.
 */
export function encodeKey(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeKey(key: string): string {
  return Buffer.from(key, 'base64url').toString('utf8');
}

/** Validates a stored row; a row that does not parse is logged and skipped, never crashes a turn. */
export function parseRow<S extends z.ZodTypeAny>(schema: S, row: Record<string, unknown>, logger: Logger, table: string): z.infer<S> | undefined {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  logger.warn({ table, partitionKey: row.partitionKey, rowKey: row.rowKey, problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'skipped a stored row that does not parse');
  return undefined;
}

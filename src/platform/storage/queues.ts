import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { storageCredential, type TableTarget } from './tables';

/**
 * The one QueueClient factory (Azure Storage Queues; Azurite locally and in tests), from the same
 * storage target as the tables: a connection string (its QueueEndpoint, or the account's default
 * queue endpoint; `UseDevelopmentStorage=true` for a local Azurite) or an account reached with
 * managed identity (DefaultAzureCredential) at https://<account>.queue.core.windows.net.
 *
 * Queue names get the same prefix as tables, so test suites sharing one Azurite keep apart. Queue
 * names may only hold lower-case letters, digits and single hyphens (3-63 characters), so the
 * prefix is lower-cased and joined with a hyphen: prefix 'tA1b2', queue 'announce-send' →
 * 'ta1b2-announce-send'.
 */
export class Queues {
  private readonly clients = new Map<string, QueueClient>();
  private readonly service: QueueServiceClient;
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(
    target: TableTarget,
    private readonly prefix = '',
  ) {
    this.service =
      'connectionString' in target
        ? QueueServiceClient.fromConnectionString(target.connectionString)
        : new QueueServiceClient(`https://${target.accountName}.queue.core.windows.net`, storageCredential(target));
  }

  /** The full name of a queue: the prefix, lower-cased, then the name. Throws for a name Azure would refuse. */
  name(name: string): string {
    return queueName(this.prefix, name);
  }

  client(name: string): QueueClient {
    const full = this.name(name);
    let client = this.clients.get(full);
    if (!client) {
      client = this.service.getQueueClient(full);
      this.clients.set(full, client);
    }
    return client;
  }

  /** Creates the queues if they are missing; once per process per queue (a failure is retried on the next call). */
  async ensure(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map((name) => {
        const full = this.name(name);
        let done = this.ensured.get(full);
        if (!done) {
          done = this.client(name)
            .createIfNotExists()
            .then(() => undefined);
          done.catch(() => this.ensured.delete(full));
          this.ensured.set(full, done);
        }
        return done;
      }),
    );
  }

  /** For tests and tools: removes this factory's queues. */
  async dropAll(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => this.client(name).deleteIfExists()));
    for (const name of names) this.ensured.delete(this.name(name));
  }
}

const VALID = /^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/;

/** Pure: prefix + name as an Azure queue name (lower-case letters, digits, single hyphens, 3-63 characters). */
export function queueName(prefix: string, name: string): string {
  const cleanPrefix = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  const full = cleanPrefix ? `${cleanPrefix}-${name}` : name;
  if (!VALID.test(full)) throw new Error(`"${full}" is not a valid queue name (lower-case letters, digits and single hyphens, 3-63 characters)`);
  return full;
}

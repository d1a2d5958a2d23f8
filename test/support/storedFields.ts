import { TableClient, TableServiceClient } from '@azure/data-tables';

/**
 * Every property name stored in every table of an Azurite, by table name without the test prefix
 * (suites prefix their tables with 't' and ten hex digits, see uniquePrefix). The keys and the
 * service's own columns are left out. Used to hold the data inventory to what the code really stores.
 */
export async function storedFields(connectionString: string): Promise<Map<string, Set<string>>> {
  const options = { allowInsecureConnection: true };
  const service = TableServiceClient.fromConnectionString(connectionString, options);
  const fields = new Map<string, Set<string>>();
  for await (const table of service.listTables()) {
    const name = table.name ?? '';
    const bare = name.replace(/^t[0-9a-f]{10}/, '');
    const seen = fields.get(bare) ?? new Set<string>();
    fields.set(bare, seen);
    const client = TableClient.fromConnectionString(connectionString, name, options);
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      for (const key of Object.keys(entity)) {
        if (['partitionKey', 'rowKey', 'timestamp', 'etag', 'odata.metadata'].includes(key) || key.endsWith('@odata.type')) continue;
        seen.add(key);
      }
    }
  }
  return fields;
}

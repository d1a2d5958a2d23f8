import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';

/** Runs `run` over `items`, `width` at a time (seeding storage quickly without flooding it). */
export async function inParallel<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

/**
 * Counts the entities in the responses to GET requests, per table, through a policy on each table
 * client's pipeline: what the nudge and impact benchmarks read against a whole-table scan.
 */
export class EntityCounter {
  readonly byTable = new Map<string, number>();
  requests = 0;

  constructor(private readonly name: string) {}

  attach(client: TableClient, table: string): void {
    const policy: PipelinePolicy = {
      name: `${this.name}.${table}`,
      sendRequest: async (request, next) => {
        this.requests += 1;
        const response = await next(request);
        if (request.method === 'GET' && response.status === 200) {
          let n = 1;
          try {
            const body = JSON.parse(response.bodyAsText ?? '{}') as { value?: unknown[] };
            if (Array.isArray(body.value)) n = body.value.length;
          } catch {
            n = 1;
          }
          this.byTable.set(table, (this.byTable.get(table) ?? 0) + n);
        }
        return response;
      },
    };
    client.pipeline.addPolicy(policy);
  }

  reset(): void {
    this.byTable.clear();
    this.requests = 0;
  }

  total(): number {
    return [...this.byTable.values()].reduce((a, b) => a + b, 0);
  }
}

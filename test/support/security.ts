import assert from 'node:assert/strict';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { inspectCapabilities, type Capabilities } from '../../src/index';
import { createLogger } from '../../src/platform/logging';
import { Tables } from '../../src/platform/storage/tables';
import { testConfig, uniquePrefix } from './bot';
import { INBOUND_TABLE } from '../../src/platform/inbound';
import { storageConnectionString } from './hooks';

/** What the security suites share: what storage holds, and what must never reach a person. */

/**
 * What storage holds under `prefix`, one text per row (ETags included, so a rewrite of a row with the
 * same content still counts as a change), less the record of deliveries (every message is recorded
 * there, refused or not) and the rows' server timestamps.
 */
export async function stored(prefix: string): Promise<string[]> {
  const connection = storageConnectionString();
  const service = TableServiceClient.fromConnectionString(connection, { allowInsecureConnection: true });
  const rows: string[] = [];
  for await (const table of service.listTables()) {
    if (!table.name?.startsWith(prefix) || table.name === `${prefix}${INBOUND_TABLE}`) continue;
    const client = TableClient.fromConnectionString(connection, table.name, { allowInsecureConnection: true });
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      const { timestamp: _timestamp, ...row } = entity;
      rows.push(`${table.name}: ${JSON.stringify(row)}`);
    }
  }
  return rows.sort();
}

/** What changed between two snapshots from `stored`, for a failure message. */
export function changes(before: readonly string[], after: readonly string[]): string {
  const was = new Set(before);
  const is = new Set(after);
  const gone = before.filter((r) => !is.has(r)).map((r) => `- ${r.slice(0, 400)}`);
  const come = after.filter((r) => !was.has(r)).map((r) => `+ ${r.slice(0, 400)}`);
  return [...gone, ...come].slice(0, 12).join('\n');
}

/** Signs of an internal error: a stack frame, an exception's name, a validator's own words, the generic apology. */
const INTERNAL = /\n\s+at .+:\d+:\d+|TypeError|ReferenceError|RangeError|SyntaxError|ZodError|node:internal|Internal error|Sorry, something went wrong|\[object Object\]|undefined is not|Cannot read propert/;

/** Asserts a person is shown nothing of the bot's insides. */
export function assertNothingInternal(text: string, what = 'what a person was shown'): void {
  assert.doesNotMatch(text, INTERNAL, `no stack trace or internal error reaches a person (${what}): ${text.slice(0, 600)}`);
}

/** The field names a card action's data schema reads (through refinements, defaults and the like). */
export function fieldsOf(schema: z.ZodTypeAny): string[] {
  let s: z.ZodTypeAny = schema;
  for (let i = 0; i < 10; i++) {
    if (s instanceof z.ZodObject) return Object.keys(s.shape as Record<string, unknown>);
    if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodPipeline) s = s._def.in as z.ZodTypeAny;
    else if (s instanceof z.ZodUnion || s instanceof z.ZodDiscriminatedUnion) return [...new Set((s.options as z.ZodTypeAny[]).flatMap((o) => fieldsOf(o)))];
    else if (s instanceof z.ZodIntersection) return [...fieldsOf(s._def.left as z.ZodTypeAny), ...fieldsOf(s._def.right as z.ZodTypeAny)];
    else return [];
  }
  return [];
}

/** Every command and card verb the bot has, read from the route definitions (so a new one is covered the day it is added). */
export function routeDefinitions(): Capabilities {
  const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
  return inspectCapabilities({ config: testConfig(), logger: silent, tables: new Tables({ connectionString: 'UseDevelopmentStorage=true' }, uniquePrefix()) });
}

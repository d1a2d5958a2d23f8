import { setTimeout as sleep } from 'node:timers/promises';
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { statusOf } from '../storage/tables';
import type { Effect, Outbox } from './outbox';

/**
 * The one way a change is made: load the aggregate, let its pure rule decide, and commit the new
 * rows and the change's effects in one transaction under the head row's ETag (outbox.ts). When
 * someone else committed first, it reads again and lets the rule decide on their result, so both
 * changes stand (or this one is refused for a reason that now holds). One retry policy for every
 * capability: up to MAX_ATTEMPTS, with a short random pause that grows, so two writers that keep
 * colliding drift apart.
 */

const MAX_ATTEMPTS = 12;

/** What a decision writes: the aggregate's rows (the head under its ETag) and the effects, in one partition. */
export interface Write {
  readonly table: string;
  readonly partitionKey: string;
  readonly actions: readonly TransactionAction[];
  readonly effects: readonly Effect[];
  /** Orders this commit's effects after earlier ones (the aggregate's revision, zero-padded). */
  readonly stamp: string;
}

export type Decision<V, R> = { readonly ok: true; readonly write: Write; readonly value: V } | { readonly ok: false; readonly refusal: R };

export type Changed<L, V, R> =
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly refusal: R; readonly loaded: L }
  | { readonly kind: 'done'; readonly loaded: L; readonly value: V; readonly delivered: Promise<void> };

export async function change<L, V, R>(outbox: Outbox, load: () => Promise<L | undefined>, decide: (loaded: L) => Decision<V, R> | Promise<Decision<V, R>>, what = 'a change'): Promise<Changed<L, V, R>> {
  return untilWritten<Changed<L, V, R>>(what, async () => {
    const loaded = await load();
    if (loaded === undefined) return { kind: 'missing' };
    const decision = await decide(loaded);
    if (!decision.ok) return { kind: 'refused', refusal: decision.refusal, loaded };
    const { table, partitionKey, actions, effects, stamp } = decision.write;
    const committed = await outbox.commit(table, partitionKey, actions, effects, stamp);
    return committed ? { kind: 'done', loaded, value: decision.value, delivered: committed.delivered } : undefined;
  });
}

/** The pause after a conflict: short, random, growing, so two writers that keep colliding drift apart. */
function conflictPause(attempt: number): Promise<void> {
  return sleep(5 + Math.floor(Math.random() * 20 * (attempt + 1)));
}

/**
 * For a change a store writes its own way (several rows under their ETags): `attempt` reads, decides
 * and writes, and answers undefined when someone else changed the rows first; it is then tried again
 * after the same pause as `change`, with the same retry policy.
 */
export async function untilWritten<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  for (let n = 0; n < MAX_ATTEMPTS; n += 1) {
    const done = await attempt();
    if (done !== undefined) return done;
    await conflictPause(n);
  }
  throw new Error(`${what} kept changing under us`);
}

/** One row as read with its ETag (undefined ETag: the row does not exist yet). */
export interface Versioned<T> {
  readonly value: T;
  readonly etag?: string;
}

/**
 * The kernel for a change to one row that tells nobody (a setting, a list, a registry entry): read it
 * with its ETag, decide (pure), write it (created if it was absent, else replaced under the ETag), and
 * on a conflict read and decide again, with the same retry policy as `change`. `decide` returns the
 * entity to write and the value to return, `{ skip }` to write nothing (already so), or a refusal.
 */
export async function changeRow<T, V, R = never>(
  table: TableClient,
  read: () => Promise<Versioned<T>>,
  decide: (current: T, etag: string | undefined) => { readonly write: TableEntity; readonly value: V } | { readonly skip: V } | { readonly refused: R },
  what = 'a row',
): Promise<{ readonly ok: true; readonly value: V } | { readonly ok: false; readonly refusal: R }> {
  return untilWritten(what, async () => {
    const current = await read();
    const decided = decide(current.value, current.etag);
    if ('refused' in decided) return { ok: false as const, refusal: decided.refused };
    if ('skip' in decided) return { ok: true as const, value: decided.skip };
    try {
      if (current.etag) await table.updateEntity(decided.write, 'Replace', { etag: current.etag });
      else await table.createEntity(decided.write);
      return { ok: true as const, value: decided.value };
    } catch (err) {
      const status = statusOf(err);
      if (status !== 412 && status !== 409 && status !== 404) throw err;
      return undefined;
    }
  });
}

/** A revision as a stamp that sorts (effects of revision 10 after those of 9). */
export function stampOf(revision: number): string {
  return String(revision).padStart(10, '0');
}

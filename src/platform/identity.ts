import { randomUUID } from 'node:crypto';

/** Who is acting, taken from the Teams identity of the activity, never from card data. */
export interface Actor {
  /** Entra object id, lower case. */
  readonly aadObjectId: string;
  readonly name: string;
  /** The Teams user id ('29:...'). */
  readonly teamsId: string;
}

export interface Person {
  readonly aadObjectId: string;
  readonly name: string;
  /** The school this person belongs to (a rep's school, or the school a teacher chose). */
  readonly schoolId?: string;
  readonly isRep: boolean;
  readonly isCoordinator: boolean;
  /** True when the coordinator role comes from the COORDINATORS setting (it cannot be removed from Teams). */
  readonly coordinatorFromConfig: boolean;
}

export type Audience = 'everyone' | 'rep' | 'coordinator';

/** Whether a person may use something meant for `audience`. Coordinators may do what reps may. */
export function mayUse(person: Person, audience: Audience): boolean {
  switch (audience) {
    case 'everyone':
      return true;
    case 'rep':
      return person.isRep || person.isCoordinator;
    case 'coordinator':
      return person.isCoordinator;
  }
}

export function roleLabel(audience: Audience): string {
  switch (audience) {
    case 'everyone':
      return 'everyone';
    case 'rep':
      return 'school reps and coordinators';
    case 'coordinator':
      return 'coordinators';
  }
}

/**
 * Erasure's pseudonyms (see privacy/erasure.ts): what replaces an erased person's Entra object id (and
 * their personal chat's id) in the rows that outlive them. A prefix no Entra object id has (those are
 * GUIDs), so anything that would reach a person can tell, from the id alone, that there is nobody to
 * reach: the outbox drops a message to one quietly rather than asking Teams for a chat that cannot exist.
 */
export const ERASED_PREFIX = 'erased-';

/** A new pseudonym for one erasure: random, so it leads to nobody, and marked as erased. */
export function newPseudonym(): string {
  return `${ERASED_PREFIX}${randomUUID()}`;
}

/** Whether an id (an Entra object id, or a conversation id) is an erasure's pseudonym: there is nobody behind it to reach. */
export function isErased(id: string | undefined): boolean {
  return typeof id === 'string' && id.toLowerCase().startsWith(ERASED_PREFIX);
}

import { randomUUID } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import type { Logger } from '../logging';
import { changeRow } from '../outbox/kernel';
import { parseRow, statusOf, type Tables } from '../storage/tables';
import type { Person } from '../identity';
import { nameKey, type School } from './rules';

/**
 * The partnership directory in Table Storage: schools, people (reps, coordinators, teachers who chose
 * their school) and channel roles. Everything sits in one partition so a change that touches several
 * rows (removing a school and its reps) is one entity-group transaction, and every update is guarded
 * by the row's ETag.
 */

export const DIRECTORY_TABLE = 'Directory';
const PK = 'partnership';

const SchoolRow = z.object({ rowKey: z.string().startsWith('school|'), name: z.string().min(1), etag: z.string().optional() });
const PersonRow = z.object({
  rowKey: z.string().startsWith('person|'),
  name: z.string(),
  schoolId: z.string().default(''),
  rep: z.boolean().default(false),
  coordinator: z.boolean().default(false),
  teamsId: z.string().default(''),
  etag: z.string().optional(),
});
const ChannelRow = z.object({ rowKey: z.string().startsWith('channel|'), conversationId: z.string().min(1), label: z.string().default('') });

export type ChannelRole = { kind: 'announcements' } | { kind: 'reps' } | { kind: 'school'; schoolId: string };

export interface ChannelAssignment {
  readonly role: ChannelRole;
  readonly conversationId: string;
  readonly label: string;
}

export interface StoredPerson {
  readonly aadObjectId: string;
  readonly name: string;
  readonly schoolId?: string;
  readonly isRep: boolean;
  readonly isCoordinator: boolean;
  /**
   * A rep's or coordinator's Teams user id (29:…), from the @mention that gave them the role or from
   * their own last activity: shared cards list it in `refresh.userIds` so Teams fetches their own view.
   * Kept only while they have a role (data minimisation).
   */
  readonly teamsId?: string;
}

/** Whether a person's Teams id is kept: only reps' and coordinators' (shared cards refresh for them). */
export const keepsTeamsId = (p: Pick<StoredPerson, 'isRep' | 'isCoordinator'>): boolean => p.isRep || p.isCoordinator;

export type Change<T = void> = { ok: true; value: T } | { ok: false; reason: 'exists' | 'missing' | 'conflict' };

const schoolKey = (id: string) => `school|${id}`;
const nameRowKey = (name: string) => `schoolname|${Buffer.from(nameKey(name)).toString('base64url')}`;
const personKey = (aad: string) => `person|${aad.toLowerCase()}`;
const channelKey = (role: ChannelRole) => `channel|${role.kind === 'school' ? `school:${role.schoolId}` : role.kind}`;

export class DirectoryStore {
  private readonly table: TableClient;
  /** Short-lived copies for high-volume, low-privilege turns (a sign-up rush); cleared by any write here. */
  private readonly people = new Map<string, { at: number; person: Person; teamsId: string; keepsTeamsId: boolean }>();
  private schoolList: { at: number; schools: Promise<School[]> } | undefined;
  /** Every person row, read in one query and shared by the high-volume turns for up to their maxAgeMs. */
  private peopleList: { at: number; rows: Promise<Map<string, StoredPerson>> } | undefined;

  constructor(
    tables: Tables,
    private readonly configCoordinators: readonly string[],
    private readonly logger: Logger,
  ) {
    this.table = tables.client(DIRECTORY_TABLE);
  }

  /** The schools, read fresh unless `maxAgeMs` allows a copy this instance read recently. */
  async schools(maxAgeMs = 0): Promise<School[]> {
    if (maxAgeMs > 0 && this.schoolList && Date.now() - this.schoolList.at <= maxAgeMs) return this.schoolList.schools;
    // Callers arriving while the read is in flight share it (a rush on a fresh instance reads once, not once per click).
    const list = { at: Date.now(), schools: this.readSchools() };
    this.schoolList = list;
    list.schools.catch(() => {
      if (this.schoolList === list) this.schoolList = undefined;
    });
    return list.schools;
  }

  /**
   * Every stored person, from one query shared by callers for up to `maxAgeMs`. The same query brings
   * the schools (their rows sit next to the people's), so a cold instance in a rush reads the directory
   * once, not once for people and again for the school names on the cards.
   */
  private async everyone(maxAgeMs: number): Promise<Map<string, StoredPerson>> {
    if (this.peopleList && Date.now() - this.peopleList.at <= maxAgeMs) return this.peopleList.rows;
    const at = Date.now();
    const snapshot = this.peopleAndSchools();
    const list = { at, rows: snapshot.then(({ people }) => new Map(people.map((p) => [p.aadObjectId, p]))) };
    this.peopleList = list;
    list.rows.catch(() => {
      if (this.peopleList === list) this.peopleList = undefined;
    });
    if (!this.schoolList || this.schoolList.at < at) {
      const schools = { at, schools: snapshot.then((s) => s.schools) };
      this.schoolList = schools;
      schools.schools.catch(() => {
        if (this.schoolList === schools) this.schoolList = undefined;
      });
    }
    return list.rows;
  }

  /** People and schools in one query: the rows from 'person|' to 'school}' ('schoolname|' rows fall between and are skipped). */
  private async peopleAndSchools(): Promise<{ people: StoredPerson[]; schools: School[] }> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'person|' and RowKey lt 'school}'`);
    const people: StoredPerson[] = [];
    const schools: School[] = [];
    for (const row of rows) {
      if (row.rowKey.startsWith('person|')) {
        const parsed = parseRow(PersonRow, row, this.logger, DIRECTORY_TABLE);
        if (parsed) people.push(toPerson(parsed));
      } else if (row.rowKey.startsWith('school|')) {
        const parsed = parseRow(SchoolRow, row, this.logger, DIRECTORY_TABLE);
        if (parsed) schools.push(toSchool(parsed));
      }
    }
    return { people, schools: sortSchools(schools) };
  }

  /** Forgets the short-lived copies (after any change to the directory made through this instance). */
  invalidate(): void {
    this.people.clear();
    this.schoolList = undefined;
    this.peopleList = undefined;
  }

  private async readSchools(): Promise<School[]> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'school|' and RowKey lt 'school}'`);
    return sortSchools(
      rows
        .map((row) => parseRow(SchoolRow, row, this.logger, DIRECTORY_TABLE))
        .filter((row): row is z.infer<typeof SchoolRow> => row !== undefined)
        .map(toSchool),
    );
  }

  async person(aadObjectId: string): Promise<StoredPerson | undefined> {
    const row = await this.readPerson(aadObjectId);
    return row ? toPerson(row.row) : undefined;
  }

  /**
   * The person as the rules see them: stored roles plus coordinators named in the configuration. A rep's
   * or coordinator's `teamsId` (the Teams id they are acting with) is stored when it is not yet.
   */
  async resolve(aadObjectId: string, name: string, maxAgeMs = 0, teamsId = ''): Promise<Person> {
    const aad = aadObjectId.toLowerCase();
    const copy = this.people.get(aad);
    if (maxAgeMs > 0 && copy && Date.now() - copy.at <= maxAgeMs && (copy.person.name === name || !name) && (!teamsId || copy.teamsId === teamsId || !copy.keepsTeamsId)) return copy.person;
    if (maxAgeMs > 0) {
      // A rush of new people: one query for the whole directory, not one read per person. Only when
      // nothing would be written (name and Teams id unchanged, not a configured coordinator missing a row).
      const stored = (await this.everyone(maxAgeMs)).get(aad);
      const fromConfig = this.configCoordinators.includes(aad);
      const teamsIdKnown = !teamsId || !(stored ? keepsTeamsId(stored) || fromConfig : fromConfig) || stored?.teamsId === teamsId;
      if ((stored ? stored.name === name || !name : !fromConfig) && teamsIdKnown) {
        const person: Person = {
          aadObjectId: aad,
          name: name || stored?.name || '',
          schoolId: stored?.schoolId,
          isRep: stored?.isRep ?? false,
          isCoordinator: (stored?.isCoordinator ?? false) || fromConfig,
          coordinatorFromConfig: fromConfig,
        };
        this.people.set(aad, { at: Date.now(), person, teamsId: stored?.teamsId ?? '', keepsTeamsId: (stored ? keepsTeamsId(stored) : false) || fromConfig });
        return person;
      }
    }
    const { person, teamsId: storedTeamsId, keeps } = await this.resolveFresh(aad, name, teamsId);
    this.people.set(aad, { at: Date.now(), person, teamsId: storedTeamsId, keepsTeamsId: keeps });
    return person;
  }

  private async resolveFresh(aad: string, name: string, teamsId: string): Promise<{ person: Person; teamsId: string; keeps: boolean }> {
    const stored = await this.readPerson(aad);
    const fromConfig = this.configCoordinators.includes(aad);
    const keeps = (stored ? stored.row.rep || stored.row.coordinator : false) || fromConfig;
    // A rep or coordinator acting with a Teams id not stored yet (one set up from COORDINATORS, or before ids were kept).
    const newTeamsId = keeps && teamsId && stored?.row.teamsId !== teamsId ? teamsId : '';
    let storedTeamsId = stored?.row.teamsId ?? '';
    if (stored && ((stored.row.name !== name && name) || newTeamsId)) {
      const patch = { ...(stored.row.name !== name && name ? { name } : {}), ...(newTeamsId ? { teamsId: newTeamsId } : {}) };
      await this.table.updateEntity({ partitionKey: PK, rowKey: personKey(aad), ...patch }, 'Merge').then(
        () => {
          if (newTeamsId) storedTeamsId = newTeamsId;
        },
        (err) => this.logger.warn({ status: statusOf(err) }, 'could not refresh a person\'s name or Teams id'),
      );
      if (newTeamsId) this.peopleList = undefined;
    } else if (!stored && fromConfig) {
      await this.table.createEntity({ partitionKey: PK, rowKey: personKey(aad), name, schoolId: '', rep: false, coordinator: false, ...(teamsId ? { teamsId } : {}) }).then(
        () => {
          storedTeamsId = teamsId;
        },
        () => undefined,
      );
    }
    const person = stored ? toPerson(stored.row) : undefined;
    return {
      person: {
        aadObjectId: aad,
        name: name || person?.name || '',
        schoolId: person?.schoolId,
        isRep: person?.isRep ?? false,
        isCoordinator: (person?.isCoordinator ?? false) || fromConfig,
        coordinatorFromConfig: fromConfig,
      },
      teamsId: storedTeamsId,
      keeps,
    };
  }

  /** Reps and coordinators (stored ones and those from configuration), for the directory list and refusals. */
  async staff(): Promise<StoredPerson[]> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'person|' and RowKey lt 'person}' and (rep eq true or coordinator eq true)`);
    const people = rows.map((row) => parseRow(PersonRow, row, this.logger, DIRECTORY_TABLE)).filter((r) => r !== undefined).map(toPerson);
    return this.withConfigCoordinators(people, (aad) => this.person(aad));
  }

  /**
   * The staff as `staff()` says, from the copy of every person row this instance read for a rush when
   * that copy is at most `maxAgeMs` old (no storage call: a second instance drawing a shared card in a
   * rush has just read it), else read as `staff()` does. `at` is when what it says was read (Date.now()).
   */
  async recentStaff(maxAgeMs: number): Promise<{ readonly at: number; readonly people: StoredPerson[] }> {
    const copy = this.peopleList;
    if (copy && Date.now() - copy.at <= maxAgeMs) {
      const everyone = await copy.rows.catch(() => undefined);
      if (everyone) {
        const people = [...everyone.values()].filter(keepsTeamsId);
        return { at: copy.at, people: await this.withConfigCoordinators(people, async (aad) => everyone.get(aad)) };
      }
    }
    const at = Date.now();
    return { at, people: await this.staff() };
  }

  /** Coordinators named in the configuration added (or marked) among `people`, then everyone sorted by name. */
  private async withConfigCoordinators(people: StoredPerson[], stored: (aad: string) => Promise<StoredPerson | undefined>): Promise<StoredPerson[]> {
    for (const aad of this.configCoordinators) {
      const known = people.find((p) => p.aadObjectId === aad);
      if (known) {
        people[people.indexOf(known)] = { ...known, isCoordinator: true };
      } else {
        const row = await stored(aad);
        people.push({ ...(row ?? { aadObjectId: aad, name: '', isRep: false }), isCoordinator: true });
      }
    }
    return people.sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
  }

  /** Everyone the directory knows (reps, coordinators, people who chose their school), for attributing people to schools. */
  async allPeople(): Promise<StoredPerson[]> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'person|' and RowKey lt 'person}'`);
    return rows.map((row) => parseRow(PersonRow, row, this.logger, DIRECTORY_TABLE)).filter((r) => r !== undefined).map(toPerson);
  }

  async coordinators(): Promise<StoredPerson[]> {
    return (await this.staff()).filter((p) => p.isCoordinator);
  }

  async repsOf(schoolId: string): Promise<StoredPerson[]> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'person|' and RowKey lt 'person}' and rep eq true and schoolId eq ${schoolId}`);
    return rows.map((row) => parseRow(PersonRow, row, this.logger, DIRECTORY_TABLE)).filter((r) => r !== undefined).map(toPerson);
  }

  /** Adds a school; its name is unique (case does not matter) even when two coordinators add it at once. */
  async addSchool(name: string): Promise<Change<School>> {
    this.invalidate();
    const id = randomUUID().slice(0, 8);
    try {
      await this.table.submitTransaction([
        ['create', { partitionKey: PK, rowKey: schoolKey(id), name }],
        ['create', { partitionKey: PK, rowKey: nameRowKey(name), schoolId: id }],
      ]);
      return { ok: true, value: { id, name } };
    } catch (err) {
      if (statusOf(err) === 409) return { ok: false, reason: 'exists' };
      throw err;
    }
  }

  async renameSchool(id: string, newName: string): Promise<Change<School>> {
    this.invalidate();
    const current = await this.readRow(schoolKey(id), SchoolRow);
    if (!current) return { ok: false, reason: 'missing' };
    const actions: TransactionAction[] = [['update', { partitionKey: PK, rowKey: schoolKey(id), name: newName }, 'Merge', { etag: current.etag }]];
    if (nameRowKey(current.row.name) !== nameRowKey(newName)) {
      actions.push(['delete', { partitionKey: PK, rowKey: nameRowKey(current.row.name) }]);
      actions.push(['create', { partitionKey: PK, rowKey: nameRowKey(newName), schoolId: id }]);
    }
    try {
      await this.table.submitTransaction(actions);
      return { ok: true, value: { id, name: newName } };
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) return { ok: false, reason: 'exists' };
      if (status === 412 || status === 404) return { ok: false, reason: 'conflict' };
      throw err;
    }
  }

  /**
   * Removes a school: its reps stop being reps, nobody keeps it as their school, its channel role goes.
   * Returns how many people were affected.
   */
  async removeSchool(id: string): Promise<Change<{ name: string; reps: number; members: number }>> {
    this.invalidate();
    const current = await this.readRow(schoolKey(id), SchoolRow);
    if (!current) return { ok: false, reason: 'missing' };
    const members = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'person|' and RowKey lt 'person}' and schoolId eq ${id}`);
    const actions: TransactionAction[] = [
      // Deletes in a transaction are unconditional; a concurrent rename makes the old name row's delete fail (404).
      ['delete', { partitionKey: PK, rowKey: schoolKey(id) }],
      ['delete', { partitionKey: PK, rowKey: nameRowKey(current.row.name) }],
    ];
    const channel = await this.readRow(channelKey({ kind: 'school', schoolId: id }), ChannelRow);
    if (channel) actions.push(['delete', { partitionKey: PK, rowKey: channel.row.rowKey }]);
    let reps = 0;
    for (const member of members) {
      if (member.rep === true) reps += 1;
      // No longer a rep: their Teams id goes too, unless they are still a coordinator.
      actions.push(['update', { partitionKey: PK, rowKey: member.rowKey, schoolId: '', rep: false, ...(member.coordinator === true ? {} : { teamsId: '' }) }, 'Merge', { etag: member.etag }]);
    }
    try {
      // One transaction holds at most 100 changes; the school's own rows always go in the first.
      for (let start = 0; start < actions.length; start += 100) {
        await this.table.submitTransaction(actions.slice(start, start + 100));
      }
      return { ok: true, value: { name: current.row.name, reps, members: members.length } };
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 404) return { ok: false, reason: 'conflict' };
      throw err;
    }
  }

  /** Changes one person's row under its ETag, creating it if need be; retries when someone else changed it first. */
  async updatePerson(aadObjectId: string, name: string, change: (current: StoredPerson | undefined) => Partial<Omit<StoredPerson, 'aadObjectId'>>): Promise<StoredPerson> {
    this.invalidate();
    const aad = aadObjectId.toLowerCase();
    const changed = await changeRow<StoredPerson | undefined, StoredPerson>(
      this.table,
      async () => {
        const current = await this.readPerson(aad);
        return { value: current ? toPerson(current.row) : undefined, etag: current?.etag };
      },
      (before) => {
        const next: StoredPerson = { aadObjectId: aad, name: name || before?.name || '', isRep: false, isCoordinator: false, ...before, ...change(before) };
        // A Teams id is kept only while the person has a role (a configured coordinator's row keeps theirs).
        const teamsId = keepsTeamsId(next) || this.configCoordinators.includes(aad) ? (next.teamsId ?? '') : '';
        return {
          write: { partitionKey: PK, rowKey: personKey(aad), name: next.name, schoolId: next.schoolId ?? '', rep: next.isRep, coordinator: next.isCoordinator, ...(teamsId ? { teamsId } : {}) },
          value: { ...next, teamsId: teamsId || undefined },
        };
      },
      'directory: a person row',
    );
    if (!changed.ok) throw new Error('directory: a person row could not be changed');
    return changed.value;
  }

  async setChannel(role: ChannelRole, conversationId: string, label: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: PK, rowKey: channelKey(role), conversationId, label }, 'Replace');
  }

  async clearChannelsOf(conversationId: string): Promise<number> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'channel|' and RowKey lt 'channel}' and conversationId eq ${conversationId}`);
    for (const row of rows) await this.table.deleteEntity(PK, row.rowKey, { etag: row.etag });
    return rows.length;
  }

  async channels(): Promise<ChannelAssignment[]> {
    const rows = await this.query(odata`PartitionKey eq ${PK} and RowKey ge 'channel|' and RowKey lt 'channel}'`);
    return rows
      .map((row) => parseRow(ChannelRow, row, this.logger, DIRECTORY_TABLE))
      .filter((r) => r !== undefined)
      .map((row) => {
        const key = row.rowKey.slice('channel|'.length);
        const role: ChannelRole = key.startsWith('school:') ? { kind: 'school', schoolId: key.slice('school:'.length) } : key === 'reps' ? { kind: 'reps' } : { kind: 'announcements' };
        return { role, conversationId: row.conversationId, label: row.label };
      });
  }

  private async readPerson(aad: string) {
    return this.readRow(personKey(aad), PersonRow);
  }

  private async readRow<S extends z.ZodTypeAny>(rowKey: string, schema: S): Promise<{ row: z.infer<S>; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(PK, rowKey);
      const row = parseRow(schema, entity, this.logger, DIRECTORY_TABLE);
      return row ? { row, etag: entity.etag } : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async query(filter: string) {
    const rows: (Record<string, unknown> & { partitionKey: string; rowKey: string; etag: string })[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      rows.push(row as Record<string, unknown> & { partitionKey: string; rowKey: string; etag: string });
    }
    return rows;
  }
}

function toSchool(row: z.infer<typeof SchoolRow>): School {
  return { id: row.rowKey.slice('school|'.length), name: row.name };
}

function sortSchools(schools: School[]): School[] {
  return schools.sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
}

function toPerson(row: z.infer<typeof PersonRow>): StoredPerson {
  return {
    aadObjectId: row.rowKey.slice('person|'.length),
    name: row.name,
    schoolId: row.schoolId || undefined,
    isRep: row.rep,
    isCoordinator: row.coordinator,
    teamsId: row.teamsId || undefined,
  };
}


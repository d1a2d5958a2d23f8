import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MessageFactory, type ConversationReference } from 'botbuilder';
import type { TransactionAction } from '@azure/data-tables';
import { cardAttachment, renderCard, type AdaptiveCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { ConversationStore } from '../platform/conversations/store';
import type { Claimed, DeadlineStore, StoredDeadline } from '../platform/deadlines/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import { change } from '../platform/outbox/kernel';
import type { Effect, Outbox } from '../platform/outbox/outbox';
import type { PersonAddress, Proactive } from '../platform/proactive';
import { londonDate } from '../platform/time';
import { digestCardData, MAX_DIGEST_ESCALATIONS, MAX_DIGEST_ITEMS } from './cards';
import type { Policy } from './model';
import { afterRound, dayMessage, decide, mustAct, nextLook, nextSchoolDayStart, partRound, stillToNudge, type Decision, type Owed } from './rules';
import { dayPartition, NUDGES_TABLE, type DayRecord, type NudgeStore } from './store';

/**
 * The scheduler's nudge round, run on every tick in every instance (nothing kept in memory between
 * ticks):
 * 1. take the tick lease (one instance at a time, so a person's items due together make one message;
 *    a crashed instance's lease lapses);
 * 2. read the due rows (only what is due: see DeadlineStore) and claim each item (ETag on its item row:
 *    the copy is current, and no other round decides it meanwhile); items with nothing to send yet are
 *    refiled for when they next need a look;
 * 3. work out who gets what now: the person, or the school's reps as the directory has them now; the
 *    coordinators for an overdue item's one escalation;
 * 4. decide each person's message of the day (rules.ts dayMessage) and commit it through the outbox
 *    in one transaction with their day row, the record that today's message is theirs (partition
 *    'day|YYYY-MM-DD' of the Nudges table, up to DIGESTS_PER_COMMIT people a transaction). The day
 *    row is created, so if someone already had today's message the transaction fails and the round
 *    reads what that message carried and decides again: "once a day" is the outbox's record, not a
 *    separate claim;
 * 5. record each item's progress and file it for its next nudge, releasing the claim; then wait for
 *    this instance to deliver what it committed.
 * A crash before step 4 leaves claims that lapse, and the next round does it all. A crash after it
 * loses no message: the outbox delivers what was committed (within its recovery time, on a restart
 * or on another instance), and the round that takes the items up again finds the day rows and only
 * records the progress. A person is messaged twice only for a send in flight at the crash.
 */

export interface NudgeServiceDeps {
  readonly deadlines: DeadlineStore;
  readonly store: NudgeStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  /** Only to find a rep's Teams id among a channel's members (to open a 1:1 with someone who never wrote to the bot). */
  readonly proactive: Proactive;
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly partnershipName: string;
  /** How long claims (the lease, an item) hold before another instance may take them over. Default 5 minutes. */
  readonly leaseMs?: number;
  /** At most this many due items per tick (the rest wait for the next tick). Default 200. */
  readonly batch?: number;
  /** Tests only: called after each step of a tick; throwing there stops the tick the way a crash would. */
  readonly onStep?: (step: 'claimed' | 'committed' | 'sent') => void;
}

export interface TickReport {
  /** Another instance held the lease. */
  readonly skipped: boolean;
  readonly due: number;
  readonly claimed: number;
  /** Items refiled without a message (planned, waiting for school hours, finished). */
  readonly refiled: number;
  /** Messages committed (each person's message of the day), delivered by the outbox. */
  readonly messages: number;
  /** Person-items held back to another day (the person already had today's message, or could not be reached). */
  readonly heldBack: number;
  readonly ms: number;
}

export interface Recipient {
  readonly aadObjectId: string;
  readonly name: string;
  readonly teamsId?: string;
  readonly schoolId?: string;
}

type Reference = Partial<ConversationReference>;

interface Work {
  readonly claimed: Claimed;
  readonly decision: Decision;
  readonly recipients: Recipient[];
  /** Per recipient (Entra id): whether the item reached them today. */
  readonly outcomes: Map<string, 'sent' | 'heldBack'>;
}

interface Person {
  readonly to: Recipient;
  readonly items: Work[];
}

interface Item extends Owed {
  readonly work: Work;
}

/** Day rows and messages per transaction: two rows each, and room under the 4 MB a transaction may carry. */
const DIGESTS_PER_COMMIT = 25;

const tagOf = (w: Work) => `${w.decision.kind === 'escalate' ? 'e' : 'n'}:${w.claimed.record.id}`;

export class NudgeService {
  private readonly leaseMs: number;
  private readonly batch: number;

  constructor(private readonly deps: NudgeServiceDeps) {
    this.leaseMs = deps.leaseMs ?? 5 * 60_000;
    this.batch = deps.batch ?? 200;
  }

  policy(): Promise<Policy> {
    return this.deps.store.policy();
  }

  async tick(now: Date = this.deps.clock.now()): Promise<TickReport> {
    const started = performance.now();
    const { store } = this.deps;
    const lease = await store.acquireLease(now, this.leaseMs);
    if (!lease) return { skipped: true, due: 0, claimed: 0, refiled: 0, messages: 0, heldBack: 0, ms: performance.now() - started };

    try {
      return await this.round(now, started);
    } finally {
      // A crash leaves the lease to lapse; an error can give it back (the items' own claims still hold).
      await store.releaseLease(lease).catch(() => undefined);
    }
  }

  private async round(now: Date, started: number): Promise<TickReport> {
    const { deadlines, store, logger } = this.deps;
    const policy = await store.policy();
    const due = await deadlines.due(now, this.batch);
    const work: Work[] = [];
    let claimedCount = 0;
    let refiled = 0;
    for (const row of due) {
      const claimed = await deadlines.claim(row, now, this.leaseMs);
      if (!claimed) continue;
      claimedCount += 1;
      const decision = decide(claimed.record, policy, now);
      if (decision.kind === 'wait' || decision.kind === 'idle') {
        await deadlines.settle(claimed, claimed.record.progress, nextLook(decision, now), now);
        refiled += 1;
        continue;
      }
      work.push({ claimed, decision, recipients: [], outcomes: new Map() });
    }
    this.deps.onStep?.('claimed');

    const people = new PeopleCache(this.deps);
    const byPerson = new Map<string, Person>();
    for (const w of work) {
      const everyone = w.decision.kind === 'escalate' ? await people.coordinators() : await people.actorsOf(w.claimed.record);
      w.recipients.push(...stillToNudge(w.claimed.record.progress, w.decision, everyone));
      if (w.recipients.length === 0 && everyone.length === 0) {
        logger.warn({ deadline: w.claimed.record.id, kind: w.decision.kind }, w.decision.kind === 'escalate' ? 'an overdue item has no coordinators to tell' : 'a deadline has nobody to nudge (a school without reps?)');
      }
      for (const to of w.recipients) {
        let entry = byPerson.get(to.aadObjectId);
        if (!entry) {
          entry = { to, items: [] };
          byPerson.set(to.aadObjectId, entry);
        }
        entry.items.push(w);
      }
    }

    const day = londonDate(now);
    const everyone = [...byPerson.values()];
    let messages = 0;
    const delivered: Promise<void>[] = [];
    for (let i = 0; i < everyone.length; i += DIGESTS_PER_COMMIT) {
      const committed = await this.commitMessages(everyone.slice(i, i + DIGESTS_PER_COMMIT), day, now, policy, people);
      messages += committed.messages;
      if (committed.delivered) delivered.push(committed.delivered);
    }
    this.deps.onStep?.('committed');

    let heldBack = 0;
    for (const w of work) {
      const record = w.claimed.record;
      const sentTo = w.recipients.filter((r) => w.outcomes.get(r.aadObjectId) === 'sent').map((r) => r.aadObjectId);
      heldBack += w.recipients.length - sentTo.length;
      if (sentTo.length === w.recipients.length) {
        const progress = afterRound(record.progress, w.decision, now);
        await deadlines.settle(w.claimed, progress, nextLook(decide({ ...record, progress }, policy, now), now), now);
      } else {
        await deadlines.settle(w.claimed, partRound(record.progress, w.decision, sentTo), nextSchoolDayStart(now, policy) ?? undefined, now);
      }
    }
    // The messages are out (or left to the outbox's recovery) before the tick ends, as the scheduler expects.
    await Promise.all(delivered);
    this.deps.onStep?.('sent');
    const report: TickReport = { skipped: false, due: due.length, claimed: claimedCount, refiled, messages, heldBack, ms: performance.now() - started };
    if (report.due > 0) logger.info({ nudges: { ...report, ms: Math.round(report.ms) } }, 'nudge tick');
    return report;
  }

  /**
   * Step 4 for some people: each one's message of the day, committed with their day row in one
   * transaction (platform/outbox/kernel.ts). The first try writes as if none of them had today's
   * message yet (no reads: the usual case); when one had, the transaction fails on their day row,
   * and the next try reads the batch's day rows and decides again.
   */
  private async commitMessages(batch: readonly Person[], day: string, now: Date, policy: Policy, people: PeopleCache): Promise<{ messages: number; delivered?: Promise<void> }> {
    let read = false;
    const changed = await change(
      this.deps.outbox,
      async () => {
        const records = read ? await this.deps.store.dayRecords(day, batch.map((p) => p.to.aadObjectId)) : new Map<string, DayRecord>();
        read = true;
        return records;
      },
      async (records) => {
        const actions: TransactionAction[] = [];
        const effects: Effect[] = [];
        for (const { to, items } of batch) {
          const record = records.get(to.aadObjectId.toLowerCase());
          const owed = items.map((work): Item => ({ tag: tagOf(work), kind: work.decision.kind === 'escalate' ? 'escalate' : 'nudge', dueAt: work.claimed.record.dueAt, work }));
          const address = record?.sent ? undefined : await people.address(to);
          const message = dayMessage(owed, record?.sent ? record.items : undefined, address !== undefined, { nudges: MAX_DIGEST_ITEMS, escalations: MAX_DIGEST_ESCALATIONS });
          for (const o of message.sent) o.work.outcomes.set(to.aadObjectId, 'sent');
          for (const o of message.heldBack) o.work.outcomes.set(to.aadObjectId, 'heldBack');
          if (!message.digest || !address) continue;
          const { nudges, escalations } = message.digest;
          const card = renderCard(
            'nudgeDigest',
            digestCardData({
              nudges: nudges.map((o) => o.work.claimed.record),
              escalations: escalations.map((o) => o.work.claimed.record),
              viewer: to.aadObjectId,
              now,
              day,
              policy,
              partnership: this.deps.partnershipName,
              schoolName: escalations.length > 0 ? await people.schoolNames() : () => '',
            }),
          );
          actions.push(this.deps.store.dayAction(day, to.aadObjectId, message.sent.map((o) => o.tag), record));
          effects.push({ kind: 'tell', to: address.to, via: address.via, activity: MessageFactory.attachment(cardAttachment(card)) });
        }
        // Nothing to commit: everyone here had today's message already, or cannot be reached.
        if (effects.length === 0) return { ok: false as const, refusal: 'nothing' as const };
        const stamp = `${String(now.getTime()).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
        return { ok: true as const, value: effects.length, write: { table: NUDGES_TABLE, partitionKey: dayPartition(day), actions, effects, stamp } };
      },
      `the nudges of ${day}`,
    );
    return changed.kind === 'done' ? { messages: changed.value, delivered: changed.delivered } : { messages: 0 };
  }

  /**
   * The digest card someone got on `day`, as it stands now, for when they press a button on it: what the
   * message carried is read from their own record of the day, so a card cannot be made to show others' items.
   */
  async digestView(viewer: { aadObjectId: string; isRep: boolean; isCoordinator: boolean; schoolId?: string }, day: string, now: Date, notice?: string): Promise<AdaptiveCard> {
    const tags = await this.deps.store.dayItems(day, viewer.aadObjectId);
    const ids = (prefix: string) => tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
    const load = async (list: readonly string[]) => (await Promise.all(list.slice(0, MAX_DIGEST_ESCALATIONS).map((id) => this.deps.deadlines.get(id)))).filter((i): i is StoredDeadline => i !== undefined);
    const nudges = (await load(ids('n:'))).filter((i) => mustAct(i, viewer));
    const escalations = viewer.isCoordinator ? await load(ids('e:')) : [];
    const schools = await this.deps.directory.schools(30_000);
    return renderCard(
      'nudgeDigest',
      digestCardData({
        nudges,
        escalations,
        viewer: viewer.aadObjectId,
        now,
        policy: await this.deps.store.policy(),
        partnership: this.deps.partnershipName,
        schoolName: (id) => schools.find((s) => s.id === id)?.name ?? '',
        day,
        notice,
      }),
    );
  }
}

/** What one tick looks up, once each: reps per school, coordinators, school names, channels to find people through. */
class PeopleCache {
  private readonly reps = new Map<string, Promise<Recipient[]>>();
  private coordinatorList: Promise<Recipient[]> | undefined;
  private names: Promise<(id: string) => string> | undefined;
  private channels: Promise<{ role: { kind: string; schoolId?: string }; conversationId: string }[]> | undefined;
  private readonly references = new Map<string, Promise<Reference | undefined>>();
  private readonly addresses = new Map<string, Promise<{ to: PersonAddress; via?: Reference } | undefined>>();

  constructor(private readonly deps: NudgeServiceDeps) {}

  async actorsOf(item: StoredDeadline): Promise<Recipient[]> {
    const who = item.who;
    if (who.kind === 'person') return [{ aadObjectId: who.aadObjectId.toLowerCase(), name: who.name ?? '', teamsId: who.teamsId, schoolId: item.schoolId }];
    let list = this.reps.get(who.schoolId);
    if (!list) {
      list = this.deps.directory.repsOf(who.schoolId).then((reps) => reps.map((r) => ({ aadObjectId: r.aadObjectId, name: r.name, schoolId: who.schoolId })));
      this.reps.set(who.schoolId, list);
    }
    return list;
  }

  coordinators(): Promise<Recipient[]> {
    this.coordinatorList ??= this.deps.directory.coordinators().then((people) => people.map((p) => ({ aadObjectId: p.aadObjectId, name: p.name, schoolId: p.schoolId })));
    return this.coordinatorList;
  }

  schoolNames(): Promise<(id: string) => string> {
    this.names ??= this.deps.directory.schools(30_000).then((schools) => (id: string) => schools.find((s) => s.id === id)?.name ?? '');
    return this.names;
  }

  /**
   * How to reach a person in their personal chat: the stored one, else a new 1:1 opened with their
   * Teams id (known for a person named on the item, or looked up among the members of a channel the
   * bot is in) through that channel. Undefined (logged) when there is no way.
   */
  address(to: Recipient): Promise<{ to: PersonAddress; via?: Reference } | undefined> {
    let found = this.addresses.get(to.aadObjectId);
    if (!found) {
      found = this.lookUp(to);
      this.addresses.set(to.aadObjectId, found);
    }
    return found;
  }

  private async lookUp(to: Recipient): Promise<{ to: PersonAddress; via?: Reference } | undefined> {
    const { conversations, proactive, logger } = this.deps;
    if (await conversations.personal(to.aadObjectId)) return { to: { aadObjectId: to.aadObjectId, teamsId: to.teamsId ?? '', name: to.name } };
    const via = await this.via(to.schoolId);
    if (!via) {
      logger.warn({ reason: 'no personal chat and no channel to reach them through' }, 'nudge not sent');
      return undefined;
    }
    const address = to.teamsId ? { aadObjectId: to.aadObjectId, teamsId: to.teamsId, name: to.name } : await proactive.member(via, to.aadObjectId);
    if (!address) {
      logger.warn({ reason: 'not found among the members of the channel' }, 'nudge not sent');
      return undefined;
    }
    return { to: address, via };
  }

  /** A channel the bot is in to open a 1:1 through: the person's school's channel, else the reps', else the announcements', else any. */
  private async via(schoolId: string | undefined): Promise<Reference | undefined> {
    this.channels ??= this.deps.directory.channels();
    const channels = await this.channels;
    const rank = (c: { role: { kind: string; schoolId?: string } }) => (c.role.kind === 'school' && c.role.schoolId === schoolId ? 0 : c.role.kind === 'reps' ? 1 : c.role.kind === 'announcements' ? 2 : 3);
    for (const channel of [...channels].sort((a, b) => rank(a) - rank(b))) {
      let reference = this.references.get(channel.conversationId);
      if (!reference) {
        reference = this.deps.conversations.conversation(channel.conversationId).then((c) => c?.reference);
        this.references.set(channel.conversationId, reference);
      }
      const found = await reference;
      if (found) return found;
    }
    return undefined;
  }
}

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MessageFactory, type Activity, type ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import { parseReference } from '../platform/conversations/reference';
import type { ConversationStore } from '../platform/conversations/store';
import type { Deadline, DeadlineRegistry } from '../platform/deadlines/types';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import { Batches, type Settled, type Step } from '../platform/outbox/batch';
import { stampOf } from '../platform/outbox/kernel';
import type { Effect, Outbox } from '../platform/outbox/outbox';
import type { PersonAddress } from '../platform/proactive';
import type { Timers } from '../platform/timers';
import { cancelledNoticeData, changedNoticeData, confirmedNoticeData, eventCardData, offerCardData, offerExpiredNoticeData, reminderFor, type NoticeCardData } from './cards';
import type { Aggregate, OfferPolicy, SignUp, TeachMeet } from './model';
import { applyAll, counts, MAX_ROWS, mayOrganise, reminderChanges, reminderId, remindersFrom, remindersKept, type Applied, type Intent, type Outcome } from './rules';
import { cloneAggregate, TEACHMEETS_TABLE, type Loaded, type Post, type TeachMeetStore } from './store';

/**
 * Changes to a TeachMeet are committed by the commit kernel's batching option (platform/outbox/batch.ts):
 * a rush of 500 clicks for 50 places is committed a batch at a time, each batch decided by the rules in
 * arrival order (`decide` below) and written with its effects in one transaction under the event row's ETag.
 *
 * What a TeachMeet change tells people, as effects committed with it (the outbox delivers them):
 * every copy of the shared card shows the new state (only the latest is sent), people are told what
 * concerns them (a confirmation, an offer of a freed place, an expired offer, a change, a
 * cancellation: one message to many is one row), and the reminders the day before are kept in step.
 * Sweeps at each offer's expiry and at the sign-up deadline are durable timers.
 */

export const SWEEP_TIMER = 'teachmeet.sweep';
/** The durable timer, per event, due at `remindersFrom`: it registers the reminder for everyone confirmed. */
export const REMINDERS_TIMER = 'teachmeet.reminders';
/** The outbox step after a copy of the card is posted: remember it, so changes update it. */
const POSTED = 'teachmeets.posted';
/** The outbox's check that a message about a place still holds when its turn comes. */
const STILL = 'teachmeets.still';
/** The outbox's renderer of a posted copy of the card, from the latest state. */
const CARD = 'teachmeets.card';
/** How long the organisers' Teams ids for shared cards may be reused (a new rep gets their view within it). */
const ORGANISERS_MAX_AGE_MS = 30_000;

export interface ServiceDeps {
  readonly store: TeachMeetStore;
  readonly directory: DirectoryStore;
  /** Where the Teams ids of reps and coordinators are found (their personal chats with Together). */
  readonly conversations: ConversationStore;
  readonly outbox: Outbox;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: OfferPolicy;
  /** Where the reminders the day before go (each confirmed attendee and presenter). */
  readonly deadlines?: DeadlineRegistry;
}

/** A change to a TeachMeet, committed (or found to change nothing). */
export interface Committed {
  readonly outcome: Outcome;
  /** The event as committed (a snapshot safe to read). */
  readonly agg: Aggregate;
  readonly posts: readonly Post[];
  /** Settles when this instance has delivered the change's effects (absent when nothing changed). */
  readonly delivered?: Promise<void>;
}

export class TeachMeetService {
  /** Each event's changes, batched per event; what this instance holds of each event (the ETag decides). */
  readonly queue: Batches<Loaded, Intent, Outcome>;
  private readonly background = new Set<Promise<unknown>>();
  /** Teams ids of each event's organisers, read at most every ORGANISERS_MAX_AGE_MS. */
  private readonly organisersOf = new Map<string, { at: number; ids: Promise<string[]> }>();
  /** Reminder registrations by the reminders timer, per event, one after another. */
  private readonly reminding = new Map<string, Promise<void>>();

  constructor(private readonly deps: ServiceDeps) {
    this.queue = new Batches<Loaded, Intent, Outcome>(
      {
        name: 'TeachMeet',
        table: TEACHMEETS_TABLE,
        maxBatch: MAX_ROWS,
        load: (eventId) => deps.store.load(eventId),
        version: (loaded) => loaded.agg.event.version,
        queued: (loaded) => loaded.queued ?? 0,
        decide: (eventId, base, intents, queued) => this.decide(eventId, base, intents, queued),
      },
      deps.outbox,
      deps.logger,
    );
    // A message about a place is sent only if it still holds when its turn comes (in a rush someone may
    // cancel before their confirmation has gone): judged on the event at least as new as the change that made it.
    deps.outbox.onCheck(STILL, async (data, to) => {
      const d = data as { eventId: string; v: number; kind: 'confirmed' | 'offer' | 'offerExpired'; expiresAt?: string };
      const agg = await this.atLeast(d.eventId, d.v);
      if (!to) return true;
      const s = agg?.signUps.get(to.aadObjectId.toLowerCase()) ?? agg?.signUps.get(to.aadObjectId);
      if (!agg || !s || agg.event.status === 'cancelled') return false;
      if (d.kind === 'confirmed') return s.status === 'confirmed';
      if (d.kind === 'offer') return s.status === 'offered' && s.offerExpiresAt?.toISOString() === d.expiresAt;
      return s.status === 'cancelled';
    });
    deps.outbox.onRender(CARD, (data) => {
      const d = data as { eventId: string; v: number; reference: Partial<ConversationReference> };
      return this.renderCopy(d.eventId, d.v, d.reference);
    });
    deps.outbox.on(POSTED, async (data, sent) => {
      const d = data as { eventId: string; conversationId: string };
      if (sent?.activityId) await this.addPost(d.eventId, { conversationId: d.conversationId, activityId: sent.activityId, reference: JSON.stringify(sent.reference) });
    });
  }

  /** Queues a change to the event; settles once it is committed with its batch. Rejects with MissingAggregate for an unknown event. */
  async change(eventId: string, intent: Intent): Promise<Committed> {
    const settled: Settled<Loaded, Outcome> = await this.queue.submit(eventId, intent);
    return { outcome: settled.outcome, agg: settled.state.agg, posts: settled.state.posts, delivered: settled.delivered };
  }

  /**
   * A batch of changes to one event, decided by the rules in arrival order, as one commit writes it: the
   * event row (with how many more changes this instance holds for it), the sign-ups changed, and the effects.
   */
  private async decide(eventId: string, base: Loaded, intents: readonly Intent[], queued: () => number): Promise<Step<Loaded, Outcome>> {
    const agg = cloneAggregate(base.agg);
    const applied = applyAll(agg, intents, this.deps.clock.now(), this.deps.policy);
    // The rules keep one change within MAX_ROWS (offers beyond it wait for a sweep): this is a batch of many.
    if (applied.changed.size > MAX_ROWS) return { kind: 'split', why: `touches ${applied.changed.size} sign-ups` };
    if (!this.touched(applied)) return { kind: 'same', outcomes: applied.outcomes };
    agg.event.version += 1;
    const effects = await this.effects(applied, agg, base.posts, base.agg);
    return {
      kind: 'write',
      next: { agg, posts: base.posts, etag: '' },
      rows: this.deps.store.commitRows(agg, base.etag, applied.changed, tally(agg), queued()),
      effects,
      stamp: stampOf(agg.event.version),
      outcomes: applied.outcomes,
      prepare: async () => {
        // Written before the commit that makes the offers: the sweep at each expiry offers the place on.
        const expiries = new Set(applied.notices.flatMap((n) => (n.kind === 'offer' ? [n.expiresAt.getTime()] : [])));
        for (const at of expiries) await this.deps.timers.schedule(SWEEP_TIMER, eventId, new Date(at));
      },
      // Offers left over because one commit could not hold them all: the next sweep at once.
      committed: () => {
        if (applied.more) this.track(this.sweep(eventId));
      },
    };
  }

  /**
   * The event at version `v` or later: as this instance last committed or read it when that is recent
   * enough (no storage call), else as stored (another commit, here or elsewhere, may have landed before
   * this instance noted it). Undefined for an unknown event.
   */
  async atLeast(eventId: string, v: number): Promise<Aggregate | undefined> {
    const held = this.queue.held(eventId)?.agg;
    return held && held.event.version >= v ? held : (await this.queue.read(eventId))?.agg;
  }

  /** Remembers a newly posted card copy so later updates reach it. */
  async addPost(eventId: string, post: Post): Promise<void> {
    await this.deps.store.addPost(eventId, post);
    // A read made after the post was stored may already list it: listed twice, one commit would hold its card's update twice.
    this.queue.amend(eventId, (loaded) => (loaded.posts.some((p) => p.activityId === post.activityId) ? loaded : { ...loaded, posts: [...loaded.posts, post] }));
  }

  /** Posts a copy of the shared card in another conversation (the announcements channel), remembered once it is there so changes update it too. */
  async postCopy(eventId: string, conversationId: string, reference: Partial<ConversationReference>, activity: Partial<Activity>): Promise<void> {
    const done = await this.deps.outbox.commit(TEACHMEETS_TABLE, eventId, [], [{ kind: 'post', conversationId, reference, activity, then: { handler: POSTED, data: { eventId, conversationId } } }], `copy|${Date.now()}`);
    if (done) await done.delivered;
  }

  static newId(): string {
    return `tm${randomBytes(5).toString('hex')}`;
  }

  /** Waits for what earlier changes owe people to be delivered from this instance (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.deps.outbox.settle();
  }

  private track(p: Promise<unknown>): void {
    const wrapped = p.catch((err) => this.deps.logger.error({ err: { message: (err as Error).message } }, 'TeachMeet follow-up failed'));
    this.background.add(wrapped);
    void wrapped.finally(() => this.background.delete(wrapped));
  }

  async schoolNames(): Promise<(id: string) => string> {
    const schools = await this.deps.directory.schools(30_000);
    return (id: string) => schools.find((s) => s.id === id)?.name ?? '';
  }

  /**
   * The Teams ids of the people who may organise `event` (its organiser, then the host school's reps,
   * then the coordinators): shared cards list them in `refresh.userIds`, so Teams fetches their own view
   * with the organiser buttons. A rep's or coordinator's Teams id is kept in the directory (else known from
   * their personal chat); without one they see the shared card (the buttons' server checks do not depend on this).
   */
  organiserIds(event: TeachMeet): Promise<string[]> {
    const cached = this.organisersOf.get(event.id);
    const now = performance.now();
    if (cached && now - cached.at < ORGANISERS_MAX_AGE_MS) return cached.ids;
    const entry = { at: now, ids: Promise.resolve<string[]>([]) };
    entry.ids = (async () => {
      // The copy of the directory this instance read for the rush's clicks, when it has one (a second
      // instance drawing the card in a rush need not ask storage again); kept no longer than one read now would be.
      const { at, people: staff } = await this.deps.directory.recentStaff(ORGANISERS_MAX_AGE_MS);
      entry.at = Math.min(entry.at, now - (Date.now() - at));
      const who = [
        ...staff.filter((p) => p.aadObjectId === event.organiser.aadObjectId),
        ...staff.filter((p) => p.isRep && !p.isCoordinator && mayOrganise(p, event)),
        ...staff.filter((p) => p.isCoordinator),
      ];
      // The directory keeps a rep's or coordinator's Teams id (from the @mention that gave them the role, or their last
      // activity); one who had a role before ids were kept is found through their personal chat, if they have one.
      const found = await Promise.all(who.map(async (p) => p.teamsId ?? (await this.deps.conversations.personal(p.aadObjectId))?.reference.user?.id));
      return [...new Set([event.organiser.teamsId, ...found].filter((id): id is string => !!id))];
    })();
    entry.ids.catch(() => this.organisersOf.delete(event.id));
    this.organisersOf.set(event.id, entry);
    if (this.organisersOf.size > 1000) this.organisersOf.delete(this.organisersOf.keys().next().value!);
    return entry.ids;
  }

  /**
   * The effects of a committed change: the card's copies, what people are told, the reminders. A copy
   * in a personal chat has one reader: it shows them their own place, not everyone's view (which would
   * replace the answer to the button they just pressed). Channel copies show no organiser buttons and
   * carry `refresh`, so Teams fetches the organisers' (and signed-up people's) own view.
   */
  async effects(applied: Applied, agg: Aggregate, posts: readonly Post[], before: Aggregate): Promise<Effect[]> {
    const now = this.deps.clock.now();
    const out: Effect[] = this.cardEffects(agg, posts);
    const e = agg.event;
    const via = viaOf(posts);
    const person = (s: SignUp): PersonAddress => ({ aadObjectId: s.aadObjectId, teamsId: s.teamsId, name: s.name });
    const notice = (data: NoticeCardData) => MessageFactory.attachment(cardAttachment(renderCard('teachmeetNotice', data)));
    // One message to many for each text, in the order the rules told them.
    const groups = new Map<string, { to: PersonAddress[]; activity: () => Partial<Activity>; still?: { handler: string; data: unknown } }>();
    const add = (key: string, s: SignUp, activity: () => Partial<Activity>, still?: { kind: 'confirmed' | 'offer' | 'offerExpired'; expiresAt?: string }) => {
      const group = groups.get(key) ?? { to: [], activity, still: still ? { handler: STILL, data: { eventId: e.id, v: e.version, ...still } } : undefined };
      group.to.push(person(s));
      groups.set(key, group);
    };
    for (const n of applied.notices) {
      const s = agg.signUps.get(n.aadObjectId);
      if (!s) continue;
      switch (n.kind) {
        case 'confirmed':
          // A presenter's confirmation names their talk: theirs alone.
          if (s.role === 'presenter' && s.talk) add(`confirmed|${s.aadObjectId}`, s, () => notice(confirmedNoticeData(e, s, now)), { kind: 'confirmed' });
          else add('confirmed', s, () => notice(confirmedNoticeData(e, s, now)), { kind: 'confirmed' });
          break;
        case 'offer':
          add(`offer|${n.expiresAt.toISOString()}`, s, () => MessageFactory.attachment(cardAttachment(renderCard('teachmeetOffer', offerCardData(e, n.expiresAt, now)))), { kind: 'offer', expiresAt: n.expiresAt.toISOString() });
          break;
        case 'offerExpired':
          add('offerExpired', s, () => notice(offerExpiredNoticeData(e, now)), { kind: 'offerExpired' });
          break;
        case 'changed': {
          const confirmed = s.status === 'confirmed';
          add(`changed|${confirmed}|${n.what.join('|')}`, s, () => notice(changedNoticeData(e, n.what, now, confirmed)));
          break;
        }
        case 'eventCancelled':
          add('cancelled', s, () => notice(cancelledNoticeData(e, now)));
          break;
        case 'waitlisted':
          break; // their place on the waitlist is on the card they pressed
      }
    }
    for (const { to, activity, still } of groups.values()) out.push(to.length === 1 ? { kind: 'tell', to: to[0]!, via, activity: activity(), still } : { kind: 'tellMany', to, via, activity: activity(), still });
    const reminders = this.deps.deadlines ? reminderChanges(agg, applied, before, now) : undefined;
    if (reminders && reminders.register.length + reminders.cancel.length > 0) out.push({ kind: 'deadlines', register: reminders.register.map((s) => reminderFor(e, s, now)), complete: [], cancel: reminders.cancel });
    return out;
  }

  /** Every posted copy of the card, as the state `agg` shows (coalesced by the outbox: only the latest is sent). */
  private cardEffects(agg: Aggregate, posts: readonly Post[]): Effect[] {
    const out: Effect[] = [];
    const seen = new Set<string>();
    for (const post of posts) {
      const reference = parseReference(post.reference);
      if (!reference || seen.has(post.activityId)) continue;
      seen.add(post.activityId);
      // Made from the latest state when its turn comes (a rush renders it once per update sent).
      out.push({ kind: 'update', reference, activityId: post.activityId, render: { handler: CARD, data: { eventId: agg.event.id, v: agg.event.version, reference } } });
    }
    return out;
  }

  /** The card for one posted copy, from the event as it is now (at least version `v`). */
  private async renderCopy(eventId: string, v: number, reference: Partial<ConversationReference>): Promise<Partial<Activity> | undefined> {
    const agg = await this.atLeast(eventId, v);
    if (!agg) return undefined;
    const now = this.deps.clock.now();
    const names = await this.schoolNames();
    const organisers = await this.organiserIds(agg.event);
    const reader = reference.conversation?.conversationType === 'personal' ? reference.user?.aadObjectId?.toLowerCase() : undefined;
    const person = reader ? await this.deps.directory.resolve(reader, '', 30_000) : undefined;
    const view = reader && person ? { viewer: reader, canOrganise: mayOrganise(person, agg.event), organisers, onlyReader: true } : { organisers };
    return MessageFactory.attachment(cardAttachment(renderCard('teachmeetEvent', eventCardData(agg, now, names, view))));
  }

  /**
   * Updates every copy of the card to the event as stored, when the card should look different without
   * a change (the sign-up deadline passed: it shows Closed). Committed under the event row's ETag, so a
   * change committed meanwhile (whose own card update is newer) is never overwritten by this one.
   */
  async refreshCards(eventId: string): Promise<void> {
    const loaded = await this.queue.read(eventId);
    if (!loaded || loaded.posts.length === 0) return;
    const effects = this.cardEffects(loaded.agg, loaded.posts);
    const rows = this.deps.store.commitRows(loaded.agg, loaded.etag, [], tally(loaded.agg));
    const done = await this.deps.outbox.commit(TEACHMEETS_TABLE, eventId, { rows }, effects, stampOf(loaded.agg.event.version));
    // The event row was written again: the queue's cached ETag is stale.
    this.queue.forget(eventId);
    if (done) await done.delivered;
  }

  /**
   * Timer (REMINDERS_TIMER) at `remindersFrom`: registers the reminder for everyone confirmed, read
   * fresh. Idempotent (the same reminder registered again changes nothing), so it may run twice; a timer
   * left from before the start was moved later finds it too early and does nothing (its own timer will).
   * If the event changed while registering (a cancellation, an edit), it looks again, so a reminder
   * registered from the older state does not outlive the change that followed it.
   */
  /**
   * Before a person is erased: their places at TeachMeets still to come are cancelled as if they had
   * pressed Cancel my place (a waiting person is offered it, a talk leaves the running order, no
   * reminder is owed to them). Past TeachMeets keep their sign-ups, to be anonymised.
   */
  async releasePlaces(aadObjectId: string, now: Date): Promise<void> {
    const aad = aadObjectId.toLowerCase();
    for (const eventId of await this.deps.store.eventsSignedUp(aad)) {
      const loaded = await this.queue.read(eventId);
      const mine = loaded?.agg.signUps.get(aad);
      if (!loaded || !mine || mine.status === 'cancelled' || loaded.agg.event.status !== 'open' || loaded.agg.event.startsAt <= now) continue;
      await this.change(eventId, { kind: 'cancel', person: { aadObjectId: aad, teamsId: mine.teamsId, name: mine.name, schoolId: mine.schoolId } });
    }
    await this.settle();
  }

  /**
   * After a person is erased: forgets every event this instance holds and the organisers' Teams ids it
   * read. The erasure rewrote those rows (a copy of a card in the person's personal chat is gone, their
   * ids and names with it): a change decided on what was held would list that copy and their ids, and
   * only fail on the event row's ETag. Each event is read again when next changed.
   */
  afterErase(): void {
    this.queue.forgetAll();
    this.organisersOf.clear();
  }

  /** One event's reminder registrations by the timer run one after another. */
  private inReminderOrder(eventId: string, job: () => Promise<void>): Promise<void> {
    const run = (this.reminding.get(eventId) ?? Promise.resolve()).catch(() => undefined).then(job);
    this.reminding.set(eventId, run);
    const done = () => {
      if (this.reminding.get(eventId) === run) this.reminding.delete(eventId);
    };
    run.then(done, done);
    return run;
  }

  async registerAllReminders(eventId: string): Promise<void> {
    const deadlines = this.deps.deadlines;
    if (!deadlines) return;
    await this.inReminderOrder(eventId, async () => {
      const registered = new Set<string>();
      for (let look = 0; look < 3; look += 1) {
        const loaded = await this.queue.read(eventId);
        if (!loaded) return;
        const e = loaded.agg.event;
        const now = this.deps.clock.now();
        const wanted = e.status !== 'cancelled' && remindersKept(e, now) && now < e.startsAt;
        for (const aad of [...registered]) {
          if (wanted && loaded.agg.signUps.get(aad)?.status === 'confirmed') continue;
          await deadlines.cancel(reminderId(eventId, aad));
          registered.delete(aad);
        }
        if (!wanted) return;
        for (const s of loaded.agg.signUps.values()) {
          if (s.status !== 'confirmed') continue;
          await deadlines.register(reminderFor(e, s, now));
          registered.add(s.aadObjectId);
        }
        if ((await this.deps.store.version(eventId)) === e.version) return;
      }
    });
  }

  /** Timer: expire overdue offers and offer freed places (the change's effects tell people), show the card as it now is, plan the next look. */
  async sweep(eventId: string): Promise<void> {
    const committed = await this.change(eventId, { kind: 'sweep' }).catch(() => undefined);
    if (!committed) return;
    // Nothing changed, but the card may still look different now (sign-ups closed at the deadline).
    if (committed.delivered) await committed.delivered;
    else await this.refreshCards(eventId);
    await this.planTimers(committed.agg.event, committed.agg);
  }

  /** Timers at the sign-up deadline (the card shows Closed), at each pending offer's expiry, and at `remindersFrom`. */
  async planTimers(event: TeachMeet, agg?: Aggregate): Promise<void> {
    const now = this.deps.clock.now();
    if (event.status === 'cancelled') return;
    if (event.deadline > now) await this.deps.timers.schedule(SWEEP_TIMER, event.id, event.deadline);
    // Reminders are registered weeks before the start, by this timer, not by every sign-up before then.
    const from = remindersFrom(event);
    if (this.deps.deadlines && from > now) await this.deps.timers.schedule(REMINDERS_TIMER, event.id, from);
    for (const s of agg?.signUps.values() ?? []) {
      if (s.status === 'offered' && s.offerExpiresAt && s.offerExpiresAt > now) await this.deps.timers.schedule(SWEEP_TIMER, event.id, s.offerExpiresAt);
    }
  }

  touched(applied: Applied): boolean {
    return applied.changed.size > 0 || applied.eventChanged;
  }
}

/** The counts the event row carries (for lists and the impact report without reading every sign-up). */
function tally(agg: Aggregate): { attending: number; waiting: number; presenting: number } {
  const c = counts(agg);
  return { attending: c.attending, waiting: c.waiting + c.offered, presenting: c.presenting[2] + c.presenting[5] + c.presenting[7] };
}

/** Any conversation the card was posted in: personal chats are opened through its tenant. */
export function viaOf(posts: readonly Post[]): Partial<ConversationReference> | undefined {
  for (const post of posts) {
    const reference = parseReference(post.reference);
    if (reference) return reference;
  }
  return undefined;
}

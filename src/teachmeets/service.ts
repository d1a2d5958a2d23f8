import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFactory } from 'botbuilder';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { DeadlineRegistry } from '../platform/deadlines/types';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import type { Proactive } from '../platform/proactive';
import type { Timers } from '../platform/timers';
import { eventCardData, offerCardData } from './cards';
import type { Aggregate, OfferPolicy, TeachMeet } from './model';
import { TeachMeetNotices, viaOf } from './notices';
import { mayOrganise, type Applied } from './rules';
import { TeachMeetQueue } from './queue';
import { REMINDERS_TIMER, reminderFor, reminderId, remindersFrom, remindersKept } from './reminders';
import type { Post, TeachMeetStore } from './store';
import { parseReference } from '../platform/conversations/reference';

/**
 * What happens around a committed TeachMeet change: the shared cards are updated in place for
 * everyone, people are told what concerns them, and offers of freed places are made durably (a timer
 * is written before the commit that makes them, so a restart follows them up) and sent once.
 */

export const SWEEP_TIMER = 'teachmeet.sweep';
/**
 * A shared card is updated at most this often (always ending with the latest state): Teams allows about
 * 7 messages a second per conversation, and a rush otherwise sends one update per commit.
 */
const CARD_UPDATE_GAP_MS = 250;
/**
 * The instance that commits an offer sends it straight away; the timer written before that commit only
 * follows up if it did not (a crash), so it is due a little later, when the send has long finished:
 * due at once, any instance's scheduler could send the same offer while it is still on its way.
 */
export const OFFER_FOLLOW_UP_MS = 2 * 60_000;
/** How long the organisers' Teams ids for shared cards may be reused (a new rep gets their view within it). */
const ORGANISERS_MAX_AGE_MS = 30_000;

export interface ServiceDeps {
  readonly store: TeachMeetStore;
  readonly directory: DirectoryStore;
  /** Where the Teams ids of reps and coordinators are found (their personal chats with Together). */
  readonly conversations: ConversationStore;
  readonly proactive: Proactive;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: OfferPolicy;
  /** Where the reminders the day before go (each confirmed attendee and presenter). */
  readonly deadlines?: DeadlineRegistry;
}

export class TeachMeetService {
  readonly queue: TeachMeetQueue;
  private readonly refreshing = new Map<string, { latest: { agg: Aggregate; posts: readonly Post[] } | undefined; running: boolean }>();
  private readonly background = new Set<Promise<unknown>>();
  /** Confirmations, changes and cancellations for each person, recorded with the change and sent after it. */
  readonly notices: TeachMeetNotices;
  /** When each event's shared card was last sent (kept briefly past its refresh, so the next one waits too). */
  private readonly lastCardUpdate = new Map<string, number>();
  /** Offer sending in progress per event: one at a time, so two callers cannot both find an offer unsent. */
  private readonly offering = new Map<string, Promise<void>>();
  /** Teams ids of each event's organisers, read at most every ORGANISERS_MAX_AGE_MS. */
  private readonly organisersOf = new Map<string, { at: number; ids: Promise<string[]> }>();
  /** Reminder registrations in progress per event, one commit after another. */
  private readonly reminding = new Map<string, Promise<void>>();

  constructor(private readonly deps: ServiceDeps) {
    this.queue = new TeachMeetQueue(
      deps.store,
      deps.clock,
      deps.policy,
      {
        beforeOffers: async (eventId, applied) => {
          // Written before the commit that makes the offers: after a crash the timer finds them unsent.
          await deps.timers.schedule(SWEEP_TIMER, eventId, new Date(deps.clock.now().getTime() + OFFER_FOLLOW_UP_MS));
          const expiries = new Set(applied.notices.filter((n) => n.kind === 'offer').map((n) => (n as { expiresAt: Date }).expiresAt.getTime()));
          for (const at of expiries) await deps.timers.schedule(SWEEP_TIMER, eventId, new Date(at));
        },
        afterCommit: (eventId, applied, agg, posts, before) => {
          // Bookkeeping (notices or offers recorded as sent) changes no card and no reminder.
          if (applied.shown) this.refreshCards(eventId, agg, posts);
          if (applied.notices.length > 0) this.track(this.notices.send(agg, posts, applied.notices));
          if (applied.shown && deps.deadlines) this.track(this.syncReminders(deps.deadlines, agg, applied, before));
          if (applied.notices.some((n) => n.kind === 'offer')) this.track(this.sendOffers(eventId));
          // Offers left over because one commit could not hold them all: the next sweep at once.
          if (applied.more) this.track(this.sweep(eventId));
        },
      },
      deps.logger,
    );
    this.notices = new TeachMeetNotices({ queue: this.queue, store: deps.store, proactive: deps.proactive, clock: deps.clock, logger: deps.logger, track: (p) => this.track(p) });
  }

  static newId(): string {
    return `tm${randomBytes(5).toString('hex')}`;
  }

  /** Waits for card updates and messages started by earlier changes (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
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
    const ids = (async () => {
      const staff = await this.deps.directory.staff();
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
    ids.catch(() => this.organisersOf.delete(event.id));
    this.organisersOf.set(event.id, { at: now, ids });
    if (this.organisersOf.size > 1000) this.organisersOf.delete(this.organisersOf.keys().next().value!);
    return ids;
  }

  /**
   * Updates every posted copy of the shared card; coalesced, so a rush sends the latest state, not every
   * step. Another instance may commit and update the card while this one is still sending an older
   * state, so after sending, the stored version is checked and, if it moved on, the card is sent again
   * from what is stored: the last update to reach Teams is always the latest state.
   */
  refreshCards(eventId: string, agg: Aggregate, posts: readonly Post[]): void {
    let state = this.refreshing.get(eventId);
    if (!state) {
      state = { latest: undefined, running: false };
      this.refreshing.set(eventId, state);
    }
    state.latest = { agg, posts };
    if (state.running) return;
    state.running = true;
    const s = state;
    this.track(
      (async () => {
        try {
          let sent = 0;
          for (;;) {
            while (s.latest) {
              const wait = (this.lastCardUpdate.get(eventId) ?? -Infinity) + CARD_UPDATE_GAP_MS - performance.now();
              if (wait > 0) await sleep(wait); // changes meanwhile only replace s.latest: the next update carries them all
              const { agg: a, posts: p } = s.latest;
              s.latest = undefined;
              if (a.event.version < sent) continue; // a newer state is already on the card
              const names = await this.schoolNames();
              const now = this.deps.clock.now();
              const organisers = await this.organiserIds(a.event);
              const shared = renderCard('teachmeetEvent', eventCardData(a, now, names, { organisers }));
              for (const post of p) {
                const reference = parseReference(post.reference);
                if (!reference) continue;
                // A copy in a personal chat has one reader: show them their own place, not everyone's view
                // (which would replace the answer to the button they just pressed). Channel copies show no
                // organiser buttons and carry `refresh`, so Teams fetches the organisers' (and signed-up people's) own view.
                const reader = reference.conversation?.conversationType === 'personal' ? reference.user?.aadObjectId?.toLowerCase() : undefined;
                const person = reader ? await this.deps.directory.resolve(reader, '', 30_000) : undefined;
                const card = reader && person ? renderCard('teachmeetEvent', eventCardData(a, now, names, { viewer: reader, canOrganise: mayOrganise(person, a.event), organisers, onlyReader: true })) : shared;
                await this.deps.proactive.update(reference, post.activityId, MessageFactory.attachment(cardAttachment(card))).catch((err) => this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not update a TeachMeet card'));
              }
              sent = Math.max(sent, a.event.version);
              this.lastCardUpdate.set(eventId, performance.now());
            }
            const stored = await this.deps.store.version(eventId);
            if (s.latest) continue;
            if (stored === undefined || stored <= sent) break;
            const fresh = await this.queue.read(eventId);
            if (s.latest) continue;
            if (!fresh || fresh.agg.event.version <= sent) break;
            s.latest = { agg: fresh.agg, posts: fresh.posts };
          }
        } finally {
          s.running = false;
          this.refreshing.delete(eventId);
          const at = this.lastCardUpdate.get(eventId);
          setTimeout(() => {
            if (!this.refreshing.has(eventId) && this.lastCardUpdate.get(eventId) === at) this.lastCardUpdate.delete(eventId);
          }, CARD_UPDATE_GAP_MS).unref();
        }
      })(),
    );
  }

  /** Sends every offer not yet sent, marking each sent once it has gone; calls for one event run one after another. */
  sendOffers(eventId: string): Promise<void> {
    const next = (this.offering.get(eventId) ?? Promise.resolve()).catch(() => undefined).then(() => this.sendUnsentOffers(eventId));
    this.offering.set(eventId, next);
    const forget = () => {
      if (this.offering.get(eventId) === next) this.offering.delete(eventId);
    };
    next.then(forget, forget);
    return next;
  }

  private async sendUnsentOffers(eventId: string): Promise<void> {
    const loaded = await this.queue.read(eventId);
    if (!loaded) return;
    const now = this.deps.clock.now();
    const via = viaOf(loaded.posts);
    for (const s of loaded.agg.signUps.values()) {
      if (s.status !== 'offered' || s.offerSent || !s.offerExpiresAt) continue;
      const card = renderCard('teachmeetOffer', offerCardData(loaded.agg.event, s.offerExpiresAt, now));
      const sent = await this.deps.proactive.toPerson({ aadObjectId: s.aadObjectId, teamsId: s.teamsId, name: s.name }, via, MessageFactory.attachment(cardAttachment(card)));
      if (sent) await this.queue.submit(eventId, { kind: 'markOfferSent', aadObjectId: s.aadObjectId, expiresAt: s.offerExpiresAt.toISOString() });
    }
  }

  /**
   * Keeps the reminder the school day before the TeachMeet in step with each sign-up: registered for
   * everyone confirmed, cancelled for anyone who is not (or when the event is cancelled). Registering
   * the same reminder again changes nothing, so an edit re-registers everyone cheaply. Until
   * `remindersFrom` (weeks before the start) nothing is kept: the reminders timer registers everyone then.
   */
  private syncReminders(deadlines: DeadlineRegistry, agg: Aggregate, applied: Applied, before?: Aggregate): Promise<void> {
    return this.inReminderOrder(agg.event.id, () => this.registerReminders(deadlines, agg, applied, before));
  }

  /** One event's reminder changes run in commit order (an attend then a cancel must not land the other way round). */
  private inReminderOrder(eventId: string, job: () => Promise<void>): Promise<void> {
    const run = (this.reminding.get(eventId) ?? Promise.resolve()).catch(() => undefined).then(job);
    this.reminding.set(eventId, run);
    const done = () => {
      if (this.reminding.get(eventId) === run) this.reminding.delete(eventId);
    };
    run.then(done, done);
    return run;
  }

  private async registerReminders(deadlines: DeadlineRegistry, agg: Aggregate, applied: Applied, before?: Aggregate): Promise<void> {
    const e = agg.event;
    const now = this.deps.clock.now();
    // Kept from now on, and kept before this change (only an edit of the start can make them differ).
    const kept = remindersKept(e, now);
    const wasKept = before ? remindersKept(before.event, now) : kept;
    if (!kept && !wasKept) return; // weeks away: nothing registered, nothing to cancel
    const ids = applied.eventChanged ? [...agg.signUps.keys()] : [...applied.changed];
    for (const aad of ids) {
      const s = agg.signUps.get(aad);
      if (!s) continue;
      if (!kept || s.status !== 'confirmed' || e.status === 'cancelled') {
        // Only someone confirmed before this change can have a reminder to cancel: in a rush everyone
        // joining the waitlist would otherwise cost a read of a row that does not exist. An edit that
        // moves the start weeks away cancels them all; the timer planned for it registers them again.
        const hadReminder = wasKept && (applied.eventChanged || e.status === 'cancelled' || before?.signUps.get(aad)?.status === 'confirmed');
        if (hadReminder) await deadlines.cancel(reminderId(e.id, aad));
        continue;
      }
      await deadlines.register(reminderFor(e, s, now));
    }
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
      await this.queue.submit(eventId, { kind: 'cancel', person: { aadObjectId: aad, teamsId: mine.teamsId, name: mine.name, schoolId: mine.schoolId } });
    }
    await this.settle();
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

  /** Timer: expire overdue offers, offer freed places, send what is unsent, refresh the card, plan the next look. */
  async sweep(eventId: string): Promise<void> {
    const committed = await this.queue.submit(eventId, { kind: 'sweep' }).catch(() => undefined);
    if (!committed) return;
    await this.sendOffers(eventId);
    this.refreshCards(eventId, committed.agg, committed.posts);
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

import { randomBytes } from 'node:crypto';
import { MessageFactory, type ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import type { Proactive } from '../platform/proactive';
import type { Timers } from '../platform/timers';
import { eventCardData, noticeCardData, offerCardData } from './cards';
import type { Aggregate, OfferPolicy, TeachMeet } from './model';
import type { Applied, Notice } from './rules';
import { TeachMeetQueue } from './queue';
import type { Post, TeachMeetStore } from './store';

/**
 * What happens around a committed TeachMeet change: the shared cards are updated in place for
 * everyone, people are told what concerns them, and offers of freed places are made durably (a timer
 * is written before the commit that makes them, so a restart follows them up) and sent once.
 */

export const SWEEP_TIMER = 'teachmeet.sweep';

export interface ServiceDeps {
  readonly store: TeachMeetStore;
  readonly directory: DirectoryStore;
  readonly proactive: Proactive;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: OfferPolicy;
}

export class TeachMeetService {
  readonly queue: TeachMeetQueue;
  private readonly refreshing = new Map<string, { latest: { agg: Aggregate; posts: readonly Post[] } | undefined; running: boolean }>();
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly deps: ServiceDeps) {
    this.queue = new TeachMeetQueue(
      deps.store,
      deps.clock,
      deps.policy,
      {
        beforeOffers: async (eventId, applied) => {
          // Written before the commit that makes the offers: after a crash the timer finds them unsent.
          await deps.timers.schedule(SWEEP_TIMER, eventId, deps.clock.now());
          const expiries = new Set(applied.notices.filter((n) => n.kind === 'offer').map((n) => (n as { expiresAt: Date }).expiresAt.getTime()));
          for (const at of expiries) await deps.timers.schedule(SWEEP_TIMER, eventId, new Date(at));
        },
        afterCommit: (eventId, applied, agg, posts) => {
          this.refreshCards(eventId, agg, posts);
          this.track(this.sendNotices(agg, posts, applied.notices));
          if (applied.notices.some((n) => n.kind === 'offer')) this.track(this.sendOffers(eventId));
        },
      },
      deps.logger,
    );
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

  /** Updates every posted copy of the shared card; coalesced, so a rush sends the latest state, not every step. */
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
          while (s.latest) {
            const { agg: a, posts: p } = s.latest;
            s.latest = undefined;
            const names = await this.schoolNames();
            const card = renderCard('teachmeetEvent', eventCardData(a, this.deps.clock.now(), names));
            for (const post of p) {
              const reference = parseReference(post.reference);
              if (!reference) continue;
              await this.deps.proactive.update(reference, post.activityId, MessageFactory.attachment(cardAttachment(card))).catch((err) => this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not update a TeachMeet card'));
            }
          }
        } finally {
          s.running = false;
          this.refreshing.delete(eventId);
        }
      })(),
    );
  }

  private async sendNotices(agg: Aggregate, posts: readonly Post[], notices: readonly Notice[]): Promise<void> {
    const now = this.deps.clock.now();
    const via = viaOf(posts);
    const e = agg.event;
    for (const notice of notices) {
      const s = agg.signUps.get(notice.aadObjectId);
      if (!s) continue;
      const to = { aadObjectId: s.aadObjectId, teamsId: s.teamsId, name: s.name };
      let card: ReturnType<typeof noticeCardData> | undefined;
      switch (notice.kind) {
        case 'confirmed':
          if (s.status !== 'confirmed') continue;
          card = noticeCardData(e, s.role === 'presenter' && s.talk ? "You're presenting" : 'Your place is confirmed', s.role === 'presenter' && s.talk ? `${s.talk.slot} min, '${s.talk.title}'. Add it to your calendar so you don't miss it.` : `See you there. Add it to your calendar so you don't miss it.`, now, true);
          break;
        case 'offerExpired':
          card = noticeCardData(e, 'The place you were offered has gone', 'The offer expired before it was accepted, so the place went to the next person waiting.', now, false);
          break;
        case 'changed':
          card = noticeCardData(e, `${e.title} has changed`, `What changed: ${notice.what.join('; ')}.`, now, s.status === 'confirmed');
          break;
        case 'eventCancelled':
          card = noticeCardData(e, `${e.title} is cancelled`, 'The organiser has cancelled this TeachMeet. Sorry for any inconvenience.', now, false);
          break;
        default:
          continue;
      }
      await this.deps.proactive.toPerson(to, via, MessageFactory.attachment(cardAttachment(renderCard('teachmeetNotice', card))));
    }
  }

  /** Sends every offer not yet sent, marking each sent once it has gone. */
  async sendOffers(eventId: string): Promise<void> {
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

  /** Timer: expire overdue offers, offer freed places, send what is unsent, refresh the card, plan the next look. */
  async sweep(eventId: string): Promise<void> {
    const committed = await this.queue.submit(eventId, { kind: 'sweep' }).catch(() => undefined);
    if (!committed) return;
    await this.sendOffers(eventId);
    this.refreshCards(eventId, committed.agg, committed.posts);
    await this.planTimers(committed.agg.event, committed.agg);
  }

  /** Timers at the sign-up deadline (the card shows Closed) and at each pending offer's expiry. */
  async planTimers(event: TeachMeet, agg?: Aggregate): Promise<void> {
    const now = this.deps.clock.now();
    if (event.status === 'cancelled') return;
    if (event.deadline > now) await this.deps.timers.schedule(SWEEP_TIMER, event.id, event.deadline);
    for (const s of agg?.signUps.values() ?? []) {
      if (s.status === 'offered' && s.offerExpiresAt && s.offerExpiresAt > now) await this.deps.timers.schedule(SWEEP_TIMER, event.id, s.offerExpiresAt);
    }
  }

  touched(applied: Applied): boolean {
    return applied.changed.size > 0 || applied.eventChanged;
  }
}

export function parseReference(json: string): Partial<ConversationReference> | undefined {
  try {
    const parsed = JSON.parse(json) as Partial<ConversationReference>;
    return parsed && typeof parsed.serviceUrl === 'string' && parsed.conversation?.id ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function viaOf(posts: readonly Post[]): Partial<ConversationReference> | undefined {
  for (const post of posts) {
    const reference = parseReference(post.reference);
    if (reference) return reference;
  }
  return undefined;
}

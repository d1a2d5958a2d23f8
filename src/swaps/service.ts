import { createHash, randomBytes } from 'node:crypto';
import { MessageFactory, type Activity, type ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import { parseReference } from '../platform/conversations/reference';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Person } from '../platform/identity';
import type { Logger } from '../platform/logging';
import { change, type Decision } from '../platform/outbox/kernel';
import type { Effect, Outbox } from '../platform/outbox/outbox';
import type { Timers } from '../platform/timers';
import {
  acceptedAskText,
  acceptedTogetherText,
  agreedNoticeData,
  cancelledNoticeData,
  closedCardData,
  declinedNoticeData,
  expiredNoticeData,
  noticeCardData,
  openAgainNoticeData,
  proposalAskText,
  proposalCardData,
} from './cards';
import type { OfferDraft } from './form';
import type { Match, MatchPolicy, Offer, PersonRef, WaitingCard } from './model';
import {
  accept,
  agree,
  cancel,
  checkAgree,
  closedText,
  closeCancelled,
  decline,
  effectsOf,
  expiresAt,
  formatRange,
  hold,
  isDueToExpire,
  isLive,
  lapse,
  mayActFor,
  other,
  pendingDecisions,
  proposal,
  rankCandidates,
  release,
  sendsLabel,
  sideOf,
  whyUnmatched,
  withdraw,
  type MatchContext,
  type Side,
  type SwapDeadline,
  type SwapStep,
} from './rules';
import { Draft } from './draft';
import { SWAPS_PARTITION, SWAPS_TABLE, type SwapStore } from './store';

/**
 * A placement swap change and what it tells people, through the outbox. Every decision (matching,
 * accept, decline, withdraw, cancel, expiry) reads what it needs, decides with the pure rules, and
 * commits the rows it changed with the change's effects (rules.ts effectsOf, in words from cards.ts)
 * in one transaction under the ETags it read (the platform's commit kernel; every swap row is in one
 * partition). Offers a change frees are matched again inside the same change, so whether their school
 * hears "open again" or gets a new proposal is decided and committed at once. A stop after the commit
 * delays the messages, card updates and deadline-registry sync; it never loses them.
 *
 * Who is told: each school's reps (and whoever made the offer) personally, when the bot can reach them
 * (a Teams id recorded when they acted, or a stored personal chat); a school none of whose reps can be
 * reached gets the message in its channel (or the reps' channel) instead, if a coordinator set one.
 */

export const EXPIRE_TIMER = 'swap.expire';
export const MATCH_TIMER = 'swap.match';
/** The outbox step after a card asking a school to accept was delivered: remember it on the match, to close it later. */
const WAITING = 'swaps.waitingCard';
/** Conflicts after which a new offer is stored without matching (the match timer looks again in a minute). */
const MATCH_ATTEMPTS = 6;

export interface SwapServiceDeps {
  readonly store: SwapStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly outbox: Outbox;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: MatchPolicy;
}

/** Any conversation in the tenant, to open personal chats through. */
export type Via = Partial<ConversationReference> | undefined;

export type MatchOutcome = { readonly kind: 'proposed'; readonly match: Match; readonly partner: Offer } | { readonly kind: 'unmatched'; readonly why: string } | { readonly kind: 'closed' };

export interface MatchView {
  readonly match: Match;
  readonly offers: readonly [Offer | undefined, Offer | undefined];
}

export type Decided =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'refused'; readonly message: string }
  /** `changed` is false when nothing was written (a repeated click, a closed proposal). */
  | { readonly kind: 'done'; readonly message: string; readonly view: MatchView; readonly changed: boolean };

export type Withdrawn = { readonly kind: 'unknown' } | { readonly kind: 'refused'; readonly message: string } | { readonly kind: 'done'; readonly message: string; readonly offer: Offer; readonly changed: boolean };

export interface SwapDeadlineFor extends SwapDeadline {
  /** The reps of the school, with their Teams ids where known, for the nudges. */
  readonly reps: PersonRef[];
}

interface WaitingData {
  readonly matchId: string;
  readonly schoolId: string;
}

/** What a decision ends with when nothing is written: its answer. */
type Stop<V> = { readonly stop: V };

export class SwapService {
  /** This instance's part of every stamp it makes: stamps of two instances never collide. */
  private readonly instance = randomBytes(3).toString('hex');
  private lastStamp = 0;

  constructor(private readonly deps: SwapServiceDeps) {
    // A card asking a school to accept was delivered: remember it on the match, so whoever closes the
    // proposal updates it. If the proposal closed meanwhile, the card is updated at once.
    deps.outbox.on(WAITING, async (data, sent) => {
      const { matchId, schoolId } = data as WaitingData;
      if (!sent?.activityId) return;
      const card: WaitingCard = { schoolId, reference: JSON.stringify(sent.reference), activityId: sent.activityId };
      await this.decide<void>(`swap ${matchId} (a card to remember)`, async (draft) => {
        const m = await draft.match(matchId);
        if (!m || (m.waitingCards ?? []).some((c) => c.activityId === card.activityId)) return { stop: undefined };
        if (m.status === 'proposed') {
          draft.setMatch({ ...m, waitingCards: [...(m.waitingCards ?? []), card] });
          return { value: undefined };
        }
        const update = await this.closeCard(draft, m, card);
        return update ? { value: undefined, extra: [update] } : { stop: undefined };
      }, false); // inside a delivery: waiting for the next one here would wait for itself
    });
  }

  static offerId(aadObjectId: string, formMessageId: string): string {
    return `so${createHash('sha256').update(`${aadObjectId}|${formMessageId}`).digest('hex').slice(0, 16)}`;
  }

  /** A pair of offers has one match id, so a pair can be proposed only once. */
  static matchId(a: string, b: string): string {
    const [x, y] = a < b ? [a, b] : [b, a];
    return `sm${createHash('sha256').update(`${x}|${y}`).digest('hex').slice(0, 16)}`;
  }

  private get now(): Date {
    return this.deps.clock.now();
  }

  /**
   * Orders a change's effects (there is no revision for the whole partition): microseconds on this
   * instance's clock, but always after every effect the partition still owes and after this instance's
   * last stamp (a hybrid logical clock), so a change that followed another (it read the other's result)
   * sorts after it even when the other was committed by an instance whose clock is ahead; ends with
   * this instance's id, so two commits never share an effect row. Made after the change's reads.
   */
  private async nextStamp(): Promise<string> {
    const latest = await this.deps.outbox.latestStamp(SWAPS_TABLE, SWAPS_PARTITION);
    const owed = latest && /^\d{17}/.test(latest) ? Number(latest.slice(0, 17)) : 0;
    this.lastStamp = Math.max(this.now.getTime() * 1000, this.lastStamp + 1, owed + 1);
    return `${String(this.lastStamp).padStart(17, '0')}${this.instance}`;
  }

  private context(history: MatchContext['history'], paired: ReadonlySet<string>): MatchContext {
    return { now: this.now, policy: this.deps.policy, history, paired };
  }

  /**
   * One change through the commit kernel: `decide` reads what it needs into a fresh Draft and changes
   * it (or stops with an answer, writing nothing); the changed rows and their effects are committed in
   * one transaction, and decided again from a fresh read when another writer committed first. Waits
   * for this instance's delivery, so the person's answer follows the messages, as before.
   */
  private async decide<V>(
    what: string,
    decide: (draft: Draft, attempt: number) => Promise<Stop<V> | { value: V; via?: Via; exclude?: string; extra?: Effect[] }>,
    wait = true,
  ): Promise<{ value: V; draft: Draft; changed: boolean }> {
    let attempt = 0;
    const done = await change<Draft, { value: V; changed: boolean }, V>(
      this.deps.outbox,
      async () => new Draft(this.deps.store),
      async (draft): Promise<Decision<{ value: V; changed: boolean }, V>> => {
        attempt += 1;
        const decided = await decide(draft, attempt);
        if ('stop' in decided) return { ok: false, refusal: decided.stop };
        const step = draft.step();
        const actions = draft.change().actions;
        const effects = [...(await this.effects(draft, step, decided.via, decided.exclude)), ...(decided.extra ?? [])];
        if (actions.length === 0 && effects.length === 0) return { ok: false, refusal: decided.value };
        return { ok: true, value: { value: decided.value, changed: actions.length > 0 }, write: { table: SWAPS_TABLE, partitionKey: SWAPS_PARTITION, actions, effects, stamp: await this.nextStamp() } };
      },
      what,
    );
    switch (done.kind) {
      case 'missing':
        throw new Error(`${what}: nothing to load`);
      case 'refused':
        return { value: done.refusal, draft: done.loaded, changed: false };
      case 'done':
        if (wait) await done.delivered;
        return { value: done.value.value, draft: done.loaded, changed: done.value.changed };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Offers and matching

  /**
   * Stores a new offer (idempotent: the same form sent twice is one offer) and proposes its best match
   * at once, in one change. A timer written first looks for a match again if this one was given up
   * for conflicts; another plans its expiry.
   */
  async createOffer(id: string, draft: OfferDraft, by: PersonRef, via: Via): Promise<{ created: boolean; offer: Offer; outcome: MatchOutcome }> {
    const now = this.now;
    const offer: Offer = { ...draft, id, status: 'open', matchId: '', createdAt: now, updatedAt: now, by };
    await this.deps.timers.schedule(MATCH_TIMER, id, now);
    await this.deps.timers.schedule(EXPIRE_TIMER, id, expiresAt(draft.confirmBy));
    type Made = { created: boolean; offer: Offer; outcome: MatchOutcome };
    const { value } = await this.decide<Made>(`swap offer ${id}`, async (d, attempt) => {
      const stored = await d.offer(id);
      if (stored) return { stop: { created: false, offer: stored, outcome: stored.status === 'open' ? await this.explain(stored) : { kind: 'closed' } } };
      const fresh: Offer = { ...offer };
      d.createOffer(fresh, JSON.stringify(via ?? {}));
      if (attempt > MATCH_ATTEMPTS) {
        await this.deps.timers.schedule(MATCH_TIMER, id, new Date(this.now.getTime() + 60_000));
        return { value: { created: true, offer: fresh, outcome: { kind: 'unmatched', why: 'Other offers are changing right now; I will look again in a minute.' } }, via };
      }
      const outcome = await this.matchIn(d, fresh, false);
      return { value: { created: true, offer: { ...offer }, outcome }, via };
    });
    return value;
  }

  /** Why an open offer has no match now, in plain words (a repeated form gets this instead of a second matching run). */
  async explain(offer: Offer): Promise<MatchOutcome> {
    const [live, mine, history] = await Promise.all([this.deps.store.liveOffers(), this.deps.store.matchesOf(offer.id), this.deps.store.history()]);
    const ctx = this.context(history, pairedWith(offer.id, mine.map((m) => m.match)));
    const why = whyUnmatched(offer, live.map((o) => o.offer), ctx);
    return { kind: 'unmatched', why: why || 'A match may be possible: I will look again shortly.' };
  }

  /** Timer: matching for an offer that was made or freed (a safety net if matching was given up for conflicts). */
  async matchTimer(offerId: string): Promise<void> {
    await this.decide<MatchOutcome>(`swap offer ${offerId} (matching)`, async (d) => {
      const offer = await d.offer(offerId);
      if (!offer || offer.status !== 'open' || !isLive(offer, this.now)) return { stop: { kind: 'closed' } };
      const outcome = await this.matchIn(d, offer, false);
      if (outcome.kind !== 'proposed') return { stop: outcome };
      return { value: outcome, via: parseReference(d.viaOf(offerId)) };
    });
  }

  /**
   * Proposes the best candidate for an open offer inside a change: both offers are held and the match
   * created in the draft. `freed`: the offer was freed by this change (its school hears why, if no match).
   */
  private async matchIn(d: Draft, offer: Offer, freed: boolean): Promise<MatchOutcome> {
    if (offer.status !== 'open' || !isLive(offer, this.now)) return { kind: 'closed' };
    const others = (await d.liveOffers()).filter((o) => o.id !== offer.id);
    const paired = new Set((await d.matchesOf(offer.id)).map((m) => (m.offerIds[0] === offer.id ? m.offerIds[1] : m.offerIds[0])));
    const ctx = this.context(await d.agreedSwaps(), paired);
    const best = rankCandidates(offer, others, ctx)[0];
    if (!best) {
      const why = whyUnmatched(offer, others, ctx) || 'No offer fits yours yet.';
      if (freed) d.unmatched.set(offer.id, why);
      return { kind: 'unmatched', why };
    }
    const match = proposal(SwapService.matchId(offer.id, best.offer.id), offer, best.offer, best.overlap, this.now);
    hold(match, offer, best.offer, this.now);
    d.setMatch(match);
    return { kind: 'proposed', match, partner: best.offer };
  }

  /** Matches freed offers again inside the change, oldest first. */
  private async rematch(d: Draft, freed: readonly Offer[]): Promise<Map<string, MatchOutcome>> {
    const outcomes = new Map<string, MatchOutcome>();
    for (const offer of [...freed].sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || x.id.localeCompare(y.id))) outcomes.set(offer.id, await this.matchIn(d, offer, true));
    return outcomes;
  }

  /** Frees the offers a closed match was holding, in the draft; returns them. */
  private async releaseOffers(d: Draft, match: Match): Promise<Offer[]> {
    const released: Offer[] = [];
    for (const id of match.offerIds) {
      const o = await d.offer(id);
      if (o && release(o, match.id, this.now)) released.push(o);
    }
    return released;
  }

  // -------------------------------------------------------------------------------------------
  // Answers

  /** A school accepts a proposal; when both have, the swap is agreed in the same change. */
  async accept(matchId: string, schoolId: string, person: Person, by: PersonRef, via: Via): Promise<Decided> {
    const { value, changed } = await this.decide<Decided>(`swap ${matchId}`, async (d) => {
      const checked = this.checkSide(await d.match(matchId), schoolId, person);
      if ('kind' in checked) return { stop: checked };
      const { match, side } = checked;
      const decision = accept(match, side, by, this.now);
      if (decision.kind === 'unchanged') return { stop: { kind: 'done', message: decision.message, view: await this.view(match, d), changed: false } };
      const otherSide = other(side);
      if (decision.kind === 'recorded') {
        d.setMatch(decision.match);
        return { value: { kind: 'done', message: `You've accepted for ${match.schoolNames[side]}. The swap is agreed as soon as ${match.schoolNames[otherSide]} accepts too; I've let their reps know.`, view: await this.view(decision.match, d), changed: true }, via };
      }
      // Both schools have said yes: agreed if both offers are still held, else the proposal lapses.
      const offers = [await d.offer(match.offerIds[0]), await d.offer(match.offerIds[1])] as const;
      const check = checkAgree(decision.match, offers, this.now);
      if (!check.ok) {
        const lapsed = lapse(match, check.reason, this.now);
        d.setMatch(lapsed);
        await this.rematch(d, await this.releaseOffers(d, lapsed));
        return { value: { kind: 'done', message: `This proposal is no longer open: ${check.reason}.`, view: await this.view(lapsed, d), changed: true }, via, exclude: by.aadObjectId };
      }
      const agreed = decision.match;
      d.setMatch(agreed);
      d.addHistory(agree(agreed, offers[0]!, offers[1]!, this.now));
      await this.lapseOthers(d, agreed);
      return { value: { kind: 'done', message: `The swap is agreed: both ${agreed.schoolNames[0]} and ${agreed.schoolNames[1]} have accepted. I've told both schools' reps and the coordinators.`, view: { match: agreed, offers }, changed: true }, via, exclude: by.aadObjectId };
    });
    if (value.kind !== 'done' || !changed || value.view.match.status !== 'proposed') return value;
    // The other school may have accepted meanwhile: the answer follows what is stored now.
    const now = (await this.deps.store.match(matchId))?.match;
    const side = sideOf(value.view.match, schoolId);
    if (!now || now.status === 'proposed' || side === undefined) return value;
    return { kind: 'done', message: now.status === 'agreed' ? acceptedTogetherText(now, side) : closedText(now, this.now), view: await this.view(now), changed: true };
  }

  /** A school declines with a reason: both offers are freed, and each is matched again (never with the other), in one change. */
  async decline(matchId: string, schoolId: string, reason: string, person: Person, by: PersonRef, via: Via): Promise<Decided> {
    const { value } = await this.decide<Decided>(`swap ${matchId}`, async (d) => {
      const checked = this.checkSide(await d.match(matchId), schoolId, person);
      if ('kind' in checked) return { stop: checked };
      const { match, side } = checked;
      const decision = decline(match, side, by, reason, this.now);
      if (decision.kind === 'unchanged') return { stop: { kind: 'done', message: decision.message, view: await this.view(match, d), changed: false } };
      d.setMatch(decision.match);
      const released = await this.releaseOffers(d, decision.match);
      const outcomes = await this.rematch(d, released);
      const otherSide = other(side);
      const mine = released.find((o) => o.schoolId === match.schoolIds[side]);
      const mineOutcome = mine ? outcomes.get(mine.id) : undefined;
      const next =
        mineOutcome?.kind === 'proposed'
          ? ` Your offer is open again, and I've found another match with ${mineOutcome.partner.schoolName}: I've sent the proposal to both schools' reps.`
          : mineOutcome?.kind === 'unmatched'
            ? ` Your offer is open again. No match yet: ${mineOutcome.why}`
            : '';
      return { value: { kind: 'done', message: `You declined the swap with ${match.schoolNames[otherSide]}. I've told their reps.${next}`, view: await this.view(decision.match, d), changed: true }, via, exclude: by.aadObjectId };
    });
    return value;
  }

  /** Either school cancels an agreed swap with a reason: the swap and its offers close; the other school and the coordinators are told. */
  async cancel(matchId: string, schoolId: string, reason: string, person: Person, by: PersonRef, via: Via): Promise<Decided> {
    const { value } = await this.decide<Decided>(`swap ${matchId}`, async (d) => {
      const checked = this.checkSide(await d.match(matchId), schoolId, person);
      if ('kind' in checked) return { stop: checked };
      const { match, side } = checked;
      const decision = cancel(match, side, by, reason, this.now);
      if (decision.kind === 'unchanged') return { stop: { kind: 'done', message: decision.message, view: await this.view(match, d), changed: false } };
      d.setMatch(decision.match);
      d.cancelHistory(match.id);
      for (const id of match.offerIds) {
        const o = await d.offer(id);
        if (o) closeCancelled(o, match.id, this.now);
      }
      return { value: { kind: 'done', message: `The swap with ${match.schoolNames[other(side)]} is cancelled. I've told their reps and the coordinators.`, view: await this.view(decision.match, d), changed: true }, via, exclude: by.aadObjectId };
    });
    return value;
  }

  /** A school withdraws its offer; a proposal it was in lapses and the other offer is matched again, in one change. */
  async withdraw(offerId: string, person: Person, by: PersonRef, via: Via): Promise<Withdrawn> {
    const { value } = await this.decide<Withdrawn>(`swap offer ${offerId}`, async (d) => {
      const offer = await d.offer(offerId);
      if (!offer) return { stop: { kind: 'unknown' } };
      if (!mayActFor(person, offer.schoolId)) return { stop: { kind: 'refused', message: `Only a rep of ${offer.schoolName} or a coordinator can withdraw its offer.` } };
      const decision = withdraw(offer, this.now);
      if (decision.kind === 'unchanged') return { stop: { kind: 'done', message: decision.message, offer, changed: false } };
      Object.assign(offer, decision.offer);
      const partner = decision.matchId ? await this.lapseProposal(d, decision.matchId, offerId, `${offer.schoolName} withdrew its offer`) : undefined;
      const text = `${offer.schoolName}'s offer (${sendsLabel(offer)}, ${formatRange(offer.from, offer.to, this.now)}) is withdrawn.${partner ? ` The proposed swap with ${partner.schoolName} is off; I've told their reps.` : ''}`;
      return { value: { kind: 'done', message: text, offer: { ...offer }, changed: true }, via, exclude: by.aadObjectId };
    });
    return value;
  }

  /**
   * In the draft: a still-proposed match that `offerId` is in lapses, the other school's offer is
   * freed and matched again. Returns the freed offer.
   */
  private async lapseProposal(d: Draft, matchId: string, offerId: string, reason: string): Promise<Offer | undefined> {
    const m = await d.match(matchId);
    if (!m || m.status !== 'proposed') return undefined;
    const lapsed = lapse(m, reason, this.now);
    d.setMatch(lapsed);
    const partner = await d.offer(m.offerIds[0] === offerId ? m.offerIds[1] : m.offerIds[0]);
    if (!partner || !release(partner, m.id, this.now)) return undefined;
    await this.rematch(d, [partner]);
    return partner;
  }

  /** After an agreement, other proposals holding either offer (there should be none) lapse, in the same change. */
  private async lapseOthers(d: Draft, agreed: Match): Promise<void> {
    for (const [i, offerId] of agreed.offerIds.entries()) {
      for (const m of await d.matchesOf(offerId)) {
        if (m.id === agreed.id || m.status !== 'proposed') continue;
        await this.lapseProposal(d, m.id, offerId, `${agreed.schoolNames[i as Side]}'s offer has been agreed in another swap`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  /** Timer at the end of an offer's confirm-by day: it expires (a proposal it was in lapses) and its school is told why it found no match. */
  async expire(offerId: string): Promise<void> {
    await this.decide<void>(`swap offer ${offerId} (expiry)`, async (d) => {
      const offer = await d.offer(offerId);
      if (!offer || !isDueToExpire(offer, this.now)) return { stop: undefined };
      const wasProposed = offer.status === 'proposed' ? offer.matchId : '';
      // Why it found no match, as if it were still open (the offers as they are after this change).
      offer.status = 'expired';
      offer.matchId = '';
      offer.updatedAt = this.now;
      if (wasProposed) await this.lapseProposal(d, wasProposed, offerId, `${offer.schoolName}'s offer reached its confirm-by date before both schools accepted`);
      const others = (await d.liveOffers()).filter((o) => o.id !== offerId);
      const paired = new Set((await d.matchesOf(offerId)).map((m) => (m.offerIds[0] === offerId ? m.offerIds[1] : m.offerIds[0])));
      d.unmatched.set(offerId, whyUnmatched({ ...offer, status: 'open' }, others, this.context(await d.agreedSwaps(), paired)));
      return { value: undefined, via: parseReference(d.viaOf(offerId)) };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Views and deadlines

  async view(match: Match, d?: Draft): Promise<MatchView> {
    if (d) return { match, offers: [await d.offer(match.offerIds[0]), await d.offer(match.offerIds[1])] };
    const [a, b] = await Promise.all([this.deps.store.offer(match.offerIds[0]), this.deps.store.offer(match.offerIds[1])]);
    return { match, offers: [a?.offer, b?.offer] };
  }

  /** Every decision waiting on a school, soonest first, with the school's reps: for the nudges capability. */
  async deadlines(): Promise<SwapDeadlineFor[]> {
    const [offers, matches] = await Promise.all([this.deps.store.liveOffers(), this.deps.store.currentMatches()]);
    const pending = pendingDecisions(offers.map((o) => o.offer), matches.map((m) => m.match), this.now);
    const schools = [...new Set(pending.map((p) => p.schoolId))];
    const reps = new Map<string, PersonRef[]>();
    for (const schoolId of schools) {
      const people = await this.deps.directory.repsOf(schoolId);
      const known = await this.deps.store.people(people.map((p) => p.aadObjectId));
      reps.set(schoolId, people.map((p) => ({ aadObjectId: p.aadObjectId, teamsId: known.get(p.aadObjectId)?.teamsId ?? '', name: p.name })));
    }
    return pending.map((p) => ({ ...p, reps: reps.get(p.schoolId) ?? [] }));
  }

  // -------------------------------------------------------------------------------------------
  // Inside

  /** The match, the side `schoolId` is on, and whether `person` may act for it. */
  private checkSide(match: Match | undefined, schoolId: string, person: Person): { match: Match; side: Side } | { kind: 'unknown' } | { kind: 'refused'; message: string } {
    if (!match) return { kind: 'unknown' };
    const side = sideOf(match, schoolId);
    if (side === undefined) return { kind: 'refused', message: `That swap is between ${match.schoolNames[0]} and ${match.schoolNames[1]}; the card asked about another school, so nothing was changed.` };
    if (!mayActFor(person, schoolId)) return { kind: 'refused', message: `Only a rep of ${match.schoolNames[side]} or a coordinator can act for ${match.schoolNames[side]}. Nothing was changed.` };
    return { match, side };
  }

  /** The change's effects (rules.ts effectsOf) as messages, card updates and registry changes for the outbox. */
  private async effects(d: Draft, step: SwapStep, via: Via, exclude: string | undefined): Promise<Effect[]> {
    const now = this.now;
    const out: Effect[] = [];
    const through = (m: Match): Via => via ?? parseReference(d.viaOf(m.offerIds[0])) ?? parseReference(d.viaOf(m.offerIds[1]));
    const effects = effectsOf(step, now);
    // Who agreed a swap is answered about it, not about another school's proposal it made lapse.
    const agreedHere = effects.some((e) => e.kind === 'agreed');
    for (const effect of effects) {
      switch (effect.kind) {
        case 'propose': {
          const m = (await d.match(effect.matchId))!;
          const view = await this.view(m, d);
          for (const side of [0, 1] as const) {
            const card = renderCard('swapProposal', proposalCardData(m, view.offers, { schoolId: m.schoolIds[side], now, mayAnswer: true, mine: proposalAskText(m, side, now) }));
            out.push(...(await this.toSchool(m.schoolIds[side], asCard(card), through(m), { also: view.offers[side] ? [view.offers[side]!.by] : [] })));
          }
          break;
        }
        case 'accepted': {
          const m = (await d.match(effect.matchId))!;
          const view = await this.view(m, d);
          const them = other(effect.side);
          const schoolId = m.schoolIds[them];
          const card = renderCard('swapProposal', proposalCardData(m, view.offers, { schoolId, now, mayAnswer: true, mine: acceptedAskText(m, effect.side) }));
          const then = { handler: WAITING, data: { matchId: m.id, schoolId } satisfies WaitingData };
          out.push(...(await this.toSchool(schoolId, asCard(card), through(m), { also: view.offers[them] ? [view.offers[them]!.by] : [], then })));
          break;
        }
        case 'agreed': {
          const m = (await d.match(effect.matchId))!;
          const view = await this.view(m, d);
          for (const side of [0, 1] as const) out.push(...(await this.toSchool(m.schoolIds[side], notice(agreedNoticeData(m, view.offers, now, side)), through(m), { exclude, also: view.offers[side] ? [view.offers[side]!.by] : [] })));
          out.push(...(await this.toCoordinators(notice(agreedNoticeData(m, view.offers, now)), through(m), exclude)));
          break;
        }
        case 'closeCards': {
          const m = (await d.match(effect.matchId))!;
          for (const c of m.waitingCards ?? []) {
            const update = await this.closeCard(d, m, c);
            if (update) out.push(update);
          }
          break;
        }
        case 'declined': {
          const m = (await d.match(effect.matchId))!;
          const them = other(effect.side);
          const theirs = await d.offer(m.offerIds[them]);
          const rematched = !!theirs && theirs.status === 'proposed' && theirs.matchId !== m.id;
          out.push(...(await this.toSchool(m.schoolIds[them], notice(declinedNoticeData(m, effect.side, rematched)), through(m), { exclude })));
          break;
        }
        case 'cancelled': {
          const m = (await d.match(effect.matchId))!;
          const view = await this.view(m, d);
          const them = other(effect.side);
          const card = notice(cancelledNoticeData(m, view.offers, effect.side, now));
          out.push(...(await this.toSchool(m.schoolIds[them], card, through(m), { exclude, also: view.offers[them] ? [view.offers[them]!.by] : [] })));
          out.push(...(await this.toCoordinators(card, through(m), exclude)));
          break;
        }
        case 'openAgain': {
          const offer = (await d.offer(effect.offerId))!;
          const m = (await d.match(effect.matchId))!;
          const reach = via ?? parseReference(d.viaOf(offer.id));
          out.push(...(await this.toSchool(offer.schoolId, notice(openAgainNoticeData(offer, m, effect.by, effect.why, now)), reach, { also: [offer.by], exclude: agreedHere ? undefined : exclude })));
          break;
        }
        case 'expired': {
          const offer = (await d.offer(effect.offerId))!;
          const m = effect.matchId ? await d.match(effect.matchId) : undefined;
          const partnerSchool = effect.matchId ? (m ? m.schoolNames[m.offerIds[0] === offer.id ? 1 : 0] : '') : undefined;
          out.push(...(await this.toSchool(offer.schoolId, notice(expiredNoticeData(offer, partnerSchool, effect.why, now)), via ?? parseReference(d.viaOf(offer.id)), { also: [offer.by] })));
          break;
        }
        case 'deadlines':
          out.push({ kind: 'deadlines', register: effect.register, complete: effect.complete, cancel: effect.cancel });
          break;
      }
    }
    return out;
  }

  /** A card that asked a school to accept, updated to the match as it is now (no buttons once it is closed). */
  private async closeCard(d: Draft, m: Match, c: WaitingCard): Promise<Effect | undefined> {
    const reference = parseReference(c.reference);
    if (!reference || !c.activityId) return undefined;
    const view = await this.view(m, d);
    return { kind: 'update', reference, activityId: c.activityId, activity: asCard(renderCard('swapProposal', closedCardData(m, view.offers, c.schoolId, this.now))) };
  }

  /**
   * A message for a school's reps (and `also`, e.g. whoever made the offer), except `exclude` (who
   * acted and sees the answer already), decided now: each one the bot can reach (a Teams id it has, to
   * open a chat through `via`, or a stored personal chat) is told personally; when none can be, the
   * school's channel or the reps' channel gets it instead, if a coordinator set one.
   */
  private async toSchool(schoolId: string, activity: Partial<Activity>, via: Via, opts: { also?: readonly PersonRef[]; exclude?: string; then?: { handler: string; data: unknown } } = {}): Promise<Effect[]> {
    const reps = await this.deps.directory.repsOf(schoolId);
    const people = new Map<string, PersonRef>();
    for (const r of reps) people.set(r.aadObjectId.toLowerCase(), { aadObjectId: r.aadObjectId.toLowerCase(), teamsId: '', name: r.name });
    for (const p of opts.also ?? []) {
      const aad = p.aadObjectId.toLowerCase();
      people.set(aad, { ...p, aadObjectId: aad, teamsId: p.teamsId || people.get(aad)?.teamsId || '' });
    }
    const excluded = opts.exclude ? people.delete(opts.exclude.toLowerCase()) : false;
    const out: Effect[] = [];
    const known = people.size > 0 ? await this.deps.store.people([...people.keys()]) : new Map<string, PersonRef>();
    for (const p of people.values()) {
      const to = { aadObjectId: p.aadObjectId, teamsId: p.teamsId || known.get(p.aadObjectId)?.teamsId || '', name: p.name || known.get(p.aadObjectId)?.name || '' };
      if (await this.reachable(to, via)) out.push({ kind: 'tell', to, via, activity, ...(opts.then ? { then: opts.then } : {}) });
    }
    if (out.length > 0 || (excluded && people.size === 0)) return out;
    const channel = await this.channelFor(schoolId);
    if (channel) return [{ kind: 'post', conversationId: channel.conversationId, reference: channel.reference, activity, ...(opts.then ? { then: opts.then } : {}) }];
    this.deps.logger.warn({ schoolId, recipients: people.size }, 'no rep of the school can be reached and it has no channel: the board still shows it');
    return out;
  }

  private async toCoordinators(activity: Partial<Activity>, via: Via, exclude?: string): Promise<Effect[]> {
    const coordinators = (await this.deps.directory.coordinators()).filter((c) => c.aadObjectId.toLowerCase() !== exclude?.toLowerCase());
    const known = await this.deps.store.people(coordinators.map((c) => c.aadObjectId));
    const out: Effect[] = [];
    for (const c of coordinators) {
      const aad = c.aadObjectId.toLowerCase();
      const to = { aadObjectId: aad, teamsId: known.get(aad)?.teamsId ?? '', name: c.name };
      if (await this.reachable(to, via)) out.push({ kind: 'tell', to, via, activity });
    }
    return out;
  }

  /** Whether the bot can message a person now: a Teams id to open a chat through `via`, or a personal chat it stored. */
  private async reachable(to: PersonRef, via: Via): Promise<boolean> {
    return (!!to.teamsId && !!via?.serviceUrl) || !!(await this.deps.conversations.personal(to.aadObjectId));
  }

  private async channelFor(schoolId: string): Promise<{ conversationId: string; reference: Partial<ConversationReference> } | undefined> {
    const channels = await this.deps.directory.channels();
    const chosen = channels.find((c) => c.role.kind === 'school' && c.role.schoolId === schoolId) ?? channels.find((c) => c.role.kind === 'reps');
    const stored = chosen ? await this.deps.conversations.conversation(chosen.conversationId) : undefined;
    return chosen && stored ? { conversationId: chosen.conversationId, reference: stored.reference } : undefined;
  }
}

function pairedWith(offerId: string, matches: readonly Match[]): Set<string> {
  return new Set(matches.map((m) => (m.offerIds[0] === offerId ? m.offerIds[1] : m.offerIds[0])));
}

function asCard(card: ReturnType<typeof renderCard>): Partial<Activity> {
  return MessageFactory.attachment(cardAttachment(card));
}

function notice(data: ReturnType<typeof noticeCardData>): Partial<Activity> {
  return asCard(renderCard('swapNotice', data));
}

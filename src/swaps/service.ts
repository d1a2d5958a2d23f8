import { createHash } from 'node:crypto';
import { MessageFactory, type Activity, type ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { ConversationStore } from '../platform/conversations/store';
import type { DeadlineRegistry } from '../platform/deadlines/types';
import type { DirectoryStore } from '../platform/directory/store';
import type { Person } from '../platform/identity';
import type { Logger } from '../platform/logging';
import type { Proactive, SentMessage } from '../platform/proactive';
import type { Timers } from '../platform/timers';
import { acceptedTogetherText, answerByText, button, noticeCardData, offerFacts, overlapText, proposalCardData, swapLines, type Button } from './cards';
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
  expiresAt,
  formatDeadline,
  formatRange,
  hold,
  isDueToExpire,
  isLive,
  lapse,
  mayActFor,
  other,
  pendingDecisions,
  registryChanges,
  proposal,
  rankCandidates,
  release,
  sendsLabel,
  sideOf,
  whyUnmatched,
  withdraw,
  type MatchContext,
  type SwapDeadline,
} from './rules';
import { SwapChange, SwapConflict, type StoredMatch, type SwapStore } from './store';
import { parseReference } from '../platform/conversations/reference';

/**
 * What happens around a placement swap decision: matching (read, rank, claim both offers in one
 * ETag-guarded transaction, retry on conflict), the decisive writes for accept, decline, withdraw,
 * cancel and expiry, and who is told. Messages go to each school's reps personally (their stored
 * personal chat, or a new one opened with the Teams id recorded when they acted); when none of a
 * school's reps can be reached, to the school's channel (or the reps' channel) if one is set.
 */

export const EXPIRE_TIMER = 'swap.expire';
export const MATCH_TIMER = 'swap.match';
const MAX_ATTEMPTS = 8;

export interface SwapServiceDeps {
  readonly store: SwapStore;
  readonly directory: DirectoryStore;
  readonly proactive: Proactive;
  readonly conversations: ConversationStore;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: MatchPolicy;
  /** The deadline registry the nudges read; without it, deadlines are only listed by `deadlines()`. */
  readonly deadlines?: DeadlineRegistry;
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

export class SwapService {
  constructor(private readonly deps: SwapServiceDeps) {}

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

  private context(history: MatchContext['history'], paired: ReadonlySet<string>): MatchContext {
    return { now: this.now, policy: this.deps.policy, history, paired };
  }

  // -------------------------------------------------------------------------------------------
  // Offers and matching

  /**
   * Stores a new offer (idempotent: the same form sent twice is one offer), plans its expiry, and
   * looks for a match at once. A timer written first makes sure matching happens even after a crash.
   */
  async createOffer(id: string, draft: OfferDraft, by: PersonRef, via: Via): Promise<{ created: boolean; offer: Offer; outcome: MatchOutcome }> {
    const now = this.now;
    const offer: Offer = { ...draft, id, status: 'open', matchId: '', createdAt: now, updatedAt: now, by };
    await this.deps.timers.schedule(MATCH_TIMER, id, now);
    await this.deps.timers.schedule(EXPIRE_TIMER, id, expiresAt(draft.confirmBy));
    const created = await this.deps.store.createOffer(offer, JSON.stringify(via ?? {}));
    if (created === 'exists') {
      const stored = await this.deps.store.offer(id);
      if (stored) return { created: false, offer: stored.offer, outcome: stored.offer.status === 'open' ? await this.explain(stored.offer) : { kind: 'closed' } };
    }
    const outcome = await this.matchFor(id);
    if (outcome.kind === 'proposed') await this.sendProposal(outcome.match, via);
    return { created: true, offer, outcome };
  }

  /** Why an open offer has no match now, in plain words (a repeated form gets this instead of a second matching run). */
  async explain(offer: Offer): Promise<MatchOutcome> {
    const [live, mine, history] = await Promise.all([this.deps.store.liveOffers(), this.deps.store.matchesOf(offer.id), this.deps.store.history()]);
    const ctx = this.context(history, pairedWith(offer.id, mine));
    const why = whyUnmatched(offer, live.map((o) => o.offer), ctx);
    return { kind: 'unmatched', why: why || 'A match may be possible: I will look again shortly.' };
  }

  /**
   * Proposes the best candidate for an open offer: both offers are claimed and the match created in
   * one transaction under the offers' ETags; when someone else changed either first, it reads again
   * and takes the next best.
   */
  async matchFor(offerId: string): Promise<MatchOutcome> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.offer(offerId);
      if (!stored || stored.offer.status !== 'open' || !isLive(stored.offer, this.now)) return { kind: 'closed' };
      const [live, mine, history] = await Promise.all([this.deps.store.liveOffers(), this.deps.store.matchesOf(offerId), this.deps.store.history()]);
      const ctx = this.context(history, pairedWith(offerId, mine));
      const others = live.filter((o) => o.offer.id !== offerId);
      const best = rankCandidates(stored.offer, others.map((o) => o.offer), ctx)[0];
      if (!best) {
        await this.syncRegistry([stored.offer], []);
        return { kind: 'unmatched', why: whyUnmatched(stored.offer, others.map((o) => o.offer), ctx) || 'No offer fits yours yet.' };
      }
      const partner = others.find((o) => o.offer.id === best.offer.id)!;
      const a = { ...stored.offer };
      const b = { ...partner.offer };
      const match = proposal(SwapService.matchId(a.id, b.id), a, b, best.overlap, this.now);
      hold(match, a, b, this.now);
      try {
        await this.deps.store.commit(new SwapChange().updateOffer(a, stored.etag).updateOffer(b, partner.etag).createMatch(match));
        this.deps.logger.info({ matchId: match.id }, 'swap proposed');
        await this.syncRegistry([a, b], [match]);
        return { kind: 'proposed', match, partner: b };
      } catch (err) {
        if (!(err instanceof SwapConflict)) throw err;
      }
    }
    await this.deps.timers.schedule(MATCH_TIMER, offerId, new Date(this.now.getTime() + 60_000));
    return { kind: 'unmatched', why: 'Other offers are changing right now; I will look again in a minute.' };
  }

  /** Sends the proposal card to both schools' reps (and whoever made each offer). */
  async sendProposal(match: Match, via: Via): Promise<void> {
    const [a, b] = await Promise.all([this.deps.store.offer(match.offerIds[0]), this.deps.store.offer(match.offerIds[1])]);
    const offers = [a?.offer, b?.offer] as const;
    const through = via ?? parseReference(a?.via ?? '') ?? parseReference(b?.via ?? '');
    for (const side of [0, 1] as const) {
      const mine = `I've found a swap for ${match.schoolNames[side]}'s offer. Please accept or decline by ${answerByText(match, this.now)}.`;
      const card = renderCard('swapProposal', proposalCardData(match, offers, { schoolId: match.schoolIds[side], now: this.now, mayAnswer: true, mine }));
      await this.tellSchool(match.schoolIds[side], MessageFactory.attachment(cardAttachment(card)), through, { also: offers[side] ? [offers[side]!.by] : [] });
    }
  }

  /** Matches freed offers again, oldest first; tells each school what became of its offer. */
  private async rematch(released: readonly Offer[], context: string, via: Via, exclude?: string): Promise<Map<string, MatchOutcome>> {
    const outcomes = new Map<string, MatchOutcome>();
    for (const offer of [...released].sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || x.id.localeCompare(y.id))) {
      const outcome = await this.matchFor(offer.id);
      outcomes.set(offer.id, outcome);
      if (outcome.kind === 'proposed') await this.sendProposal(outcome.match, via);
      else if (outcome.kind === 'unmatched') {
        const card = noticeCardData('Your placement swap offer is open again', `${context} No match yet: ${outcome.why} I'll propose a swap as soon as a school's offer fits.`, offerFacts(offer, this.now), [button('Withdraw', 'swap.withdraw', { offerId: offer.id }), button('Show the board', 'swap.board')]);
        await this.tellSchool(offer.schoolId, notice(card), via, { also: [offer.by], exclude });
      }
    }
    return outcomes;
  }

  // -------------------------------------------------------------------------------------------
  // Answers

  /** A school accepts a proposal; when both have, the swap is agreed in one transaction. */
  async accept(matchId: string, schoolId: string, person: Person, by: PersonRef, via: Via): Promise<Decided> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.match(matchId);
      const checked = this.checkSide(stored, schoolId, person);
      if ('kind' in checked) return checked;
      const { match, etag, side } = checked;
      const decision = accept(match, side, by, this.now);
      if (decision.kind === 'unchanged') return { kind: 'done', message: decision.message, view: await this.view(match), changed: false };
      if (decision.kind === 'recorded') {
        try {
          await this.deps.store.commit(new SwapChange().updateMatch(decision.match, etag));
        } catch (err) {
          if (err instanceof SwapConflict) continue;
          throw err;
        }
        await this.syncRegistry([], [decision.match]);
        const view = await this.view(decision.match);
        const otherSide = other(side);
        const card = renderCard('swapProposal', proposalCardData(decision.match, view.offers, { schoolId: decision.match.schoolIds[otherSide], now: this.now, mayAnswer: true, mine: `${decision.match.schoolNames[side]} has accepted (${by.name}). The swap is agreed as soon as ${decision.match.schoolNames[otherSide]} accepts too.` }));
        const sent = await this.tellSchool(decision.match.schoolIds[otherSide], MessageFactory.attachment(cardAttachment(card)), via, { also: view.offers[otherSide] ? [view.offers[otherSide]!.by] : [] });
        // The other school may have accepted meanwhile: the answer, and the cards just sent, follow what is stored now.
        const committed = await this.noteWaitingCards(matchId, sent.map((m) => ({ schoolId: decision.match.schoolIds[otherSide], reference: JSON.stringify(m.reference), activityId: m.activityId })));
        if (committed && committed.status !== 'proposed') {
          return { kind: 'done', message: committed.status === 'agreed' ? acceptedTogetherText(committed, side) : closedText(committed, this.now), view: await this.view(committed), changed: true };
        }
        return { kind: 'done', message: `You've accepted for ${decision.match.schoolNames[side]}. The swap is agreed as soon as ${decision.match.schoolNames[otherSide]} accepts too; I've let their reps know.`, view, changed: true };
      }
      // Both schools have said yes: agree if both offers are still held, in one transaction.
      const [a, b] = await Promise.all([this.deps.store.offer(match.offerIds[0]), this.deps.store.offer(match.offerIds[1])]);
      const check = checkAgree(decision.match, [a?.offer, b?.offer], this.now);
      if (!check.ok) {
        const lapsed = await this.lapseMatch(match.id, check.reason, via, by.aadObjectId);
        if (lapsed === 'conflict' || lapsed === 'gone') continue; // changed meanwhile: decide again from what is stored
        return { kind: 'done', message: `This proposal is no longer open: ${check.reason}.`, view: await this.view(lapsed), changed: true };
      }
      const agreed = { ...decision.match, answers: [...decision.match.answers] as Match['answers'] };
      const offerA = { ...a!.offer };
      const offerB = { ...b!.offer };
      const record = agree(agreed, offerA, offerB, this.now);
      try {
        await this.deps.store.commit(new SwapChange().updateMatch(agreed, etag).updateOffer(offerA, a!.etag).updateOffer(offerB, b!.etag).addHistory(record));
      } catch (err) {
        if (err instanceof SwapConflict) continue;
        throw err;
      }
      this.deps.logger.info({ matchId: agreed.id }, 'swap agreed');
      await this.syncRegistry([offerA, offerB], [agreed]);
      const view: MatchView = { match: agreed, offers: [offerA, offerB] };
      await this.tellAgreed(view, via, by.aadObjectId);
      await this.closeWaitingCards(agreed, agreed.waitingCards ?? []);
      await this.lapseOthers(agreed, via);
      return { kind: 'done', message: `The swap is agreed: both ${agreed.schoolNames[0]} and ${agreed.schoolNames[1]} have accepted. I've told both schools' reps and the coordinators.`, view, changed: true };
    }
    throw new Error(`swap ${matchId}: gave up after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /** A school declines with a reason: both offers are released, and each is matched again (never with the other). */
  async decline(matchId: string, schoolId: string, reason: string, person: Person, by: PersonRef, via: Via): Promise<Decided> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.match(matchId);
      const checked = this.checkSide(stored, schoolId, person);
      if ('kind' in checked) return checked;
      const { match, etag, side } = checked;
      const decision = decline(match, side, by, reason, this.now);
      if (decision.kind === 'unchanged') return { kind: 'done', message: decision.message, view: await this.view(match), changed: false };
      const released = await this.releaseWith(decision.match, etag);
      if (released === 'conflict') continue;
      const otherSide = other(side);
      const declinedBy = match.schoolNames[side];
      const outcomes = await this.rematch(released, `${declinedBy} declined the proposed swap with ${match.schoolNames[otherSide]}${reasonText(reason)}.`, via, by.aadObjectId);
      // The other school hears why, unless it already has a new proposal in hand (which says enough).
      const theirs = released.find((o) => o.schoolId === match.schoolIds[otherSide]);
      if (!theirs || outcomes.get(theirs.id)?.kind === 'proposed') {
        const card = noticeCardData(`${declinedBy} declined the proposed swap`, `${declinedBy} declined the swap with ${match.schoolNames[otherSide]}${reasonText(reason)}. ${theirs ? "Your offer is open again, and I've found another match: see the new proposal." : ''}`.trim(), [], [button('Show the board', 'swap.board')]);
        await this.tellSchool(match.schoolIds[otherSide], notice(card), via, { exclude: by.aadObjectId });
      }
      const mine = released.find((o) => o.schoolId === match.schoolIds[side]);
      const mineOutcome = mine ? outcomes.get(mine.id) : undefined;
      const next =
        mineOutcome?.kind === 'proposed'
          ? ` Your offer is open again, and I've found another match with ${mineOutcome.partner.schoolName}: I've sent the proposal to both schools' reps.`
          : mineOutcome?.kind === 'unmatched'
            ? ` Your offer is open again. No match yet: ${mineOutcome.why}`
            : '';
      return { kind: 'done', message: `You declined the swap with ${match.schoolNames[otherSide]}. I've told their reps.${next}`, view: await this.view(decision.match), changed: true };
    }
    throw new Error(`swap ${matchId}: gave up after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /** Either school cancels an agreed swap with a reason: the swap and its offers close; the other school and the coordinators are told. */
  async cancel(matchId: string, schoolId: string, reason: string, person: Person, by: PersonRef, via: Via): Promise<Decided> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.match(matchId);
      const checked = this.checkSide(stored, schoolId, person);
      if ('kind' in checked) return checked;
      const { match, etag, side } = checked;
      const decision = cancel(match, side, by, reason, this.now);
      if (decision.kind === 'unchanged') return { kind: 'done', message: decision.message, view: await this.view(match), changed: false };
      const [a, b] = await Promise.all([this.deps.store.offer(match.offerIds[0]), this.deps.store.offer(match.offerIds[1])]);
      const change = new SwapChange().updateMatch(decision.match, etag).cancelHistory(match.id);
      const offers: [Offer | undefined, Offer | undefined] = [undefined, undefined];
      [a, b].forEach((s, i) => {
        if (!s) return;
        const o = { ...s.offer };
        if (closeCancelled(o, match.id, this.now)) change.updateOffer(o, s.etag);
        offers[i] = o;
      });
      try {
        await this.deps.store.commit(change);
      } catch (err) {
        if (err instanceof SwapConflict) continue;
        throw err;
      }
      await this.syncRegistry(offers, [decision.match]);
      const otherSide = other(side);
      const heading = `${match.schoolNames[side]} cancelled the agreed swap`;
      const text = `${match.schoolNames[side]} (${by.name}) cancelled the placement swap with ${match.schoolNames[otherSide]}${reasonText(reason)}. Both offers are closed; make a new offer with \`swap offer\` if you still want a swap.`;
      const facts = [...swapLines(decision.match, offers).map((value) => ({ title: '', value })), { title: 'Weeks', value: overlapText(decision.match, this.now) }];
      const card = notice(noticeCardData(heading, text, facts, [button('Show the board', 'swap.board')]));
      await this.tellSchool(match.schoolIds[otherSide], card, via, { exclude: by.aadObjectId, also: offers[otherSide] ? [offers[otherSide]!.by] : [] });
      await this.tellCoordinators(card, via, by.aadObjectId);
      return { kind: 'done', message: `The swap with ${match.schoolNames[otherSide]} is cancelled. I've told their reps and the coordinators.`, view: { match: decision.match, offers }, changed: true };
    }
    throw new Error(`swap ${matchId}: gave up after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /** A school withdraws its offer; a proposal it was in lapses and the other offer is matched again. */
  async withdraw(offerId: string, person: Person, by: PersonRef, via: Via): Promise<Withdrawn> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.offer(offerId);
      if (!stored) return { kind: 'unknown' };
      if (!mayActFor(person, stored.offer.schoolId)) return { kind: 'refused', message: `Only a rep of ${stored.offer.schoolName} or a coordinator can withdraw its offer.` };
      const decision = withdraw(stored.offer, this.now);
      if (decision.kind === 'unchanged') return { kind: 'done', message: decision.message, offer: stored.offer, changed: false };
      const change = new SwapChange().updateOffer(decision.offer, stored.etag);
      let partner: Offer | undefined;
      const lapsed = decision.matchId ? await this.lapseProposal(change, decision.matchId, offerId, `${stored.offer.schoolName} withdrew its offer`) : {};
      const lapsedMatch = lapsed.match;
      partner = lapsed.partner;
      if (partner) await this.deps.timers.schedule(MATCH_TIMER, partner.id, this.now);
      try {
        await this.deps.store.commit(change);
      } catch (err) {
        if (err instanceof SwapConflict) continue;
        throw err;
      }
      await this.syncRegistry([decision.offer, partner], [lapsedMatch]);
      if (partner && lapsedMatch) await this.rematch([partner], `${stored.offer.schoolName} withdrew its offer, so the proposed swap with you is off.`, via, by.aadObjectId);
      return { kind: 'done', message: `${decision.offer.schoolName}'s offer (${sendsLabel(decision.offer)}, ${formatRange(decision.offer.from, decision.offer.to, this.now)}) is withdrawn.${partner ? ` The proposed swap with ${partner.schoolName} is off; I've told their reps.` : ''}`, offer: decision.offer, changed: true };
    }
    throw new Error(`swap offer ${offerId}: gave up after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /**
   * Adds to `change` the lapse of a still-proposed match that `offerId` is in, and the release of the
   * other school's offer. Returns what changed, for telling people.
   */
  private async lapseProposal(change: SwapChange, matchId: string, offerId: string, reason: string): Promise<{ match?: Match; partner?: Offer; partnerSchool?: string }> {
    const sm = await this.deps.store.match(matchId);
    if (!sm || sm.match.status !== 'proposed') return {};
    const match = lapse(sm.match, reason, this.now);
    change.updateMatch(match, sm.etag);
    const partnerId = sm.match.offerIds[0] === offerId ? sm.match.offerIds[1] : sm.match.offerIds[0];
    const ps = await this.deps.store.offer(partnerId);
    if (!ps) return { match };
    const p = { ...ps.offer };
    if (!release(p, sm.match.id, this.now)) return { match, partnerSchool: ps.offer.schoolName };
    change.updateOffer(p, ps.etag);
    return { match, partner: p, partnerSchool: ps.offer.schoolName };
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  /** Timer at the end of an offer's confirm-by day: it expires (a proposal it was in lapses) and its school is told why it found no match. */
  async expire(offerId: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.offer(offerId);
      if (!stored || !isDueToExpire(stored.offer, this.now)) return;
      const offer = stored.offer;
      const via = parseReference(stored.via);
      const expired: Offer = { ...offer, status: 'expired', matchId: '', updatedAt: this.now };
      const change = new SwapChange().updateOffer(expired, stored.etag);
      const lapsed =
        offer.status === 'proposed' && offer.matchId
          ? await this.lapseProposal(change, offer.matchId, offerId, `${offer.schoolName}'s offer reached its confirm-by date before both schools accepted`)
          : {};
      const { match: lapsedMatch, partner } = lapsed;
      const partnerSchool = lapsed.partnerSchool ?? '';
      if (partner) await this.deps.timers.schedule(MATCH_TIMER, partner.id, this.now);
      try {
        await this.deps.store.commit(change);
      } catch (err) {
        if (err instanceof SwapConflict) continue;
        throw err;
      }
      await this.syncRegistry([expired, partner], [lapsedMatch]);
      const explained = await this.explain({ ...offer, status: 'open' });
      const why = explained.kind === 'unmatched' ? explained.why : '';
      const text =
        offer.status === 'proposed'
          ? `Your offer reached its confirm-by date (${formatDeadline(offer.confirmBy, this.now)}) while the proposed swap${partnerSchool ? ` with ${partnerSchool}` : ''} was still waiting for answers, so it has expired and the proposal has lapsed. Make a new offer with \`swap offer\` if you still want a swap.`
          : `Your offer reached its confirm-by date (${formatDeadline(offer.confirmBy, this.now)}) without a match, so it has expired. ${why} Make a new offer with \`swap offer\` if you still want a swap.`;
      await this.tellSchool(offer.schoolId, notice(noticeCardData('Your placement swap offer has expired', text, offerFacts(offer, this.now), [button('Show the board', 'swap.board')])), via, { also: [offer.by] });
      if (partner) await this.rematch([partner], `${offer.schoolName}'s offer expired before both schools accepted, so the proposed swap with you has lapsed.`, via);
      return;
    }
  }

  /** Timer: matching for an offer that was made or freed (a safety net if the process stopped before it ran). */
  async matchTimer(offerId: string): Promise<void> {
    const stored = await this.deps.store.offer(offerId);
    if (!stored || stored.offer.status !== 'open') return;
    const outcome = await this.matchFor(offerId);
    if (outcome.kind === 'proposed') await this.sendProposal(outcome.match, parseReference(stored.via));
  }

  // -------------------------------------------------------------------------------------------
  // Views and deadlines

  async view(match: Match): Promise<MatchView> {
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

  /**
   * Keeps the deadline registry in step with offers and matches just written: best effort after the
   * commit (a failure is logged; the next change to the same items puts it right, and `deadlines()`
   * always lists the truth from the swap rows).
   */
  private async syncRegistry(offers: readonly (Offer | undefined)[], matches: readonly (Match | undefined)[]): Promise<void> {
    const registry = this.deps.deadlines;
    if (!registry) return;
    const changes = registryChanges(offers.filter((o): o is Offer => !!o), matches.filter((m): m is Match => !!m), this.now);
    try {
      for (const item of changes.register) await registry.register(item);
      for (const id of changes.complete) await registry.complete(id);
      for (const id of changes.cancel) await registry.cancel(id);
    } catch (err) {
      this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not update the deadline registry for a swap');
    }
  }

  /** The match, the side `schoolId` is on, and whether `person` may act for it. */
  private checkSide(stored: StoredMatch | undefined, schoolId: string, person: Person): { match: Match; etag: string; side: 0 | 1 } | { kind: 'unknown' } | { kind: 'refused'; message: string } {
    if (!stored) return { kind: 'unknown' };
    const side = sideOf(stored.match, schoolId);
    if (side === undefined) return { kind: 'refused', message: `That swap is between ${stored.match.schoolNames[0]} and ${stored.match.schoolNames[1]}; the card asked about another school, so nothing was changed.` };
    if (!mayActFor(person, schoolId)) return { kind: 'refused', message: `Only a rep of ${stored.match.schoolNames[side]} or a coordinator can act for ${stored.match.schoolNames[side]}. Nothing was changed.` };
    return { match: stored.match, etag: stored.etag, side };
  }

  /** Writes a match that no longer holds its offers (declined or lapsed) and frees them, in one transaction. */
  private async releaseWith(match: Match, etag: string): Promise<Offer[] | 'conflict'> {
    const [a, b] = await Promise.all([this.deps.store.offer(match.offerIds[0]), this.deps.store.offer(match.offerIds[1])]);
    const change = new SwapChange().updateMatch(match, etag);
    const released: Offer[] = [];
    for (const s of [a, b]) {
      if (!s) continue;
      const o = { ...s.offer };
      if (release(o, match.id, this.now)) {
        change.updateOffer(o, s.etag);
        released.push(o);
      }
    }
    for (const o of released) await this.deps.timers.schedule(MATCH_TIMER, o.id, this.now);
    try {
      await this.deps.store.commit(change);
      await this.syncRegistry(released, [match]);
      return released;
    } catch (err) {
      if (err instanceof SwapConflict) return 'conflict';
      throw err;
    }
  }

  /** A proposal that can no longer be agreed lapses: its offers that are still held are freed and matched again. */
  private async lapseMatch(matchId: string, reason: string, via: Via, exclude?: string): Promise<Match | 'gone' | 'conflict'> {
    const stored = await this.deps.store.match(matchId);
    if (!stored || stored.match.status !== 'proposed') return 'gone';
    const lapsed = lapse(stored.match, reason, this.now);
    const released = await this.releaseWith(lapsed, stored.etag);
    if (released === 'conflict') return 'conflict';
    await this.rematch(released, `The proposed swap between ${lapsed.schoolNames[0]} and ${lapsed.schoolNames[1]} is off: ${reason}.`, via, exclude);
    return lapsed;
  }

  /** After an agreement, other proposals holding either offer (there should be none) lapse. */
  private async lapseOthers(agreed: Match, via: Via): Promise<void> {
    for (const offerId of agreed.offerIds) {
      for (const m of await this.deps.store.matchesOf(offerId)) {
        if (m.match.id === agreed.id || m.match.status !== 'proposed') continue;
        const name = agreed.offerIds[0] === offerId ? agreed.schoolNames[0] : agreed.schoolNames[1];
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
          if ((await this.lapseMatch(m.match.id, `${name}'s offer has been agreed in another swap`, via)) !== 'conflict') break;
        }
      }
    }
  }

  private async tellAgreed(view: MatchView, via: Via, exclude: string): Promise<void> {
    const m = view.match;
    const lines = swapLines(m, view.offers);
    const facts = [...lines.map((value) => ({ title: '', value })), { title: 'Weeks', value: overlapText(m, this.now) }, { title: 'Accepted by', value: m.answers.map((a, i) => `${m.schoolNames[i as 0 | 1]}: ${a?.by ?? ''}`).join(' · ') }];
    const text = `Both schools have accepted, so the placement swap between ${m.schoolNames[0]} and ${m.schoolNames[1]} is agreed and both offers are closed.`;
    for (const side of [0, 1] as const) {
      const buttons: Button[] = [button('Cancel this swap…', 'swap.cancelForm', { matchId: m.id, schoolId: m.schoolIds[side] }), button('Show the board', 'swap.board')];
      const card = notice(noticeCardData('Placement swap agreed', text, facts, buttons));
      await this.tellSchool(m.schoolIds[side], card, via, { exclude, also: view.offers[side] ? [view.offers[side]!.by] : [] });
    }
    await this.tellCoordinators(notice(noticeCardData('Placement swap agreed', text, facts, [button('Show the board', 'swap.board')])), via, exclude);
  }

  /**
   * Records on a still-proposed match the cards just sent asking a school to accept, under its ETag.
   * When the match has moved on (agreed at the same moment, or closed), those cards are updated to
   * say so instead, so none is left with live buttons. Returns the match as stored now.
   */
  private async noteWaitingCards(matchId: string, cards: readonly WaitingCard[]): Promise<Match | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.deps.store.match(matchId);
      if (!stored) return undefined;
      if (stored.match.status !== 'proposed') {
        await this.closeWaitingCards(stored.match, cards);
        return stored.match;
      }
      if (cards.length === 0) return stored.match;
      const noted: Match = { ...stored.match, waitingCards: [...(stored.match.waitingCards ?? []), ...cards] };
      try {
        await this.deps.store.commit(new SwapChange().updateMatch(noted, stored.etag));
        return noted;
      } catch (err) {
        if (!(err instanceof SwapConflict)) throw err;
      }
    }
    return undefined;
  }

  /** Updates cards that asked a school to accept to the match as it is now (no buttons once it is closed). */
  private async closeWaitingCards(match: Match, cards: readonly WaitingCard[]): Promise<void> {
    if (cards.length === 0) return;
    const view = await this.view(match);
    for (const c of cards) {
      const reference = parseReference(c.reference);
      if (!reference || !c.activityId) continue;
      const card = renderCard('swapProposal', proposalCardData(match, view.offers, { schoolId: c.schoolId, now: this.now, mayAnswer: false, mine: closedText(match, this.now) }));
      await this.deps.proactive.update(reference, c.activityId, MessageFactory.attachment(cardAttachment(card))).catch((err) => this.deps.logger.warn({ err: { message: (err as Error).message } }, 'could not update a swap card asking for an answer'));
    }
  }

  /**
   * Messages a school's reps (and `also`, e.g. whoever made the offer) personally, except `exclude`
   * (who acted and sees the answer already). When none could be reached, the school's channel or the
   * reps' channel gets it instead, if a coordinator set one. Returns the messages delivered.
   */
  private async tellSchool(schoolId: string, activity: Partial<Activity>, via: Via, opts: { also?: readonly PersonRef[]; exclude?: string } = {}): Promise<SentMessage[]> {
    const reps = await this.deps.directory.repsOf(schoolId);
    const people = new Map<string, PersonRef>();
    for (const r of reps) people.set(r.aadObjectId.toLowerCase(), { aadObjectId: r.aadObjectId.toLowerCase(), teamsId: '', name: r.name });
    for (const p of opts.also ?? []) {
      const aad = p.aadObjectId.toLowerCase();
      people.set(aad, { ...p, aadObjectId: aad, teamsId: p.teamsId || people.get(aad)?.teamsId || '' });
    }
    const excluded = opts.exclude ? people.delete(opts.exclude.toLowerCase()) : false;
    const delivered: SentMessage[] = [];
    if (people.size > 0) {
      const known = await this.deps.store.people([...people.keys()]);
      for (const p of people.values()) {
        const teamsId = p.teamsId || known.get(p.aadObjectId)?.teamsId || '';
        const sent = await this.deps.proactive.toPersonSent({ aadObjectId: p.aadObjectId, teamsId, name: p.name || known.get(p.aadObjectId)?.name || '' }, via, activity);
        if (sent) delivered.push(sent);
      }
    }
    if (delivered.length > 0 || (excluded && people.size === 0)) return delivered;
    const channel = await this.channelFor(schoolId);
    if (channel) {
      const activityId = await this.deps.proactive.send(channel, activity).catch((err) => {
        this.deps.logger.warn({ err: { message: (err as Error).message } }, 'swap message to a channel not sent');
        return undefined;
      });
      if (activityId) delivered.push({ reference: channel, activityId });
    } else {
      this.deps.logger.warn({ schoolId, recipients: people.size }, 'no rep of the school could be reached and it has no channel: the board still shows it');
    }
    return delivered;
  }

  private async tellCoordinators(activity: Partial<Activity>, via: Via, exclude?: string): Promise<void> {
    const coordinators = (await this.deps.directory.coordinators()).filter((c) => c.aadObjectId.toLowerCase() !== exclude?.toLowerCase());
    const known = await this.deps.store.people(coordinators.map((c) => c.aadObjectId));
    for (const c of coordinators) {
      const aad = c.aadObjectId.toLowerCase();
      await this.deps.proactive.toPerson({ aadObjectId: aad, teamsId: known.get(aad)?.teamsId ?? '', name: c.name }, via, activity);
    }
  }

  private async channelFor(schoolId: string): Promise<Partial<ConversationReference> | undefined> {
    const channels = await this.deps.directory.channels();
    const chosen = channels.find((c) => c.role.kind === 'school' && c.role.schoolId === schoolId) ?? channels.find((c) => c.role.kind === 'reps');
    return chosen ? (await this.deps.conversations.conversation(chosen.conversationId))?.reference : undefined;
  }

}

function pairedWith(offerId: string, matches: readonly StoredMatch[]): Set<string> {
  return new Set(matches.map((m) => (m.match.offerIds[0] === offerId ? m.match.offerIds[1] : m.match.offerIds[0])));
}

function notice(data: ReturnType<typeof noticeCardData>): Partial<Activity> {
  return MessageFactory.attachment(cardAttachment(renderCard('swapNotice', data)));
}

function reasonText(reason: string): string {
  return reason ? `, saying: "${reason}"` : '';
}

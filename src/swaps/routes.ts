import { pupilDataWarnings } from '../platform/pupilData';
import { TurnContext, type ConversationReference } from 'botbuilder';
import { z } from 'zod';
import { cardId, cardText, defineAction, type ActionResult, type ActionSpec } from '../platform/actions';
import { renderCard, type AdaptiveCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { CommandSpec } from '../platform/commands';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore } from '../platform/directory/store';
import { mayUse } from '../platform/identity';
import type { Logger } from '../platform/logging';
import type { Outbox } from '../platform/outbox/outbox';
import type { Tables } from '../platform/storage/tables';
import type { TimerHandler, Timers } from '../platform/timers';
import type { Turn } from '../platform/turn';
import { boardCardData, button, cancelCardData, formCardData, noticeCardData, offerFacts, proposalCardData } from './cards';
import { checkOfferForm, OfferInput, type OfferValues } from './form';
import { DEFAULT_MATCH_POLICY, type MatchPolicy, type OfferStatus, type PersonRef } from './model';
import { formatDeadline, mayActFor, sideOf } from './rules';
import { EXPIRE_TIMER, MATCH_TIMER, SwapService, type Decided, type MatchView, type SwapDeadlineFor } from './service';
import { SWAPS_TABLE, SwapStore } from './store';

/** Placement swap commands and card buttons: parse with zod, check who may act from the Teams identity, decide through the service, answer with a card. */

export interface SwapRouteDeps {
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  /** Everything a swap change tells people (and the deadline registry) goes through it. */
  readonly outbox: Outbox;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly partnershipName: string;
  /** The least overlap for two offers to match, in school weeks (default 2). */
  readonly minOverlapWeeks?: number;
}

export interface SwapRoutes {
  readonly commands: CommandSpec[];
  readonly actions: ActionSpec[];
  readonly timers: [kind: string, handler: TimerHandler][];
  readonly tables: string[];
  /** Every decision waiting on a school (answers to proposals, offers' confirm-by dates), soonest first, with the school's reps: for nudges. */
  readonly deadlines: () => Promise<SwapDeadlineFor[]>;
  readonly service: SwapService;
}

const MatchRef = z.object({ matchId: cardId, schoolId: cardId }).strip();
const Reason = cardText(300);
const NOT_FOUND = "I can't find that swap. It may have been removed: type `swaps` to see the board.";
const STATUS_WORDS: Record<OfferStatus, string> = {
  open: 'waiting for a match',
  proposed: 'in a proposed swap, waiting for both schools to answer',
  agreed: 'part of an agreed swap',
  withdrawn: 'withdrawn',
  expired: 'expired',
  cancelled: 'closed, as its swap was cancelled',
};
const REASON_NEEDED = 'Say why, in a few words, so the other school knows. Nothing was changed.';

export function swapRoutes(deps: SwapRouteDeps): SwapRoutes {
  const policy: MatchPolicy = { ...DEFAULT_MATCH_POLICY, minOverlapWeeks: Math.max(1, Math.round(deps.minOverlapWeeks ?? DEFAULT_MATCH_POLICY.minOverlapWeeks)) };
  const store = new SwapStore(deps.tables, deps.logger);
  const service = new SwapService({ store, directory: deps.directory, conversations: deps.conversations, outbox: deps.outbox, timers: deps.timers, clock: deps.clock, logger: deps.logger, policy });
  const { directory } = deps;

  /** Who acted. */
  async function actor(turn: Turn): Promise<PersonRef> {
    return { aadObjectId: turn.actor.aadObjectId, teamsId: turn.actor.teamsId, name: turn.actor.name };
  }

  /** Records a rep's Teams id, so they can be messaged personally later: only once something they did was stored (bad input stores nothing). */
  async function remember(turn: Turn): Promise<void> {
    await store.rememberPerson(await actor(turn)).catch((err) => deps.logger.warn({ err: { message: (err as Error).message } }, 'could not record a Teams id'));
  }

  /** A decline or cancel without a reason: the same card again, saying a reason is needed; nothing changes. */
  async function askForReason(turn: Turn, data: { matchId: string; schoolId: string }, card: (match: MatchView['match'], offers: MatchView['offers']) => AdaptiveCard): Promise<ActionResult> {
    turn.record.outcome = 'invalid';
    const stored = await store.match(data.matchId);
    if (!stored || sideOf(stored.match, data.schoolId) === undefined) return { message: stored ? REASON_NEEDED : NOT_FOUND };
    const view = await service.view(stored.match);
    return { card: card(stored.match, view.offers) };
  }

  /** The conversation this turn came from, to open personal chats through (service URL, tenant, bot). */
  function viaOf(turn: Turn): Partial<ConversationReference> {
    const ref = TurnContext.getConversationReference(turn.context.activity) as Partial<ConversationReference>;
    delete ref.activityId;
    delete ref.user;
    if (ref.conversation) ref.conversation = { ...ref.conversation, id: turn.conversation.id };
    return ref;
  }

  /** A rep's own school, or a problem to tell them. Coordinators choose a school on the form. */
  async function ownSchool(turn: Turn): Promise<{ id: string; name: string } | string> {
    const schools = await directory.schools();
    const school = turn.person.schoolId ? schools.find((s) => s.id === turn.person.schoolId) : undefined;
    if (!school) return "You're a school rep, but I don't know your school, so I can't make an offer for it. Ask a coordinator to `rep add` you for your school.";
    return school;
  }

  /** Answers a service result: an unknown item or a refusal as a message (recorded as such), else `done`'s card (recorded as ignored if nothing changed). */
  async function answer<R extends { kind: 'unknown' } | { kind: 'refused'; message: string } | { kind: 'done'; changed: boolean }>(turn: Turn, result: R, done: (result: Extract<R, { kind: 'done' }>) => ActionResult): Promise<ActionResult> {
    if (result.kind === 'unknown') {
      turn.record.outcome = 'invalid';
      return { message: NOT_FOUND };
    }
    if (result.kind === 'refused') {
      turn.record.outcome = 'refused';
      return { message: result.message };
    }
    const finished = result as Extract<R, { kind: 'done' }>;
    if (!finished.changed) turn.record.outcome = 'ignored';
    else await remember(turn);
    return done(finished);
  }

  function decided(turn: Turn, result: Decided, schoolId: string): Promise<ActionResult> {
    return answer(turn, result, ({ view: { match, offers }, message }) => ({
      card: renderCard('swapProposal', proposalCardData(match, offers, { schoolId, now: turn.now, mine: message, mayAnswer: mayActFor(turn.person, schoolId) })),
    }));
  }

  const commands: CommandSpec[] = [
    {
      name: 'swap offer',
      usage: 'swap offer',
      summary: 'Offer a trainee placement swap for your school',
      audience: 'rep',
      async run(turn) {
        await actor(turn);
        if (turn.person.isCoordinator) {
          const schools = await directory.schools();
          if (schools.length === 0) {
            turn.record.outcome = 'invalid';
            await turn.reply('There are no schools in the directory yet. Add them with `school add` and the school\'s name first.');
            return;
          }
          const values = { school: turn.person.schoolId ?? '' } as OfferValues;
          await turn.replyCard(renderCard('swapForm', formCardData({ schools, values, policy })));
          return;
        }
        const school = await ownSchool(turn);
        if (typeof school === 'string') {
          await turn.refuse(school);
          return;
        }
        await turn.replyCard(renderCard('swapForm', formCardData({ schools: [school], fixedSchool: school, policy })));
      },
    },
    {
      name: 'swaps',
      usage: 'swaps',
      summary: 'Show placement swaps: open offers, proposals and agreed swaps',
      audience: 'everyone',
      async run(turn) {
        await turn.replyCard(await board(turn));
      },
    },
  ];

  async function board(turn: Turn) {
    const [offers, matches, schools] = await Promise.all([store.currentOffers(), store.currentMatches(), directory.schools(30_000)]);
    const schoolId = turn.person.schoolId && schools.some((s) => s.id === turn.person.schoolId) ? turn.person.schoolId : undefined;
    const data = boardCardData(
      deps.partnershipName,
      offers.map((o) => o.offer),
      matches.map((m) => m.match),
      { schoolId, schoolName: schools.find((s) => s.id === schoolId)?.name, mayActFor: (id) => mayActFor(turn.person, id), canOffer: mayUse(turn.person, 'rep') },
      turn.now,
    );
    return renderCard('swapBoard', data);
  }

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'swap.submit',
      once: true,
      data: OfferInput.extend({ pupilDataChecked: z.literal('yes').optional() }),
      audience: 'rep',
      async run(turn, data) {
        const values = data as OfferValues;
        let fixedSchool: { id: string; name: string } | undefined;
        if (!turn.person.isCoordinator) {
          const school = await ownSchool(turn);
          if (typeof school === 'string') {
            turn.record.outcome = 'refused';
            return { message: school };
          }
          if (values.school && values.school !== school.id) {
            turn.record.outcome = 'refused';
            return { message: `You can make offers for your own school (${school.name}) only. Nothing was saved.` };
          }
          fixedSchool = school;
        }
        const schools = await directory.schools();
        const checked = checkOfferForm(values, { schools, fixedSchoolId: fixedSchool?.id, now: turn.now, policy });
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('swapForm', formCardData({ schools: fixedSchool ? [fixedSchool] : schools, fixedSchool, values, errors: checked.errors, policy })) };
        }
        const warnings = data.pupilDataChecked === 'yes' ? [] : pupilDataWarnings({ notes: values.notes }, schools.map((s) => s.name));
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('swapForm', formCardData({ schools: fixedSchool ? [fixedSchool] : schools, fixedSchool, values, policy, pupilData: warnings })) };
        }
        // Recorded only now: a form that is refused stores nothing, not even who sent it.
        const by = await actor(turn);
        await remember(turn);
        const formId = turn.context.activity.replyToId || turn.context.activity.id || `${turn.now.getTime()}`;
        const result = await service.createOffer(SwapService.offerId(turn.actor.aadObjectId, formId), checked.draft, by, viaOf(turn));
        const o = result.offer;
        const facts = offerFacts(o, turn.now);
        const outcome = result.outcome;
        if (outcome.kind === 'proposed') {
          return { card: renderCard('swapNotice', noticeCardData(result.created ? 'Your offer is saved' : 'This offer was already saved', `I've found a match with ${outcome.partner.schoolName} and sent the proposal to both schools' reps: accept or decline it from that message.`, facts, [button('Show the board', 'swap.board')])) };
        }
        if (outcome.kind === 'unmatched') {
          const text = `No match yet: ${outcome.why} I'll propose a swap as soon as a school's offer fits, and tell you if it reaches its confirm-by date (${formatDeadline(o.confirmBy, turn.now)}) without one.`;
          return { card: renderCard('swapNotice', noticeCardData(result.created ? 'Your offer is saved' : 'This offer was already saved', text, facts, [button('Withdraw', 'swap.withdraw', { offerId: o.id }), button('Show the board', 'swap.board')])) };
        }
        turn.record.outcome = 'ignored';
        return { card: renderCard('swapNotice', noticeCardData('This offer was already saved', `It is ${STATUS_WORDS[o.status]} now.`, facts, [button('Show the board', 'swap.board')])) };
      },
    }),
    defineAction({
      verb: 'swap.accept',
      data: MatchRef,
      audience: 'rep',
      async run(turn, data) {
        const by = await actor(turn);
        return decided(turn, await service.accept(data.matchId, data.schoolId, turn.person, by, viaOf(turn)), data.schoolId);
      },
    }),
    defineAction({
      verb: 'swap.decline',
      data: MatchRef.extend({ reason: Reason.optional().default('') }),
      audience: 'rep',
      async run(turn, data) {
        const by = await actor(turn);
        if (data.reason.length < 3) {
          return askForReason(turn, data, (match, offers) =>
            renderCard('swapProposal', proposalCardData(match, offers, { schoolId: data.schoolId, now: turn.now, mayAnswer: mayActFor(turn.person, data.schoolId), reasonError: REASON_NEEDED })),
          );
        }
        return decided(turn, await service.decline(data.matchId, data.schoolId, data.reason, turn.person, by, viaOf(turn)), data.schoolId);
      },
    }),
    defineAction({
      verb: 'swap.withdraw',
      data: z.object({ offerId: cardId }).strip(),
      audience: 'rep',
      async run(turn, data) {
        const by = await actor(turn);
        const result = await service.withdraw(data.offerId, turn.person, by, viaOf(turn));
        return answer(turn, result, (done) => ({
          card: renderCard('swapNotice', noticeCardData(done.changed ? 'Offer withdrawn' : 'Nothing to withdraw', done.message, offerFacts(done.offer, turn.now), [button('Show the board', 'swap.board')])),
        }));
      },
    }),
    defineAction({
      verb: 'swap.cancelForm',
      data: MatchRef,
      audience: 'rep',
      async run(turn, data) {
        await actor(turn);
        const stored = await store.match(data.matchId);
        if (!stored) {
          turn.record.outcome = 'invalid';
          return { message: NOT_FOUND };
        }
        const side = sideOf(stored.match, data.schoolId);
        if (side === undefined || !mayActFor(turn.person, data.schoolId)) {
          turn.record.outcome = 'refused';
          return { message: `Only a rep of ${stored.match.schoolNames[0]} or ${stored.match.schoolNames[1]}, or a coordinator, can cancel this swap.` };
        }
        if (stored.match.status !== 'agreed') {
          turn.record.outcome = 'ignored';
          return { message: stored.match.status === 'cancelled' ? 'This swap is already cancelled.' : 'Only an agreed swap can be cancelled.' };
        }
        const view = await service.view(stored.match);
        return { card: renderCard('swapCancel', cancelCardData(stored.match, view.offers, data.schoolId, turn.now)) };
      },
    }),
    defineAction({
      verb: 'swap.cancel',
      data: MatchRef.extend({ reason: Reason.optional().default('') }),
      audience: 'rep',
      async run(turn, data) {
        const by = await actor(turn);
        if (data.reason.length < 3) {
          return askForReason(turn, data, (match, offers) => renderCard('swapCancel', cancelCardData(match, offers, data.schoolId, turn.now, REASON_NEEDED)));
        }
        const result = await service.cancel(data.matchId, data.schoolId, data.reason, turn.person, by, viaOf(turn));
        if (result.kind !== 'done') return decided(turn, result, data.schoolId);
        if (!result.changed) turn.record.outcome = 'ignored';
        return { card: renderCard('swapNotice', noticeCardData(result.changed ? 'Swap cancelled' : 'Nothing to cancel', result.message, [], [button('Show the board', 'swap.board')])) };
      },
    }),
    defineAction({
      verb: 'swap.show',
      data: z.object({ matchId: cardId, schoolId: z.union([cardId, z.literal('')]).optional().default('') }).strip(),
      audience: 'everyone',
      async run(turn, data) {
        const stored = await store.match(data.matchId);
        if (!stored) {
          turn.record.outcome = 'invalid';
          return { message: NOT_FOUND };
        }
        const m = stored.match;
        const own = turn.person.schoolId && sideOf(m, turn.person.schoolId) !== undefined ? turn.person.schoolId : '';
        const schoolId = data.schoolId && sideOf(m, data.schoolId) !== undefined ? data.schoolId : own;
        const view = await service.view(m);
        return { card: renderCard('swapProposal', proposalCardData(m, view.offers, { schoolId, now: turn.now, mayAnswer: !!schoolId && mayActFor(turn.person, schoolId) })) };
      },
    }),
    defineAction({
      verb: 'swap.board',
      data: z.object({}).strip(),
      audience: 'everyone',
      async run(turn) {
        return { card: await board(turn) };
      },
    }),
  ];

  return {
    commands,
    actions,
    timers: [
      [EXPIRE_TIMER, (key) => service.expire(key)],
      [MATCH_TIMER, (key) => service.matchTimer(key)],
    ],
    tables: [SWAPS_TABLE],
    deadlines: () => service.deadlines(),
    service,
  };
}

import { pupilWarningText, type PupilDataWarning } from '../platform/pupilData';
import { OFFER_FIELDS, type OfferErrors, type OfferValues } from './form';
import { PHASES, type Match, type MatchPolicy, type Offer } from './model';
import { closedText, formatDate, formatDeadline, formatRange, formatSchoolDays, hostsText, other, sendsText, todayIn, type FreedBy, type Side } from './rules';

/** Placement swap domain → typed template data for cards/swap*.json. No Teams calls here. */

export const PUPIL_HINT = 'No pupil names or personal details, please.';

export interface Fact {
  readonly title: string;
  readonly value: string;
}

/** A button on a swap card: one verb and the ids it needs ('' where unused). */
export interface Button {
  readonly title: string;
  readonly verb: 'swap.withdraw' | 'swap.show' | 'swap.cancelForm' | 'swap.board';
  readonly offerId: string;
  readonly matchId: string;
  readonly schoolId: string;
}

// ---------------------------------------------------------------------------------------------
// The offer form (cards/swapForm.json)

export interface FormCardData {
  readonly heading: string;
  readonly intro: string;
  readonly chooseSchool: boolean;
  readonly forSchool: string;
  readonly hasForSchool: boolean;
  readonly schoolChoices: { title: string; value: string }[];
  readonly phaseChoices: { title: string; value: string }[];
  readonly values: OfferValues;
  readonly errors: Record<string, string>;
  readonly hasErrors: boolean;
  readonly pupilHint: string;
  /** The notes may name a pupil: a warning above the form, and SEND_ANYWAY beside Send. */
  readonly pupilWarning: string;
  readonly pupilCheck: boolean;
  readonly sendAnyway: string;
}

export const SEND_ANYWAY = 'Send anyway: it is not a pupil';

export function formCardData(opts: {
  schools: readonly { id: string; name: string }[];
  /** A rep's school (fixed); undefined for a coordinator, who chooses. */
  fixedSchool?: { id: string; name: string };
  values?: OfferValues;
  errors?: OfferErrors;
  policy: MatchPolicy;
  pupilData?: readonly PupilDataWarning[];
}): FormCardData {
  const empty = Object.fromEntries(OFFER_FIELDS.map((f) => [f, ''])) as OfferValues;
  const values: OfferValues = { ...empty, sendPhase: 'secondary', hostPhase: 'secondary', sendCount: '1', ...(opts.values ?? {}) };
  if (opts.fixedSchool) values.school = '';
  const weeks = opts.policy.minOverlapWeeks;
  return {
    heading: 'Offer a placement swap',
    intro: `Say what your school can send and host. I'll look for a school whose offer fits both ways, with at least ${weeks} school week${weeks === 1 ? '' : 's'} in common, and ask both schools' reps to agree.`,
    chooseSchool: !opts.fixedSchool,
    forSchool: opts.fixedSchool ? `For ${opts.fixedSchool.name}` : '',
    hasForSchool: !!opts.fixedSchool,
    schoolChoices: opts.schools.map((s) => ({ title: s.name, value: s.id })),
    phaseChoices: PHASES.map((p) => ({ title: p.charAt(0).toUpperCase() + p.slice(1), value: p })),
    values,
    errors: Object.fromEntries(OFFER_FIELDS.map((f) => [f, opts.errors?.[f] ?? ''])),
    hasErrors: Object.values(opts.errors ?? {}).some((e) => !!e),
    pupilHint: PUPIL_HINT,
    pupilWarning: pupilWarningText(opts.pupilData ?? [], { notes: 'the notes', trainee: 'the trainee' }, SEND_ANYWAY),
    pupilCheck: (opts.pupilData ?? []).length > 0,
    sendAnyway: SEND_ANYWAY,
  };
}

// ---------------------------------------------------------------------------------------------
// Facts about offers and matches

export function offerFacts(o: Offer, now: Date): Fact[] {
  const facts: Fact[] = [
    { title: 'School', value: o.schoolName },
    { title: 'Sends', value: sendsText(o) },
    { title: 'Hosts', value: hostsText(o) },
    { title: 'Weeks', value: formatRange(o.from, o.to, now) },
    { title: 'Confirm by', value: formatDeadline(o.confirmBy, now) },
  ];
  if (o.notes) facts.push({ title: 'Notes', value: o.notes });
  return facts;
}

export function overlapText(m: Match, now: Date): string {
  return `${formatRange(m.overlap.from, m.overlap.to, now)} (${formatSchoolDays(m.overlap.schoolDays)})`;
}

/** The last day to answer, as people read it ("Fri 9 Jan"): the day before the proposal lapses at midnight. */
export function answerByText(m: Match, now: Date): string {
  return formatDate(todayIn(new Date(m.answerBy.getTime() - 1)), now, true);
}

export function answersText(m: Match): string {
  return ([0, 1] as const).map((s) => `${m.schoolNames[s]}: ${m.answers[s] ? `accepted (${m.answers[s]!.by})` : 'not answered yet'}`).join(' · ');
}

/** "Oakfield Academy hosts 1 secondary maths trainee from Hillside High" lines for an agreed swap. */
export function swapLines(m: Match, offers: readonly [Offer | undefined, Offer | undefined]): string[] {
  const lines: string[] = [];
  for (const side of [0, 1] as const) {
    const o = offers[side];
    if (o) lines.push(`${m.schoolNames[other(side)]} hosts ${sendsText(o)} from ${m.schoolNames[side]}.`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The proposal (cards/swapProposal.json)

export interface ProposalSide {
  readonly school: string;
  readonly facts: Fact[];
  readonly answer: string;
}

export interface ProposalCardData {
  readonly matchId: string;
  readonly schoolId: string;
  readonly heading: string;
  readonly intro: string;
  readonly left: ProposalSide;
  readonly right: ProposalSide;
  readonly overlap: string;
  readonly answerBy: string;
  readonly status: string;
  readonly mine: string;
  readonly hasMine: boolean;
  readonly canAnswer: boolean;
  readonly reasonError: string;
  readonly hasReasonError: boolean;
  readonly pupilHint: string;
}

const STATUS_TEXT: Record<Match['status'], string> = {
  proposed: 'Waiting for both schools',
  agreed: 'Agreed',
  declined: 'Declined',
  lapsed: 'Lapsed',
  cancelled: 'Cancelled',
};

/**
 * The proposal as `schoolId`'s reps see it (or a coordinator answering for that school). Answer
 * buttons show while that school has not answered a proposal still waiting.
 */
export function proposalCardData(m: Match, offers: readonly [Offer | undefined, Offer | undefined], opts: { schoolId: string; now: Date; mine?: string; reasonError?: string; mayAnswer: boolean }): ProposalCardData {
  const viewerSide: Side | undefined = m.schoolIds[0] === opts.schoolId ? 0 : m.schoolIds[1] === opts.schoolId ? 1 : undefined;
  const sideData = (side: Side): ProposalSide => {
    const o = offers[side];
    const answer = m.answers[side];
    return {
      school: m.schoolNames[side],
      facts: o ? offerFacts(o, opts.now).filter((f) => f.title !== 'School') : [{ title: 'Offer', value: 'no longer available' }],
      answer: m.status === 'proposed' ? (answer ? `Accepted by ${answer.by}` : 'Not answered yet') : STATUS_TEXT[m.status],
    };
  };
  // The viewer's school on the left.
  const [l, r]: [Side, Side] = viewerSide === 1 ? [1, 0] : [0, 1];
  const waiting = m.status === 'proposed' && opts.now < m.answerBy;
  const canAnswer = waiting && viewerSide !== undefined && !m.answers[viewerSide] && opts.mayAnswer;
  let status: string;
  if (m.status === 'proposed') status = waiting ? answersText(m) : 'This proposal has lapsed: its confirm-by date has passed.';
  else if (m.status === 'agreed') status = 'Agreed by both schools.';
  else if (m.status === 'declined') status = `Declined by ${m.schoolIds[0] === m.reasonSchoolId ? m.schoolNames[0] : m.schoolNames[1]}${m.reasonBy ? ` (${m.reasonBy})` : ''}: ${m.reason}`;
  else if (m.status === 'cancelled') status = `Cancelled by ${m.schoolIds[0] === m.reasonSchoolId ? m.schoolNames[0] : m.schoolNames[1]}: ${m.reason}`;
  else status = `Lapsed: ${m.reason}.`;
  const mine = opts.mine ?? '';
  return {
    matchId: m.id,
    schoolId: viewerSide === undefined ? '' : m.schoolIds[viewerSide],
    heading: `Placement swap: ${m.schoolNames[l]} ⇄ ${m.schoolNames[r]}`,
    intro: m.status === 'proposed' ? 'These two offers fit each other: each school can host what the other sends, in the same weeks. The swap is agreed when both schools accept.' : '',
    left: sideData(l),
    right: sideData(r),
    overlap: overlapText(m, opts.now),
    answerBy: answerByText(m, opts.now),
    status,
    mine,
    hasMine: !!mine,
    canAnswer,
    reasonError: opts.reasonError ?? '',
    hasReasonError: !!opts.reasonError,
    pupilHint: PUPIL_HINT,
  };
}

// ---------------------------------------------------------------------------------------------
// Notices (cards/swapNotice.json)

export interface NoticeCardData {
  readonly heading: string;
  readonly text: string;
  readonly facts: Fact[];
  readonly hasFacts: boolean;
  readonly buttons: Button[];
  readonly hasButtons: boolean;
}

export function noticeCardData(heading: string, text: string, facts: Fact[] = [], buttons: Button[] = []): NoticeCardData {
  return { heading, text, facts, hasFacts: facts.length > 0, buttons, hasButtons: buttons.length > 0 };
}

export function button(title: string, verb: Button['verb'], ids: { offerId?: string; matchId?: string; schoolId?: string } = {}): Button {
  return { title, verb, offerId: ids.offerId ?? '', matchId: ids.matchId ?? '', schoolId: ids.schoolId ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Cancelling an agreed swap (cards/swapCancel.json)

export interface CancelCardData {
  readonly matchId: string;
  readonly schoolId: string;
  readonly heading: string;
  readonly text: string;
  readonly facts: Fact[];
  readonly reasonError: string;
  readonly hasReasonError: boolean;
  readonly pupilHint: string;
}

export function cancelCardData(m: Match, offers: readonly [Offer | undefined, Offer | undefined], schoolId: string, now: Date, reasonError?: string): CancelCardData {
  const otherName = m.schoolIds[0] === schoolId ? m.schoolNames[1] : m.schoolNames[0];
  return {
    matchId: m.id,
    schoolId,
    heading: `Cancel the swap with ${otherName}?`,
    text: `${otherName} and the coordinators will be told, with your reason. The two offers close; either school can make a new offer.`,
    facts: [...swapLines(m, offers).map((line, i) => ({ title: i === 0 ? 'Swap' : '', value: line })), { title: 'Weeks', value: overlapText(m, now) }],
    reasonError: reasonError ?? '',
    hasReasonError: !!reasonError,
    pupilHint: PUPIL_HINT,
  };
}

// ---------------------------------------------------------------------------------------------
// The board (cards/swapBoard.json)

export interface BoardItem {
  readonly title: string;
  readonly detail: string;
  readonly status: string;
  readonly buttons: Button[];
  readonly hasButtons: boolean;
}

export interface BoardSection {
  readonly title: string;
  readonly items: BoardItem[];
  readonly hasItems: boolean;
  readonly empty: string;
  readonly more: string;
  readonly hasMore: boolean;
}

export interface BoardCardData {
  readonly heading: string;
  readonly intro: string;
  readonly sections: BoardSection[];
}

const SECTION_LIMIT = 15;

export interface BoardViewer {
  readonly schoolId?: string;
  readonly schoolName?: string;
  /** Whether this viewer may act for a school (a rep of it, or a coordinator). */
  mayActFor(schoolId: string): boolean;
  readonly canOffer: boolean;
}

/**
 * The partnership's open offers, proposed matches and agreed swaps (whose weeks have not ended), the
 * viewer's school first; each item carries the buttons the viewer may use.
 */
export function boardCardData(partnership: string, offers: readonly Offer[], matches: readonly Match[], viewer: BoardViewer, now: Date): BoardCardData {
  const byId = new Map(offers.map((o) => [o.id, o]));
  const today = todayIn(now);
  const openOffers = offers.filter((o) => o.status === 'open').sort((a, b) => a.from.localeCompare(b.from) || a.createdAt.getTime() - b.createdAt.getTime());
  const proposed = matches.filter((m) => m.status === 'proposed').sort((a, b) => a.answerBy.getTime() - b.answerBy.getTime());
  const agreed = matches.filter((m) => m.status === 'agreed' && m.overlap.to >= today).sort((a, b) => a.overlap.from.localeCompare(b.overlap.from));

  const offerItem = (o: Offer): BoardItem => {
    const buttons = viewer.mayActFor(o.schoolId) ? [button('Withdraw', 'swap.withdraw', { offerId: o.id })] : [];
    return {
      title: `${o.schoolName} offers ${sendsText(o)}`,
      detail: `Hosts ${hostsText(o)} · weeks ${formatRange(o.from, o.to, now)} · confirm by ${formatDeadline(o.confirmBy, now)}`,
      status: 'Waiting for a match',
      buttons,
      hasButtons: buttons.length > 0,
    };
  };
  const matchItem = (m: Match): BoardItem => {
    const pair = viewer.schoolId === m.schoolIds[1] ? `${m.schoolNames[1]} ⇄ ${m.schoolNames[0]}` : `${m.schoolNames[0]} ⇄ ${m.schoolNames[1]}`;
    const buttons: Button[] = [];
    if (m.status === 'proposed') {
      for (const side of [0, 1] as const) {
        if (!m.answers[side] && viewer.mayActFor(m.schoolIds[side])) {
          const forOwn = viewer.schoolId === m.schoolIds[side];
          buttons.push(button(forOwn ? 'Answer' : `Answer for ${m.schoolNames[side]}`, 'swap.show', { matchId: m.id, schoolId: m.schoolIds[side] }));
        }
      }
      return { title: pair, detail: `Weeks ${overlapText(m, now)} · answer by ${answerByText(m, now)}`, status: answersText(m), buttons, hasButtons: buttons.length > 0 };
    }
    const side = ([0, 1] as const).find((s) => viewer.schoolId === m.schoolIds[s]) ?? ([0, 1] as const).find((s) => viewer.mayActFor(m.schoolIds[s]));
    if (side !== undefined && viewer.mayActFor(m.schoolIds[side])) buttons.push(button('Cancel this swap…', 'swap.cancelForm', { matchId: m.id, schoolId: m.schoolIds[side] }));
    const lines = swapLines(m, [byId.get(m.offerIds[0]), byId.get(m.offerIds[1])]);
    return { title: `${pair}: agreed`, detail: [...lines, `Weeks ${overlapText(m, now)}.`].join(' '), status: 'Agreed', buttons, hasButtons: buttons.length > 0 };
  };

  const section = (title: string, items: BoardItem[], empty: string): BoardSection => ({
    title,
    items: items.slice(0, SECTION_LIMIT),
    hasItems: items.length > 0,
    empty,
    more: items.length > SECTION_LIMIT ? `…and ${items.length - SECTION_LIMIT} more.` : '',
    hasMore: items.length > SECTION_LIMIT,
  });

  const mine = viewer.schoolId;
  const isMine = (m: Match) => !!mine && (m.schoolIds[0] === mine || m.schoolIds[1] === mine);
  const sections: BoardSection[] = [];
  if (mine) {
    const items = [...openOffers.filter((o) => o.schoolId === mine).map(offerItem), ...proposed.filter(isMine).map(matchItem), ...agreed.filter(isMine).map(matchItem)];
    sections.push(section(`Your school: ${viewer.schoolName ?? ''}`, items, viewer.canOffer ? 'Nothing yet. Offer a swap with: swap offer' : 'Nothing for your school yet.'));
  }
  // Below the viewer's own school, the sections are about the other schools, and say so.
  sections.push(section(mine ? "Other schools' open offers" : 'Open offers', openOffers.filter((o) => o.schoolId !== mine).map(offerItem), mine ? 'No other school has an open offer.' : 'No open offers.'));
  sections.push(section(mine ? "Other schools' proposed swaps" : 'Proposed swaps', proposed.filter((m) => !isMine(m)).map(matchItem), mine ? 'No swaps between other schools are waiting for answers.' : 'No swaps waiting for answers.'));
  sections.push(section(mine ? "Other schools' agreed swaps" : 'Agreed swaps', agreed.filter((m) => !isMine(m)).map(matchItem), mine ? 'No other school has an agreed swap coming up.' : 'No agreed swaps coming up.'));
  return {
    heading: `Placement swaps: ${partnership}`,
    intro: viewer.canOffer ? 'Offer a swap with: swap offer' : 'Your school reps offer and agree swaps.',
    sections,
  };
}

/** The answer to an accept that another school's accept, at the same moment, turned into an agreed swap. */
export function acceptedTogetherText(m: Match, side: 0 | 1): string {
  return `You've accepted for ${m.schoolNames[side]}, and ${m.schoolNames[side === 0 ? 1 : 0]} accepted at the same moment, so the swap is agreed. I've told both schools' reps and the coordinators.`;
}

// ---------------------------------------------------------------------------------------------
// What a change tells people (the effects of rules.ts effectsOf, in words)

/** ", saying: "…"" after a decline or cancel with a reason. */
export function reasonText(reason: string): string {
  return reason ? `, saying: "${reason}"` : '';
}

/** Above a new proposal, to each school: please answer. */
export function proposalAskText(m: Match, side: Side, now: Date): string {
  return `I've found a swap for ${m.schoolNames[side]}'s offer. Please accept or decline by ${answerByText(m, now)}.`;
}

/** Above the proposal sent to the school still to answer, once `side` has accepted. */
export function acceptedAskText(m: Match, side: Side): string {
  return `${m.schoolNames[side]} has accepted (${m.answers[side]?.by ?? ''}). The swap is agreed as soon as ${m.schoolNames[other(side)]} accepts too.`;
}

/** A card that asked a school to accept, once the proposal is no longer waiting. */
export function closedCardData(m: Match, offers: readonly [Offer | undefined, Offer | undefined], schoolId: string, now: Date): ProposalCardData {
  return proposalCardData(m, offers, { schoolId, now, mayAnswer: false, mine: closedText(m, now) });
}

/** The swap is agreed: to `side`'s school (with a button to cancel it), or to the coordinators (side undefined). */
export function agreedNoticeData(m: Match, offers: readonly [Offer | undefined, Offer | undefined], now: Date, side?: Side): NoticeCardData {
  const facts = [...swapLines(m, offers).map((value) => ({ title: '', value })), { title: 'Weeks', value: overlapText(m, now) }, { title: 'Accepted by', value: m.answers.map((a, i) => `${m.schoolNames[i as Side]}: ${a?.by ?? ''}`).join(' · ') }];
  const text = `Both schools have accepted, so the placement swap between ${m.schoolNames[0]} and ${m.schoolNames[1]} is agreed and both offers are closed.`;
  const buttons = side === undefined ? [button('Show the board', 'swap.board')] : [button('Cancel this swap…', 'swap.cancelForm', { matchId: m.id, schoolId: m.schoolIds[side] }), button('Show the board', 'swap.board')];
  return noticeCardData('Placement swap agreed', text, facts, buttons);
}

/** `side` declined: to the other school, whose offer has a new proposal (`rematched`) or was not held. */
export function declinedNoticeData(m: Match, side: Side, rematched: boolean): NoticeCardData {
  const by = m.schoolNames[side];
  const text = `${by} declined the swap with ${m.schoolNames[other(side)]}${reasonText(m.reason)}. ${rematched ? "Your offer is open again, and I've found another match: see the new proposal." : ''}`.trim();
  return noticeCardData(`${by} declined the proposed swap`, text, [], [button('Show the board', 'swap.board')]);
}

/** `side` cancelled the agreed swap: to the other school and the coordinators. */
export function cancelledNoticeData(m: Match, offers: readonly [Offer | undefined, Offer | undefined], side: Side, now: Date): NoticeCardData {
  const text = `${m.schoolNames[side]} (${m.reasonBy}) cancelled the placement swap with ${m.schoolNames[other(side)]}${reasonText(m.reason)}. Both offers are closed; make a new offer with \`swap offer\` if you still want a swap.`;
  const facts = [...swapLines(m, offers).map((value) => ({ title: '', value })), { title: 'Weeks', value: overlapText(m, now) }];
  return noticeCardData(`${m.schoolNames[side]} cancelled the agreed swap`, text, facts, [button('Show the board', 'swap.board')]);
}

/** An offer freed from `m` with no new match: why it is open again, and why nothing fits yet. */
export function openAgainNoticeData(offer: Offer, m: Match, by: FreedBy, why: string, now: Date): NoticeCardData {
  const mine = m.offerIds[0] === offer.id ? 0 : 1;
  const them = m.schoolNames[other(mine)];
  const declinerSide = m.schoolIds[0] === m.reasonSchoolId ? 0 : 1;
  const context =
    by === 'declined'
      ? `${m.schoolNames[declinerSide]} declined the proposed swap with ${m.schoolNames[other(declinerSide)]}${reasonText(m.reason)}.`
      : by === 'withdrawn'
        ? `${them} withdrew its offer, so the proposed swap with you is off.`
        : by === 'expired'
          ? `${them}'s offer expired before both schools accepted, so the proposed swap with you has lapsed.`
          : `The proposed swap between ${m.schoolNames[0]} and ${m.schoolNames[1]} is off: ${m.reason}.`;
  return noticeCardData('Your placement swap offer is open again', `${context} No match yet: ${why} I'll propose a swap as soon as a school's offer fits.`, offerFacts(offer, now), [button('Withdraw', 'swap.withdraw', { offerId: offer.id }), button('Show the board', 'swap.board')]);
}

/** An offer reached its confirm-by date; `partnerSchool` when a proposal it was in lapsed with it. */
export function expiredNoticeData(offer: Offer, partnerSchool: string | undefined, why: string, now: Date): NoticeCardData {
  const date = formatDeadline(offer.confirmBy, now);
  const text =
    partnerSchool !== undefined
      ? `Your offer reached its confirm-by date (${date}) while the proposed swap${partnerSchool ? ` with ${partnerSchool}` : ''} was still waiting for answers, so it has expired and the proposal has lapsed. Make a new offer with \`swap offer\` if you still want a swap.`
      : `Your offer reached its confirm-by date (${date}) without a match, so it has expired. ${why} Make a new offer with \`swap offer\` if you still want a swap.`;
  return noticeCardData('Your placement swap offer has expired', text.replace(/  +/g, ' '), offerFacts(offer, now), [button('Show the board', 'swap.board')]);
}

import type { Deadline } from '../platform/deadlines/types';
import type { Person } from '../platform/identity';
import { londonDate, londonToInstant } from '../platform/time';
import type { Answer, DateText, Match, MatchPolicy, Offer, Overlap, Phase, PersonRef, SwapRecord } from './model';

/**
 * The placement swap rules, pure: dates and school days, reciprocal matching and its ranking, why an
 * offer has no match, what accepting, declining, withdrawing, cancelling and expiry do, and which
 * decisions are waiting on whom. They take `now` and data and return a decision; the store writes it
 * under ETags in one transaction.
 */

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Dates

/** Days since 1970-01-01 for a 'YYYY-MM-DD' calendar date, or undefined when it is not a real date. */
export function dayNumber(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

export function dateOfDay(day: number): DateText {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function isWeekday(day: number): boolean {
  const wd = new Date(day * DAY_MS).getUTCDay();
  return wd !== 0 && wd !== 6;
}

/** Mondays to Fridays from `from` to `to`, both included. Bank holidays and INSET days are not known. */
export function schoolDaysBetween(from: DateText, to: DateText): number {
  const a = dayNumber(from);
  const b = dayNumber(to);
  if (a === undefined || b === undefined || b < a) return 0;
  let n = 0;
  for (let d = a; d <= b; d += 1) if (isWeekday(d)) n += 1;
  return n;
}

/** The school days two date ranges share, trimmed to the first and last weekday; undefined when none. */
export function overlapOf(a: { from: DateText; to: DateText }, b: { from: DateText; to: DateText }): Overlap | undefined {
  const [af, at, bf, bt] = [dayNumber(a.from), dayNumber(a.to), dayNumber(b.from), dayNumber(b.to)];
  if (af === undefined || at === undefined || bf === undefined || bt === undefined) return undefined;
  let from = Math.max(af, bf);
  let to = Math.min(at, bt);
  while (from <= to && !isWeekday(from)) from += 1;
  while (to >= from && !isWeekday(to)) to -= 1;
  if (to < from) return undefined;
  return { from: dateOfDay(from), to: dateOfDay(to), schoolDays: schoolDaysBetween(dateOfDay(from), dateOfDay(to)) };
}

/** When an offer expires: the end of its confirm-by day in London (midnight that follows it). */
export function expiresAt(confirmBy: DateText): Date {
  const day = dayNumber(confirmBy);
  const next = day === undefined ? confirmBy : dateOfDay(day + 1);
  return londonToInstant(next, '00:00') ?? new Date(`${next}T00:00:00Z`);
}

export function todayIn(now: Date): DateText {
  return londonDate(now);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * "12 Jan", or "Mon 12 Jan" with the weekday. The year is added when the date is not within the
 * stretch people mean without one (two months back to ten months ahead of `now`).
 */
export function formatDate(date: DateText, now: Date, weekday = false): string {
  const day = dayNumber(date);
  if (day === undefined) return date;
  const d = new Date(day * DAY_MS);
  const today = dayNumber(todayIn(now)) ?? day;
  const text = `${weekday ? `${WEEKDAYS[d.getUTCDay()]} ` : ''}${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  // As everywhere in Together (platform formatDay): the year whenever it is not this year.
  return d.getUTCFullYear() !== new Date(today * DAY_MS).getUTCFullYear() ? `${text} ${d.getUTCFullYear()}` : text;
}

/** "12 Jan – 6 Feb"; "12 Jan – 6 Feb 2026" in another year; "15 Dec 2025 – 16 Jan 2026" across two. */
export function formatRange(from: DateText, to: DateText, now: Date): string {
  const [fromText, toText] = [formatDate(from, now), formatDate(to, now)];
  if (from.slice(0, 4) !== to.slice(0, 4)) return `${fromText.replace(/ \d{4}$/, '')} ${from.slice(0, 4)} – ${toText.replace(/ \d{4}$/, '')} ${to.slice(0, 4)}`;
  return `${fromText.replace(/ \d{4}$/, '')} – ${toText}`;
}

/** "4 school weeks", "2 school weeks and 3 days", "4 days" */
export function formatSchoolDays(days: number): string {
  const weeks = Math.floor(days / 5);
  const rest = days % 5;
  const w = weeks === 1 ? '1 school week' : `${weeks} school weeks`;
  const d = rest === 1 ? '1 day' : `${rest} days`;
  if (weeks === 0) return d;
  return rest === 0 ? w : `${w} and ${d}`;
}

/** A confirm-by date as people read it: "Fri 9 Jan". */
export function formatDeadline(confirmBy: DateText, now: Date): string {
  return formatDate(confirmBy, now, true);
}

// ---------------------------------------------------------------------------------------------
// Subjects and phases

const SUBJECT_ALIASES: Record<string, string> = {
  maths: 'mathematics',
  math: 'mathematics',
  pe: 'physical education',
  re: 'religious education',
  'd and t': 'design and technology',
  dt: 'design and technology',
  mfl: 'modern foreign languages',
};

/** How subjects are compared: case, spacing, '&' and the common short names do not matter. */
export function subjectKey(subject: string): string {
  const key = subject.toLowerCase().replace(/&/g, ' and ').replace(/\./g, '').replace(/\s+/g, ' ').trim();
  return SUBJECT_ALIASES[key] ?? key;
}

/** "Maths, physics; chemistry" → ['Maths', 'physics', 'chemistry'] (duplicates by subjectKey dropped). */
export function parseSubjects(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[,;/\n]+/)) {
    const s = raw.replace(/\s+/g, ' ').trim();
    if (s && !out.some((o) => subjectKey(o) === subjectKey(s))) out.push(s);
  }
  return out;
}

export function phaseLabel(phase: Phase): string {
  return phase;
}

/** A subject with its phase in front, unless the subject already says it: "secondary maths", "General primary". */
function withPhase(phase: Phase, subject: string): string {
  return subject.toLowerCase().includes(phaseLabel(phase).toLowerCase()) ? subject : `${phaseLabel(phase)} ${subject}`;
}

/** "secondary maths" */
export function sendsLabel(offer: Offer): string {
  return withPhase(offer.sends.phase, offer.sends.subject);
}

/** "1 secondary maths trainee (Sam P.)" */
export function sendsText(offer: Offer): string {
  const n = offer.sends.count;
  return `${n} ${sendsLabel(offer)} trainee${n === 1 ? '' : 's'}${offer.sends.trainee ? ` (${offer.sends.trainee})` : ''}`;
}

/** "secondary maths, physics" */
export function hostsText(offer: Offer): string {
  const { phase, subjects } = offer.hosts;
  if (!subjects.some((s) => withPhase(phase, s) === s)) return `${phaseLabel(phase)} ${subjects.join(', ')}`;
  return subjects.map((s) => withPhase(phase, s)).join(', ');
}

/** Whether `host` can host what `sender` sends: the same phase and one of its subjects. */
export function canHost(host: Offer, sender: Offer): boolean {
  const wanted = subjectKey(sender.sends.subject);
  return host.hosts.phase === sender.sends.phase && host.hosts.subjects.some((s) => subjectKey(s) === wanted);
}

// ---------------------------------------------------------------------------------------------
// Matching

/** Whether an offer can still be matched or answered at `now`. */
export function isLive(offer: Offer, now: Date): boolean {
  return (offer.status === 'open' || offer.status === 'proposed') && now.getTime() < expiresAt(offer.confirmBy).getTime();
}

export type Fit = { readonly ok: true; readonly overlap: Overlap } | { readonly ok: false; readonly why: 'same offer' | 'same school' | 'they cannot host yours' | 'you cannot host theirs' | 'weeks' };

/** Whether two offers fit each other, whatever their status: each hosts what the other sends, in enough shared weeks. */
export function fit(a: Offer, b: Offer, policy: MatchPolicy): Fit {
  if (a.id === b.id) return { ok: false, why: 'same offer' };
  if (a.schoolId === b.schoolId) return { ok: false, why: 'same school' };
  if (!canHost(b, a)) return { ok: false, why: 'they cannot host yours' };
  if (!canHost(a, b)) return { ok: false, why: 'you cannot host theirs' };
  const overlap = overlapOf(a, b);
  if (!overlap || overlap.schoolDays < policy.minOverlapWeeks * 5) return { ok: false, why: 'weeks' };
  return { ok: true, overlap };
}

export interface Candidate {
  readonly offer: Offer;
  readonly overlap: Overlap;
  /** The last agreed (not cancelled) swap between the two schools, if any. */
  readonly lastSwap?: Date;
}

export interface MatchContext {
  readonly now: Date;
  readonly policy: MatchPolicy;
  readonly history: readonly SwapRecord[];
  /** Ids of the offers this offer has been proposed with before (never proposed again). */
  readonly paired: ReadonlySet<string>;
}

/** The last agreed swap between two schools that was not cancelled. */
export function lastSwapBetween(history: readonly SwapRecord[], a: string, b: string): Date | undefined {
  let last: Date | undefined;
  for (const r of history) {
    if (r.cancelled) continue;
    const pair = (r.schoolIds[0] === a && r.schoolIds[1] === b) || (r.schoolIds[0] === b && r.schoolIds[1] === a);
    if (pair && (!last || r.agreedAt > last)) last = r.agreedAt;
  }
  return last;
}

/**
 * The open offers `offer` could be proposed with, best first: the longest overlap, then schools that
 * have not swapped with each other recently (never, or longer ago than `policy.recentDays`; among
 * recent ones the longest ago), then the oldest offer, then the id, so ties always break the same way.
 */
export function rankCandidates(offer: Offer, others: readonly Offer[], ctx: MatchContext): Candidate[] {
  if (offer.status !== 'open' || !isLive(offer, ctx.now)) return [];
  const found: { c: Candidate; recency: number }[] = [];
  for (const other of others) {
    if (other.status !== 'open' || !isLive(other, ctx.now) || ctx.paired.has(other.id)) continue;
    const f = fit(offer, other, ctx.policy);
    if (!f.ok) continue;
    const lastSwap = lastSwapBetween(ctx.history, offer.schoolId, other.schoolId);
    const recent = lastSwap !== undefined && ctx.now.getTime() - lastSwap.getTime() < ctx.policy.recentDays * DAY_MS;
    found.push({ c: lastSwap ? { offer: other, overlap: f.overlap, lastSwap } : { offer: other, overlap: f.overlap }, recency: recent ? lastSwap.getTime() : Number.NEGATIVE_INFINITY });
  }
  found.sort(
    (x, y) =>
      y.c.overlap.schoolDays - x.c.overlap.schoolDays ||
      x.recency - y.recency ||
      x.c.offer.createdAt.getTime() - y.c.offer.createdAt.getTime() ||
      (x.c.offer.id < y.c.offer.id ? -1 : x.c.offer.id > y.c.offer.id ? 1 : 0),
  );
  return found.map((f) => f.c);
}

function namesList(names: readonly string[]): string {
  const unique = [...new Set(names)].sort((a, b) => a.localeCompare(b, 'en-GB'));
  if (unique.length <= 1) return unique[0] ?? '';
  const shown = unique.slice(0, 3);
  const more = unique.length - shown.length;
  if (more > 0) return `${shown.join(', ')} and ${more} more`;
  return `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

/**
 * Why an open offer has no match, in plain words, e.g. "No school offers to host secondary maths in
 * weeks 12 Jan – 6 Feb." `others` are the other offers that are still live (open or proposed).
 */
export function whyUnmatched(offer: Offer, others: readonly Offer[], ctx: MatchContext): string {
  const want = sendsLabel(offer);
  const weeks = formatRange(offer.from, offer.to, ctx.now);
  const min = ctx.policy.minOverlapWeeks;
  const live = others.filter((o) => o.id !== offer.id && o.schoolId !== offer.schoolId && isLive(o, ctx.now));
  const hostsIt = live.filter((o) => canHost(o, offer));
  const none = `No school offers to host ${want} in weeks ${weeks}.`;
  if (hostsIt.length === 0) return none;
  const inWeeks = hostsIt.filter((o) => (overlapOf(o, offer)?.schoolDays ?? 0) >= min * 5);
  if (inWeeks.length === 0) {
    const near = hostsIt.slice(0, 3).map((o) => `${o.schoolName} (${formatRange(o.from, o.to, ctx.now)})`);
    return `${none} ${namesList(near)} can host ${want}, but not for ${min} school week${min === 1 ? '' : 's'} of yours.`;
  }
  const reciprocal = inWeeks.filter((o) => canHost(offer, o));
  if (reciprocal.length === 0) {
    const o = inWeeks[0]!;
    const they = inWeeks.length === 1 ? `${o.schoolName} can host ${want} in your weeks, but it wants to send ${sendsLabel(o)}` : `${namesList(inWeeks.map((x) => x.schoolName))} can host ${want} in your weeks, but they want to send ${namesList(inWeeks.map(sendsLabel))}`;
    return `${they}, and you host ${hostsText(offer)}.`;
  }
  const fresh = reciprocal.filter((o) => !ctx.paired.has(o.id));
  if (fresh.length === 0) {
    const names = namesList(reciprocal.map((o) => o.schoolName));
    return `The only offer${reciprocal.length === 1 ? '' : 's'} that fit${reciprocal.length === 1 ? 's' : ''} yours (from ${names}) ${reciprocal.length === 1 ? 'was' : 'were'} proposed to you before, so I won't propose ${reciprocal.length === 1 ? 'it' : 'them'} again.`;
  }
  const busy = fresh.filter((o) => o.status !== 'open');
  if (busy.length === fresh.length) {
    const names = namesList(busy.map((o) => o.schoolName));
    return `${names} ${busy.length === 1 ? 'has an offer that fits' : 'have offers that fit'}, but ${busy.length === 1 ? 'it is' : 'they are'} waiting on another proposal.`;
  }
  return '';
}

// ---------------------------------------------------------------------------------------------
// Proposals and answers

export type Side = 0 | 1;

/** Builds the match for two offers; side 0 is the offer with the smaller id. */
export function proposal(id: string, a: Offer, b: Offer, overlap: Overlap, now: Date): Match {
  const [x, y] = a.id < b.id ? [a, b] : [b, a];
  const answerBy = new Date(Math.min(expiresAt(x.confirmBy).getTime(), expiresAt(y.confirmBy).getTime()));
  return {
    id,
    offerIds: [x.id, y.id],
    schoolIds: [x.schoolId, y.schoolId],
    schoolNames: [x.schoolName, y.schoolName],
    overlap,
    status: 'proposed',
    answers: [undefined, undefined],
    proposedAt: now,
    answerBy,
    reason: '',
    reasonBy: '',
    reasonSchoolId: '',
  };
}

/** Marks both offers as held by the proposal. */
export function hold(match: Match, a: Offer, b: Offer, now: Date): void {
  for (const o of [a, b]) {
    o.status = 'proposed';
    o.matchId = match.id;
    o.updatedAt = now;
  }
}

export function sideOf(match: Match, schoolId: string): Side | undefined {
  if (match.schoolIds[0] === schoolId) return 0;
  if (match.schoolIds[1] === schoolId) return 1;
  return undefined;
}

export function other(side: Side): Side {
  return side === 0 ? 1 : 0;
}

/** Whether a person may act for a school: a rep of that school, or a coordinator. From the Teams identity only. */
export function mayActFor(person: Person, schoolId: string): boolean {
  return person.isCoordinator || (person.isRep && !!person.schoolId && person.schoolId === schoolId);
}

/** The plain words for a match that is no longer waiting for answers. */
export function closedText(match: Match, now: Date): string {
  switch (match.status) {
    case 'agreed':
      return `This swap between ${match.schoolNames[0]} and ${match.schoolNames[1]} is already agreed.`;
    case 'declined':
      return `This proposal is no longer open: ${match.reasonBy ? `${match.reasonBy} of ` : ''}${schoolNameOf(match, match.reasonSchoolId)} declined it.`;
    case 'lapsed':
      return `This proposal is no longer open: ${match.reason || 'it lapsed'}.`;
    case 'cancelled':
      return `This swap was cancelled by ${schoolNameOf(match, match.reasonSchoolId)}.`;
    case 'proposed':
      return now >= match.answerBy ? 'This proposal has lapsed: its confirm-by date has passed.' : 'This proposal is waiting for answers.';
  }
}

export function schoolNameOf(match: Match, schoolId: string): string {
  const side = sideOf(match, schoolId);
  return side === undefined ? 'a school' : match.schoolNames[side];
}

export type AnswerDecision =
  /** Nothing changes; tell the person `message`. */
  | { readonly kind: 'unchanged'; readonly message: string }
  /** This school's yes is recorded; the other school has not answered yet. */
  | { readonly kind: 'recorded'; readonly match: Match }
  /** Both schools said yes: the swap is agreed if both offers are still held (see `agree`). */
  | { readonly kind: 'agree'; readonly match: Match };

/** A school accepts a proposal. Changes a copy; idempotent (a repeated click changes nothing). */
export function accept(match: Match, side: Side, by: PersonRef, now: Date): AnswerDecision {
  if (match.status === 'agreed') return { kind: 'unchanged', message: closedText(match, now) };
  if (match.status !== 'proposed') return { kind: 'unchanged', message: closedText(match, now) };
  if (now >= match.answerBy) return { kind: 'unchanged', message: closedText(match, now) };
  if (match.answers[side]) return { kind: 'unchanged', message: `${match.schoolNames[side]} has already accepted (${match.answers[side]!.by}). Waiting for ${match.schoolNames[other(side)]}.` };
  const next: Match = { ...match, answers: [...match.answers] as Match['answers'] };
  const answer: Answer = { by: by.name, aadObjectId: by.aadObjectId, at: now };
  next.answers[side] = answer;
  return next.answers[other(side)] ? { kind: 'agree', match: next } : { kind: 'recorded', match: next };
}

export type AgreeCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly unavailable: readonly string[] };

/**
 * Whether both offers are still held for this match, so the swap can be agreed. An offer that is
 * already agreed elsewhere, withdrawn or expired makes the proposal lapse.
 */
export function checkAgree(match: Match, offers: readonly [Offer | undefined, Offer | undefined], now: Date): AgreeCheck {
  const unavailable: string[] = [];
  const reasons: string[] = [];
  offers.forEach((o, i) => {
    const name = match.schoolNames[i as Side];
    if (!o) {
      unavailable.push(match.offerIds[i as Side]);
      reasons.push(`${name}'s offer no longer exists`);
    } else if (o.status !== 'proposed' || !isLive(o, now)) {
      unavailable.push(o.id);
      reasons.push(o.status === 'agreed' ? `${name}'s offer has been agreed in another swap` : o.status === 'withdrawn' ? `${name} withdrew its offer` : `${name}'s offer has expired`);
    }
  });
  return unavailable.length === 0 ? { ok: true } : { ok: false, reason: reasons.join(' and '), unavailable };
}

/** The swap is agreed: the match and both offers close. */
export function agree(match: Match, a: Offer, b: Offer, now: Date): SwapRecord {
  match.status = 'agreed';
  match.decidedAt = now;
  for (const o of [a, b]) {
    o.status = 'agreed';
    o.matchId = match.id;
    o.updatedAt = now;
  }
  return { schoolIds: match.schoolIds, agreedAt: now, matchId: match.id, cancelled: false };
}

/** Frees an offer a match was holding (back to open). Returns whether it changed. */
export function release(offer: Offer, matchId: string, now: Date): boolean {
  if (offer.status !== 'proposed' || offer.matchId !== matchId) return false;
  offer.status = 'open';
  offer.matchId = '';
  offer.updatedAt = now;
  return true;
}

export type DeclineDecision = { readonly kind: 'unchanged'; readonly message: string } | { readonly kind: 'declined'; readonly match: Match };

/** A school declines a proposal with a reason. Idempotent: the same school declining again changes nothing. */
export function decline(match: Match, side: Side, by: PersonRef, reason: string, now: Date): DeclineDecision {
  if (match.status === 'declined' && match.reasonSchoolId === match.schoolIds[side]) return { kind: 'unchanged', message: `${match.schoolNames[side]} has already declined this proposal.` };
  if (match.status !== 'proposed') return { kind: 'unchanged', message: closedText(match, now) };
  return { kind: 'declined', match: { ...match, status: 'declined', decidedAt: now, reason, reasonBy: by.name, reasonSchoolId: match.schoolIds[side] } };
}

/** A proposal lapses (an offer withdrawn or expired): the match closes with the reason. */
export function lapse(match: Match, reason: string, now: Date): Match {
  return { ...match, status: 'lapsed', decidedAt: now, reason };
}

export type WithdrawDecision =
  | { readonly kind: 'unchanged'; readonly message: string }
  /** The offer is withdrawn; if it was in a proposal, that proposal lapses (`matchId`). */
  | { readonly kind: 'withdrawn'; readonly offer: Offer; readonly matchId: string };

export function withdraw(offer: Offer, now: Date): WithdrawDecision {
  switch (offer.status) {
    case 'withdrawn':
      return { kind: 'unchanged', message: 'This offer is already withdrawn.' };
    case 'expired':
      return { kind: 'unchanged', message: 'This offer has already expired, so there is nothing to withdraw.' };
    case 'agreed':
      return { kind: 'unchanged', message: 'This offer is part of an agreed swap. To call it off, cancel the swap (with a reason) from the board: type `swaps`.' };
    case 'cancelled':
      return { kind: 'unchanged', message: 'This offer\'s swap was cancelled, so the offer is already closed.' };
    case 'open':
    case 'proposed': {
      const matchId = offer.status === 'proposed' ? offer.matchId : '';
      return { kind: 'withdrawn', offer: { ...offer, status: 'withdrawn', matchId: '', updatedAt: now }, matchId };
    }
  }
}

export type CancelDecision = { readonly kind: 'unchanged'; readonly message: string } | { readonly kind: 'cancelled'; readonly match: Match };

/** Either school cancels an agreed swap, with a reason. */
export function cancel(match: Match, side: Side, by: PersonRef, reason: string, now: Date): CancelDecision {
  if (match.status === 'cancelled') return { kind: 'unchanged', message: closedText(match, now) };
  if (match.status !== 'agreed') return { kind: 'unchanged', message: 'Only an agreed swap can be cancelled. A proposal can be declined instead.' };
  return { kind: 'cancelled', match: { ...match, status: 'cancelled', decidedAt: now, reason, reasonBy: by.name, reasonSchoolId: match.schoolIds[side] } };
}

/** Closes an offer whose agreed swap was cancelled. */
export function closeCancelled(offer: Offer, matchId: string, now: Date): boolean {
  if (offer.status !== 'agreed' || offer.matchId !== matchId) return false;
  offer.status = 'cancelled';
  offer.updatedAt = now;
  return true;
}

/** Whether an offer is due to expire at `now` (still open or proposed, past the end of its confirm-by day). */
export function isDueToExpire(offer: Offer, now: Date): boolean {
  return (offer.status === 'open' || offer.status === 'proposed') && now.getTime() >= expiresAt(offer.confirmBy).getTime();
}

// ---------------------------------------------------------------------------------------------
// Deadlines for nudges

export interface SwapDeadline {
  /** 'swap.answer': a school has not answered a proposal; 'swap.confirmBy': an open offer expires. */
  readonly kind: 'swap.answer' | 'swap.confirmBy';
  /** The school whose reps should act. */
  readonly schoolId: string;
  readonly dueAt: Date;
  /** What to do, specific enough for a nudge: "Answer the placement swap proposal with Hillside High by Fri 9 Jan". */
  readonly what: string;
  readonly matchId?: string;
  readonly offerId?: string;
  /** The button a nudge can carry to act on it. */
  readonly action: { readonly verb: string; readonly data: Record<string, string> };
}

/**
 * Every decision waiting on a school, soonest first: each school that has not answered a proposed
 * match (due when the proposal lapses), and each open offer's confirm-by date.
 */
export function pendingDecisions(offers: readonly Offer[], matches: readonly Match[], now: Date): SwapDeadline[] {
  const out: SwapDeadline[] = [];
  for (const m of matches) {
    if (m.status !== 'proposed' || now >= m.answerBy) continue;
    for (const side of [0, 1] as const) {
      if (m.answers[side]) continue;
      const due = formatDate(todayIn(new Date(m.answerBy.getTime() - 1)), now, true);
      out.push({
        kind: 'swap.answer',
        schoolId: m.schoolIds[side],
        dueAt: m.answerBy,
        what: `Answer the placement swap proposal with ${m.schoolNames[other(side)]} by ${due}`,
        matchId: m.id,
        action: { verb: 'swap.show', data: { matchId: m.id, schoolId: m.schoolIds[side] } },
      });
    }
  }
  for (const o of offers) {
    if (o.status !== 'open' || !isLive(o, now)) continue;
    out.push({
      kind: 'swap.confirmBy',
      schoolId: o.schoolId,
      dueAt: expiresAt(o.confirmBy),
      what: `Your placement swap offer (${sendsLabel(o)}, ${formatRange(o.from, o.to, now)}) has no match yet and expires at the end of ${formatDeadline(o.confirmBy, now)}`,
      offerId: o.id,
      action: { verb: 'swap.board', data: {} },
    });
  }
  return out.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.schoolId.localeCompare(b.schoolId) || a.kind.localeCompare(b.kind));
}

// ---------------------------------------------------------------------------------------------
// The deadline registry (src/platform/deadlines), which the nudges capability reads

export const offerDeadlineId = (offerId: string): string => `swap:offer:${offerId}`;
export const answerDeadlineId = (matchId: string, schoolId: string): string => `swap:answer:${matchId}:${schoolId}`;

export interface RegistryChanges {
  readonly register: Deadline[];
  readonly complete: string[];
  readonly cancel: string[];
}

/**
 * What the deadline registry should hold for these offers and matches as they are now: an open offer
 * is a reminder before its confirm-by date; a proposal waiting for a school is an essential deadline
 * for that school's reps, due when the proposal lapses. Anything that was acted on is completed, and
 * anything that went away is cancelled. Registering the same item again changes nothing.
 */
export function registryChanges(offers: readonly Offer[], matches: readonly Match[], now: Date): RegistryChanges {
  const out: RegistryChanges = { register: [], complete: [], cancel: [] };
  for (const o of offers) {
    const id = offerDeadlineId(o.id);
    if (o.status === 'open' && isLive(o, now)) {
      out.register.push({
        id,
        capability: 'swaps',
        who: { kind: 'schoolReps', schoolId: o.schoolId },
        schoolId: o.schoolId,
        // A reminder reads "<what> tomorrow" or "<what> on Fri 9 Jan", and goes the school day before dueAt.
        what: `Your placement swap offer (${sendsLabel(o)}, ${formatRange(o.from, o.to, now)}) has no match yet. Its confirm-by date is`,
        detail: 'Widen the weeks or subjects with a new offer, or withdraw it if plans have changed.',
        dueAt: londonToInstant(o.confirmBy, '09:00') ?? expiresAt(o.confirmBy),
        kind: 'reminder',
        essential: false,
        actions: [
          { title: 'Show the board', verb: 'swap.board', data: {} },
          { title: 'Withdraw', verb: 'swap.withdraw', data: { offerId: o.id } },
        ],
      });
    } else if (o.status === 'proposed' || o.status === 'agreed') out.complete.push(id);
    else out.cancel.push(id);
  }
  for (const m of matches) {
    for (const side of [0, 1] as const) {
      const id = answerDeadlineId(m.id, m.schoolIds[side]);
      const answered = !!m.answers[side] || (m.status === 'declined' && m.reasonSchoolId === m.schoolIds[side]);
      if (m.status === 'proposed' && !answered && now < m.answerBy) {
        out.register.push({
          id,
          capability: 'swaps',
          who: { kind: 'schoolReps', schoolId: m.schoolIds[side] },
          schoolId: m.schoolIds[side],
          what: `Answer the placement swap proposal with ${m.schoolNames[other(side)]}`,
          detail: `Overlapping weeks ${formatRange(m.overlap.from, m.overlap.to, now)}. ${m.answers[other(side)] ? `${m.schoolNames[other(side)]} has accepted.` : ''}`.trim(),
          dueAt: m.answerBy,
          kind: 'deadline',
          essential: true,
          actions: [
            { title: 'Answer', verb: 'swap.show', data: { matchId: m.id, schoolId: m.schoolIds[side] } },
            { title: 'Accept', verb: 'swap.accept', data: { matchId: m.id, schoolId: m.schoolIds[side] } },
          ],
        });
      } else if (answered || m.status === 'agreed') out.complete.push(id);
      else out.cancel.push(id);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The effects of a change: who is told what, decided from what changed (the service words them)

/** One committed change to the swaps: the offers and matches it wrote, before and after. */
export interface SwapStep {
  readonly offers: readonly { readonly before?: Offer; readonly after: Offer }[];
  readonly matches: readonly { readonly before?: Match; readonly after: Match }[];
  /** Offers this change freed or let expire that have no match now, with why (whyUnmatched). */
  readonly unmatched: ReadonlyMap<string, string>;
}

/** Why a freed offer is open again: its proposal was declined, or lapsed because the other offer was withdrawn, expired, or for another reason. */
export type FreedBy = 'declined' | 'withdrawn' | 'expired' | 'lapsed';

export type SwapEffect =
  /** A new proposal: both schools are asked to answer. */
  | { readonly kind: 'propose'; readonly matchId: string }
  /** `side` accepted: the other school is asked to accept too (its card is remembered, to close it later). */
  | { readonly kind: 'accepted'; readonly matchId: string; readonly side: Side }
  /** Both accepted: both schools and the coordinators hear of the swap. */
  | { readonly kind: 'agreed'; readonly matchId: string }
  /** The swap is agreed: the cards that asked a school to accept show it, without buttons. */
  | { readonly kind: 'closeCards'; readonly matchId: string }
  /** `side` declined: the other school hears why (unless its offer is open again with no match: that notice says why). */
  | { readonly kind: 'declined'; readonly matchId: string; readonly side: Side }
  /** `side` cancelled the agreed swap: the other school and the coordinators hear why. */
  | { readonly kind: 'cancelled'; readonly matchId: string; readonly side: Side }
  /** An offer freed from `matchId` found no new match: its school hears why it is open again, and why nothing fits yet. */
  | { readonly kind: 'openAgain'; readonly offerId: string; readonly matchId: string; readonly by: FreedBy; readonly why: string }
  /** An offer reached its confirm-by date (a proposal it was in, `matchId`, lapsed). */
  | { readonly kind: 'expired'; readonly offerId: string; readonly matchId: string; readonly why: string }
  /** The deadline registry learns what is now awaited, done or no longer needed. */
  | ({ readonly kind: 'deadlines' } & RegistryChanges);

/**
 * What a committed change tells people and the deadline registry, from the rows it wrote: pure, the
 * service words each effect (cards.ts) and commits it with the change (the outbox). Per person,
 * effects go in this order.
 */
export function effectsOf(step: SwapStep, now: Date): SwapEffect[] {
  const out: SwapEffect[] = [];
  const offerAfter = new Map(step.offers.map((o) => [o.after.id, o.after]));
  for (const o of step.offers) {
    const { before, after } = o;
    if (after.status !== 'expired' || !before || before.status === 'expired') continue;
    out.push({ kind: 'expired', offerId: after.id, matchId: before.status === 'proposed' ? before.matchId : '', why: step.unmatched.get(after.id) ?? '' });
  }
  for (const { before, after } of step.matches) if (!before && after.status === 'proposed') out.push({ kind: 'propose', matchId: after.id });
  for (const o of step.offers) {
    const { before, after } = o;
    if (!before || before.status !== 'proposed' || after.status !== 'open' || !step.unmatched.has(after.id)) continue;
    const freeing = step.matches.find((m) => m.after.id === before.matchId)?.after;
    if (!freeing) continue;
    const partnerId = freeing.offerIds[0] === after.id ? freeing.offerIds[1] : freeing.offerIds[0];
    const partner = offerAfter.get(partnerId)?.status;
    const by: FreedBy = freeing.status === 'declined' ? 'declined' : partner === 'withdrawn' ? 'withdrawn' : partner === 'expired' ? 'expired' : 'lapsed';
    out.push({ kind: 'openAgain', offerId: after.id, matchId: freeing.id, by, why: step.unmatched.get(after.id)! });
  }
  for (const { before, after } of step.matches) {
    if (!before) continue;
    if (before.status === 'proposed' && after.status === 'proposed') {
      for (const side of [0, 1] as const) if (!before.answers[side] && after.answers[side]) out.push({ kind: 'accepted', matchId: after.id, side });
    }
    if (before.status === 'proposed' && after.status === 'agreed') out.push({ kind: 'agreed', matchId: after.id });
    if (before.status === 'proposed' && after.status === 'declined') {
      const side = sideOf(after, after.reasonSchoolId) ?? 0;
      const theirs = after.offerIds[other(side)];
      if (!(step.unmatched.has(theirs) && offerAfter.get(theirs)?.status === 'open')) out.push({ kind: 'declined', matchId: after.id, side });
    }
    if (before.status === 'agreed' && after.status === 'cancelled') out.push({ kind: 'cancelled', matchId: after.id, side: sideOf(after, after.reasonSchoolId) ?? 0 });
    // As before the outbox: the cards asking a school to accept are closed when the swap is agreed (a declined or lapsed proposal's answer says so when clicked).
    if (before.status === 'proposed' && after.status === 'agreed' && (after.waitingCards ?? []).length > 0) out.push({ kind: 'closeCards', matchId: after.id });
  }
  const registry = registryChanges(
    step.offers.map((o) => o.after),
    step.matches.map((m) => m.after),
    now,
  );
  if (registry.register.length + registry.complete.length + registry.cancel.length > 0) out.push({ kind: 'deadlines', ...registry });
  return out;
}

import type { Person } from '../platform/identity';
import { formatDayTime } from '../platform/time';
import { SLOT_LENGTHS, type Aggregate, type OfferPolicy, type PersonalNoticeKind, type PersonRef, type SignUp, type SlotLength, type Talk, type TeachMeet } from './model';

/**
 * The TeachMeet rules, pure: they take the event with its sign-ups, what people asked for, and `now`,
 * and change the aggregate in place, returning what each person should be told and what must be sent
 * afterwards. The store commits the result as one transaction under the event row's ETag.
 */

export type Intent =
  | { readonly kind: 'attend'; readonly person: PersonRef }
  | { readonly kind: 'present'; readonly person: PersonRef; readonly talk: Talk }
  | { readonly kind: 'cancel'; readonly person: PersonRef }
  | { readonly kind: 'acceptOffer'; readonly person: PersonRef }
  | { readonly kind: 'declineOffer'; readonly person: PersonRef }
  | { readonly kind: 'markOfferSent'; readonly aadObjectId: string; readonly expiresAt: string }
  /** A personal notice has gone (or was given up on): `at` names which one, so a newer notice of the same kind stays. */
  | { readonly kind: 'noticeSent'; readonly aadObjectId: string; readonly notice: PersonalNoticeKind; readonly at: string }
  /** A person has been told of the broadcast made at version `v` (and of any before it). */
  | { readonly kind: 'broadcastTold'; readonly aadObjectId: string; readonly v: number }
  /** Instance `by` takes over notices another left unsent, until `until` (now, to let go); refused while another holds them. */
  | { readonly kind: 'claimNotices'; readonly by: string; readonly until: string }
  | { readonly kind: 'sweep' }
  | { readonly kind: 'edit'; readonly by: string; readonly changes: EventChanges }
  | { readonly kind: 'cancelEvent'; readonly by: string; readonly reason: string }
  | { readonly kind: 'drawOrder'; readonly by: string; readonly random: readonly number[] };

export type EventChanges = Partial<Pick<TeachMeet, 'title' | 'theme' | 'host' | 'startsAt' | 'endsAt' | 'venue' | 'link' | 'places' | 'slots' | 'deadline'>>;

/** What the person who asked is told. `ok: false` means nothing changed for them. */
export type Outcome = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string };

/** Messages to send once the change is committed. */
export type Notice =
  | { readonly kind: 'confirmed'; readonly aadObjectId: string }
  | { readonly kind: 'waitlisted'; readonly aadObjectId: string; readonly position: number }
  | { readonly kind: 'offer'; readonly aadObjectId: string; readonly expiresAt: Date }
  | { readonly kind: 'offerExpired'; readonly aadObjectId: string }
  | { readonly kind: 'changed'; readonly aadObjectId: string; readonly what: string[]; readonly v: number }
  | { readonly kind: 'eventCancelled'; readonly aadObjectId: string; readonly v: number };

/** Intents that only record what has been sent or who is sending: nobody's card changes. */
const BOOKKEEPING: ReadonlySet<Intent['kind']> = new Set(['markOfferSent', 'noticeSent', 'broadcastTold', 'claimNotices']);

export interface Applied {
  readonly outcomes: Outcome[];
  readonly notices: Notice[];
  /** Ids of sign-ups that changed (their rows must be written). */
  readonly changed: Set<string>;
  /** Whether the event row itself changed beyond its counters. */
  readonly eventChanged: boolean;
  /** Offers to make, expire or shorten were left for a sweep right after: doing them all would change more than MAX_ROWS sign-ups. */
  readonly more: boolean;
  /** Whether anything a card shows may have changed (false when the intents were only bookkeeping). */
  readonly shown: boolean;
}

/** Sign-up rows one commit may change: a transaction holds 100 operations, one of them the event row. */
export const MAX_ROWS = 99;

type Applying = { -readonly [K in keyof Applied]: Applied[K] };

/** Whether the offers loops may change one more row; if not, they leave the rest for the next sweep. */
function room(applied: Applying): boolean {
  if (applied.changed.size < MAX_ROWS) return true;
  applied.more = true;
  return false;
}

const ok = (message: string): Outcome => ({ ok: true, message });
const no = (message: string): Outcome => ({ ok: false, message });

/** Who may edit, list, draw and cancel a TeachMeet: its organiser, a rep of the host school, or a coordinator. */
export function mayOrganise(person: Pick<Person, 'aadObjectId' | 'isRep' | 'isCoordinator' | 'schoolId'>, event: TeachMeet): boolean {
  return person.isCoordinator || event.organiser.aadObjectId === person.aadObjectId || (person.isRep && event.host.kind === 'school' && person.schoolId === event.host.schoolId);
}

/** Whether "Cancel my place" should ask first: the person has a place or a waitlist number to lose, and it is not too late to cancel. */
export function cancelNeedsConfirmation(agg: Aggregate, aadObjectId: string, now: Date): boolean {
  const me = agg.signUps.get(aadObjectId);
  return !!me && me.status !== 'cancelled' && now.getTime() < agg.event.startsAt.getTime();
}

export function isClosed(event: TeachMeet, now: Date): boolean {
  return event.status === 'cancelled' || now.getTime() >= event.deadline.getTime() || now.getTime() >= event.startsAt.getTime();
}

export function statusLabel(event: TeachMeet, now: Date): 'Open' | 'Closed' | 'Cancelled' {
  if (event.status === 'cancelled') return 'Cancelled';
  return isClosed(event, now) ? 'Closed' : 'Open';
}

export interface Counts {
  readonly attending: number;
  readonly offered: number;
  readonly placesLeft: number;
  readonly waiting: number;
  readonly presenting: Record<SlotLength, number>;
  readonly slotsLeft: Record<SlotLength, number>;
}

export function counts(agg: Aggregate): Counts {
  let attending = 0;
  let offered = 0;
  let waiting = 0;
  const presenting: Record<SlotLength, number> = { 2: 0, 5: 0, 7: 0 };
  for (const s of agg.signUps.values()) {
    if (s.status === 'confirmed' && s.role === 'attendee') attending += 1;
    else if (s.status === 'confirmed' && s.role === 'presenter' && s.talk) presenting[s.talk.slot] += 1;
    else if (s.status === 'offered') offered += 1;
    else if (s.status === 'waiting') waiting += 1;
  }
  const slotsLeft = { 2: 0, 5: 0, 7: 0 } as Record<SlotLength, number>;
  for (const len of SLOT_LENGTHS) slotsLeft[len] = Math.max(0, agg.event.slots[len] - presenting[len]);
  return { attending, offered, waiting, presenting, slotsLeft, placesLeft: Math.max(0, agg.event.places - attending - offered) };
}

/** 1-based position among the people waiting (offers count as the front of the queue). */
export function waitPosition(agg: Aggregate, aadObjectId: string): number | undefined {
  const me = agg.signUps.get(aadObjectId);
  if (!me || (me.status !== 'waiting' && me.status !== 'offered') || me.waitNumber === undefined) return undefined;
  let ahead = 0;
  for (const s of agg.signUps.values()) {
    if (s.status === 'waiting' && s.waitNumber !== undefined && s.waitNumber < me.waitNumber) ahead += 1;
  }
  return ahead + 1;
}

/** The waiting people in order. */
export function waitlist(agg: Aggregate): SignUp[] {
  return [...agg.signUps.values()].filter((s) => s.status === 'waiting').sort((a, b) => (a.waitNumber ?? 0) - (b.waitNumber ?? 0));
}

/** When an offer made now would expire, or undefined when it is too close to the start to offer. */
export function offerExpiry(event: TeachMeet, now: Date, policy: OfferPolicy): Date | undefined {
  const latest = event.startsAt.getTime() - policy.hoursBeforeStart * 3_600_000;
  const expiry = Math.min(now.getTime() + policy.holdHours * 3_600_000, latest);
  return expiry > now.getTime() ? new Date(expiry) : undefined;
}

/** Applies intents in order, changing `agg` in place. */
export function applyAll(agg: Aggregate, intents: readonly Intent[], now: Date, policy: OfferPolicy): Applied {
  const applied: Applying = { outcomes: [], notices: [], changed: new Set(), eventChanged: false, more: false, shown: false };
  for (const intent of intents) {
    const outcome = applyOne(agg, intent, now, policy, applied);
    const late = keepRunningOrder(agg, now);
    if (late.changed) applied.eventChanged = true;
    applied.outcomes.push(late.added.includes(actorOf(intent) ?? '') && outcome.ok ? ok(`${outcome.message} ${lateLine(agg, actorOf(intent)!)}`) : outcome);
    if (!BOOKKEEPING.has(intent.kind)) applied.shown = true;
  }
  settleNotices(agg, applied, now);
  return applied;
}

function actorOf(intent: Intent): string | undefined {
  return 'person' in intent ? intent.person.aadObjectId : undefined;
}

function lateLine(agg: Aggregate, aadObjectId: string): string {
  return `The running order was already drawn, so you're at the end of it: number ${agg.event.runningOrder.indexOf(aadObjectId) + 1}.`;
}

/**
 * Keeps a drawn running order in step with who is presenting: a presenter who confirms after the draw
 * goes at the end and is marked as added late (until the organiser draws again); someone who no longer
 * presents leaves it. Nothing happens before a draw, or once the TeachMeet has started (the order is
 * then what happened). Returns who was added and whether the order changed.
 */
export function keepRunningOrder(agg: Aggregate, now: Date): { added: string[]; changed: boolean } {
  const { event } = agg;
  if (event.runningOrder.length === 0 || event.status === 'cancelled' || now.getTime() >= event.startsAt.getTime()) return { added: [], changed: false };
  const presenting = (id: string) => {
    const s = agg.signUps.get(id);
    return !!s && s.status === 'confirmed' && s.role === 'presenter' && !!s.talk;
  };
  const kept = event.runningOrder.filter(presenting);
  const added = [...agg.signUps.values()]
    .filter((s) => presenting(s.aadObjectId) && !kept.includes(s.aadObjectId))
    .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || a.aadObjectId.localeCompare(b.aadObjectId))
    .map((s) => s.aadObjectId);
  if (kept.length === event.runningOrder.length && added.length === 0) return { added: [], changed: false };
  if (kept.length === 0 && added.length === 0) {
    // Every presenter left: an empty order would read as "not drawn yet", so keep it until someone presents again.
    return { added: [], changed: false };
  }
  event.runningOrder = [...kept, ...added];
  event.addedLate = [...event.addedLate.filter((id) => kept.includes(id)), ...added];
  return { added, changed: true };
}

/** The version a batch of intents is committed as (the queue writes the event row with version + 1). */
function commitVersion(event: TeachMeet): number {
  return event.version + 1;
}

/** Records a personal notice on the person's row, in the same commit as the change it tells of. */
function tell(applied: Applying, s: SignUp, kind: PersonalNoticeKind, now: Date): void {
  s.notice = { kind, at: now };
  touch(applied, s, now);
  applied.notices.push({ kind, aadObjectId: s.aadObjectId });
}

/** Whether a sign-up is still to be told of a broadcast (people who left, or joined after it, are not). */
export function owesBroadcast(s: SignUp, b: { readonly v: number }): boolean {
  return s.status !== 'cancelled' && s.toldVersion < b.v;
}

/**
 * The personal notice a sign-up is still owed, if any. A confirmation for an event since cancelled is
 * owed no more (the cancellation is what they are told); it is left on the row rather than cleared, so
 * a cancellation never has to rewrite every row.
 */
export function owedNotice(s: SignUp, event: TeachMeet): SignUp['notice'] {
  if (!s.notice || (s.notice.kind === 'confirmed' && event.status === 'cancelled')) return undefined;
  return s.notice;
}

/**
 * The broadcasts a person is owed after `toldUpTo`, up to version `v`, told as one message: the
 * cancellation if the event has been cancelled since, else every change in order.
 */
export function owedBroadcasts(event: TeachMeet, toldUpTo: number, v: number): { kind: 'changed'; what: string[] } | { kind: 'eventCancelled' } | undefined {
  const owed = event.broadcasts.filter((b) => b.v > toldUpTo && b.v <= v);
  if (owed.length === 0) return undefined;
  if (owed.some((b) => b.kind === 'eventCancelled')) return { kind: 'eventCancelled' };
  return { kind: 'changed', what: owed.flatMap((b) => b.what) };
}

/**
 * Every notice recorded at or before `before` and still owed: a person's own notice, and for each person
 * one message for all the broadcasts they are owed (the latest stands for those before it).
 */
export function overdueNotices(agg: Aggregate, before: Date): Notice[] {
  const out: Notice[] = [];
  const due = (at: Date) => at.getTime() <= before.getTime();
  for (const s of agg.signUps.values()) {
    const own = owedNotice(s, agg.event);
    if (own && due(own.at)) out.push({ kind: own.kind, aadObjectId: s.aadObjectId });
    const latest = agg.event.broadcasts.filter((b) => due(b.at) && owesBroadcast(s, b)).at(-1);
    if (latest) out.push(latest.kind === 'changed' ? { kind: 'changed', aadObjectId: s.aadObjectId, what: [...latest.what], v: latest.v } : { kind: 'eventCancelled', aadObjectId: s.aadObjectId, v: latest.v });
  }
  return out;
}

/**
 * Drops notices that no longer hold (a confirmation for someone who has since cancelled, an expired
 * offer for someone who has since signed up again: rows this batch has changed anyway) and broadcasts
 * everyone has been told of, and notes when the oldest notice still owed was recorded.
 */
function settleNotices(agg: Aggregate, applied: Applying, now: Date): void {
  const { event } = agg;
  for (const s of agg.signUps.values()) {
    if (s.notice && s.status !== (s.notice.kind === 'confirmed' ? 'confirmed' : 'cancelled')) {
      s.notice = undefined;
      touch(applied, s, now);
    }
  }
  event.broadcasts = event.broadcasts.filter((b) => [...agg.signUps.values()].some((s) => owesBroadcast(s, b)));
  let since = Math.min(...event.broadcasts.map((b) => b.at.getTime()));
  for (const s of agg.signUps.values()) {
    const own = owedNotice(s, event);
    if (own) since = Math.min(since, own.at.getTime());
  }
  event.noticesSince = Number.isFinite(since) ? new Date(since) : undefined;
}

/**
 * The toldVersion of someone joining now: they are not told of changes made before they joined, but are
 * of one made after them in the same batch (committed as the same version).
 */
function joinedAt(event: TeachMeet): number {
  return Math.max(event.version, ...event.broadcasts.map((b) => b.v));
}

function touch(applied: Applied, s: SignUp, now: Date): void {
  s.updatedAt = now;
  applied.changed.add(s.aadObjectId);
}

function applyOne(agg: Aggregate, intent: Intent, now: Date, policy: OfferPolicy, applied: Applying): Outcome {
  const { event } = agg;
  switch (intent.kind) {
    case 'attend':
    case 'present': {
      if (event.status === 'cancelled') return no(`${event.title} has been cancelled.`);
      if (isClosed(event, now)) return no(`Sign-ups for ${event.title} closed on ${formatDayTime(event.deadline, now)}.`);
      return intent.kind === 'attend' ? attend(agg, intent.person, now, policy, applied) : present(agg, intent.person, intent.talk, now, policy, applied);
    }
    case 'cancel':
      return cancel(agg, intent.person.aadObjectId, now, policy, applied);
    case 'acceptOffer': {
      const me = agg.signUps.get(intent.person.aadObjectId);
      if (me?.status === 'confirmed') return ok(`You already have a place at ${event.title}.`);
      if (event.status === 'cancelled') return no(`${event.title} has been cancelled.`);
      if (!me || me.status !== 'offered') return no('That offer is no longer open, so nothing changed.');
      if (me.offerExpiresAt && me.offerExpiresAt.getTime() <= now.getTime()) {
        expireOffer(agg, me, now, applied);
        fill(agg, now, policy, applied);
        return no('Sorry, that offer has expired and the place has gone to the next person waiting.');
      }
      me.status = 'confirmed';
      me.waitNumber = undefined;
      me.offerExpiresAt = undefined;
      tell(applied, me, 'confirmed', now);
      return ok(`Your place at ${event.title} is confirmed.`);
    }
    case 'declineOffer': {
      const me = agg.signUps.get(intent.person.aadObjectId);
      if (!me || me.status !== 'offered') return no('That offer is no longer open, so nothing changed.');
      me.status = 'cancelled';
      me.waitNumber = undefined;
      me.offerExpiresAt = undefined;
      touch(applied, me, now);
      fill(agg, now, policy, applied);
      return ok('Thanks for letting us know: the place goes to the next person waiting.');
    }
    case 'markOfferSent': {
      const me = agg.signUps.get(intent.aadObjectId);
      if (!me || me.status !== 'offered' || me.offerSent || me.offerExpiresAt?.toISOString() !== intent.expiresAt) return ok('unchanged');
      me.offerSent = true;
      touch(applied, me, now);
      return ok('marked');
    }
    case 'noticeSent': {
      const me = agg.signUps.get(intent.aadObjectId);
      if (!me?.notice || me.notice.kind !== intent.notice || me.notice.at.toISOString() !== intent.at) return ok('unchanged');
      me.notice = undefined;
      touch(applied, me, now);
      return ok('marked');
    }
    case 'broadcastTold': {
      const me = agg.signUps.get(intent.aadObjectId);
      if (!me || me.toldVersion >= intent.v) return ok('unchanged');
      me.toldVersion = intent.v;
      touch(applied, me, now);
      return ok('marked');
    }
    case 'claimNotices': {
      const held = event.noticesClaimedUntil && event.noticesClaimedUntil.getTime() > now.getTime();
      if (held && event.noticesClaimedBy !== intent.by) return no('Another instance is sending these notices.');
      event.noticesClaimedBy = intent.by;
      event.noticesClaimedUntil = new Date(intent.until);
      applied.eventChanged = true;
      return ok('claimed');
    }
    case 'sweep': {
      for (const s of agg.signUps.values()) {
        if (s.status === 'offered' && s.offerExpiresAt && s.offerExpiresAt.getTime() <= now.getTime()) {
          if (!room(applied)) break;
          expireOffer(agg, s, now, applied);
        }
      }
      keepOffersBeforeStart(agg, now, policy, applied);
      fill(agg, now, policy, applied);
      return ok('swept');
    }
    case 'edit':
      return edit(agg, intent.changes, now, policy, applied);
    case 'cancelEvent': {
      if (event.status === 'cancelled') return ok(`${event.title} was already cancelled.`);
      event.status = 'cancelled';
      event.cancelReason = intent.reason;
      applied.eventChanged = true;
      const v = commitVersion(event);
      event.broadcasts = [...event.broadcasts, { v, kind: 'eventCancelled', what: [], at: now }];
      for (const s of agg.signUps.values()) {
        if (s.status !== 'cancelled') applied.notices.push({ kind: 'eventCancelled', aadObjectId: s.aadObjectId, v });
      }
      return ok(`${event.title} is cancelled. Everyone signed up or waiting will be told.`);
    }
    case 'drawOrder': {
      const presenters = [...agg.signUps.values()].filter((s) => s.status === 'confirmed' && s.role === 'presenter').map((s) => s.aadObjectId).sort();
      if (presenters.length === 0) return no('Nobody is presenting yet, so there is no running order to draw.');
      event.runningOrder = drawRunningOrder(presenters, intent.random);
      event.addedLate = [];
      applied.eventChanged = true;
      return ok(`Running order drawn for ${presenters.length} ${presenters.length === 1 ? 'presenter' : 'presenters'}.`);
    }
  }
}

function newSignUp(person: PersonRef, now: Date): SignUp {
  return { aadObjectId: person.aadObjectId, teamsId: person.teamsId, name: person.name, schoolId: person.schoolId, role: 'attendee', status: 'cancelled', offerSent: false, toldVersion: 0, createdAt: now, updatedAt: now };
}

function attend(agg: Aggregate, person: PersonRef, now: Date, policy: OfferPolicy, applied: Applying): Outcome {
  const { event } = agg;
  const me = agg.signUps.get(person.aadObjectId);
  if (me?.status === 'confirmed' && me.role === 'attendee') return ok(`You already have a place at ${event.title}.`);
  if (me?.status === 'waiting') return ok(`You're already on the waitlist for ${event.title}.`);
  if (me?.status === 'offered') return ok(`A place at ${event.title} is being held for you: accept it from the message I sent you.`);
  const c = counts(agg);
  if (me?.status === 'confirmed' && me.role === 'presenter') {
    if (c.placesLeft === 0) return no(`There are no attendee places left, so you keep your presenter slot.`);
    me.role = 'attendee';
    me.talk = undefined;
    tell(applied, me, 'confirmed', now);
    return ok(`You're now attending ${event.title} instead of presenting.`);
  }
  const s = me ?? newSignUp(person, now);
  s.teamsId = person.teamsId;
  s.name = person.name;
  s.schoolId = person.schoolId;
  s.role = 'attendee';
  s.talk = undefined;
  s.offerSent = false;
  s.toldVersion = joinedAt(event);
  agg.signUps.set(s.aadObjectId, s);
  touch(applied, s, now);
  if (c.placesLeft > 0 && c.waiting === 0) {
    s.status = 'confirmed';
    s.waitNumber = undefined;
    tell(applied, s, 'confirmed', now);
    return ok(`You have a place at ${event.title}.`);
  }
  s.status = 'waiting';
  s.waitNumber = event.waitNext;
  event.waitNext += 1;
  const position = waitPosition(agg, s.aadObjectId) ?? 1;
  applied.notices.push({ kind: 'waitlisted', aadObjectId: s.aadObjectId, position });
  fill(agg, now, policy, applied);
  return ok(`${event.title} is full: you're number ${position} on the waitlist.`);
}

function present(agg: Aggregate, person: PersonRef, talk: Talk, now: Date, policy: OfferPolicy, applied: Applying): Outcome {
  const { event } = agg;
  const me = agg.signUps.get(person.aadObjectId);
  const c = counts(agg);
  if (me?.status === 'confirmed' && me.role === 'presenter' && me.talk) {
    const sameSlot = me.talk.slot === talk.slot;
    if (!sameSlot && c.slotsLeft[talk.slot] === 0) return no(`There are no ${talk.slot}-minute slots left, so you keep your ${me.talk.slot}-minute slot.`);
    if (sameSlot && me.talk.title === talk.title && me.talk.line === talk.line) return ok(`You're already presenting at ${event.title}.`);
    me.talk = talk;
    touch(applied, me, now);
    return ok(`Your talk is updated: ${talk.slot} min, '${talk.title}'.`);
  }
  if (c.slotsLeft[talk.slot] === 0) {
    const free = SLOT_LENGTHS.filter((len) => c.slotsLeft[len] > 0).map((len) => `${len}-minute`);
    const rest = free.length > 0 ? ` Slots still free: ${free.join(', ')}.` : ' All presenter slots are taken.';
    const keep = me?.status === 'confirmed' ? ' You keep your attendee place.' : me?.status === 'waiting' ? ' You stay on the waitlist.' : '';
    return no(`There are no ${talk.slot}-minute slots left.${rest}${keep}`);
  }
  const wasAttending = me?.status === 'confirmed' && me.role === 'attendee';
  const wasQueued = me?.status === 'waiting' || me?.status === 'offered';
  const s = me ?? newSignUp(person, now);
  if (!me || me.status === 'cancelled') s.toldVersion = joinedAt(event);
  s.teamsId = person.teamsId;
  s.name = person.name;
  s.schoolId = person.schoolId;
  s.role = 'presenter';
  s.talk = talk;
  s.status = 'confirmed';
  s.waitNumber = undefined;
  s.offerExpiresAt = undefined;
  agg.signUps.set(s.aadObjectId, s);
  tell(applied, s, 'confirmed', now);
  if (wasAttending || wasQueued) fill(agg, now, policy, applied);
  return ok(`You're presenting: ${talk.slot} min, '${talk.title}'.`);
}

function cancel(agg: Aggregate, aadObjectId: string, now: Date, policy: OfferPolicy, applied: Applying): Outcome {
  const { event } = agg;
  const me = agg.signUps.get(aadObjectId);
  if (!me || me.status === 'cancelled') return ok(`You don't have a place at ${event.title}, so there was nothing to cancel.`);
  if (now.getTime() >= event.startsAt.getTime()) return no(`${event.title} has already started.`);
  const was = me.status;
  me.status = 'cancelled';
  me.waitNumber = undefined;
  me.offerExpiresAt = undefined;
  touch(applied, me, now);
  fill(agg, now, policy, applied);
  return ok(was === 'waiting' ? `You've left the waitlist for ${event.title}.` : `Your place at ${event.title} is cancelled. Thank you for letting us know.`);
}

function expireOffer(agg: Aggregate, s: SignUp, now: Date, applied: Applying): void {
  s.status = 'cancelled';
  s.waitNumber = undefined;
  s.offerExpiresAt = undefined;
  tell(applied, s, 'offerExpired', now);
}

/** Offers free places to the people waiting, first come first served, while there is time to. */
function fill(agg: Aggregate, now: Date, policy: OfferPolicy, applied: Applying): void {
  const { event } = agg;
  if (event.status === 'cancelled') return;
  const expiresAt = offerExpiry(event, now, policy);
  if (!expiresAt) return;
  let free = counts(agg).placesLeft;
  for (const next of waitlist(agg)) {
    if (free <= 0 || !room(applied)) break;
    next.status = 'offered';
    next.offerExpiresAt = expiresAt;
    next.offerSent = false;
    touch(applied, next, now);
    applied.notices.push({ kind: 'offer', aadObjectId: next.aadObjectId, expiresAt });
    free -= 1;
  }
}

function edit(agg: Aggregate, changes: EventChanges, now: Date, policy: OfferPolicy, applied: Applying): Outcome {
  const { event } = agg;
  if (event.status === 'cancelled') return no(`${event.title} has been cancelled, so it can't be changed.`);
  const c = counts(agg);
  const held = c.attending + c.offered;
  if (changes.places !== undefined && changes.places < held) {
    return no(`${held === 1 ? '1 person already has or is offered a place' : `${held} people already have or are offered places`}, so places can't go below that.`);
  }
  if (changes.slots) {
    for (const len of SLOT_LENGTHS) {
      const n = c.presenting[len];
      if (changes.slots[len] < n) return no(`${n === 1 ? `1 person already has a ${len}-minute slot` : `${n} people already have ${len}-minute slots`}, so there must be at least that many.`);
    }
  }
  const what = describeChanges(event, changes, now);
  if (what.length === 0) return ok('Nothing was different, so nothing changed.');
  Object.assign(event, changes);
  applied.eventChanged = true;
  const v = commitVersion(event);
  event.broadcasts = [...event.broadcasts, { v, kind: 'changed', what, at: now }];
  for (const s of agg.signUps.values()) {
    if (s.status !== 'cancelled') applied.notices.push({ kind: 'changed', aadObjectId: s.aadObjectId, what, v });
  }
  keepOffersBeforeStart(agg, now, policy, applied);
  fill(agg, now, policy, applied);
  return ok(`${event.title} is updated: ${what.join('; ')}.`);
}

/** A start moved earlier must not leave an offer running later than the policy allows. */
function keepOffersBeforeStart(agg: Aggregate, now: Date, policy: OfferPolicy, applied: Applying): void {
  const latest = agg.event.startsAt.getTime() - policy.hoursBeforeStart * 3_600_000;
  for (const s of agg.signUps.values()) {
    if (s.status !== 'offered' || !s.offerExpiresAt || s.offerExpiresAt.getTime() <= latest) continue;
    if (!room(applied)) return;
    if (latest <= now.getTime()) {
      expireOffer(agg, s, now, applied);
      continue;
    }
    s.offerExpiresAt = new Date(latest);
    s.offerSent = false;
    touch(applied, s, now);
    applied.notices.push({ kind: 'offer', aadObjectId: s.aadObjectId, expiresAt: s.offerExpiresAt });
  }
}

export function describeChanges(event: TeachMeet, changes: EventChanges, now: Date): string[] {
  const what: string[] = [];
  if (changes.title !== undefined && changes.title !== event.title) what.push(`now called '${changes.title}'`);
  const starts = changes.startsAt ?? event.startsAt;
  const ends = changes.endsAt ?? event.endsAt;
  if (starts.getTime() !== event.startsAt.getTime() || ends.getTime() !== event.endsAt.getTime()) what.push(`now ${formatDayTime(starts, now)} to ${formatDayTime(ends, now).split(', ')[1]}`);
  if (changes.host !== undefined && JSON.stringify(changes.host) !== JSON.stringify(event.host)) what.push(changes.host.kind === 'online' ? 'now online' : `now hosted by ${changes.host.schoolName}`);
  if (changes.venue !== undefined && changes.venue !== event.venue) what.push(`venue: ${changes.venue || 'none'}`);
  if (changes.link !== undefined && changes.link !== event.link) what.push('new meeting link');
  if (changes.places !== undefined && changes.places !== event.places) what.push(`${changes.places} attendee ${changes.places === 1 ? 'place' : 'places'}`);
  if (changes.slots && SLOT_LENGTHS.some((len) => changes.slots![len] !== event.slots[len])) what.push(`presenter slots: ${SLOT_LENGTHS.map((len) => `${changes.slots![len]} × ${len} min`).join(', ')}`);
  if (changes.deadline !== undefined && changes.deadline.getTime() !== event.deadline.getTime()) what.push(`sign-ups close ${formatDayTime(changes.deadline, now)}`);
  if (changes.theme !== undefined && changes.theme !== event.theme) what.push(`theme: ${changes.theme || 'none'}`);
  return what;
}

/**
 * A random running order that contains every presenter exactly once (Fisher–Yates, driven by the
 * given random numbers in [0, 1) so the rule stays pure and testable).
 */
export function drawRunningOrder(presenters: readonly string[], random: readonly number[]): string[] {
  const order = [...presenters];
  for (let i = order.length - 1; i > 0; i -= 1) {
    const r = random[(order.length - 1 - i) % Math.max(1, random.length)] ?? 0;
    const j = Math.min(i, Math.floor(r * (i + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

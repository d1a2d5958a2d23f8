import type { Person } from '../platform/identity';
import { formatDayTime } from '../platform/time';
import { SLOT_LENGTHS, type Aggregate, type OfferPolicy, type PersonRef, type SignUp, type SlotLength, type Talk, type TeachMeet } from './model';

/**
 * The TeachMeet rules, pure: they take the event with its sign-ups, what people asked for, and `now`,
 * and change the aggregate in place, returning what each person should be told (the notices: the
 * change's effects, delivered by the outbox). The service commits the result and its effects as one
 * transaction under the event row's ETag (batched per event: platform/outbox/batch.ts).
 */

export type Intent =
  | { readonly kind: 'attend'; readonly person: PersonRef }
  | { readonly kind: 'present'; readonly person: PersonRef; readonly talk: Talk }
  | { readonly kind: 'cancel'; readonly person: PersonRef }
  | { readonly kind: 'acceptOffer'; readonly person: PersonRef }
  | { readonly kind: 'declineOffer'; readonly person: PersonRef }
  | { readonly kind: 'sweep' }
  | { readonly kind: 'edit'; readonly by: string; readonly changes: EventChanges }
  | { readonly kind: 'cancelEvent'; readonly by: string; readonly reason: string }
  | { readonly kind: 'drawOrder'; readonly by: string; readonly random: readonly number[] };

export type EventChanges = Partial<Pick<TeachMeet, 'title' | 'theme' | 'host' | 'startsAt' | 'endsAt' | 'venue' | 'link' | 'places' | 'slots' | 'deadline'>>;

/** What the person who asked is told. `ok: false` means nothing changed for them. */
export type Outcome = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string };

/** What the change tells people (its effects; a place on the waitlist is shown on the card, not sent). */
export type Notice =
  | { readonly kind: 'confirmed'; readonly aadObjectId: string }
  | { readonly kind: 'waitlisted'; readonly aadObjectId: string; readonly position: number }
  | { readonly kind: 'offer'; readonly aadObjectId: string; readonly expiresAt: Date }
  | { readonly kind: 'offerExpired'; readonly aadObjectId: string }
  | { readonly kind: 'changed'; readonly aadObjectId: string; readonly what: string[] }
  | { readonly kind: 'eventCancelled'; readonly aadObjectId: string };

export interface Applied {
  readonly outcomes: Outcome[];
  readonly notices: Notice[];
  /** Ids of sign-ups that changed (their rows must be written). */
  readonly changed: Set<string>;
  /** Whether the event row itself changed beyond its counters. */
  readonly eventChanged: boolean;
  /** Offers to make, expire or shorten were left for a sweep right after: doing them all would change more than MAX_ROWS sign-ups. */
  readonly more: boolean;
}

/**
 * Sign-up rows one commit may change: a transaction holds 100 operations: the event row, the sign-ups
 * and the change's effects (the card's copies, messages, reminders), for which ROOM_FOR_EFFECTS is kept.
 */
export const ROOM_FOR_EFFECTS = 10;
export const MAX_ROWS = 99 - ROOM_FOR_EFFECTS;

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
  const applied: Applying = { outcomes: [], notices: [], changed: new Set(), eventChanged: false, more: false };
  for (const intent of intents) {
    const outcome = applyOne(agg, intent, now, policy, applied);
    const late = keepRunningOrder(agg, now);
    if (late.changed) applied.eventChanged = true;
    applied.outcomes.push(late.added.includes(actorOf(intent) ?? '') && outcome.ok ? ok(`${outcome.message} ${lateLine(agg, actorOf(intent)!)}`) : outcome);
  }
  applied.notices = stillTrue(agg, applied.notices);
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

/** A personal notice, sent once the change it tells of is committed (the row changed with it). */
function tell(applied: Applying, s: SignUp, kind: 'confirmed' | 'offerExpired', now: Date): void {
  touch(applied, s, now);
  applied.notices.push({ kind, aadObjectId: s.aadObjectId });
}

/**
 * The notices that still hold once every intent of a batch is applied: a confirmation for someone
 * who has since cancelled, an offer since taken back, an expired offer for someone who signed up
 * again, are dropped; each person gets each message once, the latest offer only.
 */
export function stillTrue(agg: Aggregate, notices: readonly Notice[]): Notice[] {
  const out: Notice[] = [];
  const seen = new Set<string>();
  for (let i = notices.length - 1; i >= 0; i -= 1) {
    const n = notices[i]!;
    const s = agg.signUps.get(n.aadObjectId);
    const key = `${n.kind}|${n.aadObjectId}`;
    if (!s || seen.has(key)) continue;
    const holds =
      n.kind === 'confirmed'
        ? s.status === 'confirmed' && agg.event.status !== 'cancelled'
        : n.kind === 'offer'
          ? s.status === 'offered' && s.offerExpiresAt?.getTime() === n.expiresAt.getTime() && agg.event.status !== 'cancelled'
          : n.kind === 'offerExpired'
            ? s.status === 'cancelled' && agg.event.status !== 'cancelled'
            : n.kind === 'waitlisted'
              ? s.status === 'waiting'
              : n.kind === 'changed'
                ? agg.event.status !== 'cancelled'
                : true;
    if (!holds) continue;
    // Several changes in one batch are each told (in order); other kinds once.
    if (n.kind !== 'changed') seen.add(key);
    out.push(n);
  }
  return out.reverse();
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
      for (const s of agg.signUps.values()) {
        if (s.status !== 'cancelled') applied.notices.push({ kind: 'eventCancelled', aadObjectId: s.aadObjectId });
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
  return { aadObjectId: person.aadObjectId, teamsId: person.teamsId, name: person.name, schoolId: person.schoolId, role: 'attendee', status: 'cancelled', createdAt: now, updatedAt: now };
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
  for (const s of agg.signUps.values()) {
    if (s.status !== 'cancelled') applied.notices.push({ kind: 'changed', aadObjectId: s.aadObjectId, what });
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

// The reminder the school day before (the nudges capability sends it, from the deadline registry).

/**
 * How long before the start reminders are kept in the registry. Before that, sign-ups and cancellations
 * leave the registry alone (a rush would otherwise cost four storage calls per confirmed place), and the
 * timer registers everyone confirmed at once. Long enough that the school day before is still ahead
 * even across the Christmas holiday (about two and a half weeks), since a reminder is never sent on the
 * day it was registered. The summer holiday is longer: for an event in the first days of the autumn
 * term the school day before is in July, more than 28 days earlier, so it gets no reminder (a reminder
 * six weeks ahead would hardly be one).
 */
export const REMINDER_LEAD_DAYS = 28;

const DAY_MS = 86_400_000;

/** From this moment reminders are registered for the event; before it, nothing is. */
export function remindersFrom(event: Pick<TeachMeet, 'startsAt'>): Date {
  return new Date(event.startsAt.getTime() - REMINDER_LEAD_DAYS * DAY_MS);
}

/** Whether reminders for the event are kept in the registry at `now` (not before `remindersFrom`). */
export function remindersKept(event: Pick<TeachMeet, 'startsAt'>, now: Date): boolean {
  return now.getTime() >= remindersFrom(event).getTime();
}

/** One person's reminder id: registering it again replaces it. */
export function reminderId(eventId: string, aadObjectId: string): string {
  return `teachmeet:${eventId}:reminder:${aadObjectId}`;
}

/**
 * What the reminder registry must hear after a change: the reminder registered (cards.ts: reminderFor) for everyone
 * confirmed, cancelled for anyone who no longer is (or when the event is cancelled); nothing while
 * the event is weeks away (the reminders timer registers everyone then). Only someone confirmed before
 * the change can have a reminder to cancel: in a rush everyone joining the waitlist, and when a
 * TeachMeet is cancelled everyone waiting, would otherwise cost a registry call for a reminder that
 * does not exist.
 */
export function reminderChanges(agg: Aggregate, applied: Applied, before: Aggregate, now: Date): { register: SignUp[]; cancel: string[] } {
  const e = agg.event;
  const kept = remindersKept(e, now);
  const wasKept = remindersKept(before.event, now);
  const register: SignUp[] = [];
  const cancel: string[] = [];
  if (!kept && !wasKept) return { register, cancel };
  const ids = applied.eventChanged ? [...agg.signUps.keys()] : [...applied.changed];
  for (const aad of ids) {
    const s = agg.signUps.get(aad);
    if (!s) continue;
    if (!kept || s.status !== 'confirmed' || e.status === 'cancelled') {
      const hadReminder = wasKept && before.signUps.get(aad)?.status === 'confirmed';
      if (hadReminder) cancel.push(reminderId(e.id, aad));
      continue;
    }
    register.push(s);
  }
  return { register, cancel };
}

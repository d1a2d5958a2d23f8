/** What a TeachMeet and a sign-up are, as the rules see them. */

export const SLOT_LENGTHS = [2, 5, 7] as const;
export type SlotLength = (typeof SLOT_LENGTHS)[number];

export type Host = { readonly kind: 'school'; readonly schoolId: string; readonly schoolName: string } | { readonly kind: 'online' };

export interface TeachMeet {
  readonly id: string;
  title: string;
  theme: string;
  host: Host;
  startsAt: Date;
  endsAt: Date;
  venue: string;
  link: string;
  places: number;
  slots: Record<SlotLength, number>;
  deadline: Date;
  status: 'open' | 'cancelled';
  /** Who created it; their Teams id (when known) lets Teams fetch their own view of shared cards. */
  readonly organiser: { readonly aadObjectId: string; readonly name: string; readonly schoolId?: string; readonly teamsId?: string };
  readonly createdAt: Date;
  /** Bumped by every committed change. */
  version: number;
  /** The next waitlist number to hand out (positions stay unique and in arrival order). */
  waitNext: number;
  /** Confirmed presenters' ids in the drawn order, once drawn. */
  runningOrder: string[];
  /** Presenters added at the end of the running order after it was drawn (the card says so; drawing again clears it). */
  addedLate: string[];
  /** Why the organiser cancelled it, told to everyone in the cancellation notice ('' before a cancellation). */
  cancelReason: string;
}

export type SignUpStatus = 'confirmed' | 'waiting' | 'offered' | 'cancelled';

export interface Talk {
  readonly slot: SlotLength;
  readonly title: string;
  readonly line: string;
}

export interface SignUp {
  readonly aadObjectId: string;
  teamsId: string;
  name: string;
  schoolId: string;
  role: 'attendee' | 'presenter';
  talk?: Talk;
  status: SignUpStatus;
  /** Waitlist number (unique per event); set while waiting or offered. */
  waitNumber?: number;
  offerExpiresAt?: Date;
  readonly createdAt: Date;
  updatedAt: Date;
}

export interface Aggregate {
  readonly event: TeachMeet;
  readonly signUps: Map<string, SignUp>;
}

export interface PersonRef {
  readonly aadObjectId: string;
  readonly teamsId: string;
  readonly name: string;
  readonly schoolId: string;
}

export interface OfferPolicy {
  /** How long an offered place is held (default 24 h). */
  readonly holdHours: number;
  /** An offer never runs later than this many hours before the start (default 2 h). */
  readonly hoursBeforeStart: number;
}

export const DEFAULT_OFFER_POLICY: OfferPolicy = { holdHours: 24, hoursBeforeStart: 2 };

/** What a placement swap offer and a match are, as the rules see them. */

export const PHASES = ['primary', 'secondary', 'post-16'] as const;
export type Phase = (typeof PHASES)[number];

/** A London calendar date, 'YYYY-MM-DD', as an Input.Date holds it. */
export type DateText = string;

export type OfferStatus =
  /** Waiting for a match. */
  | 'open'
  /** In a proposed match, waiting for both schools' answers. */
  | 'proposed'
  /** Part of an agreed swap: closed. */
  | 'agreed'
  | 'withdrawn'
  /** Reached its confirm-by date without an agreed swap. */
  | 'expired'
  /** Its agreed swap was cancelled: closed. */
  | 'cancelled';

export interface PersonRef {
  readonly aadObjectId: string;
  /** Teams id ('29:...'), needed to open a personal chat the first time; '' when unknown. */
  readonly teamsId: string;
  readonly name: string;
}

export interface Offer {
  readonly id: string;
  readonly schoolId: string;
  readonly schoolName: string;
  /** What the school can send: its trainee(s). */
  readonly sends: { readonly phase: Phase; readonly subject: string; readonly count: number; readonly trainee: string };
  /** What it can host in return. */
  readonly hosts: { readonly phase: Phase; readonly subjects: readonly string[] };
  /** The weeks, first and last date (inclusive). */
  readonly from: DateText;
  readonly to: DateText;
  /** The last day on which a swap can be agreed; the offer expires at the end of it (London). */
  readonly confirmBy: DateText;
  readonly notes: string;
  status: OfferStatus;
  /** The match it is in (proposed or agreed), '' when none. */
  matchId: string;
  readonly createdAt: Date;
  readonly by: PersonRef;
  updatedAt: Date;
}

export type MatchStatus = 'proposed' | 'agreed' | 'declined' | 'lapsed' | 'cancelled';

/** A school's yes to a proposed match. */
export interface Answer {
  readonly by: string;
  readonly aadObjectId: string;
  readonly at: Date;
}

export interface Overlap {
  readonly from: DateText;
  readonly to: DateText;
  /** Mondays to Fridays in the overlap. */
  readonly schoolDays: number;
}

/**
 * Two offers proposed to each other. Side 0 is `offerIds[0]` (the smaller id), side 1 the other; the
 * id is derived from the pair, so a pair can be proposed once, ever.
 */
export interface Match {
  readonly id: string;
  readonly offerIds: readonly [string, string];
  readonly schoolIds: readonly [string, string];
  readonly schoolNames: readonly [string, string];
  readonly overlap: Overlap;
  status: MatchStatus;
  answers: [Answer | undefined, Answer | undefined];
  readonly proposedAt: Date;
  /** When the proposal lapses if not agreed: the earlier offer's expiry. */
  readonly answerBy: Date;
  decidedAt?: Date;
  /** Why it was declined, lapsed or cancelled, in plain words, and by whom. */
  reason: string;
  reasonBy: string;
  /** The school that declined or cancelled, '' otherwise. */
  reasonSchoolId: string;
  /**
   * The "…has accepted; the swap is agreed as soon as you accept too" cards sent to the other school,
   * so whoever sees the swap agreed (or closed) updates them and no live Accept is left behind.
   */
  waitingCards?: readonly WaitingCard[];
}

/** A message sent to a school asking it to accept: where it is (a conversation reference, JSON) and its id. */
export interface WaitingCard {
  readonly schoolId: string;
  readonly reference: string;
  readonly activityId: string;
}

/** An agreed swap between two schools, kept to prefer schools that have not swapped recently. */
export interface SwapRecord {
  readonly schoolIds: readonly [string, string];
  readonly agreedAt: Date;
  readonly matchId: string;
  readonly cancelled: boolean;
}

export interface MatchPolicy {
  /** The least overlap, in school weeks (5 school days each), for two offers to match. Default 2. */
  readonly minOverlapWeeks: number;
  /** A swap agreed within this many days counts as recent. Default 365. */
  readonly recentDays: number;
}

export const DEFAULT_MATCH_POLICY: MatchPolicy = { minOverlapWeeks: 2, recentDays: 365 };

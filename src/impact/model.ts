/**
 * What the impact report is made of, as its pure rules see it: the partnership's school terms, the
 * period a report covers, and plain records of what the other capabilities stored. The records are
 * read by src/index.ts from each capability's store (capabilities never import each other) and handed
 * to the figures in src/impact/figures.ts.
 */

export const TERM_NAMES = ['autumn', 'spring', 'summer'] as const;
export type TermName = (typeof TERM_NAMES)[number];

/** A London calendar date, 'YYYY-MM-DD'. */
export type DateText = string;

/**
 * One school term. `year` is the calendar year it starts in, as people say it: autumn 2026, spring
 * 2027 and summer 2027 make up the academic year 2026/27.
 */
export interface Term {
  readonly name: TermName;
  readonly year: number;
  readonly from: DateText;
  readonly to: DateText;
  /** Set by a coordinator (false: the default pattern). */
  readonly custom: boolean;
}

/** Terms coordinators have set, by `termKey` ('spring 2027'). */
export type TermOverrides = Readonly<Record<string, { readonly from: DateText; readonly to: DateText }>>;

/** What a report covers: London dates, both inclusive. */
export interface Period {
  readonly label: string;
  readonly from: DateText;
  readonly to: DateText;
}

/** Which schools a report shows: every school (coordinators) or one (a rep's own). */
export type Scope = { readonly kind: 'all' } | { readonly kind: 'school'; readonly schoolId: string };

export interface SchoolRef {
  readonly id: string;
  readonly name: string;
}

// ---------------------------------------------------------------------------------------------
// The records the figures are computed from (plain data, no storage types)

/** A confirmed place at a TeachMeet. */
export interface TeachMeetPlace {
  readonly eventId: string;
  readonly startsAt: Date;
  readonly cancelled: boolean;
  readonly schoolId: string;
  readonly role: 'attendee' | 'presenter';
}

/** An agreed placement swap (cancelled swaps are not agreed any more). */
export interface AgreedSwap {
  readonly matchId: string;
  /** The first day of the weeks both trainees are placed. */
  readonly startsOn: DateText;
  readonly sides: readonly { readonly schoolId: string; readonly sends: number }[];
}

export interface ProposalRecord {
  readonly id: string;
  readonly title: string;
  readonly leadSchoolId: string;
  readonly partnerSchoolIds: readonly string[];
  readonly submittedAt: Date;
  /** Final sign-off, when given. */
  readonly signedOffAt?: Date;
  readonly withdrawn: boolean;
  readonly pupils: number;
  readonly staff: number;
  /** The measurable outcome promised, and the project's last day. */
  readonly outcome: string;
  readonly endDate: DateText;
  readonly mutualNeeds: readonly string[];
  readonly funderOutcomes: readonly string[];
}

/** One person's "Got it" on an announcement. */
export interface Acknowledgement {
  readonly announcementId: string;
  readonly schoolId: string;
  readonly at: Date;
}

/** One person's daily nudge message that went out. */
export interface NudgeMessage {
  readonly day: DateText;
  readonly aadObjectId: string;
  /** The school the person belongs to now ('' when none). */
  readonly schoolId: string;
}

export interface DeadlineRecord {
  readonly id: string;
  readonly schoolId: string;
  readonly dueAt: Date;
  readonly status: 'open' | 'completed' | 'cancelled';
  readonly closedAt?: Date;
}

/** An approved project, as the outcome records need it. */
export interface Project {
  readonly id: string;
  readonly title: string;
  readonly leadSchoolId: string;
  readonly pupils: number;
  readonly staff: number;
  /** The measurable outcome the proposal promised. */
  readonly outcome: string;
  readonly endDate: DateText;
}

/**
 * What the lead school recorded after a project ended: counts only (no pupil names, anywhere), the
 * outcome it measured against the one promised, an evidence link and a line on legacy.
 */
export interface OutcomeRecord {
  readonly proposalId: string;
  readonly pupils: number;
  readonly staff: number;
  /** Of the pupils: disadvantaged (e.g. pupil premium) and with SEND, as counts. */
  readonly disadvantaged: number;
  readonly send: number;
  readonly measured: string;
  /** An https link, or ''. */
  readonly evidence: string;
  readonly legacy: string;
  readonly by: { readonly aadObjectId: string; readonly name: string };
  readonly at: Date;
  /** 1 when first recorded, +1 for every change. */
  readonly version: number;
}

export interface Records {
  readonly places: readonly TeachMeetPlace[];
  readonly swaps: readonly AgreedSwap[];
  readonly proposals: readonly ProposalRecord[];
  readonly acks: readonly Acknowledgement[];
  readonly nudges: readonly NudgeMessage[];
  readonly deadlines: readonly DeadlineRecord[];
  /** What was recorded after projects ended (any project; the figures pick those they count). */
  readonly outcomes: readonly OutcomeRecord[];
  /** The partnership's lists (labels), so a need with no project still shows. */
  readonly mutualNeeds: readonly string[];
  readonly funderOutcomes: readonly string[];
}

/**
 * Where the records come from: implemented in src/index.ts over each capability's store. Each asks
 * only for rows whose deciding date can fall in [start, end) (instants) or [from, to] (London dates).
 */
export interface ImpactSources {
  /** The records a report counts (outcome records excepted: the impact store holds those). */
  records(period: { readonly start: Date; readonly end: Date; readonly from: DateText; readonly to: DateText }): Promise<Omit<Records, 'outcomes'>>;
  /** Approved projects whose end date is between two London dates (inclusive). */
  projectsEnded(from: DateText, to: DateText): Promise<Project[]>;
  /** One approved project, or undefined (unknown, not approved). */
  project(id: string): Promise<Project | undefined>;
}

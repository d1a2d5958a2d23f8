/** What a project proposal, a partner school's decision and an audit entry are, as the rules see them. */

/** A partner school's answer to the current version of a proposal. */
export type SchoolStatus = 'pending' | 'approved' | 'changesRequested' | 'declined';

/**
 * Where a proposal stands, derived from its decisions: waiting on partner schools, held up by a change
 * request or a decline, waiting for a coordinator's final sign-off, approved, or withdrawn.
 */
export type ProposalStatus = 'pending' | 'changesRequested' | 'declined' | 'awaitingSignOff' | 'approved' | 'withdrawn';

/** Whether a proposal can still change: 'approved' and 'withdrawn' are final. */
export type Lifecycle = 'open' | 'approved' | 'withdrawn';

/** Someone named on a proposal (Entra id, Teams id for a 1:1, display name). */
export interface PersonRef {
  readonly aadObjectId: string;
  readonly teamsId: string;
  readonly name: string;
}

export interface Who {
  readonly aadObjectId: string;
  readonly name: string;
}

/** What the proposer wrote: one version of the proposal. Dates are London calendar dates (YYYY-MM-DD). */
export interface Content {
  readonly title: string;
  readonly summary: string;
  /** The other schools taking part (never the lead school). */
  readonly partnerSchoolIds: readonly string[];
  /** Criterion 1: how each school contributes. */
  readonly contributions: string;
  /** Criterion 3: how different pupil or staff groups work together (optional; the partner schools answer it too). */
  readonly collaboration: string;
  /** Criterion 2: expected participants, counts only. */
  readonly pupils: number;
  readonly staff: number;
  /** Criterion 2: what lasts afterwards. */
  readonly legacy: string;
  /** Criterion 4. */
  readonly outcome: string;
  /** Labels of the partnership's mutual needs it serves (labels, so a later change to the list keeps old proposals readable). */
  readonly mutualNeeds: readonly string[];
  readonly funderOutcomes: readonly string[];
  readonly startDate: string;
  readonly endDate: string;
  /** Budget requested in pence; undefined when none is asked for. */
  readonly budgetPence: number | undefined;
  /** Partner schools decide by 17:00 London time on this date. */
  readonly decisionBy: string;
}

export interface Proposal {
  readonly id: string;
  readonly leadSchoolId: string;
  readonly proposer: PersonRef;
  readonly content: Content;
  /** The content's version: 1 when submitted, +1 for every edit. Card buttons carry it, so a stale card is noticed. */
  readonly version: number;
  /** Bumped by every committed change (decisions too); orders audit entries and card updates. */
  readonly rev: number;
  readonly lifecycle: Lifecycle;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Who signed it off or withdrew it, when, and why. */
  readonly closed?: { readonly by: Who; readonly at: Date; readonly comment: string };
}

export interface Decision {
  readonly schoolId: string;
  readonly status: SchoolStatus;
  /** The proposal version this decision is about. */
  readonly version: number;
  readonly by?: Who;
  readonly at?: Date;
  readonly comment: string;
}

/** A proposal with one decision per partner school: stored in one partition, changed in one transaction. */
export interface Aggregate {
  readonly proposal: Proposal;
  readonly decisions: ReadonlyMap<string, Decision>;
}

export type AuditKind = 'submitted' | 'edited' | 'approved' | 'changesRequested' | 'declined' | 'signedOff' | 'withdrawn';

/** One line of a proposal's history: who did what, when, to which version, with their comment. */
export interface AuditEntry {
  readonly kind: AuditKind;
  readonly version: number;
  readonly by: Who;
  readonly at: Date;
  /** The school a decision was for. */
  readonly schoolId?: string;
  readonly comment: string;
}

/** One of the partnership's mutual needs or funder outcomes: a stable id (no commas: Teams joins multi-select values with them) and its label. */
export interface Tag {
  readonly id: string;
  readonly label: string;
}

export type TagKind = 'needs' | 'outcomes';

/** DOMAIN.md's mutual needs: every partnership starts with these and its coordinators edit them. */
export const DEFAULT_MUTUAL_NEEDS: readonly string[] = [
  'Careers provision',
  'Diversity and inclusion',
  'STEM',
  'Leadership roles',
  'Public speaking',
  'University guidance',
  'Performance opportunities',
  'Participation in creative arts',
  'Collaboration',
  'Resilience',
  'Broadening horizons',
  'Engaging with city institutions',
];

/** DOMAIN.md's funder outcomes, the defaults for a funded partnership. */
export const DEFAULT_FUNDER_OUTCOMES: readonly string[] = [
  'Cultural capital (knowledge, skills and education)',
  'Leadership skills',
  'Community pride and responsibility',
  'Self-confidence and resilience',
];

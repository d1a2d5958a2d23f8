/** The partnership's nudge policy, as coordinators set it (stored; these are the defaults). */

export interface Holiday {
  /** First and last London day of the break, YYYY-MM-DD, inclusive. */
  readonly from: string;
  readonly to: string;
  /** e.g. 'Christmas holidays', 'INSET day'; may be empty. */
  readonly label: string;
}

export interface Policy {
  /** School days as ISO weekdays (1 = Monday … 7 = Sunday). */
  readonly days: readonly number[];
  /** School hours, London wall time 'HH:mm'; nudges go out from `start` until before `end`. */
  readonly start: string;
  readonly end: string;
  /** Nudges before a deadline, in days before it (0 = on the day), most distant first. */
  readonly ladder: readonly number[];
  readonly holidays: readonly Holiday[];
}

export const DEFAULT_POLICY: Policy = { days: [1, 2, 3, 4, 5], start: '08:00', end: '17:00', ladder: [7, 2, 0], holidays: [] };

/** The two ways a nudge can be snoozed. */
export type SnoozeOption = 'day' | 'dayBefore';

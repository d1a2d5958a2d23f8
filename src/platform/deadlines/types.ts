/**
 * The deadline registry's contract: what a capability registers when someone must act by a date, and
 * completes or cancels when they have. The nudges capability (src/nudges/) reads the registry to remind
 * people in school hours; capabilities never import each other, they meet here.
 */

/** Who must act: one person, or whoever is a rep of a school when the nudge goes out. */
export type Actor =
  | { readonly kind: 'person'; readonly aadObjectId: string; readonly teamsId?: string; readonly name?: string }
  | { readonly kind: 'schoolReps'; readonly schoolId: string };

/** A button on the nudge card, routed to the same handler as the button on the original card. */
export interface DeadlineAction {
  readonly title: string;
  readonly verb: string;
  readonly data: Readonly<Record<string, string>>;
}

export interface Deadline {
  /** Stable and unique, e.g. 'proposal:p123:school:s1' — registering the same id again replaces it. */
  readonly id: string;
  /** Which capability owns it: 'proposals' | 'swaps' | 'teachmeets' | … */
  readonly capability: string;
  readonly who: Actor;
  /** What to do, specific and short, e.g. "Approve 'STEM Week' for Oakfield". The card adds "by Fri 5 Dec". */
  readonly what: string;
  /** The school the item concerns (for the coordinator view and escalations). */
  readonly schoolId?: string;
  readonly dueAt: Date;
  readonly actions: readonly DeadlineAction[];
  /** Essential items (decisions others wait on) cannot be muted with "Stop reminding me". */
  readonly essential: boolean;
  /**
   * 'deadline' (default): nudged on the ladder before dueAt and escalated when overdue.
   * 'reminder': one reminder the school day before dueAt (e.g. a TeachMeet tomorrow), never escalated.
   */
  readonly kind?: 'deadline' | 'reminder';
  /** Optional second line on the nudge card, e.g. a TeachMeet's time and place. */
  readonly detail?: string;
  /** Optional link back to the thing (https), shown as a button that opens it, e.g. a TeachMeet's online link. */
  readonly link?: { readonly title: string; readonly url: string };
}

export interface DeadlineRegistry {
  /** Adds or replaces (same id) an item. Idempotent. */
  register(item: Deadline): Promise<void>;
  /** The action was taken: no more nudges for it. Idempotent; unknown ids are ignored. */
  complete(id: string): Promise<void>;
  /** The thing went away (withdrawn, cancelled): no more nudges. Idempotent. */
  cancel(id: string): Promise<void>;
}

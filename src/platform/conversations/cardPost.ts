/** A copy of a shared card posted in a conversation, kept so it can be updated in place. */
export interface CardPost {
  readonly conversationId: string;
  readonly activityId: string;
  /** The conversation reference (JSON) to update it through. */
  readonly reference: string;
}

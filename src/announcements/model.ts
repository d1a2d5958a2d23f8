/** What an announcement is, whom it goes to, and what happened to each recipient. Types only. */

export type Audience =
  | { readonly kind: 'schools' }
  | { readonly kind: 'announcements' }
  | { readonly kind: 'reps' }
  | { readonly kind: 'school'; readonly schoolId: string }
  | { readonly kind: 'everyone' };

export type Importance = 'normal' | 'important' | 'urgent';

/**
 * draft: previewed, not sent; scheduled: waits for its send time (a durable timer);
 * sending: recipients are written with their messages and being sent to; done: nobody is pending; cancelled: stopped
 * (what was sent stays sent).
 */
export type Status = 'draft' | 'scheduled' | 'sending' | 'done' | 'cancelled';

export interface Author {
  readonly aadObjectId: string;
  readonly name: string;
  readonly role: 'coordinator' | 'rep';
}

/** Where the coordinator's own copy (preview, then live report) is, to update it in place. */
export interface CopyPost {
  /** A ConversationReference as JSON. */
  readonly reference: string;
  readonly activityId: string;
}

/** Enough of a conversation reference to send without reading it again. */
export interface Endpoint {
  readonly serviceUrl: string;
  readonly tenantId: string;
  readonly botId: string;
}

export interface Announcement {
  readonly id: string;
  /** Goes up on every edit, so a stale preview's Send is refused. */
  readonly version: number;
  readonly status: Status;
  readonly title: string;
  readonly text: string;
  readonly link: string;
  readonly audience: Audience;
  readonly importance: Importance;
  readonly askAck: boolean;
  /** When it is to be sent; undefined = at once. */
  readonly sendAt?: Date;
  readonly author: Author;
  readonly createdAt: Date;
  readonly sentAt?: Date;
  readonly completedAt?: Date;
  readonly cancelledAt?: Date;
  readonly cancelledBy?: string;
  /** How many recipients were written (once they are). */
  readonly recipients: number;
  readonly recipientsWritten: boolean;
  /** Every recipient's row and message are written. */
  readonly dispatched: boolean;
  readonly copy?: CopyPost;
  /** A conversation in the partnership's tenant, used to open personal chats with people who have none. */
  readonly via?: Endpoint;
  /** Delivery counts per school left behind by delivery records that retention has purged (the report adds them in). */
  readonly kept?: KeptCounts;
}

/** Sent, pending, failed and not sent (cancelled), per school id ('' for none). */
export type KeptCounts = Readonly<Record<string, DeliveryCounts>>;
export interface DeliveryCounts {
  readonly sent: number;
  readonly pending: number;
  readonly failed: number;
  readonly notSent: number;
}

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

/** Where one copy goes: a stored conversation, or a person to open a personal chat with. */
export type Target =
  | ({ readonly kind: 'conversation'; readonly conversationId: string; readonly conversationKind: ConversationKind } & Endpoint)
  | ({ readonly kind: 'person'; readonly aadObjectId: string; readonly name: string } & Endpoint);

export interface Recipient {
  /** RowKey: 'r|c|<conversation id, encoded>' or 'r|p|<aad object id>'. */
  readonly key: string;
  readonly label: string;
  /** '' when it belongs to no school (partnership channels, group chats, people without a school). */
  readonly schoolId: string;
  readonly target: Target;
}

export type RecipientState = 'pending' | 'sent' | 'failed' | 'cancelled';

export interface RecipientRow extends Recipient {
  readonly state: RecipientState;
  /** Send attempts that got an answer (or none in time). */
  readonly attempts: number;
  /** Last HTTP status from the connector (0: no answer). */
  readonly lastStatus: number;
  readonly reason: string;
  readonly activityId: string;
  readonly doneAt: string;
  readonly etag: string;
}

export interface Ack {
  readonly aadObjectId: string;
  readonly name: string;
  readonly schoolId: string;
  readonly at: string;
}

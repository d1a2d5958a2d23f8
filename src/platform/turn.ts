import { MessageFactory, type TurnContext } from 'botbuilder';
import { cardAttachment, type AdaptiveCard } from './cards';
import type { Actor, Person } from './identity';
import type { TurnRecord } from './logging';

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

export interface ConversationInfo {
  /** Conversation id without a channel thread's ';messageid=' suffix. */
  readonly id: string;
  readonly kind: ConversationKind;
  readonly tenantId?: string;
  readonly teamId?: string;
  readonly teamName?: string;
  readonly channelId?: string;
  readonly channelName?: string;
}

/** Everything a route needs about the turn in hand. */
export interface Turn {
  readonly context: TurnContext;
  readonly actor: Actor;
  readonly person: Person;
  readonly conversation: ConversationInfo;
  readonly record: TurnRecord;
  readonly now: Date;
  reply(text: string): Promise<void>;
  replyCard(card: AdaptiveCard): Promise<void>;
  /** Replies with a refusal and records the turn as refused; changes nothing. */
  refuse(text: string): Promise<void>;
}

export function conversationInfo(context: TurnContext): ConversationInfo {
  const activity = context.activity;
  const channelData = (activity.channelData ?? {}) as { team?: { id?: string; name?: string }; channel?: { id?: string; name?: string }; tenant?: { id?: string } };
  const rawType = activity.conversation?.conversationType;
  const kind: ConversationKind = rawType === 'channel' ? 'channel' : rawType === 'groupChat' ? 'groupChat' : 'personal';
  return {
    id: baseConversationId(activity.conversation?.id ?? ''),
    kind,
    tenantId: activity.conversation?.tenantId ?? channelData.tenant?.id,
    teamId: channelData.team?.id,
    teamName: channelData.team?.name,
    channelId: channelData.channel?.id,
    channelName: channelData.channel?.name,
  };
}

/** A reply in a channel thread arrives as '19:...@thread.tacv2;messageid=123'; the channel is the part before. */
export function baseConversationId(id: string): string {
  const cut = id.indexOf(';messageid=');
  return cut >= 0 ? id.slice(0, cut) : id;
}

export function makeTurn(context: TurnContext, actor: Actor, person: Person, record: TurnRecord, now: Date): Turn {
  const conversation = conversationInfo(context);
  return {
    context,
    actor,
    person,
    conversation,
    record,
    now,
    async reply(text) {
      await context.sendActivity(MessageFactory.text(text));
    },
    async replyCard(card) {
      await context.sendActivity(MessageFactory.attachment(cardAttachment(card)));
    },
    async refuse(text) {
      record.outcome = 'refused';
      await context.sendActivity(MessageFactory.text(text));
    },
  };
}

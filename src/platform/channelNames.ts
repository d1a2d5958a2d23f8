import { TeamsInfo, type TurnContext } from 'botbuilder';
import type { Logger } from './logging';
import type { ConversationInfo, Turn } from './turn';

/**
 * A channel's name for people, "Team › Channel". Teams puts only ids on messages (names come on
 * installs), so where the turn has no names they are asked of Teams: the team's details and its
 * channel list (General is the channel whose id is the team's, and has no name of its own).
 */
export async function channelLabel(turn: Pick<Turn, 'context' | 'conversation'>, logger: Logger): Promise<string> {
  return (await channelLabelOf(turn.context, turn.conversation, logger)) ?? 'Team › General';
}

/** The label, from the activity's names if it has them, else from Teams; undefined when Teams could not say. */
export async function channelLabelOf(context: TurnContext, info: ConversationInfo, logger: Logger): Promise<string | undefined> {
  if (info.teamName && info.channelName) return `${info.teamName} › ${info.channelName}`;
  return (await channelLabelsOf(context, logger)).get(info.channelId ?? info.id);
}

/** Every channel of the turn's team with its label, from Teams; empty outside a team or if Teams does not answer. */
export async function teamChannelLabels(turn: Turn, logger: Logger): Promise<Map<string, string>> {
  return turn.conversation.kind === 'channel' ? channelLabelsOf(turn.context, logger) : new Map();
}

async function channelLabelsOf(context: TurnContext, logger: Logger): Promise<Map<string, string>> {
  try {
    const [details, channels] = await Promise.all([TeamsInfo.getTeamDetails(context), TeamsInfo.getTeamChannels(context)]);
    return new Map(channels.map((c) => [c.id ?? '', `${details.name ?? 'Team'} › ${c.name || 'General'}`]));
  } catch (err) {
    logger.info({ status: (err as { statusCode?: number }).statusCode }, 'could not read the team\'s channel names');
    return new Map();
  }
}

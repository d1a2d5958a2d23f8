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

/** The label, or undefined when Teams could not name the channel. */
export async function channelLabelOf(context: TurnContext, info: ConversationInfo, logger: Logger): Promise<string | undefined> {
  let team = info.teamName;
  let channel = info.channelName;
  if (!team || !channel) {
    try {
      const [details, channels] = await Promise.all([team ? undefined : TeamsInfo.getTeamDetails(context), channel ? undefined : TeamsInfo.getTeamChannels(context)]);
      team ??= details?.name ?? undefined;
      const id = info.channelId ?? info.id;
      const found = channels?.find((c) => c.id === id);
      if (found) channel = found.name || 'General';
    } catch (err) {
      logger.info({ status: (err as { statusCode?: number }).statusCode }, 'could not read the team\'s channel names');
    }
  }
  return team && channel ? `${team} › ${channel}` : undefined;
}

/** Every channel of the turn's team with its label, from Teams; empty outside a team or if Teams does not answer. */
export async function teamChannelLabels(turn: Turn, logger: Logger): Promise<Map<string, string>> {
  if (turn.conversation.kind !== 'channel') return new Map();
  try {
    const [details, channels] = await Promise.all([TeamsInfo.getTeamDetails(turn.context), TeamsInfo.getTeamChannels(turn.context)]);
    return new Map(channels.map((c) => [c.id ?? '', `${details.name ?? 'Team'} › ${c.name || 'General'}`]));
  } catch (err) {
    logger.info({ status: (err as { statusCode?: number }).statusCode }, 'could not read the team\'s channel names');
    return new Map();
  }
}

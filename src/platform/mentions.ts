import { TeamsInfo } from 'botbuilder';
import type { Mentioned } from './commands';
import type { Logger } from './logging';
import { statusOf } from './storage/tables';
import type { Turn } from './turn';

export interface ResolvedMention {
  readonly aadObjectId: string;
  readonly name: string;
  readonly teamsId: string;
}

/** The Entra object id of an @mentioned person, from the Teams members API; or what to tell the person who typed it. */
export async function resolveMention(turn: Turn, mention: Mentioned, logger: Logger): Promise<ResolvedMention | string> {
  if (mention.teamsId === turn.context.activity.recipient?.id) return 'That is me, Together. Mention a person instead.';
  try {
    const member = await TeamsInfo.getMember(turn.context, mention.teamsId);
    if (!member.aadObjectId) return `${mention.name} has no work or school account I can use.`;
    return { aadObjectId: member.aadObjectId.toLowerCase(), name: member.name || mention.name, teamsId: mention.teamsId };
  } catch (err) {
    const status = statusOf(err) ?? (err as { status?: number }).status;
    logger.info({ status }, 'member look-up failed');
    return `I couldn't find ${mention.name} in this conversation. Mention someone who is a member of this team or chat.`;
  }
}

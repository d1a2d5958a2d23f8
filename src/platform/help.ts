import { z } from 'zod';
import { defineAction, type ActionSpec } from './actions';
import { renderCard, type AdaptiveCard } from './cards';
import type { CommandSpec } from './commands';
import { mayUse, type Person } from './identity';
import type { Turn } from './turn';

/** The help card (for `help` and any unknown command) and the welcome card on install. */

export interface HelpCardData {
  readonly partnership: string;
  readonly role: string;
  readonly unknown: string;
  readonly hasUnknown: boolean;
  readonly commands: { usage: string; summary: string }[];
}

export interface WelcomeCardData {
  readonly partnership: string;
  readonly where: string;
}

export function roleName(person: Person): string {
  if (person.isCoordinator) return 'coordinator';
  if (person.isRep) return 'school rep';
  return 'teacher';
}

/** The commands this person may use, for their role, in the order they are registered. */
export function helpCardData(partnership: string, person: Person, commands: readonly CommandSpec[], unknown?: string): HelpCardData {
  return {
    partnership,
    role: roleName(person),
    unknown: unknown ? plainWords(truncate(unknown, 60)) : '',
    hasUnknown: !!unknown,
    commands: commands.filter((c) => mayUse(person, c.audience)).map((c) => ({ usage: shownAsTyped(c.usage), summary: c.summary })),
  };
}

/**
 * What to type, for a TextBlock: Teams and the Agents Playground read TextBlock text as Markdown that
 * may hold HTML, so `<name>` would be taken for an HTML tag and dropped ("school rename to"). As
 * character references the placeholders show exactly as written.
 */
function shownAsTyped(usage: string): string {
  return usage.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** What someone typed, shown back without anything Teams would render as a link or formatting. */
function plainWords(text: string): string {
  return text.replace(/[\[\]()<>*_`~#|\\]/g, ' ').replace(/https?:\/\/\S*/gi, '…').replace(/\s+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The commands whose own condition (`offered`) lets this person see them now; the role is checked by helpCardData. */
async function offeredTo(person: Person, commands: readonly CommandSpec[]): Promise<CommandSpec[]> {
  const shown = await Promise.all(commands.map((c) => (c.offered && mayUse(person, c.audience) ? c.offered(person) : true)));
  return commands.filter((_, i) => shown[i]);
}

export function helpRoutes(partnership: string, commands: () => readonly CommandSpec[]) {
  const helpCard = async (turn: Turn, unknown?: string): Promise<AdaptiveCard> => renderCard('help', helpCardData(partnership, turn.person, await offeredTo(turn.person, commands()), unknown));
  const help = async (turn: Turn, unknown?: string) => {
    await turn.replyCard(await helpCard(turn, unknown));
  };
  const welcome = async (turn: Turn) => {
    const where = turn.conversation.kind === 'personal' ? 'this chat' : turn.conversation.kind === 'channel' ? 'this team' : 'this chat';
    await turn.replyCard(renderCard('welcome', { partnership, where } satisfies WelcomeCardData));
  };
  const command: CommandSpec = {
    name: 'help',
    usage: 'help',
    summary: 'Show what you can do with Together',
    audience: 'everyone',
    run: (turn) => help(turn),
  };
  const actions: ActionSpec[] = [
    defineAction({
      verb: 'help.show',
      data: z.object({}).strict(),
      audience: 'everyone',
      async run(turn) {
        return { card: await helpCard(turn) };
      },
    }),
  ];
  return { help, welcome, command, actions };
}

import type { Audience, Person } from './identity';
import type { Turn } from './turn';

/** Someone @mentioned in a command, before their Entra id is looked up. */
export interface Mentioned {
  readonly teamsId: string;
  readonly name: string;
}

export interface CommandInput {
  /** What follows the command words, with mentions taken out and spaces tidied. */
  readonly text: string;
  readonly mentions: readonly Mentioned[];
}

export interface CommandSpec {
  /** The command words as typed, e.g. 'school add'. */
  readonly name: string;
  /** How to type it, e.g. 'school add <name>'. */
  readonly usage: string;
  /** One line for the help card. */
  readonly summary: string;
  readonly audience: Audience;
  /**
   * Whether `help` lists it for someone in its audience, when that depends on more than their role
   * (a partnership setting): help shows only what the person can use now. Not a permission check.
   */
  offered?(person: Person): Promise<boolean>;
  run(turn: Turn, input: CommandInput): Promise<void>;
}

/** Plain text of a message with the HTML Teams may add turned back into text. */
export function plainText(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<\/?(p|div|span)[^>]*>/gi, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A Teams mention entity: `{ type: 'mention', text: '<at>Sam Patel</at>', mentioned: { id, name } }`. */
export interface MentionEntity {
  readonly text: string;
  readonly mentioned: { readonly id: string; readonly name?: string };
}

/**
 * Takes the @mentions of people out of a message: returns the remaining text and who was mentioned,
 * in the order they appear. The bot's own mention has already been removed.
 */
export function extractMentions(text: string, entities: readonly MentionEntity[]): CommandInput {
  let remaining = text;
  const found: { at: number; who: Mentioned }[] = [];
  for (const entity of entities) {
    const at = remaining.indexOf(entity.text);
    if (at < 0) continue;
    found.push({ at: text.indexOf(entity.text), who: { teamsId: entity.mentioned.id, name: entity.mentioned.name ?? entity.text.replace(/<\/?at>/g, '') } });
    remaining = remaining.slice(0, at) + ' ' + remaining.slice(at + entity.text.length);
  }
  found.sort((a, b) => a.at - b.at);
  return { text: plainText(remaining), mentions: found.map((f) => f.who) };
}

export interface Parsed {
  readonly command: CommandSpec;
  readonly input: CommandInput;
}

/**
 * Finds the command whose words start the message (longest match wins, case does not matter).
 * Returns undefined when no command matches.
 */
export function parseCommand(commands: readonly CommandSpec[], input: CommandInput): Parsed | undefined {
  const words = input.text.split(' ').filter((w) => w.length > 0);
  const lower = words.map((w) => w.toLowerCase());
  let best: CommandSpec | undefined;
  let bestLength = 0;
  for (const command of commands) {
    const cw = command.name.split(' ');
    if (cw.length <= bestLength || cw.length > lower.length) continue;
    if (cw.every((w, i) => w === lower[i])) {
      best = command;
      bestLength = cw.length;
    }
  }
  if (!best) return undefined;
  return { command: best, input: { text: words.slice(bestLength).join(' '), mentions: input.mentions } };
}

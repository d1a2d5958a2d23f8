// Helpers for reading Adaptive Cards in tests the way a person reads them: the text they can see,
// the buttons they can press, and the inputs a press would send. No Teams or bot dependencies.

import { rendered } from './markdown';

/** An Adaptive Card action as found in a card (only the fields tests rely on are typed). */
export interface CardAction {
  type: string;
  title: string;
  verb?: string;
  id?: string;
  data?: Record<string, unknown>;
  associatedInputs?: string;
  card?: object;
  [key: string]: unknown;
}

/** An input element of a card, with the value the client would send before anyone types. */
export interface CardInput {
  id: string;
  type: string;
  label?: string;
  isRequired: boolean;
  /** The value the client sends if the person does nothing, as a string (Teams sends strings). */
  initial?: string;
}

/** Where an action sits: the action, and the chain of cards from the root to the one holding it. */
export interface LocatedAction {
  action: CardAction;
  /** Root card first, then each Action.ShowCard card on the way down to the action. */
  cards: object[];
}

type Json = Record<string, unknown>;

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeOf(value: Json): string {
  return typeof value.type === 'string' ? value.type : '';
}

function isAction(value: Json): boolean {
  return typeOf(value).startsWith('Action.');
}

function isInput(value: Json): boolean {
  return typeOf(value).startsWith('Input.');
}

// Keys never walked: action payloads are data, not layout; fallbacks duplicate what they stand in
// for; refresh actions are not buttons anyone can press.
const SKIPPED_KEYS = new Set(['data', 'fallback', 'refresh', 'msteams', 'metadata', '$data']);

/**
 * Walks a card in document order, calling `onAction` for every action (with the chain of cards
 * that holds it) and descending into Action.ShowCard cards.
 */
function walkActions(card: object, onAction: (located: LocatedAction) => boolean | void): void {
  let stopped = false;

  const visitCard = (cardObj: Json, chain: object[]): void => {
    const next = [...chain, cardObj];
    for (const [key, value] of Object.entries(cardObj)) {
      if (stopped) return;
      if (SKIPPED_KEYS.has(key)) continue;
      visitValue(value, next);
    }
  };

  const visitAction = (action: Json, chain: object[]): void => {
    if (typeof action.title === 'string') {
      if (onAction({ action: action as unknown as CardAction, cards: chain }) === true) {
        stopped = true;
        return;
      }
    }
    if (typeOf(action) === 'Action.ShowCard' && isObject(action.card)) {
      visitCard(action.card, chain);
    }
  };

  const visitValue = (value: unknown, chain: object[]): void => {
    if (stopped) return;
    if (Array.isArray(value)) {
      for (const item of value) {
        if (stopped) return;
        visitValue(item, chain);
      }
      return;
    }
    if (!isObject(value)) return;
    if (isAction(value)) {
      visitAction(value, chain);
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      if (stopped) return;
      if (SKIPPED_KEYS.has(key)) continue;
      visitValue(child, chain);
    }
  };

  if (isObject(card)) visitCard(card, []);
}

/** Every action with a title, in document order, including those inside Action.ShowCard cards. */
export function allActions(card: object): LocatedAction[] {
  const found: LocatedAction[] = [];
  walkActions(card, (located) => {
    found.push(located);
  });
  return found;
}

/** Finds an action by its title, and the chain of cards that holds it. */
export function locateAction(card: object, title: string): LocatedAction | undefined {
  let found: LocatedAction | undefined;
  walkActions(card, (located) => {
    if (located.action.title === title) {
      found = located;
      return true;
    }
    return false;
  });
  if (found) return found;
  // Forgive stray whitespace and case, but only if that makes the choice unambiguous.
  const wanted = title.trim().toLowerCase();
  const loose = allActions(card).filter((l) => l.action.title.trim().toLowerCase() === wanted);
  return loose.length === 1 ? loose[0] : undefined;
}

/** The action titled `title` (searching body, actions, ActionSets, containers, columns and ShowCards). */
export function findAction(card: object, title: string): CardAction | undefined {
  return locateAction(card, title)?.action;
}

/** Every action title in the card, in document order. */
export function actionTitles(card: object): string[] {
  return allActions(card).map((l) => l.action.title);
}

function inputInitial(input: Json): string | undefined {
  const type = typeOf(input);
  if (type === 'Input.Toggle') {
    if (input.value !== undefined) return String(input.value);
    return typeof input.valueOff === 'string' ? input.valueOff : 'false';
  }
  if (input.value === undefined || input.value === null) return undefined;
  return String(input.value);
}

/**
 * The inputs declared directly in one card (not inside its Action.ShowCard cards, which are
 * separate cards with their own inputs).
 */
export function cardInputs(card: object): CardInput[] {
  const inputs: CardInput[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (!isObject(value)) return;
    if (typeOf(value) === 'Action.ShowCard') return;
    if (isInput(value) && typeof value.id === 'string') {
      const input: CardInput = {
        id: value.id,
        type: typeOf(value),
        isRequired: value.isRequired === true,
      };
      if (typeof value.label === 'string') input.label = value.label;
      const initial = inputInitial(value);
      if (initial !== undefined) input.initial = initial;
      inputs.push(input);
    }
    for (const [key, child] of Object.entries(value)) {
      if (SKIPPED_KEYS.has(key)) continue;
      visit(child);
    }
  };
  if (isObject(card)) {
    for (const [key, child] of Object.entries(card)) {
      if (SKIPPED_KEYS.has(key)) continue;
      visit(child);
    }
  }
  return inputs;
}

/** Every input id in the card, including those in Action.ShowCard cards. */
export function inputIds(card: object): string[] {
  const ids: string[] = [];
  const seen = new Set<object>();
  const visitCard = (c: object): void => {
    if (seen.has(c)) return;
    seen.add(c);
    for (const input of cardInputs(c)) ids.push(input.id);
  };
  visitCard(card);
  for (const located of allActions(card)) {
    const a = located.action;
    if (a.type === 'Action.ShowCard' && isObject(a.card)) visitCard(a.card);
  }
  return ids;
}

/**
 * What a press of the action would send, as Teams computes it: the action's data, overlaid with
 * the values of the inputs it gathers (its own card and the cards above it when associatedInputs
 * is 'auto'), overlaid with what the person typed (`typed`). Values are strings.
 * Throws if `typed` names an input the action does not gather, or a required input is left empty,
 * because Teams would refuse to send in either case.
 */
export function gatherInputs(located: LocatedAction, typed: Record<string, string> = {}): Record<string, string> {
  const { action, cards } = located;
  const gathersInputs = (action.associatedInputs ?? 'auto').toLowerCase() !== 'none';
  const inputs = gathersInputs ? cards.flatMap((c) => cardInputs(c)) : [];
  const known = new Set(inputs.map((i) => i.id));
  const unknown = Object.keys(typed).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    const why = gathersInputs
      ? `available inputs: ${[...known].map((id) => `'${id}'`).join(', ') || '(none)'}`
      : `it has associatedInputs 'none'`;
    throw new Error(`Action '${action.title}' does not send input(s) ${unknown.map((id) => `'${id}'`).join(', ')}; ${why}`);
  }
  const values: Record<string, string> = {};
  for (const input of inputs) {
    if (input.initial !== undefined) values[input.id] = input.initial;
  }
  Object.assign(values, typed);
  const missing = inputs.filter((i) => i.isRequired && (values[i.id] === undefined || values[i.id] === ''));
  if (missing.length > 0) {
    throw new Error(
      `Action '${action.title}' cannot be sent: required input(s) ${missing
        .map((i) => `'${i.id}'${i.label ? ` (${i.label})` : ''}`)
        .join(', ')} are empty; Teams would refuse to submit`,
    );
  }
  return values;
}

function richTextLine(block: Json): string | undefined {
  if (!Array.isArray(block.inlines)) return undefined;
  const parts = block.inlines.map((inline: unknown) => {
    if (typeof inline === 'string') return inline;
    if (isObject(inline) && typeof inline.text === 'string') return inline.text;
    return '';
  });
  return parts.join('');
}

/**
 * All the text a person can read on the card, one item per line: TextBlock texts, FactSet titles
 * and values, RichTextBlock runs, input labels, toggle titles and choice titles. Includes the
 * contents of Action.ShowCard cards. Markdown escapes in TextBlocks and facts read as the character
 * they escape, as Teams renders them.
 */
export function cardText(card: object): string {
  const lines: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (!isObject(value)) return;
    const type = typeOf(value);
    if (type === 'TextBlock' && typeof value.text === 'string') lines.push(rendered(value.text));
    if (type === 'RichTextBlock') {
      const line = richTextLine(value);
      if (line !== undefined) lines.push(line);
      return;
    }
    if (type === 'FactSet' && Array.isArray(value.facts)) {
      for (const fact of value.facts) {
        if (!isObject(fact)) continue;
        if (typeof fact.title === 'string') lines.push(rendered(fact.title));
        if (typeof fact.value === 'string') lines.push(rendered(fact.value));
      }
      return;
    }
    if (type.startsWith('Input.')) {
      if (typeof value.label === 'string') lines.push(value.label);
      if (type === 'Input.Toggle' && typeof value.title === 'string') lines.push(value.title);
      if (type === 'Input.ChoiceSet' && Array.isArray(value.choices)) {
        for (const choice of value.choices) {
          if (isObject(choice) && typeof choice.title === 'string') lines.push(choice.title);
        }
      }
    }
    for (const [key, child] of Object.entries(value)) {
      if (SKIPPED_KEYS.has(key)) continue;
      visit(child);
    }
  };
  visit(card);
  return lines.join('\n');
}

/** The Adaptive Card contents among an activity's attachments (content given as a string is parsed). */
export function adaptiveCardsOf(activity: unknown): object[] {
  if (!isObject(activity) || !Array.isArray(activity.attachments)) return [];
  const cards: object[] = [];
  for (const attachment of activity.attachments) {
    if (!isObject(attachment) || attachment.contentType !== ADAPTIVE_CARD) continue;
    let content: unknown = attachment.content;
    if (typeof content === 'string') {
      try {
        content = JSON.parse(content);
      } catch {
        continue;
      }
    }
    if (isObject(content)) cards.push(content);
  }
  return cards;
}

/**
 * The card a bot answered an `adaptiveCard/action` invoke with (the HTTP response body
 * `{ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card }`), if any.
 */
export function invokeResponseCard(body: unknown): object | undefined {
  if (!isObject(body)) return undefined;
  if (body.type === ADAPTIVE_CARD && isObject(body.value)) return body.value;
  return undefined;
}

export const ADAPTIVE_CARD_CONTENT_TYPE = ADAPTIVE_CARD;

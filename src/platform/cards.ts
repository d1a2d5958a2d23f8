import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as ACData from 'adaptivecards-templating';
import type { Attachment } from 'botbuilder';

/**
 * Adaptive Card templates live in cards/*.json (schema 1.5), named for what they show. Code supplies
 * typed data and expands them here; there are no card literals in code.
 */

export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard' };

export const CARDS_DIR = path.resolve(__dirname, '..', '..', '..', 'cards');

const templates = new Map<string, ACData.Template>();

function template(name: string): ACData.Template {
  let t = templates.get(name);
  if (!t) {
    const json: unknown = JSON.parse(readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8'));
    t = new ACData.Template(json);
    templates.set(name, t);
  }
  return t;
}

/** Expands the template `cards/{name}.json` with `data`. */
export function renderCard<T extends object>(name: string, data: T): AdaptiveCard {
  const card = template(name).expand({ $root: data }) as AdaptiveCard;
  if (card?.type !== 'AdaptiveCard') throw new Error(`card template ${name} did not expand to an AdaptiveCard`);
  return card;
}

export function cardAttachment(card: AdaptiveCard): Attachment {
  return { contentType: 'application/vnd.microsoft.card.adaptive', content: card };
}

export function templateNames(): string[] {
  return readdirSync(CARDS_DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as ACData from 'adaptivecards-templating';
import type { Attachment } from 'botbuilder';

/**
 * Adaptive Card templates live in cards/*.json (schema 1.5), named for what they show. Code supplies
 * typed data and expands them here; there are no card literals in code.
 */

export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard' };

/** Teams fetches a shared card's own view (Universal Actions `refresh`) automatically for at most this many listed people. */
export const REFRESH_USER_LIMIT = 60;

export const CARDS_DIR = path.resolve(__dirname, '..', '..', '..', 'cards');

const templates = new Map<string, ACData.Template>();

function template(name: string): ACData.Template {
  let t = templates.get(name);
  if (!t) {
    const json: unknown = JSON.parse(readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8'));
    t = new ACData.Template(markSubstitutions(json));
    templates.set(name, t);
  }
  return t;
}

/**
 * Expands the template `cards/{name}.json` with `data`. What the data puts into text Teams renders as
 * Markdown (a TextBlock's text, a fact's title and value) is shown literally: see `escapeMarkdown`.
 */
export function renderCard<T extends object>(name: string, data: T): AdaptiveCard {
  const card = template(name).expand({ $root: withoutMarks(data) }) as AdaptiveCard;
  if (card?.type !== 'AdaptiveCard') throw new Error(`card template ${name} did not expand to an AdaptiveCard`);
  return escapeMarked(card) as AdaptiveCard;
}

/*
 * User text in cards. Teams renders a Markdown subset in TextBlocks and facts, so a talk titled
 * "[Claim your CPD certificate](https://…)" would become a link on the shared card. Escaping happens
 * here, once, for every card: when a template is loaded, each `${…}` substituted into Markdown text is
 * wrapped in marks (private-use characters, removed from the data first so nobody can type them);
 * after expansion, what lies between the marks is escaped and the marks are dropped. The template's
 * own words keep their Markdown. A substitution whose field name ends in `Markdown` (an announcement's
 * body, written by someone allowed to announce) is kept as Markdown; one straight after `](` is a link
 * target, percent-encoded so it cannot end the link early.
 */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const OPEN_URL = '\uE002';
const CLOSE_URL = '\uE003';
const MARKS = /[\uE000-\uE003]/g;

/** Text shown literally in Teams' Markdown: backslash-escapes what could make a link, emphasis, a heading, a list or a quote. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\[\]*_~<>]/g, '\\$&')
    .replace(/^(\s*)([#+=|-])/gm, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/gm, '$1\\$2');
}

function escapeUrl(url: string): string {
  return url.replace(/[\s()<>[\]\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Wraps the substitutions in Markdown properties of a template in marks. */
function markSubstitutions(node: unknown, markdownProps: readonly string[] = []): unknown {
  if (Array.isArray(node)) return node.map((item) => markSubstitutions(item, markdownProps));
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Record<string, unknown>;
  const props = obj.type === 'TextBlock' ? ['text'] : markdownProps;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'string' && props.includes(key)) out[key] = markString(value);
    // The facts of a FactSet (a list, or one fact repeated with $data): their titles and values are Markdown.
    else out[key] = markSubstitutions(value, obj.type === 'FactSet' && key === 'facts' ? ['title', 'value'] : []);
  }
  return out;
}

function markString(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) break;
    const end = closingBrace(text, start + 2);
    if (end < 0) break;
    const expr = text.slice(start + 2, end);
    const whole = text.slice(start, end + 1);
    out += text.slice(i, start);
    if (/Markdown$/.test(expr.trim())) out += whole;
    else if (text.slice(0, start).endsWith('](')) out += OPEN_URL + whole + CLOSE_URL;
    else out += OPEN + whole + CLOSE;
    i = end + 1;
  }
  return out + text.slice(i);
}

/** The index of the `}` that closes an expression starting at `from`, skipping quoted strings and nested braces. */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

function withoutMarks(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(MARKS, '');
  if (Array.isArray(value)) return value.map(withoutMarks);
  if (value instanceof Date || typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutMarks(v)]));
}

function escapeMarked(value: unknown): unknown {
  if (typeof value === 'string') {
    return value
      .replace(/\uE000([^\uE000-\uE003]*)\uE001/g, (_, inner: string) => escapeMarkdown(inner))
      .replace(/\uE002([^\uE000-\uE003]*)\uE003/g, (_, inner: string) => escapeUrl(inner))
      .replace(MARKS, '');
  }
  if (Array.isArray(value)) return value.map(escapeMarked);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeMarked(v)]));
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

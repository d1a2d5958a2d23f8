/** Reading the Markdown in cards as Teams would render it (TextBlocks and facts render a Markdown subset). */

/** The texts of a card that Teams renders as Markdown: TextBlocks and facts, wherever they are. */
export function markdownTexts(card: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown, inFacts: boolean): void => {
    if (Array.isArray(value)) return value.forEach((v) => visit(v, inFacts));
    if (typeof value !== 'object' || value === null) return;
    const v = value as Record<string, unknown>;
    if (v.type === 'TextBlock' && typeof v.text === 'string') found.push(v.text);
    if (inFacts) for (const key of ['title', 'value']) if (typeof v[key] === 'string') found.push(v[key] as string);
    for (const [key, child] of Object.entries(v)) if (key !== 'data') visit(child, v.type === 'FactSet' && key === 'facts');
  };
  visit(card, false);
  return found;
}

/** Markdown a person would see as a link or emphasis: `[…](` or `**`/`_…_` not escaped with a backslash. */
export function liveMarkup(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?<!\\)\[((?:[^\]\\]|\\.)*)(?<!\\)\]\(([^)]*)\)/g)) found.push(`link "${m[1]}" to ${m[2]}`);
  for (const m of text.matchAll(/(?<!\\)\*\*[^*]+(?<!\\)\*\*/g)) found.push(`bold ${m[0]}`);
  for (const m of text.matchAll(/(?<![\\\w])_[^_]+(?<!\\)_(?!\w)/g)) found.push(`italic ${m[0]}`);
  return found;
}

/** What a person reads once Teams has rendered the escapes. */
export function rendered(text: string): string {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!<>~|=])/g, '$1');
}

import type { Together } from '../src/index';
import type { Effect } from '../src/platform/outbox/outbox';

/**
 * Investigation aids for `BENCH_DIAG=1`: each changes one running instance from the outside (the bench
 * owns no product code), to measure what a cost is worth or what a proposed change would buy before
 * anyone writes it. None of them is used by the default `npm run bench` figures.
 */

export type Tweak = (bot: Together) => void;

/** Drops the effects `drop` picks from every TeachMeet change this instance commits (what they cost). */
function withoutEffects(bot: Together, drop: (effect: Effect) => boolean): void {
  const service = bot.teachmeets as unknown as { effects: (...args: unknown[]) => Promise<Effect[]> };
  const original = service.effects.bind(service);
  service.effects = async (...args: unknown[]) => (await original(...args)).filter((effect) => !drop(effect));
}

/** No shared-card updates at all (what the card refresh costs). */
export const noCardRefresh: Tweak = (bot) => withoutEffects(bot, (effect) => effect.kind === 'update');

/** No confirmation or other personal messages (what they cost). */
export const noNotices: Tweak = (bot) => withoutEffects(bot, (effect) => effect.kind === 'tell' || effect.kind === 'tellMany');

export function combine(...tweaks: Tweak[]): Tweak {
  return (bot) => tweaks.forEach((t) => t(bot));
}

import type { Together } from '../src/index';

/**
 * Investigation aids for `BENCH_DIAG=1`: each changes one running instance from the outside (the bench
 * owns no product code), to measure what a cost is worth or what a proposed change would buy before
 * anyone writes it. None of them is used by the default `npm run bench` figures.
 */

export type Tweak = (bot: Together) => void;

/** No shared-card updates at all (what the card refresh costs). */
export const noCardRefresh: Tweak = (bot) => {
  (bot.teachmeets as unknown as { refreshCards: (...args: unknown[]) => void }).refreshCards = () => undefined;
};

/** No confirmation or other personal messages (what they cost). */
export const noNotices: Tweak = (bot) => {
  (bot.teachmeets as unknown as { sendNotices: (...args: unknown[]) => Promise<void> }).sendNotices = async () => undefined;
};

export function combine(...tweaks: Tweak[]): Tweak {
  return (bot) => tweaks.forEach((t) => t(bot));
}

import { performance } from 'node:perf_hooks';
import type { Together } from '../src/index';
import type { Aggregate } from '../src/teachmeets/model';
import type { Committed } from '../src/teachmeets/queue';
import type { Intent } from '../src/teachmeets/rules';
import type { Post } from '../src/teachmeets/store';

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

/**
 * Emulates "commit an event at most once every `ms`": sign-ups for an event that arrive within `ms` of
 * its last hand-over wait and are handed to the queue together (the first after a quiet spell goes at
 * once). Handed over in one tick, the queue commits the first alone and the rest together (its drain
 * takes its first batch synchronously), so this emulation makes about two commits per window where
 * the change in the queue itself would make one.
 */
export function commitInterval(ms: number): Tweak {
  return (bot) => {
    const queue = bot.teachmeets.queue;
    const submit = queue.submit.bind(queue);
    const lines = new Map<string, { last: number; waiting: { intent: Intent; resolve: (c: Committed) => void; reject: (e: unknown) => void }[]; timer?: NodeJS.Timeout }>();
    queue.submit = (eventId: string, intent: Intent) =>
      new Promise<Committed>((resolve, reject) => {
        let line = lines.get(eventId);
        if (!line) {
          line = { last: -Infinity, waiting: [] };
          lines.set(eventId, line);
        }
        line.waiting.push({ intent, resolve, reject });
        if (line.timer) return;
        const l = line;
        const handOver = () => {
          l.timer = undefined;
          l.last = performance.now();
          for (const w of l.waiting.splice(0)) submit(eventId, w.intent).then(w.resolve, w.reject);
        };
        const wait = l.last + ms - performance.now();
        if (wait <= 0) handOver();
        else l.timer = setTimeout(handOver, wait);
      });
  };
}

/**
 * Emulates "update a shared card at most once every `ms`, always ending with the latest state"
 * (Teams allows about 7 messages a second per conversation). `settle()` also waits for a pending update.
 */
export function cardRefreshInterval(ms: number): Tweak {
  return (bot) => {
    const service = bot.teachmeets as unknown as { refreshCards: (eventId: string, agg: Aggregate, posts: readonly Post[]) => void; settle: () => Promise<void> };
    const refresh = service.refreshCards.bind(service);
    const settle = service.settle.bind(service);
    const state = new Map<string, { timer?: NodeJS.Timeout; pending?: [Aggregate, readonly Post[]] }>();
    service.refreshCards = (eventId, agg, posts) => {
      let s = state.get(eventId);
      if (!s) {
        s = {};
        state.set(eventId, s);
      }
      if (s.timer) {
        s.pending = [agg, posts];
        return;
      }
      refresh(eventId, agg, posts);
      const st = s;
      const arm = () => {
        st.timer = setTimeout(() => {
          st.timer = undefined;
          if (st.pending) {
            const [a, p] = st.pending;
            st.pending = undefined;
            refresh(eventId, a, p);
            arm();
          } else state.delete(eventId);
        }, ms);
      };
      arm();
    };
    service.settle = async () => {
      for (;;) {
        await settle();
        if (![...state.values()].some((s) => s.timer && s.pending)) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
  };
}

export function combine(...tweaks: Tweak[]): Tweak {
  return (bot) => tweaks.forEach((t) => t(bot));
}

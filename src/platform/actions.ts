import { z } from 'zod';
import type { AdaptiveCard } from './cards';
import type { Audience } from './identity';
import type { Turn } from './turn';

/**
 * A button on a card: Action.Execute with a constant verb and ids in `data` (plus the Action.Submit
 * fallback older clients need, which carries the same data and `verb`). The data is parsed with zod
 * before use; who may act is decided from the Teams identity, never from the card.
 */
export interface ActionSpec<S extends z.ZodTypeAny = z.ZodTypeAny> {
  readonly verb: string;
  readonly data: S;
  readonly audience: Audience;
  /**
   * For high-volume buttons anyone may press (sign-ups): the person's directory entry may come from a
   * copy up to 30 s old on this instance, so a rush does not read it once per click. Buttons that need
   * a role always read it fresh.
   */
  readonly recentIdentityIsEnough?: boolean;
  /**
   * For buttons that would act again if pressed again (a form that creates something, a draw): the
   * press is claimed once, as a message is, so Teams' redelivery of the same click runs nothing and
   * gets the first answer. Other buttons are idempotent by their rules and are not claimed.
   */
  readonly once?: boolean;
  run(turn: Turn, data: z.infer<S>): Promise<ActionResult>;
}

/** What the person who clicked sees: a card that replaces the one they clicked, or a message. */
export type ActionResult = { readonly card: AdaptiveCard } | { readonly message: string };

export function defineAction<S extends z.ZodTypeAny>(spec: ActionSpec<S>): ActionSpec<S> {
  return spec;
}

/** Limits every string a card can send back, so a tampered payload cannot smuggle in a novel. */
export const cardText = (max = 500) => z.string().trim().max(max);
export const cardId = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/);

/** Parses the data of an action; Teams sends every input as a string. */
export function parseActionData<S extends z.ZodTypeAny>(spec: ActionSpec<S>, raw: unknown): { ok: true; data: z.infer<S> } | { ok: false; problem: string } {
  const body = typeof raw === 'object' && raw !== null ? { ...(raw as Record<string, unknown>) } : {};
  delete body.verb;
  delete body.msteams;
  const parsed = spec.data.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data };
  // Only where and what kind of problem: zod's messages can quote what was typed, which must not reach logs.
  return { ok: false, problem: parsed.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.code}`).join('; ') };
}

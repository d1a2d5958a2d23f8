import { findAction, invokeResponseCard } from './cardActions';
import type { ActivityOptions, Sent, SimConversation, SimUser, TeamsSimulator, TurnResult } from './simulator';

/**
 * Presses a button that asks "are you sure?" first (Cancel my place, Cancel this TeachMeet) and, when
 * the card that comes back asks, presses `confirm` on it (with `inputs`, such as a reason), as a person
 * who means it would. When nothing is asked (nothing to cancel, too late), the first answer is returned.
 */
export async function clickAndConfirm(
  sim: TeamsSimulator,
  user: SimUser,
  conv: SimConversation,
  card: Sent | object,
  title: string,
  confirm: string,
  inputs: Record<string, string> = {},
  opts: ActivityOptions = {},
): Promise<TurnResult> {
  const asked = await sim.click(user, conv, card, title, {}, opts);
  const view = invokeResponseCard(asked.body);
  if (!view || !findAction(view, confirm)) return asked;
  const replyToId = opts.replyToId ?? ('activityId' in card && typeof card.activityId === 'string' ? card.activityId : undefined);
  return sim.click(user, conv, view, confirm, inputs, replyToId === undefined ? {} : { replyToId });
}

/** "Cancel my place", then "Yes, cancel my place". */
export function cancelMyPlace(sim: TeamsSimulator, user: SimUser, conv: SimConversation, card: Sent | object, opts: ActivityOptions = {}): Promise<TurnResult> {
  return clickAndConfirm(sim, user, conv, card, 'Cancel my place', 'Yes, cancel my place', {}, opts);
}

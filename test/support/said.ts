import { adaptiveCardsOf, cardText, invokeResponseCard } from './cardActions';
import type { Sent, TeamsSimulator, TurnResult } from './simulator';

/** Reading what people were shown, as they would read it: message texts and card texts. */

/** One message the bot sent: its text and the text of its cards. */
export function textOf(sent: Sent): string {
  return [sent.activity?.text ?? '', ...adaptiveCardsOf(sent.activity).map((c) => cardText(c))].join('\n');
}

/** What the invoke itself answered with (the card's text, or the plain message). */
export function answered(result: TurnResult): string {
  const invoke = invokeResponseCard(result.body);
  if (invoke) return cardText(invoke);
  const body = result.body as { value?: unknown } | undefined;
  return typeof body?.value === 'string' ? body.value : '';
}

/** Everything a person was shown by one request: messages sent meanwhile, and what the invoke answered. */
export function said(result: TurnResult): string {
  return [...result.sent.map(textOf), answered(result)].join('\n');
}

/**
 * Sends through `send` to another bot instance: the simulator reads `botEndpoint` synchronously when
 * a click or say starts its request, so setting it just for the call routes that one request only.
 */
export function via<T>(sim: TeamsSimulator, endpoint: string, send: () => Promise<T>): Promise<T> {
  const before = sim.botEndpoint;
  sim.botEndpoint = endpoint;
  try {
    return send();
  } finally {
    sim.botEndpoint = before;
  }
}

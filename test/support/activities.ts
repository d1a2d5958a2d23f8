import type { SimUser, TeamsSimulator } from './simulator';

/** A message in a person's 1:1 chat as Teams would send it, for posting by hand (with changes, or to a bot the simulator does not point at). */
export function messageFrom(sim: TeamsSimulator, user: SimUser, text: string): Record<string, any> {
  const chat = sim.personalChat(user);
  return {
    type: 'message',
    id: String(Date.now()),
    timestamp: new Date().toISOString(),
    serviceUrl: sim.serviceUrl,
    channelId: 'msteams',
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    recipient: { id: sim.bot.id, name: sim.bot.name },
    conversation: { id: chat.id, conversationType: 'personal', tenantId: sim.tenantId },
    channelData: { tenant: { id: sim.tenantId } },
    text,
    textFormat: 'plain',
    locale: 'en-GB',
  };
}

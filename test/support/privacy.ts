import assert from 'node:assert/strict';
import { adaptiveCardsOf } from './cardActions';
import { everyRow } from './everyRow';
import { answered, said } from './said';
import type { SimUser } from './simulator';
import type { BaseWorld } from './world';

/** A person's rights over their data, exercised as they would in Teams. */

/** `who` says `forget me` in their personal chat and confirms; afterwards no row holds that chat. */
export async function forgetMe(w: BaseWorld, who: SimUser): Promise<void> {
  const confirm = await w.sim.say(who, w.sim.personalChat(who), 'forget me');
  const card = confirm.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
  assert.ok(card, said(confirm));
  assert.match(answered(await w.sim.click(who, w.sim.personalChat(who), card, 'Yes, erase me')), /Done:/);
  assert.ok(!(await everyRow(w.bot.tablePrefix)).some((row) => row.includes(w.sim.personalChat(who).id.toLowerCase())), `no row holds ${who.name}'s chat`);
}


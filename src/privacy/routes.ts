import type { Clock } from '../platform/clock';
import type { CommandSpec } from '../platform/commands';
import { signedDownload } from '../platform/downloads';
import type { TableInventory } from '../platform/inventory';
import type { SignedLinks } from '../platform/links';
import type { Download } from '../platform/server';
import type { Tables } from '../platform/storage/tables';
import { myDataCard, PRIVATE_ONLY } from './cards';
import { personalData } from './personalData';

/** `my data`: what Together holds about the person asking, as a card and as a JSON download. */
export function privacyRoutes(deps: {
  readonly tables: Tables;
  readonly inventory: readonly TableInventory[];
  readonly links: SignedLinks;
  readonly clock: Clock;
  readonly partnershipName: string;
}): { commands: CommandSpec[]; downloads: Download[] } {
  const download = signedDownload(deps.links, deps.clock, {
    route: '/api/mydata/:id',
    // The person's Entra object id: the link is signed for it, so it cannot be changed to reach someone else's.
    id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    refused: 'This link has expired or is not valid. Ask Together for `my data` again in your personal chat.',
    contentType: 'application/json; charset=utf-8',
    async file(aad) {
      const records = await personalData(deps.tables, deps.inventory, aad);
      const body = {
        partnership: deps.partnershipName,
        about: { aadObjectId: aad },
        generatedAt: deps.clock.now().toISOString(),
        tables: Object.fromEntries(records.filter((r) => r.rows.length > 0).map((r) => [r.table, r.rows])),
      };
      return { body: `${JSON.stringify(body, null, 2)}\n`, filename: 'together-my-data.json' };
    },
  });

  const commands: CommandSpec[] = [
    {
      name: 'my data',
      usage: 'my data',
      summary: 'See what Together holds about you, and download it',
      audience: 'everyone',
      async run(turn) {
        if (turn.conversation.kind !== 'personal') {
          await turn.reply(PRIVATE_ONLY);
          return;
        }
        const aad = turn.actor.aadObjectId;
        const records = await personalData(deps.tables, deps.inventory, aad);
        await turn.replyCard(myDataCard(records, deps.partnershipName, download.link(aad, turn.now)));
      },
    },
  ];
  return { commands, downloads: [download.download] };
}

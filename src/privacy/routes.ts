import { z } from 'zod';
import { defineAction, type ActionSpec } from '../platform/actions';
import type { Clock } from '../platform/clock';
import type { CommandSpec } from '../platform/commands';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import { resolveMention } from '../platform/mentions';
import { signedDownload } from '../platform/downloads';
import type { TableInventory } from '../platform/inventory';
import type { SignedLinks } from '../platform/links';
import type { Download } from '../platform/server';
import type { Tables } from '../platform/storage/tables';
import { forgetConfirmCard, forgotten, myDataCard, NOTHING_TO_FORGET, ONLY_COORDINATORS_FORGET_OTHERS, PRIVATE_ONLY } from './cards';
import { identityOf, type Subject } from './erasure';
import { forgetPerson } from './forget';
import { personalData, redactOthers, type Person, type PersonalRecords } from './personalData';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A person's rights over their data: `my data` (access: a card and a JSON download) and `forget me` /
 * `forget @person` (erasure, a coordinator for someone else), each erasure confirmed on a card first.
 */
export function privacyRoutes(deps: {
  readonly tables: Tables;
  readonly inventory: readonly TableInventory[];
  readonly links: SignedLinks;
  readonly clock: Clock;
  readonly partnershipName: string;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly logger: Logger;
  /** Run before an erasure, e.g. TeachMeets cancelling the person's places at events still to come. */
  readonly beforeErase?: readonly ((aadObjectId: string, now: Date) => Promise<void>)[];
  /** Run after an erasure, e.g. TeachMeets forgetting the events it holds in memory (their rows were rewritten). */
  readonly afterErase?: readonly (() => void)[];
}): { commands: CommandSpec[]; actions: ActionSpec[]; downloads: Download[] } {
  /** Whom to look for: their Entra id, and their personal chat as stored (rows can name the chat rather than them). */
  const personOf = async (aadObjectId: string): Promise<Person> => {
    const chat = (await deps.conversations.personal(aadObjectId))?.reference.conversation?.id;
    return { aadObjectId, personalChats: chat ? [chat] : [] };
  };
  /** What Together holds about a person: rows under their Entra id, and rows under their personal chat. */
  const recordsOf = async (aadObjectId: string): Promise<PersonalRecords[]> => personalData(deps.tables, deps.inventory, await personOf(aadObjectId));

  const download = signedDownload(deps.links, deps.clock, {
    route: '/api/mydata/:id',
    // The person's Entra object id: the link is signed for it, so it cannot be changed to reach someone else's.
    id: GUID,
    refused: 'This link has expired or is not valid. Ask Together for `my data` again in your personal chat.',
    contentType: 'application/json; charset=utf-8',
    async file(aad) {
      const found = await recordsOf(aad);
      const own = identityOf(found.flatMap((r) => r.rows), aad).teamsIds;
      const records = found.map((r) => ({ ...r, rows: redactOthers(r.rows, aad, own) }));
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
        const records = await recordsOf(aad);
        await turn.replyCard(myDataCard(records, deps.partnershipName, download.link(aad, turn.now)));
      },
    },
    {
      name: 'forget me',
      usage: 'forget me',
      summary: 'Erase what Together holds about you (you confirm first)',
      audience: 'everyone',
      async run(turn) {
        if (turn.conversation.kind !== 'personal') {
          await turn.reply('Ask me `forget me` in our personal chat: you will see what would be erased and confirm it there.');
          return;
        }
        const records = await recordsOf(turn.actor.aadObjectId);
        await turn.replyCard(forgetConfirmCard(records, { me: true }));
      },
    },
    {
      name: 'forget',
      usage: 'forget @person',
      summary: "Erase a person's data from Together (you confirm first)",
      audience: 'coordinator',
      async run(turn, input) {
        if (input.mentions.length !== 1) {
          await turn.refuse('Mention exactly one person, e.g. `forget @Sam Patel`, in a channel or group chat where they are a member. To erase yourself, type `forget me`.');
          return;
        }
        const resolved = await resolveMention(turn, input.mentions[0]!, deps.logger);
        if (typeof resolved === 'string') {
          await turn.refuse(resolved);
          return;
        }
        const records = await recordsOf(resolved.aadObjectId);
        if (!records.some((r) => r.rows.length > 0)) {
          await turn.reply(NOTHING_TO_FORGET);
          return;
        }
        await turn.replyCard(forgetConfirmCard(records, { me: false, ...resolved }));
      },
    },
  ];

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'privacy.forget',
      data: z.object({ subject: z.union([z.literal('me'), z.string().regex(GUID)]), name: z.string().max(200).default(''), teamsId: z.string().max(200).default('') }), // name: only for the reply
      audience: 'everyone',
      async run(turn, data) {
        // Who is erased comes from the Teams identity for `me`; someone else only at a coordinator's word.
        const me = data.subject === 'me' || data.subject === turn.actor.aadObjectId;
        if (!me && !turn.person.isCoordinator) {
          turn.record.outcome = 'refused';
          return { message: ONLY_COORDINATORS_FORGET_OTHERS };
        }
        const aad = me ? turn.actor.aadObjectId : data.subject;
        // Their places at TeachMeets to come (and the like) go first, as if they had cancelled them.
        for (const release of deps.beforeErase ?? []) await release(aad, turn.now);
        // What to search for comes from what is stored under their id (and, for `me`, from Teams), never from card data.
        // Their personal chat is read here, before the erasure deletes the stored chat.
        const person = await personOf(aad);
        const records = await personalData(deps.tables, deps.inventory, person);
        const known = identityOf(records.flatMap((r) => r.rows), aad);
        const subject: Subject = {
          aadObjectId: aad,
          names: [...known.names, ...(me ? [turn.actor.name] : [])],
          teamsIds: [...known.teamsIds, ...(me ? [turn.actor.teamsId] : [])],
          personalChats: person.personalChats,
        };
        const erased = await forgetPerson(deps.tables, deps.inventory, subject, deps.logger, () => deps.clock.now());
        deps.directory.invalidate();
        deps.conversations.forgetKnownPerson(aad);
        for (const forget of deps.afterErase ?? []) forget();
        deps.logger.info({ privacy: { erased: erased.deleted + erased.anonymised, byCoordinator: !me } }, 'a person was erased');
        return { message: forgotten({ me, name: me ? '' : data.name || 'that person' }, erased) };
      },
    }),
  ];
  return { commands, actions, downloads: [download.download] };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFactory, TurnContext, type ConversationReference } from 'botbuilder';
import { z } from 'zod';
import { cardId, cardText, defineAction, type ActionResult, type ActionSpec } from '../platform/actions';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { CommandSpec } from '../platform/commands';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import type { Outbox } from '../platform/outbox/outbox';
import type { Tables } from '../platform/storage/tables';
import type { Turn } from '../platform/turn';
import { formCardData, FREE_TEXT_FIELDS, historyCardData, listCardData, noticeCardData, notPostedNoticeData, onItsWayNoticeData, postedNoticeData, proposalCardData, tagsCardData } from './cards';
import { pupilDataWarnings } from '../platform/pupilData';
import { checkForm, emptyValues, FormInput, valuesOf, type FormValues } from './form';
import type { Aggregate, Tag, TagKind } from './model';
import { addTag, changedFields, decide, edit, findTag, listSections, mayChange, removeTag, signOff, submit, withdraw, type DecisionKind, type Summary } from './rules';
import { ProposalService } from './service';
import { PROPOSALS_TABLE, ProposalStore } from './store';

/**
 * Proposal commands and card buttons: parse with zod, take who is acting from Teams (never from the
 * card), let the pure rules decide, commit through the store under the proposal's ETag, and answer the
 * person with their own view of the committed state. The outbox then updates the shared card for
 * everyone and tells people, after the answer: a slow Teams delays those, never the answer.
 */

export interface ProposalRouteDeps {
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly partnershipName: string;
}

const Ref = z.object({ proposalId: cardId }).strip();
const Version = z.union([z.string().trim().regex(/^\d{1,6}$/), z.number().int().min(0).max(999_999)]).transform((v) => Number(v));
const Decided = Ref.extend({ version: Version, comment: cardText(2000).optional().default(''), reason: cardText(2000).optional().default('') }).strip();

/**
 * How long Submit waits to hear from Teams whether the card reached the reps' channel, so the answer
 * can say so; a slower Teams (throttled while an announcement goes out) gets "on its way" instead.
 */
const POSTING_WAIT_MS = 3_000;
const NOT_FOUND = "I can't find that proposal. It may have been removed. Type `proposals` to see the current ones.";

export function proposalRoutes(deps: ProposalRouteDeps): { commands: CommandSpec[]; actions: ActionSpec[]; tables: string[] } {
  const { directory } = deps;
  const store = new ProposalStore(deps.tables, deps.logger);
  const service = new ProposalService({ store, directory, conversations: deps.conversations, outbox: deps.outbox, clock: deps.clock, logger: deps.logger });

  /** The conversation the turn is in, as a reference to send through (its serviceUrl also opens 1:1 chats). */
  function here(turn: Turn): Partial<ConversationReference> {
    const reference = TurnContext.getConversationReference(turn.context.activity);
    delete reference.activityId;
    if (reference.conversation) reference.conversation = { ...reference.conversation, id: turn.conversation.id };
    return reference;
  }

  async function lists(): Promise<{ needs: Tag[]; outcomes: Tag[] }> {
    const [needs, outcomes] = await Promise.all([store.tags('needs'), store.tags('outcomes')]);
    return { needs, outcomes };
  }

  /**
   * The card as the person who pressed (or asked) sees it: only the buttons they may use. It asks Teams
   * to refresh it for them alone, so when they come back to it they see it as it stands then.
   */
  async function proposalCard(turn: Turn, agg: Aggregate, note = ''): Promise<ActionResult> {
    return { card: renderCard('proposalCard', proposalCardData(agg, turn.now, await service.schoolNames(), note, turn.person, [turn.actor.teamsId])) };
  }

  /** The proposal as it stands, as this person sees it. */
  async function ownView(turn: Turn, proposalId: string): Promise<ActionResult> {
    const loaded = await store.load(proposalId);
    if (!loaded) return invalid(turn, NOT_FOUND);
    return proposalCard(turn, loaded.agg);
  }

  const invalid = (turn: Turn, message: string): ActionResult => {
    turn.record.outcome = 'invalid';
    return { message };
  };
  const refused = (turn: Turn, message: string): ActionResult => {
    turn.record.outcome = 'refused';
    return { message };
  };

  async function editForm(
    turn: Turn,
    agg: Aggregate,
    values?: FormValues,
    errors?: Parameters<typeof formCardData>[0]['errors'],
    missing?: Parameters<typeof formCardData>[0]['missing'],
    pupilData?: Parameters<typeof formCardData>[0]['pupilData'],
  ): Promise<ActionResult> {
    const schools = await directory.schools();
    const { needs, outcomes } = await lists();
    const p = agg.proposal;
    const lead = schools.find((s) => s.id === p.leadSchoolId) ?? { id: p.leadSchoolId, name: 'a school no longer in the directory' };
    return {
      card: renderCard(
        'proposalForm',
        formCardData({ mode: 'edit', proposal: { id: p.id, version: p.version, title: p.content.title }, leadSchool: lead, schools, needs, outcomes, values: values ?? valuesOf(p.content, needs, outcomes), errors, missing, pupilData }),
      ),
    };
  }

  /** A decision from a card or a nudge: the rules decide, the store commits, the card is updated for everyone. */
  async function decideRoute(turn: Turn, data: z.infer<typeof Decided>, kind: DecisionKind): Promise<ActionResult> {
    const names = await service.schoolNames();
    const comment = kind === 'decline' ? data.reason || data.comment : data.comment;
    const applied = await service.apply(data.proposalId, (agg) => decide(agg, turn.person, kind, data.version, comment, turn.now, names), here(turn));
    if (applied.kind === 'missing') return invalid(turn, NOT_FOUND);
    if (applied.kind === 'refused') {
      turn.record.outcome = applied.refusal.reason === 'invalid' ? 'invalid' : 'refused';
      // Without the comment it needs (a button on a nudge), show the card so they can write it there.
      if (applied.refusal.reason === 'invalid' && !comment.trim()) return proposalCard(turn, applied.agg, applied.refusal.message);
      return { message: applied.refusal.message };
    }
    return proposalCard(turn, applied.change.next, applied.change.message);
  }

  /** Proposals this person may open with a command: by exact id, else by title (case ignored, whole or part). */
  function matching(all: readonly Summary[], text: string): Summary[] {
    const t = text.trim().toLowerCase().replace(/^['"‘“]|['"’”]$/g, '');
    if (!t) return [...all];
    const byId = all.filter((s) => s.id === t);
    if (byId.length > 0) return byId;
    const exact = all.filter((s) => s.title.toLowerCase() === t);
    return exact.length > 0 ? exact : all.filter((s) => s.title.toLowerCase().includes(t));
  }

  async function listCard(turn: Turn, items: readonly Summary[], filter: { need?: string; outcome?: string }, heading?: string): Promise<ActionResult> {
    const names = await service.schoolNames();
    const { needs, outcomes } = await lists();
    const schoolName = turn.person.schoolId ? names(turn.person.schoolId) : '';
    const sections = listSections(items, turn.person, filter, schoolName);
    const data = listCardData({ partnership: deps.partnershipName, sections, names, now: turn.now, filter, needs, outcomes, me: { aadObjectId: turn.actor.aadObjectId, isCoordinator: turn.person.isCoordinator } });
    return { card: renderCard('proposalList', heading ? { ...data, heading } : data) };
  }

  async function reply(turn: Turn, result: ActionResult): Promise<void> {
    if ('card' in result) await turn.replyCard(result.card);
    else await turn.reply(result.message);
  }

  async function history(turn: Turn, proposalId: string): Promise<ActionResult> {
    const loaded = await store.load(proposalId);
    if (!loaded) return invalid(turn, NOT_FOUND);
    const names = await service.schoolNames();
    return { card: renderCard('proposalHistory', historyCardData(loaded.agg, await store.history(proposalId), names, turn.now)) };
  }

  function tagCommands(kind: TagKind, what: string, example: string): CommandSpec[] {
    return [
      {
        name: `${what} add`,
        usage: `${what} add <name>`,
        summary: `Add a ${what} to the list proposals are tagged with`,
        audience: 'coordinator',
        async run(turn, input) {
          const result = await store.updateTags(kind, (tags) => addTag(tags, input.text, what));
          if (!result.ok) turn.record.outcome = 'invalid';
          await turn.reply(result.ok ? `${result.message} Type \`proposal tags\` to see the lists.` : result.message);
        },
      },
      {
        name: `${what} remove`,
        usage: `${what} remove <name>`,
        summary: `Remove a ${what} from the list, e.g. ${example}`,
        audience: 'coordinator',
        async run(turn, input) {
          const result = await store.updateTags(kind, (tags) => removeTag(tags, input.text, what));
          if (!result.ok) turn.record.outcome = 'invalid';
          await turn.reply(result.message);
        },
      },
    ];
  }

  const commands: CommandSpec[] = [
    {
      name: 'propose',
      usage: 'propose',
      summary: 'Propose a project for the partner schools to approve',
      audience: 'rep',
      async run(turn) {
        const schools = await directory.schools();
        const lead = schools.find((s) => s.id === turn.person.schoolId);
        if (!lead) {
          await turn.refuse("To propose a project you need a school in the directory: it is the lead school. Ask a coordinator to `rep add` you for your school (or, as a coordinator, set yours with `my school` and your school's name).");
          return;
        }
        if (schools.length < 2) {
          await turn.refuse('There is no other school in the directory to work with yet. A coordinator adds schools with `school add` and the school\'s name.');
          return;
        }
        const { needs, outcomes } = await lists();
        await turn.replyCard(renderCard('proposalForm', formCardData({ mode: 'new', formId: ProposalService.newFormId(), leadSchool: lead, schools, needs, outcomes, values: emptyValues() })));
      },
    },
    {
      name: 'proposals',
      usage: 'proposals [need <mutual need>] [outcome <funder outcome>]',
      summary: 'List proposals by status (what waits on your school first)',
      audience: 'rep',
      async run(turn, input) {
        const { needs, outcomes } = await lists();
        const text = input.text.trim();
        let m = /^(?:need\s+(.+?))?\s*(?:outcome\s+(.+))?$/i.exec(text);
        // A bare word filters by whichever list has it: `proposals STEM`.
        if (!m && findTag(needs, text)) m = ['', text, undefined] as unknown as RegExpExecArray;
        else if (!m && findTag(outcomes, text)) m = ['', undefined, text] as unknown as RegExpExecArray;
        if (!m) {
          turn.record.outcome = 'invalid';
          await turn.reply('Filter like this: `proposals need STEM` or `proposals outcome leadership skills` (or both, need first). Type `proposal tags` to see the lists.');
          return;
        }
        const filter: { need?: string; outcome?: string } = {};
        for (const [text, tags, key, label] of [
          [m[1], needs, 'need', 'mutual needs'],
          [m[2], outcomes, 'outcome', 'funder outcomes'],
        ] as const) {
          if (!text) continue;
          const tag = findTag(tags, text);
          if (!tag) {
            turn.record.outcome = 'invalid';
            await turn.reply(`'${text}' is not one of the ${label}: ${tags.map((t) => t.label).join('; ')}.`);
            return;
          }
          filter[key] = tag.label;
        }
        await reply(turn, await listCard(turn, await store.summaries(), filter));
      },
    },
    {
      name: 'proposal edit',
      usage: 'proposal edit [title]',
      summary: 'Edit your proposal (partner schools approve it again)',
      audience: 'rep',
      async run(turn, input) {
        const mine = (await store.summaries()).filter((s) => s.status !== 'approved' && s.status !== 'withdrawn' && (s.proposerAad === turn.actor.aadObjectId || turn.person.isCoordinator));
        const found = matching(mine, input.text);
        if (found.length === 0) {
          turn.record.outcome = 'invalid';
          await turn.reply(input.text ? `You have no open proposal called '${input.text}' to edit. Type \`proposals\` to see them.` : 'You have no open proposals to edit. Propose one with `propose`.');
          return;
        }
        if (found.length === 1) {
          const loaded = await store.load(found[0]!.id);
          if (!loaded) return turn.reply(NOT_FOUND);
          await reply(turn, await editForm(turn, loaded.agg));
          return;
        }
        await reply(turn, await listCard(turn, found, {}, 'Which proposal? Choose Edit on one.'));
      },
    },
    {
      name: 'proposal history',
      usage: 'proposal history <title>',
      summary: 'Every version, submission and decision of a proposal: who, when, comment',
      audience: 'coordinator',
      async run(turn, input) {
        const found = matching(await store.summaries(), input.text);
        if (found.length === 0) {
          turn.record.outcome = 'invalid';
          await turn.reply(`There is no proposal called '${input.text}'. Type \`proposals\` to see them.`);
          return;
        }
        if (found.length === 1) return reply(turn, await history(turn, found[0]!.id));
        await reply(turn, await listCard(turn, found, {}, 'Which proposal? Choose History on one.'));
      },
    },
    {
      name: 'proposal tags',
      usage: 'proposal tags',
      summary: "The partnership's mutual needs and funder outcomes that proposals are tagged with",
      audience: 'everyone',
      async run(turn) {
        const { needs, outcomes } = await lists();
        await turn.replyCard(renderCard('proposalTags', tagsCardData(deps.partnershipName, needs, outcomes, turn.person.isCoordinator)));
      },
    },
    ...tagCommands('needs', 'mutual need', '`mutual need remove Resilience`'),
    ...tagCommands('outcomes', 'funder outcome', '`funder outcome remove Leadership skills`'),
  ];

  const pupilDataChecked = z.object({ pupilDataChecked: z.literal('yes').optional() });
  const formData = z.object({ formId: z.string().trim().regex(/^[0-9a-f]{10}$/) }).merge(FormInput).merge(pupilDataChecked).strip();
  const editData = Ref.extend({ version: Version }).merge(FormInput).merge(pupilDataChecked).strip();
  /** Names next to pupil words in the free text, unless the writer already said it is not a pupil. */
  const pupilData = (values: FormValues, checked: 'yes' | undefined, schools: readonly { name: string }[]) =>
    checked === 'yes' ? [] : pupilDataWarnings(Object.fromEntries(FREE_TEXT_FIELDS.map((f) => [f, values[f]])), schools.map((s) => s.name));
  const asValues = (data: z.infer<typeof FormInput>): FormValues => data as FormValues;

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'proposal.submit',
      data: formData,
      audience: 'rep',
      async run(turn, data) {
        const schools = await directory.schools();
        const lead = schools.find((s) => s.id === turn.person.schoolId);
        if (!lead) return refused(turn, 'To propose a project you need a school in the directory: ask a coordinator to `rep add` you for your school.');
        const id = ProposalService.idFor(data.formId);
        const already = async (): Promise<ActionResult> => {
          const loaded = await store.load(id);
          if (loaded && loaded.agg.proposal.proposer.aadObjectId === turn.actor.aadObjectId) return proposalCard(turn, loaded.agg, 'You have already submitted this proposal.');
          return invalid(turn, 'That form has already been used. Type `propose` for a fresh one.');
        };
        if (await store.rev(id)) return already();
        const { needs, outcomes } = await lists();
        const values = asValues(data);
        const checked = checkForm(values, { schools, leadSchoolId: lead.id, needs, outcomes, now: turn.now });
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('proposalForm', formCardData({ mode: 'new', formId: data.formId, leadSchool: lead, schools, needs, outcomes, values, errors: checked.errors, missing: checked.missing })) };
        }
        const warnings = pupilData(values, data.pupilDataChecked, schools);
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('proposalForm', formCardData({ mode: 'new', formId: data.formId, leadSchool: lead, schools, needs, outcomes, values, pupilData: warnings })) };
        }
        const proposer = { aadObjectId: turn.actor.aadObjectId, teamsId: turn.actor.teamsId, name: turn.actor.name };
        const { agg, audit } = submit(id, proposer, lead.id, checked.content, turn.now);
        const reps = await service.repsChannel();
        const elsewhere = reps && reps.conversationId !== turn.conversation.id ? reps : undefined;
        const created = await service.create(agg, audit, elsewhere, here(turn));
        if (created === 'exists') return already();
        if (elsewhere) {
          // The answer says where the card went, if Teams says so soon; otherwise that it is on its way (if
          // Teams refuses it for good later, the service shares it here instead, and says why).
          await Promise.race([created.delivered, sleep(POSTING_WAIT_MS, undefined, { ref: false })]);
          const posting = await store.posting(id);
          const title = agg.proposal.content.title;
          if (posting?.state === 'sent') return { card: renderCard('proposalNotice', postedNoticeData(title, id)) };
          if (posting?.state === 'failed') return { card: renderCard('proposalNotice', notPostedNoticeData(title, id)) };
          return { card: renderCard('proposalNotice', onItsWayNoticeData(title, id)) };
        }
        // No reps' channel (or it is this one): the card is shared where the proposal was made.
        const shared = await service.sharedCard(agg, await service.schoolNames());
        const reference = here(turn);
        const replyTo = turn.context.activity.replyToId;
        if (turn.context.activity.type === 'invoke' && replyTo) {
          await store.addPost(id, { conversationId: turn.conversation.id, activityId: replyTo, reference: JSON.stringify(reference), version: agg.proposal.version });
          return { card: shared };
        }
        const sent = await turn.context.sendActivity(MessageFactory.attachment(cardAttachment(shared)));
        if (sent?.id) await store.addPost(id, { conversationId: turn.conversation.id, activityId: sent.id, reference: JSON.stringify(reference), version: agg.proposal.version });
        return { message: `'${agg.proposal.content.title}' is posted for the partner schools to approve.` };
      },
    }),
    defineAction({
      verb: 'proposal.saveEdit',
      data: editData,
      audience: 'rep',
      async run(turn, data) {
        const loaded = await store.load(data.proposalId);
        if (!loaded) return invalid(turn, NOT_FOUND);
        const notYours = mayChange(loaded.agg, turn.person);
        if (notYours) return refused(turn, notYours.message);
        const schools = await directory.schools();
        const { needs, outcomes } = await lists();
        const values = asValues(data);
        const checked = checkForm(values, { schools, leadSchoolId: loaded.agg.proposal.leadSchoolId, needs, outcomes, now: turn.now });
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          return editForm(turn, { ...loaded.agg, proposal: { ...loaded.agg.proposal, version: data.version } }, values, checked.errors, checked.missing);
        }
        const warnings = pupilData(values, data.pupilDataChecked, schools);
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          return editForm(turn, { ...loaded.agg, proposal: { ...loaded.agg.proposal, version: data.version } }, values, undefined, undefined, warnings);
        }
        const names = await service.schoolNames();
        const applied = await service.apply(data.proposalId, (agg) => edit(agg, turn.person, checked.content, data.version, turn.now, names), here(turn));
        if (applied.kind === 'missing') return invalid(turn, NOT_FOUND);
        if (applied.kind === 'refused') {
          // Teams delivers a retried request again: the same content already saved is not a conflict.
          if (applied.refusal.reason === 'stale' && data.version === applied.agg.proposal.version - 1 && changedFields(applied.agg.proposal.content, checked.content).length === 0) {
            return proposalCard(turn, applied.agg, `Saved version ${applied.agg.proposal.version}.`);
          }
          return refused(turn, applied.refusal.message);
        }
        return proposalCard(turn, applied.change.next, applied.change.message);
      },
    }),
    defineAction({ verb: 'proposal.approve', data: Decided, audience: 'rep', run: (turn, data) => decideRoute(turn, data, 'approve') }),
    defineAction({ verb: 'proposal.requestChanges', data: Decided, audience: 'rep', run: (turn, data) => decideRoute(turn, data, 'requestChanges') }),
    defineAction({ verb: 'proposal.decline', data: Decided, audience: 'rep', run: (turn, data) => decideRoute(turn, data, 'decline') }),
    defineAction({
      verb: 'proposal.signOff',
      data: Ref.extend({ version: Version }).strip(),
      audience: 'coordinator',
      async run(turn, data) {
        const names = await service.schoolNames();
        const applied = await service.apply(data.proposalId, (agg) => signOff(agg, turn.person, data.version, turn.now, names), here(turn));
        if (applied.kind === 'missing') return invalid(turn, NOT_FOUND);
        if (applied.kind === 'refused') return refused(turn, applied.refusal.message);
        return proposalCard(turn, applied.change.next, applied.change.message);
      },
    }),
    defineAction({
      verb: 'proposal.withdraw',
      data: Ref.extend({ withdrawReason: cardText(2000).optional().default('') }).strip(),
      audience: 'rep',
      async run(turn, data) {
        const applied = await service.apply(data.proposalId, (agg) => withdraw(agg, turn.person, data.withdrawReason, turn.now), here(turn));
        if (applied.kind === 'missing') return invalid(turn, NOT_FOUND);
        if (applied.kind === 'refused') return refused(turn, applied.refusal.message);
        return proposalCard(turn, applied.change.next, applied.change.message);
      },
    }),
    defineAction({
      verb: 'proposal.edit',
      data: Ref,
      audience: 'rep',
      async run(turn, data) {
        const loaded = await store.load(data.proposalId);
        if (!loaded) return invalid(turn, NOT_FOUND);
        const p = loaded.agg.proposal;
        const notYours = mayChange(loaded.agg, turn.person);
        if (notYours) return refused(turn, notYours.message);
        if (p.lifecycle !== 'open') return refused(turn, `'${p.content.title}' is ${p.lifecycle}, so it can't be edited any more.`);
        return editForm(turn, loaded.agg);
      },
    }),
    defineAction({
      // Teams asks for a person's own view of the shared card (its `refresh`), or they press Show my options:
      // anyone may, and gets only the buttons the rules let them use (a teacher, none).
      verb: 'proposal.view',
      recentIdentityIsEnough: true,
      data: Ref,
      audience: 'everyone',
      run: (turn, data) => ownView(turn, data.proposalId),
    }),
    defineAction({ verb: 'proposal.show', data: Ref, audience: 'rep', run: (turn, data) => ownView(turn, data.proposalId) }),
    defineAction({
      verb: 'proposal.history',
      data: Ref,
      audience: 'coordinator',
      run: (turn, data) => history(turn, data.proposalId),
    }),
    defineAction({
      verb: 'proposal.list',
      data: z.object({ need: cardText(100).optional().default(''), outcome: cardText(100).optional().default('') }).strip(),
      audience: 'rep',
      async run(turn, data) {
        const { needs, outcomes } = await lists();
        const need = data.need ? findTag(needs, data.need)?.label : undefined;
        const outcome = data.outcome ? findTag(outcomes, data.outcome)?.label : undefined;
        if ((data.need && !need) || (data.outcome && !outcome)) return invalid(turn, 'That filter is not on the lists any more. Type `proposal tags` to see them.');
        return listCard(turn, await store.summaries(), { need, outcome });
      },
    }),
  ];

  return { commands, actions, tables: [PROPOSALS_TABLE] };
}

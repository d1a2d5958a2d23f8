import { pupilDataWarnings, pupilWarningText } from '../platform/pupilData';
import { TurnContext } from 'botbuilder';
import { z } from 'zod';
import { cardId, defineAction, type ActionResult, type ActionSpec } from '../platform/actions';
import { signedCsv } from '../platform/downloads';
import { renderCard, type AdaptiveCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { CommandSpec } from '../platform/commands';
import type { ConversationStore } from '../platform/conversations/store';
import type { School } from '../platform/directory/rules';
import type { DirectoryStore } from '../platform/directory/store';
import type { SignedLinks } from '../platform/links';
import type { Logger } from '../platform/logging';
import type { Proactive } from '../platform/proactive';
import type { Download } from '../platform/server';
import type { Tables } from '../platform/storage/tables';
import { formatDayTime } from '../platform/time';
import type { TimerHandler, Timers } from '../platform/timers';
import type { Turn } from '../platform/turn';
import { composeCardData, listItem, NOT_SENT_TO_YOU, previewCardData, purgedFailuresText, valuesOf, type FailuresCardData, PREVIEW_ANYWAY } from './cards';
import type { Announcement, Endpoint } from './model';
import { checkDraft, conversationKey, failuresCsv, FORM_FIELDS, kindLabel, mayAnnounce, MAX_TEXT_CHARS, parseShortForm, personKey, recipientCounts, sizeProblem, type FormValues } from './rules';
import { AnnouncementService, DEFAULT_TUNING, DISPATCH_TIMER, type AnnouncementTuning } from './service';
import { ANNOUNCEMENTS_TABLE, AnnouncementStore } from './store';
import type { Outbox } from '../platform/outbox/outbox';

/**
 * Announcements by command: `announce` (a compose card, or the short form `announce reps: …`), a
 * preview that is exactly the recipients' card with the recipients per school, Send / Edit /
 * Cancel (a second confirmation for everyone), scheduling, `announcements` (scheduled and recent),
 * cancel, the coordinator's live report with "Got it" counts, and failures as CSV.
 */

export interface AnnouncementRouteDeps {
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly proactive: Proactive;
  readonly timers: Timers;
  readonly links: SignedLinks;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly partnershipName: string;
  /** Every recipient's message goes through it. */
  readonly outbox: Outbox;
  /** Report timing; tests make it fast. */
  readonly tuning?: Partial<AnnouncementTuning>;
}

export interface AnnouncementRoutes {
  readonly commands: CommandSpec[];
  readonly actions: ActionSpec[];
  readonly timers: [string, TimerHandler][];
  readonly tables: string[];
  readonly downloads: Download[];
  readonly service: AnnouncementService;
  /** Whether the coordinators let school reps announce (`rep announcements on`). */
  repsMayAnnounce(): Promise<boolean>;
  start(): void;
  stop(): Promise<void>;
}

const Ref = z.object({ announcementId: cardId }).strip();

/** An announcement loaded for someone allowed to manage it, with the ETag to save it under. */
type Managed = { announcement: Announcement; etag: string };
const field = (max: number) => z.string().max(max).optional().default('');
const PreviewInput = z
  .object({
    draftId: z.union([cardId, z.literal('')]).optional().default(''),
    title: field(500),
    text: field(MAX_TEXT_CHARS * 3),
    link: field(2000),
    audience: field(200),
    importance: field(40),
    ack: field(10),
    sendDate: field(20),
    sendTime: field(20),
    pupilDataChecked: z.literal('yes').optional(),
  })
  .strip();

export function announcementRoutes(deps: AnnouncementRouteDeps): AnnouncementRoutes {
  const tuning: AnnouncementTuning = { ...DEFAULT_TUNING, ...(deps.tuning ?? {}) };
  const store = new AnnouncementStore(deps.tables, deps.logger);
  const service = new AnnouncementService({ store, directory: deps.directory, conversations: deps.conversations, timers: deps.timers, outbox: deps.outbox, proactive: deps.proactive, clock: deps.clock, logger: deps.logger, tuning, partnershipName: deps.partnershipName });
  const { directory } = deps;

  const schoolNamer = (schools: readonly School[]) => (id: string) => schools.find((s) => s.id === id)?.name ?? '';
  const mayManage = (turn: Turn, a: Announcement) => turn.person.isCoordinator || a.author.aadObjectId === turn.actor.aadObjectId;

  const viaOf = (turn: Turn): Endpoint | undefined => {
    const activity = turn.context.activity;
    const tenantId = turn.conversation.tenantId ?? '';
    return activity.serviceUrl && activity.recipient?.id ? { serviceUrl: activity.serviceUrl, tenantId, botId: activity.recipient.id } : undefined;
  };

  async function composeCard(turn: Turn, opts: { values?: Partial<FormValues>; errors?: Partial<Record<string, string>>; draftId?: string; problem?: string; pupilCheck?: boolean } = {}): Promise<AdaptiveCard> {
    const schools = await directory.schools();
    return renderCard('announceCompose', composeCardData({ person: turn.person, schools, ...opts }));
  }

  async function previewCard(turn: Turn, a: Announcement, confirmEveryone = false): Promise<AdaptiveCard> {
    const schools = await directory.schools();
    const resolution = await service.resolve(a.audience, a.via);
    const message = service.messageCard(a) as { body?: unknown[]; actions?: unknown[] };
    return renderCard('announcePreview', previewCardData(a, message, recipientCounts(resolution.recipients, schools), resolution.unreachable, turn.now, confirmEveryone, schoolNamer(schools)));
  }

  /** Checks the form, stores the draft (new, or the one being edited) and shows the preview. Nothing is sent. */
  async function preview(turn: Turn, values: Partial<FormValues>, draftId: string, pupilDataChecked?: 'yes'): Promise<ActionResult> {
    const schools = await directory.schools();
    const repsMayAnnounce = turn.person.isCoordinator ? true : await store.repsMayAnnounce();
    const allowed = mayAnnounce(turn.person, undefined, repsMayAnnounce);
    if (!allowed.ok) {
      turn.record.outcome = 'refused';
      return { message: allowed.message };
    }
    let existing: { announcement: Announcement; etag: string } | undefined;
    if (draftId) {
      existing = await store.get(draftId);
      if (!existing || !mayManage(turn, existing.announcement)) {
        turn.record.outcome = 'invalid';
        return { message: "I can't find that draft announcement, so nothing was changed. Type `announce` to start again." };
      }
      if (existing.announcement.status !== 'draft') {
        turn.record.outcome = 'invalid';
        return { message: 'That announcement has already been sent or scheduled, so it cannot be edited. Type `announcements` to see it.' };
      }
    }
    const checked = checkDraft(values, { schools, person: turn.person, repsMayAnnounce, now: turn.now });
    if (!checked.ok) {
      turn.record.outcome = 'invalid';
      return { card: await composeCard(turn, { values, errors: checked.errors, draftId }) };
    }
    const warnings = pupilDataChecked === 'yes' ? [] : pupilDataWarnings({ title: values.title, text: values.text }, schools.map((s) => s.name));
    if (warnings.length > 0) {
      turn.record.outcome = 'invalid';
      return { card: await composeCard(turn, { values, draftId, problem: pupilWarningText(warnings, { title: 'the title', text: 'the text' }, PREVIEW_ANYWAY), pupilCheck: true }) };
    }
    const d = checked.draft;
    const base = existing?.announcement;
    const a: Announcement = {
      id: base?.id ?? AnnouncementService.newId(),
      version: (base?.version ?? 0) + 1,
      status: 'draft',
      title: d.title,
      text: d.text,
      link: d.link,
      audience: d.audience,
      importance: d.importance,
      askAck: d.askAck,
      sendAt: d.sendAt,
      author: base?.author ?? { aadObjectId: turn.actor.aadObjectId, name: turn.actor.name, role: turn.person.isCoordinator ? 'coordinator' : 'rep' },
      createdAt: base?.createdAt ?? turn.now,
      recipients: 0,
      recipientsWritten: false,
      dispatched: false,
      via: viaOf(turn),
    };
    const tooBig = sizeProblem(Buffer.byteLength(JSON.stringify(service.messageActivity(a)), 'utf8'));
    if (tooBig) {
      turn.record.outcome = 'invalid';
      return { card: await composeCard(turn, { values, errors: { text: tooBig }, draftId }) };
    }
    if (existing) {
      const saved = await store.save(a, existing.etag);
      if (!saved.ok) return { message: 'Someone changed that draft at the same moment; nothing was saved. Please try again.' };
    } else {
      await store.create(a);
    }
    return { card: await previewCard(turn, a) };
  }

  /** Who an announcement could not reach, as a CSV behind a short-lived signed link. */
  const failures = signedCsv(deps.links, deps.clock, {
    route: '/api/announcements/:id/failures.csv',
    id: /^an[0-9a-f]{10}$/,
    refused: 'This link has expired or is not valid. Ask for a new one from the announcement report (Failures).',
    async csv(id) {
      const loaded = await store.get(id);
      if (!loaded) return { missing: 'That announcement no longer exists.' };
      const name = schoolNamer(await directory.schools());
      const failed = (await store.recipients(id)).filter((r) => r.state === 'failed');
      const body = failuresCsv(
        failed.map((r) => ({
          school: name(r.schoolId) || 'No school',
          recipient: r.label,
          kind: kindLabel(r.target),
          status: r.lastStatus ? String(r.lastStatus) : '',
          reason: r.reason,
          attempts: r.attempts,
          when: r.doneAt ? formatDayTime(new Date(r.doneAt)) : '',
        })),
      );
      return { body, filename: `announcement-${id}-failures.csv` };
    },
  });

  /** Loads an announcement the person may manage, or says why not. */
  async function loadManaged(turn: Turn, id: string): Promise<Managed | ActionResult> {
    const loaded = await store.get(id);
    if (!loaded) {
      turn.record.outcome = 'invalid';
      return { message: "I can't find that announcement." };
    }
    if (!mayManage(turn, loaded.announcement)) {
      turn.record.outcome = 'refused';
      return { message: `Only ${loaded.announcement.author.name || 'its author'} or a coordinator can do that.` };
    }
    return loaded;
  }

  /** A button on one announcement for its author or a coordinator: `run` gets it loaded, the right to manage it checked. */
  function managedAction<S extends z.ZodType<{ announcementId: string }, z.ZodTypeDef, unknown>>(
    verb: string,
    data: S,
    run: (turn: Turn, loaded: Managed, data: z.infer<S>) => Promise<ActionResult>,
  ): ActionSpec<S> {
    return defineAction({
      verb,
      data,
      audience: 'rep',
      async run(turn, input) {
        const loaded = await loadManaged(turn, input.announcementId);
        if (!('announcement' in loaded)) return loaded;
        return run(turn, loaded, input);
      },
    });
  }

  const commands: CommandSpec[] = [
    {
      name: 'announce',
      usage: 'announce  or  announce reps: <text>',
      summary: 'Post an announcement: a form, or the short form `announce reps: …` (schools, announcements, everyone or a school name)',
      audience: 'rep',
      offered: async (person) => person.isCoordinator || (await store.repsMayAnnounce()),
      async run(turn, input) {
        const repsMayAnnounce = turn.person.isCoordinator ? true : await store.repsMayAnnounce();
        const allowed = mayAnnounce(turn.person, undefined, repsMayAnnounce);
        if (!allowed.ok) {
          await turn.refuse(allowed.message);
          return;
        }
        if (!input.text) {
          await turn.replyCard(await composeCard(turn));
          return;
        }
        const schools = await directory.schools();
        const short = parseShortForm(input.text, schools);
        if (!short.ok) {
          turn.record.outcome = 'invalid';
          await turn.replyCard(await composeCard(turn, { values: { text: short.text }, problem: short.message }));
          return;
        }
        const values: Partial<FormValues> = { text: short.text, audience: short.audience.kind === 'school' ? `school:${short.audience.schoolId}` : short.audience.kind, importance: 'normal', ack: 'false' };
        const result = await preview(turn, values, '');
        if ('card' in result) await turn.replyCard(result.card);
        else await turn.reply(result.message);
      },
    },
    {
      name: 'announcements',
      usage: 'announcements',
      summary: 'Scheduled and recent announcements, with their delivery reports',
      audience: 'rep',
      async run(turn) {
        const ids = await store.recent(60);
        const loaded = (await Promise.all(ids.map((id) => store.get(id)))).filter((l) => l !== undefined).map((l) => l.announcement);
        const visible = loaded.filter((a) => a.status !== 'draft' && !(a.status === 'cancelled' && !a.sentAt && !a.copy)).filter((a) => turn.person.isCoordinator || a.author.aadObjectId === turn.actor.aadObjectId);
        const scheduled = visible.filter((a) => a.status === 'scheduled').sort((a, b) => (a.sendAt?.getTime() ?? 0) - (b.sendAt?.getTime() ?? 0));
        const recent = visible.filter((a) => a.status !== 'scheduled').slice(0, 10);
        const schools = await directory.schools();
        const items = await Promise.all(
          [...scheduled, ...recent].map(async (a) => {
            const r = a.status === 'sending' || a.status === 'done' ? await service.reportOf(a) : undefined;
            return listItem(a, turn.now, schoolNamer(schools), r ? { sent: r.total.sent, failed: r.total.failed } : undefined);
          }),
        );
        await turn.replyCard(renderCard('announceList', { items, hasItems: items.length > 0 }));
      },
    },
    {
      name: 'rep announcements',
      usage: 'rep announcements on|off',
      summary: 'Allow (or stop) school reps announcing to their own school',
      audience: 'coordinator',
      async run(turn, input) {
        const word = input.text.trim().toLowerCase();
        if (word !== 'on' && word !== 'off') {
          turn.record.outcome = 'invalid';
          const now = await store.repsMayAnnounce();
          await turn.reply(`Say \`rep announcements on\` or \`rep announcements off\`. At the moment reps ${now ? 'may' : 'may not'} announce to their own school.`);
          return;
        }
        await store.setRepsMayAnnounce(word === 'on', turn.actor.aadObjectId);
        await turn.reply(word === 'on' ? 'Done: school reps may now announce to their own school (its channel and its reps), with `announce`.' : 'Done: only coordinators may post announcements now.');
      },
    },
  ];

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'announce.preview',
      data: PreviewInput,
      audience: 'rep',
      // The first Preview of a new announcement stores its draft: a redelivered press must not store another.
      once: true,
      async run(turn, data) {
        const values = Object.fromEntries(FORM_FIELDS.map((f) => [f, data[f]])) as FormValues;
        return preview(turn, values, data.draftId, data.pupilDataChecked);
      },
    }),
    managedAction('announce.send', Ref.extend({ version: z.union([z.string().regex(/^\d{1,6}$/), z.number().int()]).transform(Number), confirm: z.enum(['everyone']).optional() }), async (turn, loaded, data) => {
      const a = loaded.announcement;
      if (a.status !== 'draft') {
        // Pressed twice, or Teams delivered the press twice: show where it is, send nothing again.
        return { card: (await service.currentReport(a.id))?.card ?? (await service.reportCard(a)) };
      }
      if (a.version !== data.version) {
        turn.record.outcome = 'invalid';
        return { card: await previewCard(turn, a) };
      }
      const repsMayAnnounce = turn.person.isCoordinator ? true : await store.repsMayAnnounce();
      const allowed = mayAnnounce(turn.person, a.audience, repsMayAnnounce);
      if (!allowed.ok) {
        turn.record.outcome = 'refused';
        return { message: `${allowed.message} Nothing was sent.` };
      }
      if (a.audience.kind === 'everyone' && data.confirm !== 'everyone') return { card: await previewCard(turn, a, true) };
      const replyTo = turn.context.activity.type === 'invoke' ? turn.context.activity.replyToId : undefined;
      let copy: Announcement['copy'];
      if (replyTo) {
        const here = TurnContext.getConversationReference(turn.context.activity);
        delete here.activityId;
        copy = { reference: JSON.stringify(here), activityId: replyTo };
      }
      const sent = await service.send(a.id, data.version, copy);
      if (!sent.ok) {
        if (sent.reason === 'missing') return { message: "I can't find that announcement." };
        if (sent.reason === 'stale' && sent.announcement) return { card: await previewCard(turn, sent.announcement) };
        return { card: await service.reportCard(sent.announcement!) };
      }
      return { card: await service.reportCard(sent.announcement) };
    }),
    managedAction('announce.edit', Ref, async (turn, loaded) => {
      if (loaded.announcement.status !== 'draft') return { message: 'That announcement has already been sent or scheduled, so it cannot be edited. Cancel it and write a new one if need be.' };
      return { card: await composeCard(turn, { values: valuesOf(loaded.announcement), draftId: loaded.announcement.id }) };
    }),
    managedAction('announce.discard', Ref, async (turn, loaded) => {
      const a = loaded.announcement;
      if (a.status !== 'draft') return { card: await service.reportCard(a) };
      await store.save({ ...a, status: 'cancelled', cancelledAt: turn.now, cancelledBy: turn.actor.name }, loaded.etag);
      return { message: 'Cancelled: nothing was sent.' };
    }),
    managedAction('announce.cancel', Ref, async (turn, loaded) => {
      const cancelled = await service.cancel(loaded.announcement.id, turn.actor.name);
      if (!cancelled) return { message: 'That announcement kept changing; please press Cancel sending again.' };
      return { card: await service.reportCard(cancelled) };
    }),
    managedAction('announce.report', Ref, async (turn, loaded) => {
      if (loaded.announcement.status === 'draft') return { card: await previewCard(turn, loaded.announcement) };
      const current = await service.currentReport(loaded.announcement.id);
      return current ? { card: current.card } : { message: "I can't find that announcement." };
    }),
    managedAction('announce.failures', Ref, async (turn, loaded) => {
      const a = loaded.announcement;
      const schools = await directory.schools();
      const name = schoolNamer(schools);
      const failed = (await store.recipients(a.id)).filter((r) => r.state === 'failed');
      const link = failures.link(a.id, turn.now);
      const purged = purgedFailuresText(Object.values(a.kept ?? {}).reduce((n, c) => n + c.failed, 0), failed.length);
      const card: FailuresCardData = {
        heading: `Could not be reached: ${a.title || 'your announcement'}`,
        rows: failed.slice(0, 20).map((r) => ({ school: name(r.schoolId) || 'No school', recipient: r.label, reason: r.reason })),
        hasRows: failed.length > 0,
        more: `and ${failed.length - 20} more in the CSV`,
        hasMore: failed.length > 20,
        csvUrl: link.url,
        validFor: link.validFor,
        purged,
        hasPurged: !!purged,
      };
      return { card: renderCard('announceFailures', card) };
    }),
    defineAction({
      verb: 'announce.ack',
      data: Ref,
      audience: 'everyone',
      recentIdentityIsEnough: true,
      async run(turn, data) {
        const content = await service.content(data.announcementId);
        if (!content) return { message: "I can't find that announcement." };
        const a = content.announcement;
        if (a.status === 'draft') return { message: 'This is the preview: recipients get this button, and their presses are counted per school.' };
        // Only someone it was sent to: to them personally, or in the chat or channel they press it in.
        const sentTo = (await store.recipient(a.id, personKey(turn.actor.aadObjectId))) ?? (await store.recipient(a.id, conversationKey(turn.conversation.id)));
        if (!sentTo) {
          turn.record.outcome = 'refused';
          return { message: NOT_SENT_TO_YOU };
        }
        if (!a.askAck) return { message: 'No acknowledgement was asked for on this announcement.' };
        const added = await store.addAck(a.id, { aadObjectId: turn.actor.aadObjectId, name: turn.actor.name, schoolId: turn.person.schoolId ?? '', at: turn.now.toISOString() });
        if (added) service.markDirty(a.id);
        const first = turn.actor.name.split(' ')[0] || 'there';
        return { card: service.messageCard(a, added ? `Thanks, ${first}: noted that you got it.` : `You already said you got it, ${first}. Thanks.`) };
      },
    }),
  ];

  const downloads: Download[] = [failures.download];

  return {
    commands,
    actions,
    timers: [[DISPATCH_TIMER, (key) => service.dispatch(key)]],
    tables: [ANNOUNCEMENTS_TABLE],
    downloads,
    service,
    repsMayAnnounce: () => store.repsMayAnnounce(),
    start: () => service.start(),
    stop: () => service.stop(),
  };
}

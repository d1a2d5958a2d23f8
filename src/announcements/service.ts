import { randomBytes } from 'node:crypto';
import type { ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard, type AdaptiveCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import type { ConversationStore, StoredConversation } from '../platform/conversations/store';
import type { School } from '../platform/directory/rules';
import type { DirectoryStore } from '../platform/directory/store';
import type { Logger } from '../platform/logging';
import type { Timers } from '../platform/timers';
import { messageCardData, reportCardData } from './cards';
import { classify } from '../platform/outbox/delivery';
import { untilWritten } from '../platform/outbox/kernel';
import type { Effect, Outbox } from '../platform/outbox/outbox';
import { ConnectorError, type Proactive } from '../platform/proactive';
import type { Announcement, Audience, Endpoint, Recipient, Status, Target } from './model';
import { report, resolveAudience, type AudienceSnapshot, type Report, type Resolution, type StoredRef } from './rules';
import { ANNOUNCEMENTS_TABLE, recipientEntity, type AnnouncementStore } from './store';
import { parseReference } from '../platform/conversations/reference';

/**
 * What happens once an announcement is sent: its recipients are worked out, and each one's row is
 * written with its message in the outbox (platform/outbox/outbox.ts), which delivers them at the
 * app's shared rate and records each outcome on the recipient's row; the coordinator's copy is
 * refreshed in place with the delivery report while sending.
 *
 * 1. Send: a timer is written first (at the send time when scheduled, or a couple of minutes ahead
 *    as a follow-up), then the announcement becomes `scheduled` or `sending`;
 * 2. dispatch (at once, or when the timer comes due): the audience is resolved and the recipients
 *    are committed RECIPIENTS_PER_COMMIT at a time, each recipient's row (pending) in the same
 *    entity-group transaction as its message in the outbox. A recipient whose row exists already
 *    (a dispatch a crash interrupted) is skipped: a row is never written without its message, so
 *    nobody is sent to twice and nobody is left out. Then the announcement is marked dispatched;
 * 3. the outbox sends (a person without a stored chat has one opened by their Entra object id);
 *    right before each send it asks whether the announcement is still being sent (a cancel stops
 *    the rest, recorded as not sent), and it writes sent, failed (with Teams' answer) or cancelled
 *    on the recipient's row in the transaction that settles the message;
 * 4. every recorded outcome marks the report dirty: the coordinator's copy is replaced at most every
 *    reportIntervalMs, and once nobody is pending the announcement is done. The follow-up timer
 *    comes back every FOLLOW_UP_MS while it is being sent and refreshes the copy itself, so a refresh
 *    lost to a stop or a crash (it is kept only in memory) still happens.
 *
 * What a crash can do is what the outbox says: a message owed is delivered by any instance within a
 * minute or so; one in flight at the crash may arrive twice. An interrupted dispatch is finished by
 * the timer.
 */

export const DISPATCH_TIMER = 'announce.dispatch';
/** When sent at once, the follow-up that finishes a dispatch a crash interrupted. */
export const FOLLOW_UP_MS = 2 * 60_000;
/** Recipients per transaction: each is two rows (theirs and their message), and a transaction holds 100. */
const RECIPIENTS_PER_COMMIT = 50;
const STILL = 'announcements.still';
const PROGRESSED = 'announcements.progressed';

export interface AnnouncementTuning {
  /** How often the coordinator's copy is refreshed while sending (at most). */
  readonly reportIntervalMs: number;
  /** How long an instance trusts what it read of an announcement's status (a cancel reaches other instances' sending within this). */
  readonly statusTtlMs: number;
}

export const DEFAULT_TUNING: AnnouncementTuning = { reportIntervalMs: 3_000, statusTtlMs: 1_000 };

export type Activity = Record<string, unknown>;

export interface ServiceDeps {
  readonly store: AnnouncementStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly timers: Timers;
  readonly outbox: Outbox;
  readonly proactive: Proactive;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tuning: AnnouncementTuning;
  readonly partnershipName: string;
}

interface Content {
  readonly announcement: Announcement;
  readonly status: Status;
  readonly activity: Activity;
}

export class AnnouncementService {
  private readonly cache = new Map<string, { at: number; value: Promise<Content | undefined> }>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly dirty = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefresh = 0;
  /** Recipients of the largest announcement this instance is reporting on. */
  private largest = 0;
  private stopped = false;

  constructor(private readonly deps: ServiceDeps) {
    // Right before each recipient's send: is it still to go? (A cancel stops the rest.)
    deps.outbox.onCheck(STILL, async (data) => (await this.content(String(data)))?.status === 'sending');
    deps.outbox.on(PROGRESSED, async (data) => this.markDirty(String((data as { partitionKey?: unknown }).partitionKey)));
  }

  static newId(): string {
    return `an${randomBytes(5).toString('hex')}`;
  }

  start(): void {
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    await this.settleBackground();
    await this.refreshing;
  }

  /** Tests: as if the process had died: no report refresh more (the outbox is halted with the instance). */
  halt(): void {
    this.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  private async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  track(p: Promise<unknown>): void {
    const wrapped = p.catch((err) => this.deps.logger.error({ err: { message: (err as Error).message } }, 'announcement follow-up failed'));
    this.background.add(wrapped);
    void wrapped.finally(() => this.background.delete(wrapped));
  }

  async schools(): Promise<School[]> {
    return this.deps.directory.schools(30_000);
  }

  // ---------------------------------------------------------------------------------------------
  // The message recipients get

  messageCard(a: Announcement, mine = ''): AdaptiveCard {
    return renderCard('announceMessage', messageCardData(a, this.deps.partnershipName, mine));
  }

  /** The activity every recipient is sent. */
  messageActivity(a: Announcement): Activity {
    const summary = (a.title || a.text).replace(/\s+/g, ' ').slice(0, 100);
    const activity: Activity = { type: 'message', summary, importance: a.importance === 'normal' ? 'normal' : 'high', attachments: [cardAttachment(this.messageCard(a))] };
    if (a.importance === 'urgent') activity.channelData = { notification: { alert: true } };
    return activity;
  }

  /** Status and message, cached for statusTtlMs (a cancel on another instance is seen within it). */
  content(id: string): Promise<Content | undefined> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && now - hit.at <= this.deps.tuning.statusTtlMs) return hit.value;
    const value = this.deps.store.get(id).then((loaded) => (loaded ? { announcement: loaded.announcement, status: loaded.announcement.status, activity: this.messageActivity(loaded.announcement) } : undefined));
    value.catch(() => this.cache.delete(id));
    this.cache.set(id, { at: now, value });
    if (this.cache.size > 200) for (const key of [...this.cache.keys()].slice(0, 100)) this.cache.delete(key);
    return value;
  }

  forget(id: string): void {
    this.cache.delete(id);
  }

  // ---------------------------------------------------------------------------------------------
  // Who it goes to

  /** Reads what the audience needs from the directory and the stored conversations. */
  async snapshot(audience: Audience, via: Endpoint | undefined): Promise<AudienceSnapshot> {
    const { directory, conversations } = this.deps;
    const [schools, staff, channels] = await Promise.all([directory.schools(), directory.staff(), directory.channels()]);
    const reps = staff.filter((p) => p.isRep).map((p) => ({ aadObjectId: p.aadObjectId, name: p.name, schoolId: p.schoolId }));
    const chats = new Map<string, StoredRef>();
    const personal = new Map<string, StoredRef>();
    const schoolOf = new Map<string, string>();
    if (audience.kind === 'everyone') {
      const [all, people] = await Promise.all([conversations.all(), directory.allPeople()]);
      for (const { aadObjectId, conversation } of all) {
        const ref = storedRef(conversation);
        if (!ref) continue;
        if (aadObjectId) personal.set(aadObjectId, ref);
        else chats.set(ref.conversationId, ref);
      }
      for (const p of people) if (p.schoolId) schoolOf.set(p.aadObjectId, p.schoolId);
    } else {
      const wanted = channels.filter((c) =>
        audience.kind === 'announcements' ? c.role.kind === 'announcements' : audience.kind === 'schools' ? c.role.kind === 'school' : audience.kind === 'school' ? c.role.kind === 'school' && c.role.schoolId === audience.schoolId : false,
      );
      for (const c of wanted) {
        const ref = storedRef(await conversations.conversation(c.conversationId));
        if (ref) chats.set(c.conversationId, ref);
      }
      const wantedReps = audience.kind === 'reps' ? reps : audience.kind === 'school' ? reps.filter((r) => r.schoolId === audience.schoolId) : [];
      await Promise.all(
        wantedReps.map(async (r) => {
          const ref = storedRef(await conversations.personal(r.aadObjectId));
          if (ref) personal.set(r.aadObjectId.toLowerCase(), ref);
        }),
      );
    }
    return { schools, reps, channels, chats, personal, schoolOf, via };
  }

  async resolve(audience: Audience, via: Endpoint | undefined): Promise<Resolution> {
    return resolveAudience(audience, await this.snapshot(audience, via));
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  /**
   * Starts sending (or scheduling) a draft the person confirmed. The dispatch timer is written first,
   * so a crash right after still sends. Returns the announcement as stored, or why not.
   */
  async send(id: string, expectVersion: number, copy: Announcement['copy']): Promise<{ ok: true; announcement: Announcement } | { ok: false; reason: 'missing' | 'stale' | 'notDraft'; announcement?: Announcement }> {
    const { store, timers, clock } = this.deps;
    return untilWritten(`announcement ${id} (send)`, async () => {
      const loaded = await store.get(id);
      if (!loaded) return { ok: false as const, reason: 'missing' as const };
      const a = loaded.announcement;
      if (a.status !== 'draft') return { ok: false as const, reason: 'notDraft' as const, announcement: a };
      if (a.version !== expectVersion) return { ok: false as const, reason: 'stale' as const, announcement: a };
      const now = clock.now();
      const scheduled = !!a.sendAt && a.sendAt.getTime() > now.getTime();
      await timers.schedule(DISPATCH_TIMER, id, scheduled ? a.sendAt! : new Date(now.getTime() + FOLLOW_UP_MS));
      const next: Announcement = scheduled ? { ...a, status: 'scheduled', copy: copy ?? a.copy } : { ...a, status: 'sending', sentAt: now, sendAt: undefined, copy: copy ?? a.copy };
      const saved = await store.save(next, loaded.etag);
      if (!saved.ok) return undefined;
      this.forget(id);
      if (!scheduled) this.track(this.dispatch(id));
      return { ok: true as const, announcement: next };
    });
  }

  /** Timer (and straight after Send): a due scheduled announcement starts sending; an interrupted dispatch is finished. */
  async dispatch(id: string): Promise<void> {
    const { store, clock, logger } = this.deps;
    await untilWritten(`announcement ${id} (dispatch)`, async () => {
      const loaded = await store.get(id);
      if (!loaded) return true;
      let { announcement: a, etag } = loaded;
      const now = clock.now();
      if (a.status === 'scheduled') {
        if (a.sendAt && a.sendAt.getTime() > now.getTime()) return true; // an old timer for a time since moved
        const saved = await store.save((a = { ...a, status: 'sending', sentAt: now }), etag);
        if (!saved.ok) return undefined;
        etag = saved.etag;
        this.forget(id);
        await this.deps.timers.schedule(DISPATCH_TIMER, id, new Date(now.getTime() + FOLLOW_UP_MS));
      }
      if (a.status !== 'sending') return true;
      if (a.dispatched) {
        // The follow-up: nothing to write; count again and refresh the copy now, so a send whose last
        // recipient was recorded elsewhere, or whose last refresh a stop or crash cut short, is still
        // marked done; and while anyone is still owed, come back.
        await this.refreshCopy(id).catch((err) => logger.warn({ err: { message: (err as Error).message }, announcement: id }, 'could not refresh an announcement report'));
        await this.followUpWhileSending(id, now);
        return true;
      }
      const resolution = await this.resolve(a.audience, a.via);
      const written = await this.commitRecipients(a, resolution.recipients);
      if (written === undefined) return undefined; // cancelled meanwhile: look again
      const saved = await store.save({ ...a, recipientsWritten: true, recipients: written, dispatched: true }, etag);
      if (!saved.ok) return undefined; // someone else changed it meanwhile (a cancel): look again; what was written stays written
      this.forget(id);
      logger.info({ announcement: id, recipients: written }, 'announcement dispatched');
      this.markDirty(id);
      // A dispatch a crash interrupted is finished by the follow-up, which is then used up: set the next.
      await this.followUpWhileSending(id, now);
      return true;
    });
  }

  /**
   * The next follow-up, while the announcement is being sent. Due times are on a fixed beat from when
   * sending began (every FOLLOW_UP_MS), so however often it is set, it is one timer.
   */
  private async followUpWhileSending(id: string, now: Date): Promise<void> {
    const loaded = await this.deps.store.get(id);
    const a = loaded?.announcement;
    if (a?.status !== 'sending') return;
    const start = (a.sentAt ?? now).getTime();
    const beats = Math.floor((now.getTime() - start) / FOLLOW_UP_MS) + 1;
    await this.deps.timers.schedule(DISPATCH_TIMER, id, new Date(start + beats * FOLLOW_UP_MS));
  }

  /**
   * Step 2: each recipient's row with their message, RECIPIENTS_PER_COMMIT to a transaction; a chunk
   * that meets rows written before (an interrupted dispatch) is written one recipient at a time,
   * skipping those. Returns how many recipients the announcement has, or undefined when it stopped
   * being sent meanwhile.
   */
  private async commitRecipients(a: Announcement, recipients: readonly Recipient[]): Promise<number | undefined> {
    const { outbox, store } = this.deps;
    const activity = this.messageActivity(a);
    const run = `${String(this.deps.clock.now().getTime()).padStart(15, '0')}${randomBytes(3).toString('hex')}`;
    const pending: Promise<void>[] = [];
    for (let start = 0; start < recipients.length; start += RECIPIENTS_PER_COMMIT) {
      if ((await this.content(a.id))?.status !== 'sending') return undefined;
      const chunk = recipients.slice(start, start + RECIPIENTS_PER_COMMIT);
      const stamp = `${run}|${String(start).padStart(6, '0')}`;
      const committed = await outbox.commit(ANNOUNCEMENTS_TABLE, a.id, chunk.map((r) => ['create', recipientEntity(a.id, r)] as const), chunk.map((r) => deliveryOf(a.id, r, activity)), stamp);
      if (committed) {
        pending.push(committed.delivered);
        continue;
      }
      for (const [i, r] of chunk.entries()) {
        const one = await outbox.commit(ANNOUNCEMENTS_TABLE, a.id, [['create', recipientEntity(a.id, r)]], [deliveryOf(a.id, r, activity)], `${stamp}-${String(i).padStart(2, '0')}`);
        if (one) pending.push(one.delivered);
      }
    }
    this.track(Promise.all(pending));
    return (await store.states(a.id)).length;
  }

  /** Stops a scheduled or sending announcement (what was sent stays sent). */
  async cancel(id: string, by: string): Promise<Announcement | undefined> {
    const { store, clock } = this.deps;
    const done = await untilWritten(`announcement ${id} (cancel)`, async () => {
      const loaded = await store.get(id);
      if (!loaded) return { announcement: undefined };
      const a = loaded.announcement;
      if (a.status === 'done' || a.status === 'cancelled') return { announcement: a };
      const next: Announcement = { ...a, status: 'cancelled', cancelledAt: clock.now(), cancelledBy: by };
      const saved = await store.save(next, loaded.etag);
      if (!saved.ok) return undefined;
      this.forget(id);
      this.markDirty(id);
      return { announcement: next };
    });
    return done.announcement;
  }

  // ---------------------------------------------------------------------------------------------
  // The report

  async reportOf(a: Announcement): Promise<Report | undefined> {
    if (a.status === 'draft' || a.status === 'scheduled') return undefined;
    const [states, acks, schools] = await Promise.all([this.deps.store.states(a.id), this.deps.store.acks(a.id), this.schools()]);
    return report(states, acks, schools, a.status, a.kept);
  }

  async reportCard(a: Announcement, r?: Report): Promise<AdaptiveCard> {
    const schools = await this.schools();
    const name = (id: string) => schools.find((s) => s.id === id)?.name ?? '';
    const message = this.messageCard(a) as { body?: unknown[] };
    return renderCard('announceReport', reportCardData(a, message, r ?? (await this.reportOf(a)), this.deps.clock.now(), name));
  }

  /** Marks an announcement complete when nobody is pending any more. Returns it as stored. */
  private async completeIfFinished(a: Announcement, etag: string, r: Report | undefined): Promise<Announcement> {
    if (a.status !== 'sending' || !a.dispatched || !r?.finished) return a;
    const next: Announcement = { ...a, status: 'done', completedAt: this.deps.clock.now() };
    const saved = await this.deps.store.save(next, etag);
    if (saved.ok) {
      this.forget(a.id);
      this.deps.logger.info({ announcement: a.id, sent: r.total.sent, failed: r.total.failed }, 'announcement finished');
      return next;
    }
    return a;
  }

  /** The current report, completing the announcement if it is finished (for the Refresh button). */
  async currentReport(id: string): Promise<{ announcement: Announcement; card: AdaptiveCard } | undefined> {
    const loaded = await this.deps.store.get(id);
    if (!loaded) return undefined;
    const r = await this.reportOf(loaded.announcement);
    const a = await this.completeIfFinished(loaded.announcement, loaded.etag, r);
    return { announcement: a, card: await this.reportCard(a, r) };
  }

  /** Something changed for this announcement: refresh the coordinator's copy soon (coalesced, at most every reportIntervalMs). */
  markDirty(id: string): void {
    if (this.stopped) return;
    this.dirty.add(id);
    if (this.refreshTimer || this.refreshing) return;
    // A big send is re-counted less often (each count reads every recipient's row): at most every reportIntervalMs, or 1 ms per recipient.
    const interval = Math.max(this.deps.tuning.reportIntervalMs, this.largest);
    const wait = Math.max(0, this.lastRefresh + interval - Date.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshing = this.refreshDirty().finally(() => {
        this.refreshing = undefined;
        this.lastRefresh = Date.now();
        if (this.dirty.size > 0 && !this.stopped) this.markDirty([...this.dirty][0]!);
      });
    }, wait);
    this.refreshTimer.unref();
  }

  private async refreshDirty(): Promise<void> {
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const id of ids) {
      await this.refreshCopy(id).catch((err) => {
        this.deps.logger.warn({ err: { message: (err as Error).message }, announcement: id }, 'could not refresh an announcement report');
        this.dirty.add(id);
      });
    }
  }

  /**
   * Replaces the coordinator's copy with the current report, through the same pacing as the
   * fan-out. Another instance may be refreshing the same copy with an older reading; so after a
   * refresh that was not final, the status is read again, and if it became final meanwhile the
   * copy is refreshed once more: the last update to reach Teams is the final state.
   */
  private async refreshCopy(id: string): Promise<void> {
    const loaded = await this.deps.store.get(id);
    if (!loaded) return;
    this.largest = Math.max(this.largest, loaded.announcement.recipients);
    const r = await this.reportOf(loaded.announcement);
    const a = await this.completeIfFinished(loaded.announcement, loaded.etag, r);
    if (a.status === 'done' || a.status === 'cancelled') this.largest = 0;
    if (!a.copy) return;
    const reference = parseReference(a.copy.reference);
    if (!reference?.serviceUrl || !reference.conversation?.id) return;
    const card = await this.reportCard(a, r);
    // In the messages' lane: the coordinator's own copy is no shared card, and it must not hold the fan-out up.
    try {
      await this.deps.proactive.update(reference, a.copy!.activityId, { type: 'message', attachments: [cardAttachment(card)] }, 'message');
    } catch (err) {
      if (err instanceof ConnectorError && classify(err.statusCode) !== 'retry') throw err;
      this.dirty.add(id);
      return;
    }
    const final = a.status === 'done' || a.status === 'cancelled';
    if (!final) {
      const after = await this.deps.store.get(id);
      if (after && (after.announcement.status === 'done' || after.announcement.status === 'cancelled' || (after.announcement.status === 'sending' && r?.finished))) this.dirty.add(id);
    }
  }

  /** Waits for dispatches, held items and report refreshes started so far (tests, shutdown). */
  async settle(): Promise<void> {
    await this.settleBackground();
    while (this.refreshTimer || this.refreshing) {
      if (this.refreshTimer) {
        clearTimeout(this.refreshTimer);
        this.refreshTimer = undefined;
        this.refreshing = this.refreshDirty().finally(() => {
          this.refreshing = undefined;
          this.lastRefresh = Date.now();
        });
      }
      await this.refreshing;
    }
  }
}

/** A stored conversation as the rules see it; undefined when the reference lacks what sending needs. */
export function storedRef(c: StoredConversation | undefined): StoredRef | undefined {
  const r = c?.reference;
  const conversationId = r?.conversation?.id;
  if (!c || !r?.serviceUrl || !conversationId) return undefined;
  return {
    conversationId,
    conversationKind: c.kind,
    serviceUrl: r.serviceUrl,
    tenantId: r.conversation?.tenantId ?? '',
    botId: r.bot?.id ?? '',
    label: c.label,
    teamId: c.teamId,
  };
}

/** A recipient's message in the outbox: to their conversation, or to the person (a personal chat opened for them). */
function deliveryOf(id: string, r: Recipient, activity: Activity): Effect {
  const t: Target = r.target;
  const still = { handler: STILL, data: id };
  const record = { row: r.key, notify: PROGRESSED };
  const bot = { id: t.botId, name: '' };
  if (t.kind === 'conversation') {
    const reference: Partial<ConversationReference> = { channelId: 'msteams', serviceUrl: t.serviceUrl, bot, conversation: { id: t.conversationId, conversationType: t.conversationKind, tenantId: t.tenantId, isGroup: t.conversationKind !== 'personal', name: '' } };
    return { kind: 'post', conversationId: t.conversationId, reference, activity, still, record };
  }
  const via: Partial<ConversationReference> = { channelId: 'msteams', serviceUrl: t.serviceUrl, bot, conversation: { id: '', tenantId: t.tenantId, isGroup: false, conversationType: 'personal', name: '' } };
  return { kind: 'tell', to: { aadObjectId: t.aadObjectId, teamsId: '', name: t.name }, via, activity, still, record };
}

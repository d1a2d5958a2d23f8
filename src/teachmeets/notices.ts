import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFactory, type ConversationReference } from 'botbuilder';
import { cardAttachment, renderCard } from '../platform/cards';
import type { Clock } from '../platform/clock';
import { parseReference } from '../platform/conversations/reference';
import type { Logger } from '../platform/logging';
import type { Proactive } from '../platform/proactive';
import { cancelledText, noticeCardData } from './cards';
import type { Aggregate } from './model';
import type { TeachMeetQueue } from './queue';
import { MAX_ROWS, overdueNotices, owedBroadcasts, owedNotice, owesBroadcast, type Intent, type Notice } from './rules';
import type { Post, TeachMeetStore } from './store';

/**
 * Personal messages about a TeachMeet: "your place is confirmed", "the place you were offered has gone",
 * "… has changed", "… is cancelled". Each is recorded in storage by the same commit as the change it
 * tells of (a notice on the person's row, or a broadcast on the event row that each person's
 * `toldVersion` catches up with), so none is lost if the instance stops before sending it.
 *
 * The instance that commits sends them, in commit order, NOTICE_SENDERS at a time at the pace Teams takes
 * (Proactive keeps to TEAMS_SEND_RATE), and records them as sent once its backlog for that event has
 * gone, in a few commits (bookkeeping only: no card changes). Notices still unsent RECOVER_AFTER_MS
 * after they were recorded (their instance stopped, or Teams would not take them) are found by the
 * scheduler's job on any instance, which claims the event's notices under its ETag, sends at most
 * RECOVER_AT_MOST of them, records them and lets go (the next look takes any more).
 *
 * An instance starts no send of its own after GIVE_UP_MS; one send (opening the chat, then the message,
 * each up to four tries of 30 s with waits of at most 30 s between) ends within about 7 minutes, so it
 * is over long before RECOVER_AFTER_MS and the recovery job never sends what is still on its way. The
 * window for a repeat is a stop between a send and the commit recording it.
 */

const NOTICE_SENDERS = 24;
/** A notice this instance has not started to send by then is left for the recovery job. */
export const GIVE_UP_MS = 3 * 60_000;
/** Notices recorded this long ago and still unsent are sent by the recovery job. */
export const RECOVER_AFTER_MS = 15 * 60_000;
/**
 * How long a recovering instance holds an event's notices. It starts no send after RECOVERY_STARTS_MS
 * (what is left waits for the next look), so its last send is over before the hold runs out.
 */
const CLAIM_MS = 15 * 60_000;
const RECOVERY_STARTS_MS = 7 * 60_000;
const RECOVER_AT_MOST = 500;
/** How often each instance looks for events with notices left unsent (a query over the event rows). */
export const RECOVERY_LOOK_MS = 5 * 60_000;
/** Sent notices are recorded once the event's queue is quiet and this instance has none left to send for it, or after this long. */
const MARK_QUIET_MS = 500;
const MARK_AT_MOST_AFTER_MS = 5_000;

export interface NoticeDeps {
  readonly queue: TeachMeetQueue;
  readonly store: TeachMeetStore;
  readonly proactive: Proactive;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Keeps background work so `settle()` and shutdown can wait for it. */
  track(p: Promise<unknown>): void;
}

interface Job {
  readonly eventId: string;
  run(): Promise<void>;
}

export class TeachMeetNotices {
  private readonly jobs: Job[] = [];
  private senders = 0;
  /** Per event: notices queued or being sent here (sent ones are recorded once there are none). */
  private readonly inFlight = new Map<string, number>();
  private readonly marks = new Map<string, Intent[]>();
  /** Per event, the commit that will record the sends noted so far. */
  private readonly marking = new Map<string, Promise<void>>();
  /** Per event and person, the broadcast version told by this instance and not yet recorded (so one message covers each change once). */
  private readonly toldHere = new Map<string, Map<string, number>>();
  /** Per event and person, the notice being sent now: one person's notices go one after another. */
  private readonly personal = new Map<string, Promise<void>>();
  /** Events whose left-over notices this instance is sending now. */
  private readonly recovering = new Set<string>();
  /** This instance, as it signs its claims on other instances' notices. */
  private readonly id = randomBytes(6).toString('hex');
  private lastLook = -Infinity;

  constructor(private readonly deps: NoticeDeps) {}

  private elapsed(): number {
    return this.deps.clock.elapsed();
  }

  /** Queues this commit's notices; resolves once they have gone (or been left for the recovery job). */
  send(agg: Aggregate, posts: readonly Post[], notices: readonly Notice[]): Promise<void> {
    return this.enqueue(agg, posts, notices, { startBy: this.elapsed() + GIVE_UP_MS, recovering: false });
  }

  /** Queues notices to be sent in order; any not started by `startBy` (on `elapsed`) are left unsent. */
  private enqueue(agg: Aggregate, posts: readonly Post[], notices: readonly Notice[], how: { startBy: number; recovering: boolean }): Promise<void> {
    const eventId = agg.event.id;
    const sends = notices
      .filter((n) => n.kind !== 'offer' && n.kind !== 'waitlisted') // offers have their own durable path; a waitlist place is on the card
      .map(
        (notice) =>
          new Promise<void>((resolve, reject) => {
            this.inFlight.set(eventId, (this.inFlight.get(eventId) ?? 0) + 1);
            this.jobs.push({
              eventId,
              run: () =>
                // Checked when the send would start (after any earlier one to the same person), so none starts late.
                this.inTurn(eventId, notice.aadObjectId, () => (this.elapsed() > how.startBy ? Promise.resolve() : this.sendOne(agg, posts, notice, how.recovering))).then(resolve, reject).finally(() => {
                  const left = (this.inFlight.get(eventId) ?? 1) - 1;
                  if (left > 0) this.inFlight.set(eventId, left);
                  else this.inFlight.delete(eventId);
                }),
            });
          }),
      );
    this.pump();
    return Promise.allSettled(sends).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  /**
   * Scheduler job (every tick; looks every RECOVERY_LOOK_MS): sends the notices recorded more than
   * RECOVER_AFTER_MS ago and still unsent, for each event that has any, after claiming them (one
   * instance does each event at a time).
   */
  async recover(now: Date): Promise<void> {
    if (now.getTime() - this.lastLook < RECOVERY_LOOK_MS) return;
    this.lastLook = now.getTime();
    const before = new Date(now.getTime() - RECOVER_AFTER_MS);
    for (const eventId of await this.deps.store.withNoticesSince(before)) {
      if (this.recovering.has(eventId)) continue; // still sending the last round
      try {
        const claimed = await this.deps.queue.submit(eventId, { kind: 'claimNotices', by: this.id, until: new Date(now.getTime() + CLAIM_MS).toISOString() });
        if (!claimed.outcome.ok) continue;
        const overdue = overdueNotices(claimed.agg, before).slice(0, RECOVER_AT_MOST);
        this.deps.logger.info({ eventId, notices: overdue.length }, 'sending TeachMeet notices left unsent');
        this.recovering.add(eventId);
        this.deps.track(
          (async () => {
            try {
              await this.enqueue(claimed.agg, claimed.posts, overdue, { startBy: this.elapsed() + RECOVERY_STARTS_MS, recovering: true });
              await this.marking.get(eventId);
              // Let go (refused, harmlessly, if the hold ran out and another instance has them now).
              await this.deps.queue.submit(eventId, { kind: 'claimNotices', by: this.id, until: this.deps.clock.now().toISOString() });
            } finally {
              this.recovering.delete(eventId);
            }
          })(),
        );
      } catch (err) {
        this.deps.logger.warn({ err: { message: (err as Error).message }, eventId }, 'could not recover TeachMeet notices');
      }
    }
  }

  /** Runs `job` after any notice to the same person about the same event that is being sent now. */
  private inTurn(eventId: string, aadObjectId: string, job: () => Promise<void>): Promise<void> {
    const key = `${eventId}|${aadObjectId}`;
    const run = (this.personal.get(key) ?? Promise.resolve()).then(job, job);
    this.personal.set(key, run);
    const done = () => {
      if (this.personal.get(key) === run) this.personal.delete(key);
    };
    run.then(done, done);
    return run;
  }

  private pump(): void {
    while (this.senders < NOTICE_SENDERS && this.jobs.length > 0) {
      const job = this.jobs.shift()!;
      this.senders += 1;
      void job.run().finally(() => {
        this.senders -= 1;
        this.pump();
      });
    }
  }

  /**
   * Sends one notice from the event as it is now (someone who cancelled meanwhile is not told their place
   * is confirmed), then records it as sent. When Teams does not take it, it stays recorded for the
   * recovery job, which tries once more and then gives up (`recovering`).
   */
  private async sendOne(committed: Aggregate, posts: readonly Post[], notice: Notice, recovering: boolean): Promise<void> {
    const eventId = committed.event.id;
    const latest = this.deps.queue.latest(eventId);
    const agg = latest && latest.event.version >= committed.event.version ? latest : committed;
    const e = agg.event;
    const s = agg.signUps.get(notice.aadObjectId);
    if (!s) return;
    const now = this.deps.clock.now();
    let card: ReturnType<typeof noticeCardData>;
    let mark: Intent;
    switch (notice.kind) {
      case 'confirmed':
      case 'offerExpired': {
        const owed = owedNotice(s, e);
        if (owed?.kind !== notice.kind) return; // superseded, already sent, or the event is cancelled
        mark = { kind: 'noticeSent', aadObjectId: s.aadObjectId, notice: owed.kind, at: owed.at.toISOString() };
        card =
          notice.kind === 'confirmed'
            ? noticeCardData(e, s.role === 'presenter' && s.talk ? "You're presenting" : 'Your place is confirmed', s.role === 'presenter' && s.talk ? `${s.talk.slot} min, '${s.talk.title}'. Add it to your calendar so you don't miss it.` : `See you there. Add it to your calendar so you don't miss it.`, now, true)
            : noticeCardData(e, 'The place you were offered has gone', 'The offer expired before it was accepted, so the place went to the next person waiting.', now, false);
        break;
      }
      case 'changed':
      case 'eventCancelled': {
        // Everything owed up to this broadcast, in one message: a change an earlier instance never sent is told too.
        const toldUpTo = Math.max(s.toldVersion, this.toldHere.get(eventId)?.get(s.aadObjectId) ?? 0);
        const owed = owesBroadcast(s, notice) ? owedBroadcasts(e, toldUpTo, notice.v) : undefined;
        if (!owed) return;
        mark = { kind: 'broadcastTold', aadObjectId: s.aadObjectId, v: notice.v };
        card =
          owed.kind === 'changed'
            ? noticeCardData(e, `${e.title} has changed`, `What changed: ${owed.what.join('; ')}.`, now, s.status === 'confirmed')
            : noticeCardData(e, `${e.title} is cancelled`, cancelledText(e), now, false);
        break;
      }
      default:
        return;
    }
    const sent = await this.deps.proactive.toPerson({ aadObjectId: s.aadObjectId, teamsId: s.teamsId, name: s.name }, viaOf(posts), MessageFactory.attachment(cardAttachment(renderCard('teachmeetNotice', card))));
    if (!sent && recovering) this.deps.logger.warn({ eventId, kind: notice.kind }, 'gave up on a TeachMeet notice Teams would not take');
    if (!sent && !recovering) return;
    if (mark.kind === 'broadcastTold') {
      const told = this.toldHere.get(eventId) ?? new Map<string, number>();
      told.set(mark.aadObjectId, Math.max(mark.v, told.get(mark.aadObjectId) ?? 0));
      this.toldHere.set(eventId, told);
    }
    this.recordSent(eventId, mark);
  }

  /** Notes a sent notice; the event's marks are committed together once its queue and its sends here are quiet. */
  private recordSent(eventId: string, mark: Intent): void {
    const list = this.marks.get(eventId);
    if (list) {
      list.push(mark);
      return;
    }
    this.marks.set(eventId, [mark]);
    const committing = this.commitMarks(eventId).finally(() => {
      if (this.marking.get(eventId) === committing) this.marking.delete(eventId);
    });
    this.marking.set(eventId, committing);
    this.deps.track(committing);
  }

  private async commitMarks(eventId: string): Promise<void> {
    const started = performance.now();
    for (;;) {
      await sleep(MARK_QUIET_MS);
      const waiting = this.marks.get(eventId)?.length ?? 0;
      const quiet = !this.deps.queue.busy(eventId) && !this.inFlight.has(eventId);
      if (quiet || waiting >= MAX_ROWS || performance.now() - started > MARK_AT_MOST_AFTER_MS) break;
    }
    const marks = this.marks.get(eventId) ?? [];
    this.marks.delete(eventId);
    // Submitted together, so the queue commits them in as few transactions as the rows allow.
    const results = await Promise.allSettled(marks.map((m) => this.deps.queue.submit(eventId, m)));
    // Recorded now, so the stored toldVersion speaks for them (or not, and they are owed again: a repeat, never a loss).
    const told = this.toldHere.get(eventId);
    for (const m of marks) if (m.kind === 'broadcastTold' && told && (told.get(m.aadObjectId) ?? 0) <= m.v) told.delete(m.aadObjectId);
    if (told?.size === 0) this.toldHere.delete(eventId);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Not recorded: the recovery job will send them again (a repeat, never a loss).
    if (failed) this.deps.logger.warn({ err: { message: (failed.reason as Error).message }, eventId }, 'could not record TeachMeet notices as sent');
  }
}

export function viaOf(posts: readonly Post[]): Partial<ConversationReference> | undefined {
  for (const post of posts) {
    const reference = parseReference(post.reference);
    if (reference) return reference;
  }
  return undefined;
}

import { z } from 'zod';
import { defineAction, type ActionResult, type ActionSpec } from '../platform/actions';
import { renderCard } from '../platform/cards';
import type { CommandSpec } from '../platform/commands';
import type { DeadlineStore, StoredDeadline } from '../platform/deadlines/store';
import type { DirectoryStore } from '../platform/directory/store';
import { formatDayTime, londonDate } from '../platform/time';
import type { Turn } from '../platform/turn';
import { deadlinesCardData } from './cards';
import type { Policy } from './model';
import { addHoliday, decide, describePolicy, holidayText, mustAct, nextLook, parseDay, parseHoliday, parseHours, parseLadder, removeHolidays, snooze, stopReminding } from './rules';
import type { NudgeService } from './service';
import type { NudgeStore } from './store';

/** Nudge buttons (Snooze, Stop reminding me) and the coordinators' commands: deadlines, holidays, nudge policy. */

export interface NudgeRouteDeps {
  readonly service: NudgeService;
  readonly store: NudgeStore;
  readonly deadlines: DeadlineStore;
  readonly directory: DirectoryStore;
  readonly partnershipName: string;
}

const DeadlineId = z.string().trim().min(1).max(400);
/** The London day the nudge message was sent (its buttons carry it, to show that day's card again). */
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

const SnoozeData = z.object({ deadlineId: DeadlineId, until: z.enum(['day', 'dayBefore']), day: Day.optional() }).strict();
const StopData = z.object({ deadlineId: DeadlineId, day: Day.optional() }).strict();

const NOT_FOUND = "I can't find that reminder. It may have been withdrawn.";

export function nudgeRoutes(deps: NudgeRouteDeps): { commands: CommandSpec[]; actions: ActionSpec[] } {
  const { service, store, deadlines, directory } = deps;

  /** Finds the item and checks the person pressing is one of those it is for; a message when not. */
  async function mine(turn: Turn, id: string): Promise<StoredDeadline | ActionResult> {
    const item = await deadlines.get(id);
    if (!item) {
      turn.record.outcome = 'invalid';
      return { message: NOT_FOUND };
    }
    if (!mustAct(item, turn.person)) {
      turn.record.outcome = 'refused';
      return { message: "That reminder is for someone else, so I haven't changed it." };
    }
    return item;
  }

  /** The card the person pressed, in its new state, with what happened on top; or just the words. */
  async function answer(turn: Turn, day: string | undefined, notice: string): Promise<ActionResult> {
    if (!day) return { message: notice };
    return { card: await service.digestView({ ...turn.person, aadObjectId: turn.actor.aadObjectId }, day, turn.now, notice) };
  }

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'nudge.snooze',
      data: SnoozeData,
      audience: 'everyone',
      async run(turn, data) {
        const found = await mine(turn, data.deadlineId);
        if ('message' in found || 'card' in found) return found;
        const policy = await store.policy();
        const changed = await deadlines.update(data.deadlineId, (item) => {
          const decided = snooze(item, data.until, policy, turn.now);
          if (!decided.ok) return { ok: false, result: decided.message };
          const nextAt = nextLook(decide({ ...item, progress: decided.progress }, policy, turn.now), turn.now);
          return { ok: true, progress: decided.progress, nextAt, result: `Snoozed: I'll remind you about this again on ${formatDayTime(decided.until, turn.now)}.` };
        });
        if (!changed) return { message: NOT_FOUND };
        if (!changed.changed) {
          turn.record.outcome = 'refused';
          return { message: changed.result };
        }
        return answer(turn, data.day, changed.result);
      },
    }),
    defineAction({
      verb: 'nudge.stop',
      data: StopData,
      audience: 'everyone',
      async run(turn, data) {
        const found = await mine(turn, data.deadlineId);
        if ('message' in found || 'card' in found) return found;
        const changed = await deadlines.update(data.deadlineId, (item) => {
          const decided = stopReminding(item, turn.actor.aadObjectId);
          if (!decided.ok) return { ok: false, result: decided.message };
          // One person's "stop" ends the item's nudges only when it is theirs alone.
          const nextAt = item.who.kind === 'person' ? undefined : item.nextAt;
          return { ok: true, progress: decided.progress, nextAt, result: "Done: I won't remind you about this again." };
        });
        if (!changed) return { message: NOT_FOUND };
        if (!changed.changed) {
          turn.record.outcome = 'refused';
          return { message: changed.result };
        }
        return answer(turn, data.day, changed.result);
      },
    }),
  ];

  async function schoolNames() {
    const schools = await directory.schools();
    return (id: string) => schools.find((s) => s.id === id)?.name ?? '';
  }

  function policyLines(policy: Policy, now: Date): string {
    return describePolicy(policy, now).join('\n\n');
  }

  async function change(turn: Turn, apply: (policy: Policy) => { ok: true; policy: Policy; message: string } | { ok: false; message: string }) {
    const result = await store.changePolicy(apply);
    if (!result.ok) {
      await turn.refuse(result.message);
      return;
    }
    await turn.reply(result.message);
  }

  const commands: CommandSpec[] = [
    {
      name: 'deadlines',
      usage: 'deadlines',
      summary: 'Upcoming and overdue deadlines across the partnership, by school',
      audience: 'coordinator',
      async run(turn) {
        const open = await deadlines.open();
        await turn.replyCard(renderCard('nudgeDeadlines', deadlinesCardData(open, turn.now, await schoolNames(), deps.partnershipName)));
      },
    },
    {
      name: 'holidays',
      usage: 'holidays',
      summary: 'The holidays and INSET days when nobody is nudged',
      audience: 'rep',
      async run(turn) {
        const policy = await store.policy();
        const today = londonDate(turn.now);
        const coming = policy.holidays.filter((h) => h.to >= today);
        const lines = coming.map((h) => `- ${holidayText(h, turn.now)}`);
        await turn.reply(
          coming.length === 0
            ? 'No holidays are set, so nudges go out on every school day. Coordinators add them with `holidays add 19 Dec 2026 - 4 Jan 2027 Christmas`.'
            : `No nudges on these days:\n\n${lines.join('\n')}\n\nCoordinators change them with \`holidays add …\` and \`holidays remove\` with a day in the break.`,
        );
      },
    },
    {
      name: 'holidays add',
      usage: 'holidays add <first day> - <last day> <name>',
      summary: 'Add a term break or INSET day: no nudges then',
      audience: 'coordinator',
      async run(turn, input) {
        const parsed = parseHoliday(input.text, turn.now);
        if (!parsed.ok) {
          await turn.refuse(parsed.message);
          return;
        }
        await change(turn, (policy) => ({ ok: true, policy: addHoliday(policy, parsed.holiday), message: `Added: ${holidayText(parsed.holiday, turn.now)}. Nobody is nudged on those days.` }));
      },
    },
    {
      name: 'holidays remove',
      usage: 'holidays remove <day>',
      summary: 'Remove the holiday that includes a day',
      audience: 'coordinator',
      async run(turn, input) {
        const day = parseDay(input.text, turn.now);
        if (!day) {
          await turn.refuse('Name one day of the holiday to remove, e.g. `holidays remove 19 Dec 2026`.');
          return;
        }
        await change(turn, (policy) => {
          const { policy: next, removed } = removeHolidays(policy, day);
          if (removed.length === 0) return { ok: false, message: `No holiday includes ${holidayText({ from: day, to: day, label: '' }, turn.now)}. Type \`holidays\` to see them.` };
          return { ok: true, policy: next, message: `Removed: ${removed.map((h) => holidayText(h, turn.now)).join('; ')}.` };
        });
      },
    },
    {
      name: 'nudges',
      usage: 'nudges',
      summary: 'When nudges go out: school hours, the days before a deadline, holidays',
      audience: 'coordinator',
      async run(turn) {
        const policy = await store.policy();
        await turn.reply(`${policyLines(policy, turn.now)}\n\nChange them with \`nudges hours 08:00-17:00\`, \`nudges ladder 7 2 0\` and \`holidays add …\`.`);
      },
    },
    {
      name: 'nudges hours',
      usage: 'nudges hours <start>-<end>',
      summary: 'Set the school hours nudges go out in',
      audience: 'coordinator',
      async run(turn, input) {
        const parsed = parseHours(input.text);
        if (!parsed.ok) {
          await turn.refuse(parsed.message);
          return;
        }
        await change(turn, (policy) => {
          const next = { ...policy, start: parsed.start, end: parsed.end };
          return { ok: true, policy: next, message: `Nudges now go out ${parsed.start}–${parsed.end}.\n\n${policyLines(next, turn.now)}` };
        });
      },
    },
    {
      name: 'nudges ladder',
      usage: 'nudges ladder <days before> …',
      summary: 'Set how many days before a deadline reps are nudged',
      audience: 'coordinator',
      async run(turn, input) {
        const parsed = parseLadder(input.text);
        if (!parsed.ok) {
          await turn.refuse(parsed.message);
          return;
        }
        await change(turn, (policy) => {
          const next = { ...policy, ladder: parsed.ladder };
          return { ok: true, policy: next, message: `Done. ${policyLines(next, turn.now)}\n\nDeadlines registered from now on follow it; those already planned follow it from their next nudge.` };
        });
      },
    },
  ];

  return { commands, actions };
}

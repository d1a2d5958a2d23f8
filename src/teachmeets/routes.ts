import { randomInt } from 'node:crypto';
import { MessageFactory, TurnContext } from 'botbuilder';
import { z } from 'zod';
import { MissingAggregate } from '../platform/outbox/batch';
import { cardId, cardText, defineAction, type ActionResult, type ActionSpec } from '../platform/actions';
import { cardAttachment, renderCard } from '../platform/cards';
import type { CommandSpec } from '../platform/commands';
import type { ConversationStore } from '../platform/conversations/store';
import type { DirectoryStore } from '../platform/directory/store';
import type { Person } from '../platform/identity';
import { pupilDataWarnings, type PupilDataWarning } from '../platform/pupilData';
import { formatDayTime } from '../platform/time';
import type { Turn } from '../platform/turn';
import { attendeeRows, confirmCancelEventData, confirmCancelPlaceData, eventCardData, formCardData, FORM_FREE_TEXT, myStatus, noticeCardData, presentCardData, whenText, whereText } from './cards';
import { checkForm, FormInput, type FormValues } from './form';
import type { Aggregate, PersonRef, SlotLength, TeachMeet } from './model';
import { cancelNeedsConfirmation, mayOrganise, type Intent } from './rules';
import { TeachMeetService, type Committed } from './service';
import type { TeachMeetStore } from './store';

/** TeachMeet commands and card buttons: parse with zod, check who may act, call the rules through the queue, answer with a card. */

export interface TeachMeetRouteDeps {
  readonly service: TeachMeetService;
  readonly store: TeachMeetStore;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  /** A short-lived link to the attendee list as CSV. */
  csvLink(eventId: string, now: Date): { url: string; validFor: string };
  /** Whether the coordinators let school reps announce: a rep's TeachMeet goes to the announcements channel only then. */
  repsMayAnnounce(): Promise<boolean>;
}

/** Whether `answer` already tells what the `status` sentence would ("…: you're number 3 on the waitlist." and "You're number 3 on the waitlist."). */
function saysAlready(answer: string, status: string): boolean {
  return answer.toLowerCase().includes(status.toLowerCase().replace(/\.$/, ''));
}

const EventRef = z.object({ eventId: cardId }).strip();

export function teachMeetRoutes(deps: TeachMeetRouteDeps): { commands: CommandSpec[]; actions: ActionSpec[] } {
  const { service, directory } = deps;

  const personRef = (turn: Turn): PersonRef => ({ aadObjectId: turn.actor.aadObjectId, teamsId: turn.actor.teamsId, name: turn.actor.name, schoolId: turn.person.schoolId ?? '' });

  async function hostSchools(person: Person) {
    const schools = await directory.schools();
    return person.isCoordinator ? schools : schools.filter((s) => s.id === person.schoolId);
  }

  /** Whether `person` may post a new TeachMeet in the announcements channel too (there is one, and they may announce). */
  async function hasAnnouncements(person: Person) {
    if (!(await directory.channels()).some((c) => c.role.kind === 'announcements')) return false;
    return person.isCoordinator || (await deps.repsMayAnnounce());
  }

  /** The schools an edit may host the event at: any for a coordinator; otherwise the person's own school or where it is now. */
  async function editHostSchools(person: Person, event: TeachMeet) {
    const schools = await directory.schools();
    if (person.isCoordinator) return schools;
    return schools.filter((s) => s.id === person.schoolId || (event.host.kind === 'school' && s.id === event.host.schoolId));
  }

  async function eventCard(turn: Turn, agg: Aggregate, headline?: string) {
    const names = await service.schoolNames();
    const data = eventCardData(agg, turn.now, names, {
      viewer: turn.actor.aadObjectId,
      canOrganise: mayOrganise(turn.person, agg.event),
      organisers: await service.organiserIds(agg.event),
      onlyReader: turn.conversation.kind === 'personal',
    });
    const status = myStatus(agg, turn.actor.aadObjectId, turn.now);
    // The answer first, then where the person stands, unless the answer has said it already ("…: you're number 3 on the waitlist.").
    const mine = !headline ? (status ?? '') : status && !saysAlready(headline, status) ? `${headline} ${status}` : headline;
    return { card: renderCard('teachmeetEvent', { ...data, mine, hasMine: !!mine }) };
  }

  /** Runs an intent through the event's queue and answers with the person's own view of the card. */
  async function change(turn: Turn, eventId: string, intent: Intent): Promise<ActionResult> {
    let committed: Committed;
    try {
      committed = await service.change(eventId, intent);
    } catch (err) {
      if (err instanceof MissingAggregate) {
        turn.record.outcome = 'invalid';
        return { message: "I can't find that TeachMeet. It may have been removed." };
      }
      throw err;
    }
    if (!committed.outcome.ok) turn.record.outcome = 'refused';
    return eventCard(turn, committed.agg, committed.outcome.message);
  }

  async function loadForOrganiser(turn: Turn, eventId: string): Promise<{ agg: Aggregate; posts: Committed['posts'] } | ActionResult> {
    const loaded = await service.queue.read(eventId);
    if (!loaded) {
      turn.record.outcome = 'invalid';
      return { message: "I can't find that TeachMeet. It may have been removed." };
    }
    if (!mayOrganise(turn.person, loaded.agg.event)) {
      turn.record.outcome = 'refused';
      return { message: `Only the organiser (${loaded.agg.event.organiser.name}), the host school's reps or a coordinator can do that.` };
    }
    return { agg: loaded.agg, posts: loaded.posts };
  }

  /** Free text that may name a pupil, unless the writer has said it does not ("… anyway: it is not a pupil"). */
  async function pupilData(fields: Readonly<Record<string, string>>, checked: 'yes' | undefined): Promise<PupilDataWarning[]> {
    if (checked === 'yes') return [];
    return pupilDataWarnings(fields, (await directory.schools()).map((s) => s.name));
  }
  const formFreeText = (values: FormValues) => Object.fromEntries(Object.keys(FORM_FREE_TEXT).map((f) => [f, values[f as keyof typeof FORM_FREE_TEXT]]));
  const pupilDataChecked = z.object({ pupilDataChecked: z.literal('yes').optional() });

  const formData = z
    .object({ eventId: z.union([cardId, z.literal('')]).optional(), version: z.union([z.string().max(12), z.number()]).optional() })
    .merge(FormInput)
    .merge(pupilDataChecked)
    .strip();

  const commands: CommandSpec[] = [
    {
      name: 'teachmeet new',
      usage: 'teachmeet new',
      summary: 'Create a TeachMeet and post its sign-up card here',
      audience: 'rep',
      async run(turn) {
        const schools = await hostSchools(turn.person);
        await turn.replyCard(renderCard('teachmeetForm', formCardData({ mode: 'new', schools, hasAnnouncements: await hasAnnouncements(turn.person) })));
      },
    },
    {
      name: 'teachmeets',
      usage: 'teachmeets',
      summary: 'List upcoming TeachMeets',
      audience: 'everyone',
      async run(turn) {
        const events = (await deps.store.events()).filter((s) => s.event.endsAt > turn.now).reverse();
        const items = events.slice(0, 20).map((s) => ({
          eventId: s.event.id,
          title: s.event.title,
          when: whenText(s.event, turn.now),
          where: whereText(s.event),
          status: s.event.status === 'cancelled' ? 'Cancelled' : s.event.deadline <= turn.now ? 'Closed' : 'Open',
          placesLine: `${Math.max(0, s.event.places - s.attending)} of ${s.event.places} places left`,
        }));
        await turn.replyCard(renderCard('teachmeetList', { items, hasItems: items.length > 0 }));
      },
    },
    {
      name: 'my teachmeets',
      usage: 'my teachmeets',
      summary: 'The TeachMeets you attended or presented at (your CPD record)',
      audience: 'everyone',
      async run(turn) {
        const mine = await deps.store.signUpsOf(turn.actor.aadObjectId);
        const events = new Map((await deps.store.events()).map((s) => [s.event.id, s.event]));
        const items = mine
          .filter((m) => m.signUp.status !== 'cancelled' && events.get(m.eventId)?.status !== 'cancelled')
          .map((m) => ({ m, e: events.get(m.eventId)! }))
          .filter(({ e }) => !!e)
          .sort((a, b) => a.e.startsAt.getTime() - b.e.startsAt.getTime())
          .map(({ m, e }) => {
            const past = e.endsAt <= turn.now;
            const role = m.signUp.status !== 'confirmed' ? 'on the waitlist' : m.signUp.role === 'presenter' && m.signUp.talk ? `${past ? 'presented' : 'presenting'} '${m.signUp.talk.title}' (${m.signUp.talk.slot} min)` : past ? 'attended' : 'attending';
            return { when: formatDayTime(e.startsAt, turn.now), text: `${e.title}: ${role}` };
          });
        await turn.replyCard(renderCard('teachmeetMine', { items, hasItems: items.length > 0 }));
      },
    },
  ];

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'teachmeet.create',
      once: true,
      data: formData,
      audience: 'rep',
      async run(turn, data) {
        const schools = await hostSchools(turn.person);
        const values = asValues(data);
        const checked = checkForm(values, schools, turn.now);
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetForm', formCardData({ mode: 'new', values, errors: checked.errors, schools, hasAnnouncements: await hasAnnouncements(turn.person) })) };
        }
        const warnings = await pupilData(formFreeText(values), data.pupilDataChecked);
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetForm', formCardData({ mode: 'new', values, schools, hasAnnouncements: await hasAnnouncements(turn.person), pupilData: warnings })) };
        }
        const d = checked.draft;
        const event: TeachMeet = {
          id: TeachMeetService.newId(),
          title: d.title,
          theme: d.theme,
          host: d.host,
          startsAt: d.startsAt,
          endsAt: d.endsAt,
          venue: d.venue,
          link: d.link,
          places: d.places,
          slots: d.slots,
          deadline: d.deadline,
          status: 'open',
          organiser: { aadObjectId: turn.actor.aadObjectId, name: turn.actor.name, schoolId: turn.person.schoolId, teamsId: turn.actor.teamsId },
          createdAt: turn.now,
          version: 1,
          waitNext: 1,
          runningOrder: [],
          addedLate: [],
          cancelReason: '',
        };
        // Its first sign-ups start from what was just stored (the ETag still decides).
        service.queue.remember(event.id, await deps.store.create(event));
        await service.planTimers(event);
        const agg: Aggregate = { event, signUps: new Map() };
        const names = await service.schoolNames();
        const shared = renderCard('teachmeetEvent', eventCardData(agg, turn.now, names, { organisers: await service.organiserIds(event) }));
        const here = TurnContext.getConversationReference(turn.context.activity);
        delete here.activityId;
        const replyTo = turn.context.activity.replyToId;
        const isExecute = turn.context.activity.type === 'invoke';
        if (isExecute && replyTo) {
          // The form becomes the shared card: it is the copy people in this conversation see.
          await service.addPost(event.id, { conversationId: here.conversation!.id, activityId: replyTo, reference: JSON.stringify(here) });
        } else {
          const sent = await turn.context.sendActivity(MessageFactory.attachment(cardAttachment(shared)));
          if (sent?.id) await service.addPost(event.id, { conversationId: here.conversation!.id, activityId: sent.id, reference: JSON.stringify(here) });
        }
        if (d.announce && (await hasAnnouncements(turn.person))) {
          const channel = (await directory.channels()).find((c) => c.role.kind === 'announcements');
          const stored = channel ? await deps.conversations.conversation(channel.conversationId) : undefined;
          if (stored) await service.postCopy(event.id, channel!.conversationId, stored.reference, MessageFactory.attachment(cardAttachment(shared)));
        }
        // The organiser's own view of the card they just posted (with the organiser buttons).
        if (isExecute && replyTo) return eventCard(turn, agg);
        return { message: `${event.title} is posted. People sign up from its card.` };
      },
    }),
    defineAction({
      verb: 'teachmeet.attend',
      recentIdentityIsEnough: true,
      data: EventRef,
      audience: 'everyone',
      run: (turn, data) => change(turn, data.eventId, { kind: 'attend', person: personRef(turn) }),
    }),
    defineAction({
      verb: 'teachmeet.present',
      recentIdentityIsEnough: true,
      data: EventRef.extend({
        talkTitle: cardText(100).min(3, 'Give your talk a title (at least 3 characters).'),
        slot: z.enum(['2', '5', '7']),
        talkLine: cardText(200).optional().default(''),
      }).merge(pupilDataChecked),
      audience: 'everyone',
      async run(turn, data) {
        const warnings = await pupilData({ talkTitle: data.talkTitle, talkLine: data.talkLine }, data.pupilDataChecked);
        if (warnings.length > 0) {
          // The talk comes back on its own form, kept as typed, with the warning: nothing is stored yet.
          const loaded = await service.queue.read(data.eventId);
          if (!loaded) {
            turn.record.outcome = 'invalid';
            return { message: "I can't find that TeachMeet. It may have been removed." };
          }
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetPresent', presentCardData(loaded.agg, turn.now, { title: data.talkTitle, line: data.talkLine, slot: data.slot }, warnings)) };
        }
        return change(turn, data.eventId, { kind: 'present', person: personRef(turn), talk: { slot: Number(data.slot) as SlotLength, title: data.talkTitle, line: data.talkLine } });
      },
    }),
    defineAction({
      verb: 'teachmeet.cancel',
      recentIdentityIsEnough: true,
      data: EventRef,
      audience: 'everyone',
      async run(turn, data) {
        // Asks first when there is a place (or a waitlist number) to lose; otherwise the rules say why not.
        const loaded = await service.queue.read(data.eventId);
        if (loaded && cancelNeedsConfirmation(loaded.agg, turn.actor.aadObjectId, turn.now)) {
          return { card: renderCard('teachmeetConfirm', confirmCancelPlaceData(loaded.agg, turn.actor.aadObjectId, turn.now)) };
        }
        return change(turn, data.eventId, { kind: 'cancel', person: personRef(turn) });
      },
    }),
    defineAction({
      verb: 'teachmeet.cancelSure',
      recentIdentityIsEnough: true,
      data: EventRef,
      audience: 'everyone',
      // Pressed twice (a Teams retry), the second finds nothing to cancel: the place is given up once.
      run: (turn, data) => change(turn, data.eventId, { kind: 'cancel', person: personRef(turn) }),
    }),
    defineAction({
      verb: 'teachmeet.show',
      recentIdentityIsEnough: true,
      data: EventRef,
      audience: 'everyone',
      async run(turn, data) {
        const loaded = await service.queue.read(data.eventId);
        if (!loaded) return { message: "I can't find that TeachMeet. It may have been removed." };
        return eventCard(turn, loaded.agg);
      },
    }),
    ...(['acceptOffer', 'declineOffer'] as const).map((kind) =>
      defineAction({
        verb: `teachmeet.${kind}`,
      recentIdentityIsEnough: true,
        data: EventRef,
        audience: 'everyone',
        async run(turn, data) {
          let committed: Committed;
          try {
            committed = await service.change(data.eventId, { kind, person: personRef(turn) });
          } catch (err) {
            if (err instanceof MissingAggregate) return { message: "I can't find that TeachMeet. It may have been removed." };
            throw err;
          }
          if (!committed.outcome.ok) turn.record.outcome = 'refused';
          const e = committed.agg.event;
          const confirmed = committed.agg.signUps.get(turn.actor.aadObjectId)?.status === 'confirmed';
          return { card: renderCard('teachmeetNotice', noticeCardData(e, committed.outcome.message, myStatus(committed.agg, turn.actor.aadObjectId, turn.now) ?? '', turn.now, confirmed)) };
        },
      }),
    ),
    defineAction({
      verb: 'teachmeet.edit',
      data: EventRef,
      audience: 'everyone',
      async run(turn, data) {
        const loaded = await loadForOrganiser(turn, data.eventId);
        if (!('agg' in loaded)) return loaded;
        if (loaded.agg.event.status === 'cancelled') return { message: 'This TeachMeet has been cancelled, so it cannot be edited.' };
        const schools = await editHostSchools(turn.person, loaded.agg.event);
        return { card: renderCard('teachmeetForm', formCardData({ mode: 'edit', event: loaded.agg.event, schools, hasAnnouncements: false })) };
      },
    }),
    defineAction({
      verb: 'teachmeet.saveEdit',
      data: formData,
      audience: 'everyone',
      async run(turn, data) {
        const eventId = cardId.safeParse(data.eventId);
        if (!eventId.success) return { message: 'That form is missing its TeachMeet, so nothing was changed.' };
        const loaded = await loadForOrganiser(turn, eventId.data);
        if (!('agg' in loaded)) return loaded;
        const current = loaded.agg.event;
        const schools = await editHostSchools(turn.person, current);
        const values = asValues(data);
        // Past dates are fine for an edit only if they are unchanged; the form checks against now.
        const checked = checkForm(values, schools, turn.now);
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetForm', formCardData({ mode: 'edit', event: current, values, errors: checked.errors, schools, hasAnnouncements: false })) };
        }
        const warnings = await pupilData(formFreeText(values), data.pupilDataChecked);
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetForm', formCardData({ mode: 'edit', event: current, values, schools, hasAnnouncements: false, pupilData: warnings })) };
        }
        const d = checked.draft;
        const committed = await service.change(current.id, {
          kind: 'edit',
          by: turn.actor.aadObjectId,
          changes: { title: d.title, theme: d.theme, host: d.host, startsAt: d.startsAt, endsAt: d.endsAt, venue: d.venue, link: d.link, places: d.places, slots: d.slots, deadline: d.deadline },
        });
        if (!committed.outcome.ok) {
          turn.record.outcome = 'refused';
          return { card: renderCard('teachmeetForm', formCardData({ mode: 'edit', event: current, values, errors: { places: committed.outcome.message }, schools, hasAnnouncements: false })) };
        }
        await service.planTimers(committed.agg.event, committed.agg);
        return eventCard(turn, committed.agg, committed.outcome.message);
      },
    }),
    defineAction({
      verb: 'teachmeet.cancelEvent',
      data: EventRef,
      audience: 'everyone',
      async run(turn, data) {
        const loaded = await loadForOrganiser(turn, data.eventId);
        if (!('agg' in loaded)) return loaded;
        if (loaded.agg.event.status === 'cancelled') return eventCard(turn, loaded.agg, `${loaded.agg.event.title} was already cancelled.`);
        return { card: renderCard('teachmeetConfirm', confirmCancelEventData(loaded.agg, turn.now)) };
      },
    }),
    defineAction({
      verb: 'teachmeet.cancelEventSure',
      data: EventRef.extend({ reason: cardText(300).optional().default('') }).merge(pupilDataChecked),
      audience: 'everyone',
      async run(turn, data) {
        const loaded = await loadForOrganiser(turn, data.eventId);
        if (!('agg' in loaded)) return loaded;
        if (loaded.agg.event.status !== 'cancelled' && data.reason.length < 3) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetConfirm', confirmCancelEventData(loaded.agg, turn.now, data.reason, 'Say why it is cancelled: everyone signed up will read it. Nothing has been cancelled yet.')) };
        }
        const warnings = loaded.agg.event.status === 'cancelled' ? [] : await pupilData({ reason: data.reason }, data.pupilDataChecked);
        if (warnings.length > 0) {
          turn.record.outcome = 'invalid';
          return { card: renderCard('teachmeetConfirm', confirmCancelEventData(loaded.agg, turn.now, data.reason, '', warnings)) };
        }
        // Pressed twice (a Teams retry), the rules find it cancelled already and tell nobody again.
        const committed = await service.change(data.eventId, { kind: 'cancelEvent', by: turn.actor.aadObjectId, reason: data.reason });
        return eventCard(turn, committed.agg, committed.outcome.message);
      },
    }),
    defineAction({
      verb: 'teachmeet.draw',
      once: true,
      data: EventRef,
      audience: 'everyone',
      async run(turn, data) {
        const loaded = await loadForOrganiser(turn, data.eventId);
        if (!('agg' in loaded)) return loaded;
        const random = Array.from({ length: Math.max(1, loaded.agg.signUps.size) }, () => randomInt(0, 1_000_000) / 1_000_000);
        const committed = await service.change(data.eventId, { kind: 'drawOrder', by: turn.actor.aadObjectId, random });
        if (!committed.outcome.ok) turn.record.outcome = 'refused';
        return eventCard(turn, committed.agg, committed.outcome.message);
      },
    }),
    defineAction({
      verb: 'teachmeet.list',
      data: EventRef,
      audience: 'everyone',
      async run(turn, data) {
        const loaded = await loadForOrganiser(turn, data.eventId);
        if (!('agg' in loaded)) return loaded;
        const names = await service.schoolNames();
        const rows = attendeeRows(loaded.agg, names);
        const e = loaded.agg.event;
        const confirmed = rows.filter((r) => r.status === 'confirmed').length;
        const link = deps.csvLink(e.id, turn.now);
        return {
          card: renderCard('teachmeetAttendees', {
            eventId: e.id,
            title: e.title,
            when: whenText(e, turn.now),
            summary: `${confirmed} coming, ${rows.length - confirmed} waiting`,
            rows: rows.map((r) => ({ name: r.name, school: r.school, role: r.role })),
            hasRows: rows.length > 0,
            csvUrl: link.url,
            validFor: link.validFor,
          }),
        };
      },
    }),
  ];

  return { commands, actions };
}

function asValues(data: z.infer<typeof FormInput>): FormValues {
  return data as FormValues;
}


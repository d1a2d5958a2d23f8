import { odata } from '@azure/data-tables';
import { fieldsOf, PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { OUTBOX_FIELDS } from '../platform/outbox/outbox';
import { eraseCopiesInTheirChat } from '../platform/conversations/cardPost';
import { POST, TEACHMEETS_TABLE } from './store';

/** What the TeachMeets table holds (see platform/inventory.ts). */
export const TEACHMEETS_INVENTORY: TableInventory = {
  table: TEACHMEETS_TABLE,
  capability: 'TeachMeets',
  rows:
    "A TeachMeet's partition (PartitionKey = event id) holds the event row, one sign-up row per person (RowKey 'signup|' + their Entra object id), one row per posted copy of its card, and what a change still has to tell people (outbox rows 'out|…', deleted once delivered)",
  personalData:
    "Staff: the organiser's and each sign-up's Entra object id, Teams id, display name and school; a presenter's talk title and one line. No pupil data (the form says so). Each copy of the card keeps the conversation reference it was posted with, which names the person who posted it",
  purpose: 'Sign-ups, places, waitlist and offers; confirmations and notices; the running order; the attendee list for the organiser; a person\'s CPD record (`my teachmeets`)',
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee:
    "Everyone in the partnership sees the event, counts and presenters' talk titles on the card; names of who is coming: the organiser, the host school's reps and coordinators; a person sees their own sign-up",
  kept: "A TeachMeet with its sign-ups: RETENTION_YEARS academic years (default 6) after the one it took place in, then purged",
  fields: {
    ...OUTBOX_FIELDS,
    ...fieldsOf('the TeachMeet: title, theme, times, venue or online link, sign-up deadline', 'title', 'theme', 'startsAt', 'endsAt', 'venue', 'link', 'deadline'),
    ...fieldsOf('the host: online or a school (its id and name)', 'hostKind', 'hostSchoolId', 'hostSchoolName'),
    ...fieldsOf('capacity: places and presenter slots of 2, 5 and 7 minutes', 'places', 'slots2', 'slots5', 'slots7'),
    ...fieldsOf('counts kept with the event (attending, waiting, presenting) and the next waitlist number', 'attending', 'waiting', 'presenting', 'waitNext'),
    status: 'open or cancelled (event); confirmed, waiting, offered or cancelled (sign-up)',
    organiserAad: "the organiser's Entra object id",
    organiserName: "the organiser's display name",
    organiserSchoolId: "the organiser's school",
    organiserTeamsId: "the organiser's Teams id, so their own view of the shared card can be offered to them",
    cancelReason: 'why the organiser cancelled the TeachMeet (told to everyone signed up)',
    addedLate: 'presenters who signed up after the running order was drawn (added at its end)',
    ...fieldsOf('when the row was created or last changed', 'createdAt', 'updatedAt'),
    version: "the event's version, for updating every copy of its card to the newest",
    queued: 'how many more changes the bot instance that last wrote the event still had waiting to commit (a hint to other instances to let it finish first)',
    runningOrder: 'the drawn running order (sign-up ids in order)',
    name: "the person's display name (sign-up)",
    teamsId: "the person's Teams id, to message them (sign-up)",
    schoolId: "the person's school when they signed up (sign-up)",
    role: 'attendee or presenter (sign-up)',
    ...fieldsOf("a presenter's talk: title, one line, slot length", 'talkTitle', 'talkLine', 'slot'),
    waitNumber: 'their place on the waitlist (sign-up)',
    offerExpiresAt: 'a freed place offered to them: until when (sign-up)',
    ...fieldsOf('a posted copy of the card: the conversation, the message id and the conversation reference', 'conversationId', 'activityId', 'reference'),
  },
  head: 'event',
  retention: [{ kind: 'programme', what: 'a TeachMeet with its sign-ups, by when it ended', wholePartition: true, expired: (cutoff) => odata`RowKey eq 'event' and endsAt lt ${cutoff}` }],
  // A copy of the card in an erased person's personal chat goes (nobody else reads it; an update to it would fail for ever).
  erase: eraseCopiesInTheirChat(POST),
  about: (aad) => odata`RowKey eq ${`signup|${aad}`} or organiserAad eq ${aad}`,
};

import { odata } from '@azure/data-tables';
import { fieldsOf, PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { OUTBOX_FIELDS } from '../platform/outbox/outbox';
import { withoutListedCopies } from '../platform/conversations/cardPost';
import { SWAPS_TABLE } from './store';

/** What the Swaps table holds (see platform/inventory.ts). */
export const SWAPS_INVENTORY: TableInventory = {
  table: SWAPS_TABLE,
  capability: 'Placement swaps',
  rows: "Partition 'swaps': one row per offer ('offer|<id>'), per proposed swap ('match|<id>') and per agreed swap in the history ('history|<id>'), and what a change still has to tell people (outbox rows 'out|…', deleted once delivered); partition 'person': one row per rep who acted (RowKey = their Entra object id)",
  personalData:
    "Staff: the rep who made an offer or answered (Entra object id, display name, Teams id); trainees: first name and initial at most (the form says so); decline and cancel reasons as written",
  purpose: 'Offering placements, proposing two-way matches, getting both schools to yes, the history of agreed swaps',
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee: "Reps and coordinators see offers and swaps on the board; the trainee's name is on the offer and the proposed swap the two schools' reps see",
  kept: "Offers, swaps and the history: RETENTION_YEARS academic years (default 6) after the one they last changed in (an agreed swap: was agreed in), then purged; a rep's Teams id until they are erased; a message still owed: until delivered, or if it could not be, DELIVERY_RETENTION_YEARS (default 1) after it failed",
  fields: {
    ...OUTBOX_FIELDS,
    ...fieldsOf("the offering school (id and name)", 'schoolId', 'schoolName'),
    ...fieldsOf('what the school can send: phase, subject, number of trainees, the trainee (first name and initial)', 'sendPhase', 'sendSubject', 'sendCount', 'trainee'),
    ...fieldsOf('what the school can host: phase and subjects', 'hostPhase', 'hostSubjects'),
    ...fieldsOf('the weeks offered and the confirm-by date', 'from', 'to', 'confirmBy'),
    notes: "the rep's notes on the offer",
    status: 'open, proposed, agreed, withdrawn or expired (offer); proposed, agreed, declined or cancelled (swap)',
    ...fieldsOf('who made the offer: Entra object id, display name, Teams id', 'byAad', 'byName', 'byTeamsId'),
    ...fieldsOf('when the row was created or last changed', 'createdAt', 'updatedAt'),
    matchId: 'the proposed swap an offer is in',
    ...fieldsOf('a proposed swap: its two offers and schools', 'offerA', 'offerB', 'schoolA', 'schoolB', 'schoolNameA', 'schoolNameB'),
    ...fieldsOf('the weeks the two offers have in common', 'overlapFrom', 'overlapTo', 'overlapDays'),
    ...fieldsOf("each school's answer (who, their Entra id, when) and when the swap was decided", 'answerA', 'answerB', 'answerBy', 'decidedAt', 'proposedAt'),
    ...fieldsOf('a decline or cancel reason, who gave it and for which school', 'reason', 'reasonBy', 'reasonSchoolId'),
    ...fieldsOf('an agreed swap in the history: when, and whether it was cancelled later', 'agreedAt', 'cancelled'),
    ...fieldsOf("a rep who acted: Teams id and display name (person rows), to message them", 'teamsId', 'name'),
    waitingCards: "the cards sent to a school still to answer, so they are updated when the swap is agreed",
    via: 'how a swap was proposed or ended (automatic match, decline, cancel)',
  },
  retention: [
    { kind: 'programme', what: 'offers, by when they last changed', expired: (cutoff) => odata`PartitionKey eq 'swaps' and RowKey ge 'offer|' and RowKey lt 'offer}' and updatedAt lt ${cutoff}` },
    { kind: 'programme', what: 'proposed swaps, by when they were proposed', expired: (cutoff) => odata`PartitionKey eq 'swaps' and RowKey ge 'match|' and RowKey lt 'match}' and proposedAt lt ${cutoff}` },
    { kind: 'programme', what: 'agreed swaps in the history, by when they were agreed', expired: (cutoff) => odata`PartitionKey eq 'swaps' and RowKey ge 'history|' and RowKey lt 'history}' and agreedAt lt ${cutoff}` },
    // The partition lives as long as the programme: a message that could not be delivered would stay in it.
    { kind: 'delivery', what: 'messages that could not be delivered, by when they failed', expired: (cutoff) => odata`PartitionKey eq 'swaps' and RowKey ge 'out|' and RowKey lt 'out}' and state eq 'failed' and doneAt lt ${cutoff}` },
  ],
  erase: (row, aad) => (row.partitionKey === 'person' && row.rowKey === aad ? 'delete' : 'anonymise'),
  // A proposed swap's card sent to a rep who is erased, in their personal chat, is no longer updated when the swap is agreed.
  withoutCopies: (row, inTheirChat) => withoutListedCopies(row, 'waitingCards', inTheirChat),
  about: (aad) => odata`PartitionKey eq 'swaps' or (PartitionKey eq 'person' and RowKey eq ${aad})`,
};

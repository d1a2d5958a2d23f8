import { odata } from '@azure/data-tables';
import { fieldsOf, PROGRAMME_BASIS, type TableInventory } from '../platform/inventory';
import { OUTBOX_FIELDS } from '../platform/outbox/outbox';
import { eraseCopiesInTheirChat } from '../platform/conversations/cardPost';
import { POST, PROPOSALS_TABLE } from './store';

/** What the Proposals table holds (see platform/inventory.ts). */
export const PROPOSALS_INVENTORY: TableInventory = {
  table: PROPOSALS_TABLE,
  capability: 'Project proposals',
  rows:
    "A proposal's partition (PartitionKey = proposal id): the proposal row, one decision row per partner school ('school|<id>'), every version ('version|…'), the audit trail ('audit|…'), how the new card's post to the reps' channel went ('posting|reps'), posted copies of its card and what a change still has to tell people (outbox rows 'out|…', deleted once delivered); partition 'settings': the lists of mutual needs and funder outcomes",
  personalData:
    "Staff: the proposer's and each decider's Entra object id and display name, the proposer's Teams id; comments as written. Pupils and staff taking part are counts only, never names. Each copy of the card keeps the conversation reference it was posted with, which names the person who posted it",
  purpose: 'Proposing projects on mutual need, each partner school\'s approval, the coordinators\' sign-off, and an audit of who decided what and when',
  lawfulBasis: PROGRAMME_BASIS,
  whoCanSee: "Reps and coordinators see proposals, decisions and who made them; coordinators see the full history (`proposal history`)",
  kept: "A proposal with its decisions, versions and audit: RETENTION_YEARS academic years (default 6) after the one it last changed in, then purged; the lists of needs and outcomes stay",
  fields: {
    ...OUTBOX_FIELDS,
    content: 'the proposal as written (JSON): title, summary, schools and contributions, participant counts, legacy, outcome, needs, outcomes, dates, budget',
    ...fieldsOf('its state: lifecycle, status for lists, lead school, version and revision, schools still to decide, whether approved', 'lifecycle', 'status', 'leadSchoolId', 'version', 'rev', 'waitingOn', 'approved'),
    ...fieldsOf("the proposer: Entra object id, display name, Teams id", 'proposerAad', 'proposerName', 'proposerTeamsId'),
    ...fieldsOf('when the row was created or last changed', 'createdAt', 'updatedAt'),
    ...fieldsOf('how it was closed (signed off or withdrawn): who, when, comment', 'closedAt', 'closedByAad', 'closedByName', 'closedComment'),
    schoolId: 'the partner school a decision row is for',
    kind: "a decision's or audit entry's kind (approved, changes requested, declined, submitted, edited…)",
    ...fieldsOf('who decided or acted (Entra object id, display name), when, and their comment', 'byAad', 'byName', 'at', 'comment'),
    ...fieldsOf('a posted copy of the card: the conversation, the message id and the conversation reference', 'conversationId', 'activityId', 'reference'),
    shareTo: "the new card's post to the reps' channel ('posting|reps' row, with the outbox's outcome fields): where the proposal was made, to share the card there instead if Teams refuses it; emptied once the post is settled",
    sharedHere: "whether the card was shared where the proposal was made because Teams refused it in the reps' channel",
    tags: "the partnership's lists of mutual needs and funder outcomes (settings row)",
  },
  head: 'proposal',
  retention: [{ kind: 'programme', what: 'a proposal with its decisions, versions and audit, by when it last changed', wholePartition: true, expired: (cutoff) => odata`RowKey eq 'proposal' and updatedAt lt ${cutoff}` }],
  // A copy of the card in an erased person's personal chat goes (nobody else reads it; an update to it would fail for ever).
  erase: eraseCopiesInTheirChat(POST),
  about: (aad) => odata`proposerAad eq ${aad} or byAad eq ${aad} or closedByAad eq ${aad}`,
};

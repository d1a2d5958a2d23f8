import assert from 'node:assert/strict';
import { eraseRow, FORMER_MEMBER, type RowChange, type Subject } from '../../src/privacy/erasure';

/** What erasure does to one row: pure, table-driven. */

const ANN: Subject = { aadObjectId: 'f03f8075-6bc6-4d27-a461-06cb81b62e3a', names: ['Ann Hughes', '', 'An'], teamsIds: ['29:ann-teams-id', ''], personalChats: ['a:1ann-chat', ''] };
const P = '00000000-1111-4222-8333-444444444444';
/** How a table that keeps conversation ids in its keys writes them there (announcements: base64url). */
const inKeys = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
const JO: Subject = { aadObjectId: '5a0c3c2e-0d8b-4d7e-9a55-3f1f2b6c7d8e', names: ['Jo'], teamsIds: [], personalChats: ['a:1jo-chat'] };

const rows: { title: string; row: Record<string, unknown>; erasure: 'delete' | 'anonymise'; expect: RowChange; subject?: Subject; chatInKeys?: (id: string) => string }[] = [
  {
    title: 'when a row exists only because of the person, then it is deleted',
    row: { partitionKey: 'partnership', rowKey: `person|${ANN.aadObjectId}`, name: 'Ann Hughes' },
    erasure: 'delete',
    expect: { kind: 'delete' },
  },
  {
    title: 'when a sign-up row is keyed by their id, then it is re-keyed to the pseudonym, named Former member, and loses the Teams id; counts and states stay',
    row: { partitionKey: 'tm1', rowKey: `signup|${ANN.aadObjectId}`, name: 'Ann Hughes', teamsId: '29:ann-teams-id', status: 'confirmed', waitNumber: -1 },
    erasure: 'anonymise',
    expect: { kind: 'replace', rekeyed: true, row: { partitionKey: 'tm1', rowKey: `signup|${P}`, name: FORMER_MEMBER, teamsId: '', status: 'confirmed', waitNumber: -1 } },
  },
  {
    title: 'when their id and name sit inside a JSON column, then both are replaced there, in any letter case',
    row: { partitionKey: 'swaps', rowKey: 'match|m1', answerA: `{"by":"ann hughes","aadObjectId":"${ANN.aadObjectId.toUpperCase()}"}` },
    erasure: 'anonymise',
    expect: { kind: 'replace', rekeyed: false, row: { partitionKey: 'swaps', rowKey: 'match|m1', answerA: `{"by":"${FORMER_MEMBER}","aadObjectId":"${P}"}` } },
  },
  {
    title: 'when a name is too short to find safely ("An"), then ordinary words that contain it are left alone',
    row: { partitionKey: 'p', rowKey: 'r', comment: `Ann Hughes and another colleague (${ANN.aadObjectId})` },
    erasure: 'anonymise',
    expect: { kind: 'replace', rekeyed: false, row: { partitionKey: 'p', rowKey: 'r', comment: `${FORMER_MEMBER} and another colleague (${P})` } },
  },
  {
    title: 'when a row is keyed by their personal chat (an announcement delivered there), then the chat gives way to the pseudonym in its key and values, and a two-letter name goes too',
    row: { partitionKey: 'an1', rowKey: `r|c|${inKeys('a:1jo-chat')}`, label: 'Jo (rep)', state: 'sent', target: '{"kind":"conversation","conversationId":"a:1jo-chat","conversationKind":"personal"}' },
    erasure: 'anonymise',
    subject: JO,
    chatInKeys: inKeys,
    expect: { kind: 'replace', rekeyed: true, row: { partitionKey: 'an1', rowKey: `r|c|${inKeys(P)}`, label: `${FORMER_MEMBER} (rep)`, state: 'sent', target: `{"kind":"conversation","conversationId":"${P}","conversationKind":"personal"}` } },
  },
  {
    title: 'when a row is keyed by their Entra id, then a two-letter name goes too, as written (not the same letters in another case)',
    row: { partitionKey: 'an1', rowKey: `r|p|${JO.aadObjectId}`, label: 'Jo (rep, new chat)', note: 'jo' },
    erasure: 'anonymise',
    subject: JO,
    expect: { kind: 'replace', rekeyed: true, row: { partitionKey: 'an1', rowKey: `r|p|${P}`, label: `${FORMER_MEMBER} (rep, new chat)`, note: 'jo' } },
  },
  {
    title: 'when a row only names someone with a two-letter name, in words others wrote, then it is kept as it is',
    row: { partitionKey: 'tm1', rowKey: 'event', title: 'Jo and Sam on phonics' },
    erasure: 'anonymise',
    subject: JO,
    expect: { kind: 'keep' },
  },
  {
    title: 'when a row does not mention them, then it is kept as it is',
    row: { partitionKey: 'tm1', rowKey: 'event', title: 'Spring TeachMeet', places: 30 },
    erasure: 'anonymise',
    expect: { kind: 'keep' },
  },
];

describe('erasure: one row at a time', function () {
  for (const row of rows) {
    it(row.title, function () {
      assert.deepEqual(eraseRow(row.row, row.subject ?? ANN, P, row.erasure, row.chatInKeys), row.expect);
    });
  }
});

import assert from 'node:assert/strict';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { adaptiveCardsOf, cardText, findAction } from '../support/cardActions';
import { storageConnectionString } from '../support/hooks';
import type { SimUser } from '../support/simulator';
import { eventually, said, World } from '../announcements/world';

/**
 * Found in review, failing before their fixes: erasure misses rows that hold a recipient's name but not
 * their Entra id; `my data` misses the delivery row of an announcement that reached a person's personal
 * chat (kept under the chat's conversation id, not their Entra id); erasure finds that row only by the
 * person's name (not at all for a name of two letters) and leaves the chat's conversation id in it.
 */

/** Rows of this run's tables that mention any of the marks (in any letter case) or match the pattern. */
async function rowsMentioning(prefix: string, marks: string[], pattern?: RegExp): Promise<string[]> {
  const connection = storageConnectionString();
  const service = TableServiceClient.fromConnectionString(connection, { allowInsecureConnection: true });
  const out: string[] = [];
  for await (const table of service.listTables()) {
    if (!table.name?.startsWith(prefix)) continue;
    const client = TableClient.fromConnectionString(connection, table.name, { allowInsecureConnection: true });
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      const text = `${table.name}: ${JSON.stringify(entity)}`.toLowerCase();
      const hit = [...marks.map((m) => text.indexOf(m.toLowerCase())), pattern ? (pattern.exec(`${table.name}: ${JSON.stringify(entity)}`)?.index ?? -1) : -1].find((i) => i >= 0);
      if (hit !== undefined) out.push(`${text.slice(0, 120)} … ${text.slice(Math.max(0, hit - 60), hit + 60)}`);
    }
  }
  return out;
}

describe('erasure and my data: announcements', function () {
  this.timeout(30_000);
  let w: World;
  let ann: SimUser;

  beforeEach(async function () {
    w = await World.start();
    await w.addSchool('Oakfield Academy');
    ann = w.sim.user('ann', 'Ann Hughes');
    await w.makeRep(ann, 'Oakfield Academy');
    await w.sim.say(ann, w.sim.personalChat(ann), 'whoami');
  });

  afterEach(async function () {
    await w.stop();
  });

  /** Cora announces to the reps: Ann, whose personal chat Together has, gets it there. */
  async function announcedToReps(): Promise<void> {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce reps: Deadline for STEM Week proposals is Friday');
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.ok(preview, said(typed));
    await w.sim.click(w.cora, me, preview, 'Send');
    await eventually('Ann got it', () => w.announcementsIn(w.sim.personalChat(ann), 'Deadline for STEM Week').length >= 1);
    await w.settle();
  }

  it('when a rep who was sent an announcement in their personal chat says forget me, then no delivery row still holds their name', async function () {
    await announcedToReps();

    const asked = await w.sim.say(ann, w.sim.personalChat(ann), 'forget me');
    const card = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const done = await w.sim.click(ann, w.sim.personalChat(ann), card, 'Yes, erase me');
    assert.match(said(done), /no longer holds anything that identifies you/);
    assert.deepEqual(await rowsMentioning(w.prefix, [ann.name, ann.aadObjectId, ann.id]), [], 'nothing identifies Ann');
  });
  it('when a rep called Jo who was sent an announcement in their personal chat says forget me, then no row holds her chat or her name, and the announcement still counts the delivery', async function () {
    const jo = w.sim.user('jo', 'Jo');
    await w.makeRep(jo, 'Oakfield Academy');
    const chat = w.sim.personalChat(jo);
    await w.sim.say(jo, chat, 'whoami');
    await announcedToReps();
    await eventually('Jo got it', () => w.announcementsIn(chat, 'Deadline for STEM Week').length >= 1);
    const listed = async () => cardText(adaptiveCardsOf((await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'announcements')).sent.at(-1)?.activity)[0] ?? {});
    await eventually('the announcement is listed as sent to both reps', async () => /Sent to 2\b/.test(await listed()));

    const asked = await w.sim.say(jo, chat, 'forget me');
    const card = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.match(said(await w.sim.click(jo, chat, card, 'Yes, erase me')), /no longer holds anything that identifies you/);
    assert.deepEqual(await rowsMentioning(w.prefix, [chat.id, Buffer.from(chat.id, 'utf8').toString('base64url'), jo.aadObjectId, jo.id]), [], "nothing holds Jo's chat or ids");
    assert.deepEqual(await rowsMentioning(w.prefix, [], /(?<![\p{L}\p{N}])Jo(?![\p{L}\p{N}])/u), [], 'nothing names Jo');
    assert.match(await listed(), /Sent to 2\b/, 'her delivery still counts');
  });

  it("when a coordinator who cancelled a rep's announcement says forget me, then the announcement no longer names them", async function () {
    assert.match(said(await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'rep announcements on')), /may now announce/);
    const typed = await w.sim.say(ann, w.sim.personalChat(ann), 'announce Oakfield Academy: Parents evening moved to Thursday');
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(preview, said(typed));
    const id = /"announcementId":"(an[0-9a-f]{10})"/.exec(JSON.stringify(preview.activity))?.[1];
    assert.ok(id, 'the preview carries its id');
    const discarded = await w.sim.execute(w.cora, w.sim.personalChat(w.cora), 'announce.discard', { announcementId: id });
    assert.match(said(discarded), /Cancelled: nothing was sent/);

    const asked = await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'forget me');
    const card = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.match(said(await w.sim.click(w.cora, w.sim.personalChat(w.cora), card, 'Yes, erase me')), /no longer holds anything that identifies you/);
    assert.deepEqual(await rowsMentioning(w.prefix, [w.cora.name]), [], 'nothing names Cora');
  });

  it('when a rep who was sent an announcement in their personal chat asks for my data, then it is listed under Announcements and its delivery row is in the download', async function () {
    await announcedToReps();

    const asked = await w.sim.say(ann, w.sim.personalChat(ann), 'my data');
    const card = asked.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
    assert.ok(card, said(asked));
    assert.match(cardText(card), /Announcements: 1 record/, 'the announcement that reached her personal chat');
    const link = new URL(String(findAction(card, 'Download my data (JSON)')!.url));
    const body = (await (await fetch(new URL(`${link.pathname}${link.search}`, w.together.url))).json()) as { tables: Record<string, Record<string, unknown>[]> };
    const delivered = body.tables.Announcements ?? [];
    assert.equal(delivered.length, 1, JSON.stringify(body.tables));
    assert.equal(delivered[0]!.state, 'sent');
    assert.match(String(delivered[0]!.label), /Ann Hughes/);
  });
});

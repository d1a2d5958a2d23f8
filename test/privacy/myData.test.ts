import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, findAction } from '../support/cardActions';
import type { SimUser } from '../support/simulator';
import { said } from '../support/said';
import { World } from '../teachmeets/world';

/** `my data` (UK GDPR right of access): a person sees what Together holds about them, and only them. */

describe('my data: what Together holds about me', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    await w.sim.say(ann, w.sim.personalChat(ann), 'my school Oakfield Academy');
    await w.sim.say(ben, w.sim.personalChat(ben), 'my school Brookside Primary');
    const { card, activityId } = await w.createEvent();
    for (const person of [ann, ben]) await w.sim.click(person, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
  });

  afterEach(async function () {
    await w.stop();
  });

  async function myDataCard(user: SimUser) {
    const r = await w.sim.say(user, w.sim.personalChat(user), 'my data');
    const card = r.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0];
    assert.ok(card, `a card came back: ${said(r)}`);
    return card;
  }

  it('when a teacher types my data in their personal chat, then the card lists their records by capability, and the download has them all and nobody else\'s', async function () {
    const card = await myDataCard(ann);
    const text = cardText(card);
    assert.match(text, /What Together holds about you/);
    assert.match(text, /Directory: 1 record/);
    assert.match(text, /TeachMeets: 1 record/);
    assert.match(text, /Platform: 1 record/, 'her personal chat, to message her');
    assert.match(text, /Deadlines and nudges: 2 records/, "the TeachMeet's reminder, registered for everyone on it, and its copy filed by when it is due");
    assert.doesNotMatch(text, /Proposals|Placement swaps|Announcements/, 'nothing is listed where she has no records');

    const open = findAction(card, 'Download my data (JSON)');
    assert.equal(open?.type, 'Action.OpenUrl');
    const link = new URL(String(open.url));
    const url = new URL(`${link.pathname}${link.search}`, w.bot.together.url);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="together-my-data.json"/);
    const body = (await response.json()) as { about: { aadObjectId: string }; tables: Record<string, Record<string, unknown>[]> };
    assert.equal(body.about.aadObjectId, ann.aadObjectId.toLowerCase());
    assert.deepEqual(Object.keys(body.tables).sort(), ['Conversations', 'Deadlines', 'Directory', 'TeachMeets']);
    const signUp = body.tables.TeachMeets![0]!;
    assert.equal(signUp.name, 'Ann Hughes');
    assert.equal(signUp.status, 'confirmed');
    assert.equal(signUp.role, 'attendee');
    const all = JSON.stringify(body).toLowerCase();
    assert.ok(!all.includes(ben.aadObjectId.toLowerCase()) && !all.includes('ben carter'), 'nothing about Ben');
    assert.ok(!all.includes('"etag"'), 'no storage bookkeeping');
  });

  it('when the link is changed to another person, signed wrongly, unsigned or used after 15 minutes, then it is refused with a message', async function () {
    const card = await myDataCard(ann);
    const link = new URL(String(findAction(card, 'Download my data (JSON)')!.url));
    const url = new URL(`${link.pathname}${link.search}`, w.bot.together.url);
    const otherPerson = new URL(url.toString().replace(ann.aadObjectId.toLowerCase(), ben.aadObjectId.toLowerCase()));
    const forged = new URL(url);
    forged.searchParams.set('sig', 'forged');
    const unsigned = new URL(url.pathname, url);
    const notAnId = new URL(url.toString().replace(ann.aadObjectId.toLowerCase(), '..%2Fhealth'));
    for (const bad of [otherPerson, forged, unsigned, notAnId]) {
      const refused = await fetch(bad);
      assert.equal(refused.status, 403, `${bad.pathname}${bad.search} is refused`);
      assert.match(await refused.text(), /expired or is not valid/);
    }
    w.clock.advance(16 * 60_000);
    assert.equal((await fetch(url)).status, 403, 'after 16 minutes the link has expired');
  });

  it('when someone types my data in a channel, then they are asked to use their personal chat and no link is posted', async function () {
    const r = await w.sim.say(ann, w.staffRoom, 'my data');
    assert.match(said(r), /for you only: ask me `my data` in our personal chat/);
    assert.equal(r.sent.flatMap((s) => adaptiveCardsOf(s.activity)).length, 0);
    assert.doesNotMatch(JSON.stringify(r.sent), /api\/mydata/);
  });

  it('when the organiser asks, then the TeachMeet they organised is theirs too, and a rep\'s role shows in the directory record', async function () {
    await w.makeRep(ann, 'Oakfield Academy');
    const card = await myDataCard(w.cora);
    assert.match(cardText(card), /TeachMeets: 1 record/, 'the event row names Cora as organiser');
    const annCard = await myDataCard(ann);
    const link = new URL(String(findAction(annCard, 'Download my data (JSON)')!.url));
    const body = (await (await fetch(new URL(`${link.pathname}${link.search}`, w.bot.together.url))).json()) as { tables: Record<string, Record<string, unknown>[]> };
    assert.equal(body.tables.Directory![0]!.rep, true);
  });
});

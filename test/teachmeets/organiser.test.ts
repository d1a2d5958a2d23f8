import assert from 'node:assert/strict';
import { actionTitles, cardText, findAction, invokeResponseCard } from '../support/cardActions';
import { readAsSpreadsheet } from '../support/csv';
import type { SimUser } from '../support/simulator';
import { clickAndConfirm } from '../support/confirm';
import { answered, hasAction, runningOrder, said, World } from './world';

/** What the organiser does with a TeachMeet: edit it, cancel it, draw the running order, see who is coming. */

describe('TeachMeets: the organiser', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let cat: SimUser;
  let dev: SimUser;
  let card: object;
  let activityId: string;
  let eventId: string;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    cat = w.sim.user('cat', 'Cat Nolan');
    dev = w.sim.user('dev', 'Dev Shah');
    await w.sim.say(ann, w.staffRoom, 'my school Oakfield Academy');
    await w.sim.say(ben, w.staffRoom, 'my school Brookside Primary');
    ({ card, activityId, eventId } = await w.createEvent(w.cora, { places: '2', slots5: '2', slots7: '1' }));
  });

  afterEach(async function () {
    await w.stop();
  });

  async function signUpEveryone(): Promise<void> {
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.sim.click(cat, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }); // waiting
    await w.sim.click(dev, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice in Year 9', slot: '5', talkLine: 'Low-stakes quizzes' }, { replyToId: activityId });
    await w.settle();
  }

  async function editForm(): Promise<object> {
    const opened = await w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId });
    const form = invokeResponseCard(opened.body);
    assert.ok(form, `the organiser gets the form: ${answered(opened)}`);
    assert.match(cardText(form), /Edit: Spring TeachMeet/);
    return form;
  }

  it('when the organiser changes the start time, then the shared card updates and each person signed up or waiting gets exactly one message saying what changed', async function () {
    await signUpEveryone();
    const form = await editForm();
    assert.ok(actionTitles(form).includes('Save changes'));

    const saved = await w.sim.click(w.cora, w.staffRoom, form, 'Save changes', { start: '16:30' }, { replyToId: activityId });
    assert.equal(saved.status, 200);
    assert.match(answered(saved), /Spring TeachMeet is updated: now Fri 4 Dec, 16:30 to 17:30/);
    await w.settle();

    assert.match(cardText(w.sharedCard(activityId)), /Fri 4 Dec, 16:30–17:30/, 'the shared card shows the new time');
    for (const who of [ann, ben, cat, dev]) {
      const told = w.messagesFor(who, /Spring TeachMeet has changed/);
      assert.equal(told.length, 1, `${who.name} got one message`);
      assert.match(said({ status: 200, body: undefined, sent: told }), /What changed: now Fri 4 Dec, 16:30 to 17:30/);
    }
    assert.equal(w.messagesFor(w.cora, /has changed/).length, 0, 'the organiser, not signed up, is not messaged');
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.event.startsAt.toISOString(), '2026-12-04T16:30:00.000Z');
  });

  it('when the organiser adds 110 places with 120 waiting, then the change is saved and each of the first 110 waiting gets one offer, though one commit holds 99', async function () {
    this.timeout(30_000);
    const crowd = Array.from({ length: 122 }, (_, i) => w.sim.user(`crowd${i}`, `Crowd ${i}`));
    await Promise.all(crowd.map((p) => w.sim.click(p, w.staffRoom, card, 'Attend', {}, { replyToId: activityId })));
    await w.settle();
    const queued = [...(await w.signUps(eventId)).agg.signUps.values()].filter((s) => s.status === 'waiting').sort((a, b) => a.waitNumber! - b.waitNumber!);
    assert.equal(queued.length, 120);

    const saved = await w.sim.click(w.cora, w.staffRoom, await editForm(), 'Save changes', { places: '112' }, { replyToId: activityId });
    assert.match(answered(saved), /Spring TeachMeet is updated/);
    await w.settle();

    const offered = (who: string) => w.messagesFor(crowd.find((p) => p.aadObjectId === who)!, /A place has come up at Spring TeachMeet/).length;
    assert.deepEqual(queued.slice(0, 110).map((s) => offered(s.aadObjectId)), Array.from({ length: 110 }, () => 1), 'the first 110 waiting are each offered once');
    assert.deepEqual(queued.slice(110).map((s) => offered(s.aadObjectId)), Array.from({ length: 10 }, () => 0), 'the other 10 are still waiting');
    const stored = [...(await w.signUps(eventId)).agg.signUps.values()];
    assert.equal(stored.filter((s) => s.status === 'offered').length, 110, 'and 110 offers are stored');
  });

  it('when the organiser saves fewer places than are taken, then the form comes back with the problem by the places field and nothing changes', async function () {
    await signUpEveryone();
    const before = await w.signUps(eventId);
    const sentBefore = w.sim.sent.length;
    const form = await editForm();

    const saved = await w.sim.click(w.cora, w.staffRoom, form, 'Save changes', { places: '1', start: '16:45' }, { replyToId: activityId });
    assert.equal(saved.status, 200);
    const back = invokeResponseCard(saved.body);
    assert.ok(back, 'the form comes back');
    const text = cardText(back);
    assert.match(text, /Edit: Spring TeachMeet/);
    const lines = text.split('\n');
    const placesAt = lines.indexOf('Attendee places');
    assert.ok(placesAt >= 0);
    assert.match(lines[placesAt + 1] ?? '', /2 people already have or are offered places, so places can't go below that/, 'the problem sits by the places field');
    assert.match(JSON.stringify(back), /"value":"16:45"/, 'what was typed is kept');

    await w.settle();
    const after = await w.signUps(eventId);
    assert.equal(after.agg.event.version, before.agg.event.version, 'nothing changed');
    assert.equal(after.agg.event.places, 2);
    assert.equal(after.agg.event.startsAt.toISOString(), '2026-12-04T16:00:00.000Z');
    assert.equal(w.sim.sent.length, sentBefore, 'no card update, no messages');
  });

  it('when the organiser cancels the TeachMeet, then everyone signed up or waiting is told, the card shows Cancelled and Attend is no longer offered or accepted', async function () {
    await signUpEveryone();
    const cancelled = await clickAndConfirm(w.sim, w.cora, w.staffRoom, card, 'Cancel this TeachMeet', 'Yes, cancel this TeachMeet', { reason: 'The hall is needed for mocks' }, { replyToId: activityId });
    assert.match(answered(cancelled), /Spring TeachMeet is cancelled. Everyone signed up or waiting will be told/);
    await w.settle();

    for (const who of [ann, ben, cat, dev]) assert.equal(w.messagesFor(who, /Spring TeachMeet is cancelled/).length, 1, `${who.name} was told once`);
    const shared = w.sharedCard(activityId);
    assert.match(cardText(shared), /Cancelled/);
    assert.ok(!hasAction(shared, 'Attend'), 'no Attend');
    assert.ok(!hasAction(shared, 'Present'), 'no Present');
    assert.ok(!hasAction(shared, 'Cancel my place'), 'no Cancel my place');

    const eve = w.sim.user('eve', 'Eve Marsh');
    const late = await w.sim.click(eve, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    assert.match(answered(late), /Spring TeachMeet has been cancelled/);
    assert.equal((await w.signUps(eventId)).agg.signUps.has(eve.aadObjectId), false);

    const again = await w.sim.click(w.cora, w.staffRoom, card, 'Cancel this TeachMeet', {}, { replyToId: activityId });
    assert.match(answered(again), /already cancelled/);
    await w.settle();
    for (const who of [ann, ben, cat, dev]) assert.equal(w.messagesFor(who, /Spring TeachMeet is cancelled/).length, 1, `${who.name} was not told twice`);
    const edit = await w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId });
    assert.match(answered(edit), /cancelled, so it cannot be edited/);
  });

  it('when the organiser draws the running order with three presenters, then the card lists each of them exactly once', async function () {
    await w.sim.click(ann, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5' }, { replyToId: activityId });
    await w.sim.click(ben, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Oracy in maths', slot: '5' }, { replyToId: activityId });
    await w.sim.click(cat, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Reading ages', slot: '7' }, { replyToId: activityId });
    await w.sim.click(dev, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });

    const drawn = await w.sim.click(w.cora, w.staffRoom, card, 'Draw running order', {}, { replyToId: activityId });
    assert.match(answered(drawn), /Running order drawn for 3 presenters/);
    await w.settle();
    for (const shown of [invokeResponseCard(drawn.body)!, w.sharedCard(activityId)]) {
      const order = runningOrder(shown);
      assert.equal(order.length, 3, `three lines: ${order.join(' | ')}`);
      const expected = [
        /Ann Hughes \(Oakfield Academy\): 5 min, 'Retrieval practice'/,
        /Ben Carter \(Brookside Primary\): 5 min, 'Oracy in maths'/,
        /Cat Nolan \(no school set\): 7 min, 'Reading ages'/,
      ];
      for (const line of expected) assert.equal(order.filter((l) => line.test(l)).length, 1, `${line} once`);
      assert.deepEqual(order.map((l) => l.split('.')[0]), ['1', '2', '3']);
      assert.ok(!order.some((l) => l.includes('Dev Shah')), 'attendees are not in the running order');
    }
  });

  it("when the organiser asks who's coming, then the card lists names, schools, roles and talks, and its CSV link downloads the same people", async function () {
    await signUpEveryone();
    const listed = await w.sim.click(w.cora, w.staffRoom, card, "Who's coming", {}, { replyToId: activityId });
    const list = invokeResponseCard(listed.body);
    assert.ok(list, answered(listed));
    const text = cardText(list);
    assert.match(text, /Who's coming: Spring TeachMeet/);
    assert.match(text, /3 coming, 1 waiting/);
    const rows = text.split('\n');
    const row = (name: string) => rows.slice(rows.indexOf(name), rows.indexOf(name) + 3).join(' | ');
    assert.equal(row('Dev Shah'), "Dev Shah | No school set | Presenting 5 min: 'Retrieval practice in Year 9'");
    assert.equal(row('Ann Hughes'), 'Ann Hughes | Oakfield Academy | Attending');
    assert.equal(row('Ben Carter'), 'Ben Carter | Brookside Primary | Attending');
    assert.equal(row('Cat Nolan'), 'Cat Nolan | No school set | Waiting (1)');

    const open = findAction(list, 'Download CSV (link valid for 15 minutes)');
    assert.equal(open?.type, 'Action.OpenUrl');
    const link = new URL(String(open.url));
    const url = new URL(`${link.pathname}${link.search}`, w.bot.together.url);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/csv/);
    const csv = readAsSpreadsheet(await response.text(), ',');
    assert.deepEqual(csv[0], ['Name', 'School', 'Role', 'Talk', 'Status']);
    assert.deepEqual(
      csv.slice(1).map((l) => l[0]).sort(),
      ['Ann Hughes', 'Ben Carter', 'Cat Nolan', 'Dev Shah'],
      'the same people as on the card',
    );
    assert.deepEqual(csv.find((l) => l[0] === 'Dev Shah'), ['Dev Shah', 'No school set', "Presenting 5 min: 'Retrieval practice in Year 9'", 'Retrieval practice in Year 9 — Low-stakes quizzes', 'confirmed']);
    assert.deepEqual(csv.find((l) => l[0] === 'Cat Nolan'), ['Cat Nolan', 'No school set', 'Waiting (1)', '', 'waiting']);

    const tamperedSig = new URL(url);
    const sig = tamperedSig.searchParams.get('sig')!;
    tamperedSig.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`);
    const longer = new URL(url);
    longer.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600));
    const otherEvent = new URL(url.toString().replace(eventId, 'tm0123456789'));
    const unsigned = new URL(url.pathname, url);
    for (const bad of [tamperedSig, longer, otherEvent, unsigned]) {
      const refused = await fetch(bad);
      assert.equal(refused.status, 403, `${bad.pathname}${bad.search} is refused`);
      assert.match(await refused.text(), /expired or is not valid/);
    }

    w.clock.advance(16 * 60_000);
    const expired = await fetch(url);
    assert.equal(expired.status, 403, 'after 16 minutes the link has expired');
  });

  it('when a presenter types my teachmeets, then they see the TeachMeet with its date and their talk', async function () {
    await signUpEveryone();
    const mine = said(await w.sim.say(dev, w.sim.personalChat(dev), 'my teachmeets'));
    assert.match(mine, /Your TeachMeets/);
    assert.match(mine, /Fri 4 Dec, 16:00/);
    assert.match(mine, /Spring TeachMeet: presenting 'Retrieval practice in Year 9' \(5 min\)/);

    const waiting = said(await w.sim.say(cat, w.sim.personalChat(cat), 'my teachmeets'));
    assert.match(waiting, /Spring TeachMeet: on the waitlist/);

    w.clock.set('2026-12-05T09:00:00Z');
    const after = said(await w.sim.say(dev, w.sim.personalChat(dev), 'my teachmeets'));
    assert.match(after, /Spring TeachMeet: presented 'Retrieval practice in Year 9' \(5 min\)/, 'afterwards it is their CPD record');
  });
});

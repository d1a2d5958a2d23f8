import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimUser, TurnResult } from '../support/simulator';
import { answered, FORM, said, World } from './world';

/** Who may do what with TeachMeets, and what a tampered or stale card gets: a clear answer, no change, never a 500. */

const REFUSED_ORGANISER = /Only the organiser \(Cora Whitfield\), the host school's reps or a coordinator can do that/;
const UNREADABLE = /That card sent something I could not read, so nothing was changed/;
const NOT_FOUND = /I can't find that TeachMeet/;

describe('TeachMeets: who may do what', function () {
  let w: World;
  let tom: SimUser;
  let ray: SimUser;
  let bea: SimUser;

  beforeEach(async function () {
    w = await World.start();
    tom = w.sim.user('tom', 'Tom Baker');
    ray = w.sim.user('ray', 'Ray Osei');
    bea = w.sim.user('bea', 'Bea Lund');
    await w.makeRep(ray, 'Oakfield Academy');
    await w.makeRep(bea, 'Brookside Primary');
    await w.sim.say(tom, w.staffRoom, 'my school Oakfield Academy');
  });

  afterEach(async function () {
    await w.stop();
  });

  function noFailures(): void {
    const failures = w.bot.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => String(l.msg));
    assert.deepEqual(failures, [], 'nothing failed inside the bot');
  }

  async function upcoming(): Promise<string> {
    return said(await w.sim.say(w.cora, w.staffRoom, 'teachmeets'));
  }

  it('when a teacher types teachmeet new, then they are told only reps and coordinators can, and who the coordinators are', async function () {
    const typed = await w.sim.say(tom, w.staffRoom, 'teachmeet new');
    const text = said(typed);
    assert.match(text, /Only school reps and coordinators can use `teachmeet new`/);
    assert.match(text, /Cora Whitfield/, 'names the coordinators to ask');
    assert.equal(typed.sent.flatMap((s) => adaptiveCardsOf(s.activity)).length, 0, 'no form');

    const forged = await w.sim.execute(tom, w.staffRoom, 'teachmeet.create', { ...FORM, host: w.schoolId });
    assert.equal(forged.status, 200);
    assert.match(answered(forged), /Only school reps and coordinators can use that/);
    assert.match(await upcoming(), /No TeachMeets are coming up/, 'nothing was created');
  });

  it('when a rep creates a TeachMeet, then they can host it at their own school or online, not at another school', async function () {
    const typed = await w.sim.say(ray, w.staffRoom, 'teachmeet new');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const form = adaptiveCardsOf(formSent.activity)[0]!;
    const hostChoices = JSON.stringify(form);
    assert.match(hostChoices, /Oakfield Academy/);
    assert.match(hostChoices, /"Online"/);
    assert.doesNotMatch(hostChoices, /Brookside Primary/, 'another school is not offered');

    const elsewhere = await w.sim.click(ray, w.staffRoom, formSent, 'Create and post', { ...FORM, host: w.otherSchoolId });
    assert.equal(elsewhere.status, 200);
    assert.match(answered(elsewhere), /Choose the host school, or online/);
    assert.match(await upcoming(), /No TeachMeets are coming up/, 'nothing was created for another school');

    const own = await w.sim.click(ray, w.staffRoom, formSent, 'Create and post', { ...FORM, host: w.schoolId });
    assert.match(answered(own), /TeachMeet: Spring TeachMeet/);
    assert.match(answered(own), /Oakfield Academy, Library/);

    const online = await w.createEvent(ray, { title: 'Online TeachMeet', host: 'online', venue: '', link: 'https://teams.example/meet/1' });
    assert.match(cardText(online.card), /TeachMeet: Online TeachMeet/);
    assert.match(cardText(online.card), /Online/);
  });

  for (const button of ['Edit details', "Who's coming", 'Draw running order', 'Cancel this TeachMeet']) {
    it(`when someone who is not the organiser, a host-school rep or a coordinator presses ${button}, then they are refused and nothing changes`, async function () {
      const { card, activityId, eventId } = await w.createEvent();
      const ann = w.sim.user('ann', 'Ann Hughes');
      await w.sim.click(ann, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5', talkLine: '' }, { replyToId: activityId });
      await w.settle();
      const before = await w.signUps(eventId);
      const sentBefore = w.sim.sent.length;

      for (const who of [tom, bea, ann]) {
        const pressed = await w.sim.click(who, w.staffRoom, card, button, {}, { replyToId: activityId });
        assert.equal(pressed.status, 200);
        assert.match(answered(pressed), REFUSED_ORGANISER, `${who.name} is refused`);
        assert.equal(invokeResponseCard(pressed.body), undefined, `${who.name} gets no form, list or new card`);
      }
      await w.settle();

      const after = await w.signUps(eventId);
      assert.equal(after.agg.event.version, before.agg.event.version, 'the event did not change');
      assert.equal(after.agg.event.status, 'open');
      assert.deepEqual(after.agg.event.runningOrder, before.agg.event.runningOrder);
      assert.equal(w.sim.sent.length, sentBefore, 'no card update and no messages');
      noFailures();
    });
  }

  it('when a teacher sends Save changes without the form (a forged card), then they are refused and the event is unchanged', async function () {
    const { eventId } = await w.createEvent();
    const forged = await w.sim.execute(tom, w.staffRoom, 'teachmeet.saveEdit', { ...FORM, host: w.schoolId, eventId, title: 'Hijacked', places: '500' });
    assert.equal(forged.status, 200);
    assert.match(answered(forged), REFUSED_ORGANISER);
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.event.title, 'Spring TeachMeet');
    assert.equal(agg.event.places, 2);
  });

  it("when a rep of the host school or another coordinator presses Who's coming, then they see the list", async function () {
    const { card, activityId } = await w.createEvent();
    for (const who of [ray, w.cora]) {
      const pressed = await w.sim.click(who, w.staffRoom, card, "Who's coming", {}, { replyToId: activityId });
      assert.match(answered(pressed), /Who's coming: Spring TeachMeet/, `${who.name} sees the list`);
    }
  });
});

describe('TeachMeets: bad input', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let eventId: string;
  let activityId: string;
  let card: object;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    ({ eventId, activityId, card } = await w.createEvent());
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
  });

  afterEach(async function () {
    await w.stop();
  });

  /** `check` changes nothing and answers `expected`, in the chat or (for Action.Submit in a channel) privately to the presser. */
  async function unchanged(check: () => Promise<TurnResult>, expected: RegExp, presser?: SimUser): Promise<void> {
    const before = await w.signUps(eventId);
    const sentBefore = w.sim.sent.length;
    const result = await check();
    await w.settle();
    assert.equal(result.status, 200, 'answered with HTTP 200');
    assert.match(said(result), expected);
    const after = await w.signUps(eventId);
    assert.equal(after.agg.event.version, before.agg.event.version, 'the event did not change');
    assert.deepEqual([...after.agg.signUps.keys()], [...before.agg.signUps.keys()], 'no sign-up was stored');
    const replyTo = presser ? w.sim.personalChat(presser).id : w.staffRoom.id;
    const reply = (x: (typeof w.sim.sent)[number]) => x.method === 'POST' && result.sent.includes(x) && x.conversationId === replyTo;
    assert.deepEqual(w.sim.sent.slice(sentBefore).filter((x) => !reply(x)), [], 'no card update and no messages, beyond a reply to the person');
    const failures = w.bot.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => String(l.msg));
    assert.deepEqual(failures, [], 'nothing failed inside the bot');
  }

  it('when a card names a TeachMeet that does not exist, then each button says it cannot find it and nothing is stored', async function () {
    const ghost = 'tm0123456789';
    for (const verb of ['teachmeet.attend', 'teachmeet.cancel', 'teachmeet.acceptOffer', 'teachmeet.declineOffer', 'teachmeet.show', 'teachmeet.edit', 'teachmeet.list', 'teachmeet.draw', 'teachmeet.cancelEvent']) {
      const who = verb.endsWith('edit') || verb.endsWith('list') || verb.endsWith('draw') || verb.endsWith('cancelEvent') ? w.cora : ben;
      await unchanged(() => w.sim.execute(who, w.staffRoom, verb, { verb, eventId: ghost }), NOT_FOUND);
    }
    await unchanged(() => w.sim.execute(ben, w.staffRoom, 'teachmeet.present', { eventId: ghost, talkTitle: 'My talk', slot: '5', talkLine: '' }), NOT_FOUND);
    await unchanged(() => w.sim.execute(w.cora, w.staffRoom, 'teachmeet.saveEdit', { ...FORM, host: w.schoolId, eventId: ghost }), NOT_FOUND);
    assert.equal(await w.bot.together.teachmeets.queue.read(ghost), undefined, 'nothing was stored under the unknown id');
    const mine = said(await w.sim.say(ben, w.sim.personalChat(ben), 'my teachmeets'));
    assert.match(mine, /You haven't signed up for any TeachMeets yet/);
  });

  it('when a card payload is tampered with (odd ids, wrong slot, huge or wrongly typed values), then the person is told the card could not be read and nothing changes', async function () {
    const tampered: [string, unknown][] = [
      ['teachmeet.attend', { eventId: `${eventId}/../other` }],
      ['teachmeet.attend', { eventId: "tm' or RowKey ne '" }],
      ['teachmeet.attend', { eventId: `${eventId}#?` }],
      ['teachmeet.attend', { eventId: 'x'.repeat(5000) }],
      ['teachmeet.attend', { eventId: 12345 }],
      ['teachmeet.attend', { eventId: [eventId] }],
      ['teachmeet.attend', { eventId: { $ne: '' } }],
      ['teachmeet.attend', {}],
      ['teachmeet.attend', 'just a string'],
      ['teachmeet.attend', null],
      ['teachmeet.present', { eventId, talkTitle: 'My talk', slot: '9', talkLine: '' }],
      ['teachmeet.present', { eventId, talkTitle: 'My talk', slot: 5, talkLine: '' }],
      ['teachmeet.present', { eventId, talkTitle: 'T'.repeat(10_000), slot: '5', talkLine: '' }],
      ['teachmeet.present', { eventId, talkTitle: 'My talk', slot: '5', talkLine: 'L'.repeat(10_000) }],
      ['teachmeet.present', { eventId, talkTitle: 42, slot: '5', talkLine: '' }],
      ['teachmeet.present', { eventId, talkTitle: '', slot: '5', talkLine: '' }],
      ['teachmeet.saveEdit', { ...FORM, host: w.schoolId, eventId, places: 20 }],
      ['teachmeet.saveEdit', { ...FORM, host: w.schoolId, eventId, title: 'T'.repeat(10_000) }],
      ['teachmeet.saveEdit', { ...FORM, host: w.schoolId, eventId: `${eventId}'` }],
      ['teachmeet.create', { ...FORM, host: w.schoolId, places: 20 }],
    ];
    for (const [verb, data] of tampered) {
      const who = verb === 'teachmeet.saveEdit' || verb === 'teachmeet.create' ? w.cora : ben;
      await unchanged(() => w.sim.invoke(who, w.staffRoom, 'adaptiveCard/action', { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' }, { replyToId: activityId }), UNREADABLE);
    }
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'teachmeets')), /Spring TeachMeet/);
    assert.doesNotMatch(said(await w.sim.say(w.cora, w.staffRoom, 'teachmeets')), /Spring TeachMeet[\s\S]*Spring TeachMeet/, 'no second TeachMeet was created');
  });

  it('when the old-client fallback (Action.Submit) carries a tampered payload, then the person gets the same clear message in their personal chat', async function () {
    await unchanged(() => w.sim.submit(ben, w.staffRoom, { verb: 'teachmeet.present', eventId, talkTitle: 'My talk', slot: '9' }), UNREADABLE, ben);
    await unchanged(() => w.sim.submit(ben, w.staffRoom, { verb: 'teachmeet.attend', eventId: 'tm0123456789' }), NOT_FOUND, ben);
  });

  it('when a card names a button the bot does not know, then the person is told so and nothing changes', async function () {
    await unchanged(() => w.sim.execute(ben, w.staffRoom, 'teachmeet.explode', { eventId }), /That button is not one I know/);
    await unchanged(() => w.sim.invoke(ben, w.staffRoom, 'adaptiveCard/action', { action: { type: 'Action.Execute', data: { eventId } }, trigger: 'manual' }), /That button is not one I know/);
    await unchanged(() => w.sim.invoke(ben, w.staffRoom, 'adaptiveCard/action', { trigger: 'manual' }), /That button is not one I know/);
    await unchanged(() => w.sim.execute(ben, w.staffRoom, 'Teachmeet.Attend', { eventId }), /That button is not one I know/);
  });

  it("when a card carries another person's id, then the button acts for the person who pressed it, never the other", async function () {
    await unchanged(
      () => w.sim.execute(ben, w.staffRoom, 'teachmeet.cancel', { eventId, aadObjectId: ann.aadObjectId, person: { aadObjectId: ann.aadObjectId }, from: ann.id }),
      /You don't have a place at Spring TeachMeet, so there was nothing to cancel/,
    );
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.get(ann.aadObjectId)?.status, 'confirmed', 'Ann keeps her place');
  });
});

import assert from 'node:assert/strict';
import { actionTitles, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimUser, TurnResult } from '../support/simulator';
import { answered, hasAction, runningOrder, said, via, World } from './world';

/**
 * Using a TeachMeet card as people do (issue 17): destructive buttons ask first, every secondary view
 * has a way back to the card, a late presenter is not lost from the running order, and each person sees
 * only the buttons they may use.
 */

const ORGANISER_BUTTONS = ['Organiser', 'Edit details', "Who's coming", 'Draw running order', 'Cancel this TeachMeet'];

function cardOf(result: TurnResult, who: string): object {
  const card = invokeResponseCard(result.body);
  assert.ok(card, `${who} got a card back: ${answered(result)}`);
  return card;
}

describe('TeachMeets: safe and navigable cards', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let dev: SimUser;
  let card: object;
  let activityId: string;
  let eventId: string;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    dev = w.sim.user('dev', 'Dev Shah');
    ({ card, activityId, eventId } = await w.createEvent(w.cora, { places: '1', slots5: '3' }));
  });

  afterEach(async function () {
    await w.stop();
  });

  const click = (who: SimUser, on: object, title: string, inputs: Record<string, string> = {}) => w.sim.click(who, w.staffRoom, on, title, inputs, { replyToId: activityId });

  it('when the organiser presses Cancel this TeachMeet, then nothing happens until they confirm with a reason; everyone is told the reason once, even if the confirm is pressed twice', async function () {
    await click(ann, card, 'Attend');
    await click(dev, card, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5' });
    await w.settle();
    const sentBefore = w.sim.sent.length;

    const asked = cardOf(await click(w.cora, card, 'Cancel this TeachMeet'), 'Cora');
    assert.match(cardText(asked), /Cancel this TeachMeet\?/);
    assert.match(cardText(asked), /All 2 people signed up or waiting will be told, with your reason/);
    assert.deepEqual(actionTitles(asked), ['Yes, cancel this TeachMeet', 'Back']);
    await w.settle();
    assert.equal((await w.signUps(eventId)).agg.event.status, 'open', 'asking cancels nothing');
    assert.equal(w.sim.sent.length, sentBefore, 'and tells nobody');

    const noReason = await w.sim.execute(w.cora, w.staffRoom, 'teachmeet.cancelEventSure', { eventId, reason: ' ' }, { replyToId: activityId });
    assert.match(answered(noReason), /Say why it is cancelled: everyone signed up will read it. Nothing has been cancelled yet/);
    assert.equal((await w.signUps(eventId)).agg.event.status, 'open', 'no reason, no cancellation');

    const back = cardOf(await click(w.cora, asked, 'Back'), 'Cora');
    assert.match(cardText(back), /TeachMeet: Spring TeachMeet/);
    assert.match(cardText(back), /Open/);

    const first = await click(w.cora, asked, 'Yes, cancel this TeachMeet', { reason: 'The hall is flooded' });
    assert.match(answered(first), /Spring TeachMeet is cancelled. Everyone signed up or waiting will be told/);
    const retry = await click(w.cora, asked, 'Yes, cancel this TeachMeet', { reason: 'The hall is flooded' });
    assert.match(answered(retry), /Spring TeachMeet was already cancelled/);
    await w.settle();

    for (const who of [ann, dev]) {
      const told = w.messagesFor(who, /Spring TeachMeet is cancelled/);
      assert.equal(told.length, 1, `${who.name} was told once`);
      assert.match(said({ status: 200, body: undefined, sent: told }), /The organiser has cancelled this TeachMeet: The hall is flooded\. Sorry for any inconvenience/);
    }
    assert.match(cardText(w.sharedCard(activityId)), /Cancelled/);
  });

  it('when a presenter presses Cancel my place, then they are asked first and keep their slot until they say yes; a second yes gives nothing more away', async function () {
    await click(dev, card, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5' });
    await click(ann, card, 'Attend');
    await click(ben, card, 'Attend'); // waiting for Ann's place
    await w.settle();

    const asked = cardOf(await click(dev, card, 'Cancel my place'), 'Dev');
    assert.match(cardText(asked), /Cancel your place\?/);
    assert.match(cardText(asked), /Your 5-minute slot for 'Retrieval practice' will go to someone else/);
    assert.deepEqual(actionTitles(asked), ['Yes, cancel my place', 'Keep my place']);
    assert.equal((await w.signUps(eventId)).agg.signUps.get(dev.aadObjectId)?.status, 'confirmed', 'asking gives nothing away');

    const kept = cardOf(await click(dev, asked, 'Keep my place'), 'Dev');
    assert.match(cardText(kept), /You're presenting: 5 min, 'Retrieval practice'/);

    const attendee = cardOf(await click(ann, card, 'Cancel my place'), 'Ann');
    assert.match(cardText(attendee), /Your place will go to the next person waiting/);
    await w.settle();
    assert.equal(w.messagesFor(ben, /A place has come up/).length, 0, 'nobody is offered Ann\'s place while she is only asked');

    const yes = await click(ann, attendee, 'Yes, cancel my place');
    assert.match(answered(yes), /Your place at Spring TeachMeet is cancelled/);
    const again = await click(ann, attendee, 'Yes, cancel my place');
    assert.match(answered(again), /You don't have a place at Spring TeachMeet, so there was nothing to cancel/);
    await w.settle();
    assert.equal(w.messagesFor(ben, /A place has come up/).length, 1, 'Ben is offered the place once');
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.get(ann.aadObjectId)?.status, 'cancelled');
    assert.equal(agg.signUps.get(dev.aadObjectId)?.status, 'confirmed', 'Dev kept his slot');
  });

  it("when the organiser opens Who's coming, Edit details or a confirmation, then Back brings their own view of the TeachMeet card back, and a teacher's Back brings theirs", async function () {
    await click(ann, card, 'Attend');
    await w.settle();
    const views: [string, object][] = [
      ["Who's coming", cardOf(await click(w.cora, card, "Who's coming"), 'Cora')],
      ['Edit details', cardOf(await click(w.cora, card, 'Edit details'), 'Cora')],
      ['Cancel this TeachMeet', cardOf(await click(w.cora, card, 'Cancel this TeachMeet'), 'Cora')],
    ];
    for (const [from, view] of views) {
      assert.ok(hasAction(view, 'Back'), `${from} has a Back`);
      const back = cardOf(await click(w.cora, view, 'Back'), 'Cora');
      assert.match(cardText(back), /TeachMeet: Spring TeachMeet/, `Back from ${from} shows the card`);
      assert.match(cardText(back), /0 of 1 left/, 'as it is now');
      for (const button of ORGANISER_BUTTONS) assert.ok(hasAction(back, button), `Back from ${from} gives the organiser ${button}`);
    }
    assert.ok(hasAction(card, 'Back'), 'the Present form has a Back too');

    const asked = cardOf(await click(ann, card, 'Cancel my place'), 'Ann');
    const back = cardOf(await click(ann, asked, 'Keep my place'), 'Ann');
    assert.match(cardText(back), /You're attending/);
    for (const button of ORGANISER_BUTTONS) assert.ok(!hasAction(back, button), `Ann's own view has no ${button}`);
  });

  it('when a presenter signs up after the running order was drawn, then they are added at the end, marked as added after the draw, and told their place; drawing again mixes them in', async function () {
    await click(ann, card, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5' });
    await click(ben, card, 'Sign up to present', { talkTitle: 'Oracy in maths', slot: '5' });
    const drawn = await click(w.cora, card, 'Draw running order');
    assert.match(answered(drawn), /Running order drawn for 2 presenters/);

    const late = await click(dev, card, 'Sign up to present', { talkTitle: 'Reading ages', slot: '5' });
    assert.match(answered(late), /You're presenting: 5 min, 'Reading ages'. The running order was already drawn, so you're at the end of it: number 3/);
    await w.settle();

    const shared = w.sharedCard(activityId);
    const order = runningOrder(shared);
    assert.equal(order.length, 3, order.join(' | '));
    assert.equal(order[2], "3. Dev Shah (no school set): 5 min, 'Reading ages' (added after the draw)");
    assert.ok(order.slice(0, 2).every((l) => !l.includes('added after the draw')));

    const organiserView = cardOf(await click(w.cora, card, "Who's coming"), 'Cora');
    const mine = cardOf(await click(w.cora, organiserView, 'Back'), 'Cora');
    assert.match(cardText(mine), /1 presenter signed up after the draw and is at the end. Draw again to mix them in/);

    const redrawn = await click(w.cora, card, 'Draw running order');
    assert.match(answered(redrawn), /Running order drawn for 3 presenters/);
    const again = runningOrder(cardOf(redrawn, 'Cora'));
    assert.equal(again.length, 3);
    assert.ok(again.every((l) => !l.includes('added after the draw')), again.join(' | '));
    assert.doesNotMatch(cardText(cardOf(redrawn, 'Cora')), /signed up after the draw/);
  });
});

describe('TeachMeets: each person sees the buttons they may use', function () {
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
    // Reps who have chatted with Together 1:1: their Teams ids are known.
    for (const rep of [ray, bea]) await w.sim.say(rep, w.sim.personalChat(rep), 'whoami');
  });

  afterEach(async function () {
    await w.stop();
  });

  it("when the shared card is updated in a channel, then it has no organiser buttons and asks Teams to refresh it for the organiser and the host school's rep, who get their own view with them; a teacher and another school's rep do not", async function () {
    const { card, activityId } = await w.createEvent();
    await w.sim.click(tom, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();

    const shared = w.sharedCard(activityId) as { refresh?: { action?: Record<string, unknown>; userIds?: string[] } };
    for (const button of ORGANISER_BUTTONS) assert.ok(!hasAction(shared, button), `the shared card has no ${button}`);
    assert.ok(hasAction(shared, 'Attend') && hasAction(shared, 'Cancel my place'), 'it keeps what everyone may use');
    const userIds = shared.refresh?.userIds ?? [];
    assert.ok(userIds.includes(w.cora.id), 'the organiser gets their own view');
    assert.ok(userIds.includes(ray.id), "the host school's rep gets their own view");
    assert.ok(!userIds.includes(bea.id), "another school's rep does not");
    assert.ok(userIds.length <= 60, "within Teams' limit");

    const refreshAs = async (who: SimUser) =>
      cardOf(await w.sim.invoke(who, w.staffRoom, 'adaptiveCard/action', { action: shared.refresh!.action, trigger: 'automatic' }, { replyToId: activityId }), who.name);
    for (const who of [w.cora, ray]) {
      const own = await refreshAs(who);
      for (const button of ORGANISER_BUTTONS) assert.ok(hasAction(own, button), `${who.name}'s own view has ${button}`);
    }
    for (const who of [tom, bea]) {
      const own = await refreshAs(who);
      assert.match(cardText(own), /TeachMeet: Spring TeachMeet/);
      for (const button of ORGANISER_BUTTONS) assert.ok(!hasAction(own, button), `${who.name}'s own view has no ${button}`);
    }
    assert.match(cardText(await refreshAs(tom)), /You're attending/, "Tom's view shows his place");
  });

  it("when the press that changes the shared card reaches a second bot instance, then the card it draws still asks Teams for the organiser's and the host school's rep's own views, and not another school's rep's", async function () {
    const { card, activityId } = await w.createEvent();
    const second = await w.secondInstance();
    await via(w.sim, second.url, () => w.sim.click(tom, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }));
    await w.settle();

    const shared = w.sharedCard(activityId) as { refresh?: { userIds?: string[] } };
    assert.match(cardText(shared), /1 of 2 left/, "the card shows Tom's place taken");
    const userIds = shared.refresh?.userIds ?? [];
    assert.ok(userIds.includes(w.cora.id), 'the organiser (a coordinator from configuration) gets their own view');
    assert.ok(userIds.includes(ray.id), "the host school's rep gets their own view");
    assert.ok(!userIds.includes(bea.id), "another school's rep does not");
  });

  it("when a host school's rep was made a rep by @mention and never messaged Together, then the shared card still asks Teams for their own view, with the organiser buttons", async function () {
    const rob = w.sim.user('rob', 'Rob Ince');
    await w.makeRep(rob, 'Oakfield Academy');
    const { card, activityId } = await w.createEvent();
    await w.sim.click(tom, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    assert.equal(await w.bot.together.conversations.personal(rob.aadObjectId), undefined, 'Rob never chatted with Together');
    const shared = w.sharedCard(activityId) as { refresh?: { action?: Record<string, unknown>; userIds?: string[] } };
    assert.ok(shared.refresh?.userIds?.includes(rob.id), 'Rob is listed, by the Teams id his @mention carried');
    const own = cardOf(await w.sim.invoke(rob, w.staffRoom, 'adaptiveCard/action', { action: shared.refresh!.action, trigger: 'automatic' }, { replyToId: activityId }), rob.name);
    for (const button of ORGANISER_BUTTONS) assert.ok(hasAction(own, button), `Rob's own view has ${button}`);
  });

  it('when a teacher opens a TeachMeet from the list in a personal chat, then the card shows no organiser buttons and only the sign-up buttons that do something for them; the organiser sees the organiser buttons', async function () {
    await w.createEvent();
    for (const [who, organises] of [[tom, false], [w.cora, true]] as const) {
      const chat = w.sim.personalChat(who);
      const list = await w.sim.say(who, chat, 'teachmeets');
      const listed = list.sent.find((s) => s.method === 'POST' && s.conversationId === chat.id && /Spring TeachMeet/.test(JSON.stringify(s.activity)))!;
      const shown = cardOf(await w.sim.click(who, chat, listed, 'Show the card'), who.name);
      assert.match(cardText(shown), /TeachMeet: Spring TeachMeet/);
      for (const button of ORGANISER_BUTTONS) assert.equal(hasAction(shown, button), organises, `${who.name} ${organises ? 'sees' : 'does not see'} ${button}`);
      if (organises) continue;
      assert.ok(hasAction(shown, 'Attend'), 'Tom may attend');
      assert.ok(!hasAction(shown, 'Cancel my place'), 'Tom has no place to cancel');
      const attending = cardOf(await w.sim.click(who, chat, shown, 'Attend', {}, { replyToId: listed.activityId }), who.name);
      assert.match(cardText(attending), /You're attending/);
      assert.ok(!hasAction(attending, 'Attend'), 'attending, Tom is not offered Attend again');
      assert.ok(hasAction(attending, 'Cancel my place'), 'but may cancel his place');
      await w.settle();
    }
  });
});

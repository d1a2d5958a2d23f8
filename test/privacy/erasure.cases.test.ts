import assert from 'node:assert/strict';
import { adaptiveCardsOf, invokeResponseCard } from '../support/cardActions';
import { everyRow, identifying } from '../support/everyRow';
import type { SimUser, TurnResult } from '../support/simulator';
import { answered, said } from '../support/said';
import { runningOrder, World } from '../teachmeets/world';
import { cancelMyPlace } from '../support/confirm';

/** Erasure cases found in review, each failing before its fix: what is left afterwards, and how the capabilities carry on. */

function cardIn(result: TurnResult) {
  const sent = result.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
  assert.ok(sent, `a card: ${said(result)}`);
  return sent;
}

async function forgetMe(w: World, who: SimUser): Promise<void> {
  const card = cardIn(await w.sim.say(who, w.sim.personalChat(who), 'forget me'));
  const done = await w.sim.click(who, w.sim.personalChat(who), card, 'Yes, erase me');
  assert.match(answered(done), /Together no longer holds anything that identifies you/);
}

describe('erasure: what is left afterwards, and the capabilities after it', function () {
  let w: World;
  let ann: SimUser;
  let ben: SimUser;
  let dev: SimUser;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    dev = w.sim.user('dev', 'Dev Shah');
  });

  afterEach(async function () {
    await w.stop();
  });

  async function drawnEvent() {
    const { card, activityId, eventId } = await w.createEvent(w.cora, { places: '5', slots5: '3' });
    const click = (who: SimUser, title: string, inputs: Record<string, string> = {}) => w.sim.click(who, w.staffRoom, card, title, inputs, { replyToId: activityId });
    await click(ann, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5' });
    await click(ben, 'Sign up to present', { talkTitle: 'Oracy in maths', slot: '5' });
    const drawn = await click(w.cora, 'Draw running order');
    assert.match(answered(drawn), /Running order drawn for 2 presenters/);
    await w.settle();
    return { card, activityId, eventId, click };
  }

  it('when a presenter in a drawn running order says forget me, then no table still holds their Entra id', async function () {
    await drawnEvent();
    await forgetMe(w, ben);
    assert.deepEqual(identifying(await everyRow(w.bot.tablePrefix), ben), [], 'nothing identifies Ben');
  });

  it('when a presenter in the drawn running order of a TeachMeet still to come is erased, then their talk leaves the order (they will not give it) and nobody is shown as added after the draw', async function () {
    const { click } = await drawnEvent();
    await forgetMe(w, ben);
    const attended = await click(dev, 'Attend');
    await w.settle();
    const card = invokeResponseCard(attended.body)!;
    const order = runningOrder(card);
    assert.equal(order.length, 1, order.join(' | '));
    assert.match(order[0] ?? '', /Ann Hughes/);
    assert.ok(!order.some((l) => /added after the draw|Former member/.test(l)), order.join(' | '));
  });

  it('when a coordinator who turned rep announcements on says forget me, then no table still holds their Entra id', async function () {
    const r = await w.sim.say(w.cora, w.staffRoom, 'rep announcements on');
    assert.match(said(r), /school reps may now announce/);
    await forgetMe(w, w.cora);
    assert.deepEqual(identifying(await everyRow(w.bot.tablePrefix), w.cora), [], 'nothing identifies Cora');
  });

  it('when a teacher is erased through one instance and then messages another instance that knew their chat, then within ten minutes their personal chat is stored again', async function () {
    const other = await w.secondInstance();
    const first = w.sim.botEndpoint;
    w.sim.botEndpoint = other.url;
    await w.sim.say(ann, w.sim.personalChat(ann), 'help');
    w.sim.botEndpoint = first;
    await forgetMe(w, ann);
    assert.equal(await w.bot.together.conversations.personal(ann.aadObjectId), undefined);
    w.clock.advance(11 * 60_000);
    w.sim.botEndpoint = other.url;
    await w.sim.say(ann, w.sim.personalChat(ann), 'help');
    assert.ok(await w.bot.together.conversations.personal(ann.aadObjectId), 'stored again, so Together can reach Ann');
  });
  it('when the organiser of a TeachMeet says forget me, then no table still holds their Entra id, name or Teams id (the card copy row keeps its conversation reference)', async function () {
    const { eventId } = await w.createEvent(w.cora);
    await w.settle();
    await forgetMe(w, w.cora);
    const left = identifying(await everyRow(w.bot.tablePrefix), w.cora);
    assert.deepEqual(left.map((row) => row.slice(0, 400)), [], `nothing identifies Cora (event ${eventId})`);
  });
  it('when a rep who once pressed Stop reminding me on their school\'s reminder is erased, then the school\'s reminder is still there for the other reps', async function () {
    await w.sim.say(ann, w.sim.personalChat(ann), 'my school Oakfield Academy');
    const deadlines = w.bot.together.deadlines;
    await deadlines.register({
      id: 'review:school-reminder',
      capability: 'swaps',
      who: { kind: 'schoolReps', schoolId: w.schoolId },
      schoolId: w.schoolId,
      what: 'Your placement swap offer has no match yet. Its confirm-by date is',
      dueAt: new Date('2026-12-10T09:00:00Z'),
      kind: 'reminder',
      essential: false,
      actions: [],
    });
    // What `nudge.stop` does for Ann: her id goes into the school item's muted list.
    await deadlines.update('review:school-reminder', (item) => ({ ok: true, progress: { ...item.progress, muted: [ann.aadObjectId.toLowerCase()] }, nextAt: item.nextAt, result: undefined }));
    await forgetMe(w, ann);
    const item = await deadlines.get('review:school-reminder');
    assert.equal(item?.status, 'open', "Oakfield's reminder still waits on its other reps");
  });
  it('when a waitlisted teacher is erased and then a place frees up, then it is offered to the next real person on the waitlist', async function () {
    const cat = w.sim.user('cat', 'Cat Nolan');
    const { card, activityId, eventId } = await w.createEvent(w.cora, { places: '1' });
    for (const who of [ann, ben, cat]) await w.sim.click(who, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    await forgetMe(w, ben);
    await cancelMyPlace(w.sim, ann, w.staffRoom, card, { replyToId: activityId });
    await w.settle();
    const after = await w.signUps(eventId);
    const statuses = [...after.agg.signUps.values()].map((s) => `${s.name}: ${s.status}`).sort();
    assert.equal(after.agg.signUps.get(cat.aadObjectId)?.status, 'offered', `Cat is offered the freed place: ${statuses.join(', ')}`);
  });
  it('when an attendee is erased and the TeachMeet\'s reminders are registered again (an edit, the reminders timer), then no reminder is registered for the former member', async function () {
    const { card, activityId, eventId } = await w.createEvent(w.cora);
    await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    await forgetMe(w, ann);
    await w.bot.together.teachmeets.registerAllReminders(eventId);
    const open = await w.bot.together.deadlines.open();
    const ghosts = open.filter((d) => d.who.kind === 'person' && d.who.name === 'Former member');
    assert.deepEqual(ghosts.map((d) => `${d.id}: ${d.what}`), [], 'nobody to remind');
  });
});

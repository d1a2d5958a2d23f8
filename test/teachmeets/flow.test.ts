import assert from 'node:assert/strict';
import { ManualClock } from '../../src/platform/clock';
import { startTestBot, type TestBot } from '../support/bot';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { TeamsSimulator, type SimConversation, type SimUser } from '../support/simulator';
import { said } from '../support/said';
import { FORM } from './world';
import { cancelMyPlace } from '../support/confirm';

/** The TeachMeet flow through the wire: a coordinator creates, teachers sign up from the shared card. */

describe('TeachMeets through the wire', function () {
  let sim: TeamsSimulator;
  let bot: TestBot;
  let clock: ManualClock;
  let cora: SimUser;
  let ann: SimUser;
  let ben: SimUser;
  let cat: SimUser;
  let dev: SimUser;
  let staffRoom: SimConversation;
  let schoolId: string;

  beforeEach(async function () {
    sim = await TeamsSimulator.start();
    clock = new ManualClock('2026-11-25T10:00:00Z');
    cora = sim.user('cora', 'Cora Whitfield');
    ann = sim.user('ann', 'Ann Hughes');
    ben = sim.user('ben', 'Ben Carter');
    cat = sim.user('cat', 'Cat Nolan');
    dev = sim.user('dev', 'Dev Shah');
    staffRoom = sim.channel('Riverside Schools Together', 'TeachMeets');
    bot = await startTestBot({ env: { COORDINATORS: cora.aadObjectId }, clock });
    sim.botEndpoint = bot.url;
    await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    schoolId = (await bot.together.directory.schools())[0]!.id;
  });

  afterEach(async function () {
    await bot.stop();
    await sim.stop();
  });

  async function createEvent(): Promise<{ card: object; activityId: string }> {
    const form = await sim.say(cora, staffRoom, 'teachmeet new');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const created = await sim.click(cora, staffRoom, formSent, 'Create and post', { ...FORM, host: schoolId });
    const card = invokeResponseCard(created.body);
    assert.ok(card, `the form was replaced by the event card: ${JSON.stringify(created.body).slice(0, 300)}`);
    return { card, activityId: formSent.activityId };
  }

  it('when a coordinator creates a TeachMeet and people attend, present and cancel, then the shared card and each person see the right state', async function () {
    const { card, activityId } = await createEvent();
    const shared = cardText(card);
    assert.match(shared, /TeachMeet: Spring TeachMeet/);
    assert.match(shared, /Fri 4 Dec, 16:00–17:30/);
    assert.match(shared, /Oakfield Academy, Library/);
    assert.match(shared, /2 of 2 left/);

    const attended = await sim.click(ann, staffRoom, card, 'Attend', {}, { replyToId: activityId });
    assert.match(said(attended), /You're attending/);
    await bot.together.teachmeets.settle();
    const updates = sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId);
    assert.ok(updates.length > 0, 'the shared card was updated in place');
    assert.match(cardText(adaptiveCardsOf(updates.at(-1)!.activity)[0]!), /1 of 2 left/);
    const confirmation = sim.sent.filter((s) => s.method === 'POST' && cardText(adaptiveCardsOf(s.activity)[0] ?? {}).includes('Your place is confirmed'));
    assert.equal(confirmation.length, 1, 'Ann got one confirmation');
    assert.ok(adaptiveCardsOf(confirmation[0]!.activity).some((c) => JSON.stringify(c).includes('teams.microsoft.com/l/meeting/new')), 'with an Add to calendar link');

    const presented = await sim.click(ben, staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice in Year 9', slot: '5', talkLine: 'Low-stakes quizzes' }, { replyToId: activityId });
    assert.match(said(presented), /You're presenting: 5 min, 'Retrieval practice in Year 9'/);
    assert.equal(said(presented).match(/You're presenting/g)?.length, 1, `the card tells Ben he is presenting once, not twice: ${said(presented)}`);

    await sim.click(cat, staffRoom, card, 'Attend', {}, { replyToId: activityId });
    const full = await sim.click(dev, staffRoom, card, 'Attend', {}, { replyToId: activityId });
    assert.match(said(full), /Spring TeachMeet is full: you're number 1 on the waitlist/);
    assert.equal(said(full).match(/on the waitlist/g)?.length, 1, 'the card tells Dev their place on the waitlist once, not twice');

    const cancelled = await cancelMyPlace(sim, ann, staffRoom, card, { replyToId: activityId });
    assert.match(said(cancelled), /Your place at Spring TeachMeet is cancelled/);
    await bot.together.teachmeets.settle();
    const offers = sim.sent.filter((s) => cardText(adaptiveCardsOf(s.activity)[0] ?? {}).includes('A place has come up'));
    assert.equal(offers.length, 1, 'Dev was offered the place once');
    const accepted = await sim.click(dev, sim.personalChat(dev), offers[0]!, 'Accept the place');
    assert.match(said(accepted), /Your place at Spring TeachMeet is confirmed/);
    await bot.together.teachmeets.settle();
    const last = sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId).at(-1)!;
    const finalText = cardText(adaptiveCardsOf(last.activity)[0]!);
    assert.match(finalText, /0 of 2 left/);
    assert.match(finalText, /Nobody waiting/);
    assert.match(finalText, /0 of 1 × 5 min left/);
  });

  it('when the form has problems, then it comes back with each problem by its field and the values kept, and nothing is stored', async function () {
    const form = await sim.say(cora, staffRoom, 'teachmeet new');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const bad = await sim.click(cora, staffRoom, formSent, 'Create and post', { ...FORM, host: schoolId, date: '2026-11-01', end: '15:00', places: '0', link: 'http://insecure.example' });
    const text = said(bad);
    assert.match(text, /That date and time is in the past/);
    assert.match(text, /number of attendee places/);
    assert.match(text, /must be a full https:\/\/ address/);
    const card = invokeResponseCard(bad.body)!;
    assert.match(JSON.stringify(card), /Spring TeachMeet/, 'the title typed is kept');
    const list = await sim.say(cora, staffRoom, 'teachmeets');
    assert.match(said(list), /No TeachMeets are coming up/);
  });

  it('when someone attends from a card in their personal chat, then the update that follows still shows their place; in a channel the card asks Teams to refresh the organiser\'s and signed-up people\'s own views', async function () {
    const mine = sim.personalChat(cora);
    const form = await sim.say(cora, mine, 'teachmeet new');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const created = await sim.click(cora, mine, formSent, 'Create and post', { ...FORM, host: schoolId });
    const card = invokeResponseCard(created.body)!;
    const attended = await sim.click(cora, mine, card, 'Attend', {}, { replyToId: formSent.activityId });
    assert.match(said(attended), /You're attending/);
    await bot.together.teachmeets.settle();
    const update = sim.sent.filter((s) => s.method === 'PUT' && s.activityId === formSent.activityId).at(-1);
    assert.ok(update, 'the card in the chat was updated');
    const updated = adaptiveCardsOf(update.activity)[0]!;
    assert.match(cardText(updated), /You're attending/, 'the update shows the reader their own place');
    assert.match(cardText(updated), /1 of 2 left/);

    const { card: channelCard, activityId } = await createEvent();
    await sim.click(ann, staffRoom, channelCard, 'Attend', {}, { replyToId: activityId });
    await bot.together.teachmeets.settle();
    const shared = adaptiveCardsOf(sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId).at(-1)!.activity)[0] as { refresh?: { userIds?: string[]; action?: { verb?: string } } };
    assert.doesNotMatch(cardText(shared), /You're attending/, 'the channel copy is everyone\'s view');
    assert.deepEqual(shared.refresh?.userIds, [cora.id, ann.id], 'Teams refreshes the organiser\'s own view, then Ann\'s');
    assert.equal(shared.refresh?.action?.verb, 'teachmeet.show');
  });
});

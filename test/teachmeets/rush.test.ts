import assert from 'node:assert/strict';
import { cardText, invokeResponseCard } from '../support/cardActions';
import type { SimUser, TurnResult } from '../support/simulator';
import { startTestBot } from '../support/bot';
import type { Outcome } from '../../src/teachmeets/rules';
import { answered, textOf, via, World } from './world';

/** A rush of sign-ups through HTTP, on one and on two bot instances, and Teams' redeliveries. */

const PLACES = 20;
const PEOPLE = 200;

interface Told {
  readonly confirmed: SimUser[];
  readonly waitlisted: Map<number, SimUser>;
  readonly other: string[];
}

/** Reads what each person was told by their own click. */
function tally(people: SimUser[], results: TurnResult[]): Told {
  const confirmed: SimUser[] = [];
  const waitlisted = new Map<number, SimUser>();
  const other: string[] = [];
  results.forEach((r, i) => {
    const text = answered(r);
    const position = /you're number (\d+) on the waitlist/i.exec(text);
    if (r.status !== 200) other.push(`HTTP ${r.status}: ${text}`);
    else if (/You're attending/.test(text)) confirmed.push(people[i]!);
    else if (position) {
      const n = Number(position[1]);
      assert.ok(!waitlisted.has(n), `position ${n} was told to ${waitlisted.get(n)?.name} and ${people[i]!.name}`);
      waitlisted.set(n, people[i]!);
    } else other.push(text);
  });
  return { confirmed, waitlisted, other };
}

describe('TeachMeets under a rush of sign-ups', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  async function assertRushSettled(eventId: string, activityId: string, people: SimUser[], told: Told): Promise<void> {
    assert.deepEqual(told.other, [], 'everyone was told they have a place or their waitlist position');
    assert.equal(told.confirmed.length, PLACES, `exactly ${PLACES} people were told they have a place`);
    assert.deepEqual(
      [...told.waitlisted.keys()].sort((a, b) => a - b),
      Array.from({ length: PEOPLE - PLACES }, (_, i) => i + 1),
      'the waitlist positions people were told are 1..180, each once',
    );

    const { agg } = await w.signUps(eventId);
    const rows = [...agg.signUps.values()];
    assert.equal(rows.length, PEOPLE, 'one sign-up row per person, nobody twice');
    const confirmed = rows.filter((s) => s.status === 'confirmed');
    const waiting = rows.filter((s) => s.status === 'waiting').sort((a, b) => a.waitNumber! - b.waitNumber!);
    assert.equal(confirmed.length, PLACES, `exactly ${PLACES} confirmed in storage`);
    assert.equal(waiting.length, PEOPLE - PLACES, 'everyone else is waiting in storage');
    assert.deepEqual(
      waiting.map((s) => s.waitNumber),
      Array.from({ length: PEOPLE - PLACES }, (_, i) => i + 1),
      'stored waitlist numbers are unique and gapless',
    );
    assert.deepEqual(
      confirmed.map((s) => s.aadObjectId).sort(),
      told.confirmed.map((u) => u.aadObjectId).sort(),
      'the people told they have a place are the people stored as confirmed',
    );
    for (const [n, person] of told.waitlisted) {
      assert.equal(agg.signUps.get(person.aadObjectId)?.waitNumber, n, `${person.name} is stored at the position they were told`);
    }
    assert.deepEqual(
      new Set(people.map((p) => p.aadObjectId)),
      new Set(rows.map((s) => s.aadObjectId)),
      'every person who clicked is stored, and nobody else',
    );

    await w.settle();
    const shared = cardText(w.sharedCard(activityId));
    assert.match(shared, new RegExp(`0 of ${PLACES} left`), 'the shared card finally shows no places left');
    assert.match(shared, new RegExp(`${PEOPLE - PLACES} waiting`), 'and everyone waiting');

    const confirmations = w.sim.sent.filter((s) => s.method === 'POST' && /Your place is confirmed/.test(textOf(s)));
    assert.equal(confirmations.length, PLACES, 'one confirmation message per place');
    assert.equal(new Set(confirmations.map((s) => s.conversationId)).size, PLACES, 'each to a different person');
  }

  it('when 200 people press Attend at once for 20 places, then exactly 20 get a place and 180 are waitlisted 1..180, as told and as stored, and the shared card says so', async function () {
    const { card, activityId, eventId } = await w.createEvent(w.cora, { places: String(PLACES) });
    const people = Array.from({ length: PEOPLE }, (_, i) => w.sim.user(`teacher${i}`, `Teacher ${i}`));

    const results = await Promise.all(people.map((p) => w.sim.click(p, w.staffRoom, card, 'Attend', {}, { replyToId: activityId })));

    await assertRushSettled(eventId, activityId, people, tally(people, results));
  });

  it('when 200 people press Attend at once, split between two bot instances on the same tables, then still exactly 20 get a place and the waitlist is gapless', async function () {
    const { card, activityId, eventId } = await w.createEvent(w.cora, { places: String(PLACES) });
    const second = await w.secondInstance();
    const people = Array.from({ length: PEOPLE }, (_, i) => w.sim.user(`teacher${i}`, `Teacher ${i}`));

    const results = await Promise.all(
      people.map((p, i) => via(w.sim, i % 2 === 0 ? w.bot.url : second.url, () => w.sim.click(p, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }))),
    );

    const failures = [...w.bot.logs, ...second.logs].filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => `${String(l.msg)}: ${JSON.stringify(l.err)}`);
    assert.deepEqual(failures, [], 'no turn or commit failed');
    await assertRushSettled(eventId, activityId, people, tally(people, results));
  });

  it('when one instance stands back after a conflict and clicks keep coming to both without a pause, then the clicks it holds are still answered while the rush goes on', async function () {
    this.timeout(30_000);
    const { card, activityId, eventId } = await w.createEvent(w.cora, { places: '5' });
    const second = await w.secondInstance();
    const click = (endpoint: string, person: SimUser) => via(w.sim, endpoint, () => w.sim.click(person, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }));
    // Both instances know the event; the second moves it on, so the first instance's next commit meets a conflict.
    await click(w.bot.url, w.sim.user('ann', 'Ann Hughes'));
    await w.settle();
    await click(second.url, w.sim.user('ben', 'Ben Carter'));
    let heldAnswered = false;
    const held = click(w.bot.url, w.sim.user('mo', 'Mo Patel')).then((r) => {
      heldAnswered = true;
      return r;
    });

    // The rest of the rush goes straight into the two instances' queues (through HTTP the bot's own
    // work in this one process makes pauses of its own, and a pause lets a held click go anyway).
    const queues = [w.bot.together.teachmeets.queue, second.together.teachmeets.queue];
    const stream: Promise<{ readonly outcome: Outcome }>[] = [];
    for (let i = 0; !heldAnswered && i < 5_000; i += 1) {
      const person = { aadObjectId: `streamer-${i}`, teamsId: `29:streamer-${i}`, name: `Streamer ${i}`, schoolId: '' };
      stream.push(queues[i % 2]!.submit(eventId, { kind: 'attend', person }));
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    assert.ok(heldAnswered, `the held click was answered while sign-ups kept coming (${stream.length} came meanwhile)`);
    assert.ok(w.bot.together.teachmeets.queue.standbys >= 1, 'the first instance stood back');
    assert.match(answered(await held), /You're attending|you're number \d+ on the waitlist/i, 'Mo was told a place or a position');

    const outcomes = await Promise.all(stream);
    assert.deepEqual(outcomes.filter((o) => !o.outcome.ok), [], 'every sign-up in the rush went through');
    const { agg } = await w.signUps(eventId);
    const rows = [...agg.signUps.values()];
    assert.equal(rows.length, stream.length + 3, 'one row per person, nobody twice');
    assert.equal(rows.filter((s) => s.status === 'confirmed').length, 5, 'exactly the 5 places taken');
    assert.deepEqual(
      rows.filter((s) => s.status === 'waiting').map((s) => s.waitNumber).sort((a, b) => a! - b!),
      Array.from({ length: rows.length - 5 }, (_, i) => i + 1),
      'the waitlist is gapless',
    );
  });

  it('when an instance that has been committing an event meets a conflict, then it reads and carries on; one that has just started stands back', async function () {
    const { eventId } = await w.createEvent(w.cora, { places: '5' });
    const second = await w.secondInstance();
    const [a, b] = [w.bot.together.teachmeets.queue, second.together.teachmeets.queue];
    const signUp = async (q: typeof a, n: number) => {
      const person = { aadObjectId: `person-${n}`, teamsId: `29:person-${n}`, name: `Person ${n}`, schoolId: '' };
      const done = await q.submit(eventId, { kind: 'attend', person });
      assert.equal(done.outcome.ok, true, done.outcome.message);
      await w.settle();
    };
    await signUp(a, 1);
    await signUp(a, 2);
    await signUp(b, 3); // the second instance commits: the first one's copy is now out of date

    await signUp(a, 4);
    assert.deepEqual([a.conflicts, a.standbys], [1, 0], 'the first instance met the conflict and carried on');
    await signUp(b, 5);
    assert.deepEqual([b.conflicts, b.standbys], [1, 1], 'the second, with one commit behind it, stood back');

    const { agg } = await w.signUps(eventId);
    assert.deepEqual([...agg.signUps.keys()].sort(), [1, 2, 3, 4, 5].map((n) => `person-${n}`), 'all five are signed up, once each');
  });

  it('when an instance first reads the event while another is still committing a backlog for it, then it lets that backlog go first instead of committing in between, and neither meets a conflict', async function () {
    const { eventId } = await w.createEvent(w.cora, { places: '5' });
    const second = await w.secondInstance();
    const [a, b] = [w.bot.together.teachmeets.queue, second.together.teachmeets.queue];
    const attend = (n: number) => ({ kind: 'attend' as const, person: { aadObjectId: `person-${n}`, teamsId: `29:person-${n}`, name: `Person ${n}`, schoolId: '' } });
    // The first instance holds five transactions' worth of sign-ups and commits them back to back.
    const backlog = Array.from({ length: 400 }, (_, n) => a.submit(eventId, attend(n)));
    await backlog[0]; // its first batch is stored; the rest are still to go
    const late = await b.submit(eventId, attend(400));
    const outcomes = await Promise.all(backlog);
    await w.settle();

    assert.equal(late.outcome.ok, true, late.outcome.message);
    assert.deepEqual(outcomes.filter((o) => !o.outcome.ok), [], 'every sign-up of the backlog went through');
    assert.deepEqual([a.conflicts, b.conflicts], [0, 0], 'neither instance had to read the event again after a conflict');
    assert.ok(b.waits >= 1, 'the second instance waited for the first one');
    const { agg } = await w.signUps(eventId);
    const rows = [...agg.signUps.values()];
    assert.equal(rows.length, 401, 'one row per person, nobody twice');
    assert.equal(rows.filter((s) => s.status === 'confirmed').length, 5, 'exactly the 5 places taken');
    assert.equal(agg.signUps.get('person-400')?.waitNumber, 396, 'the late sign-up is last on the waitlist: it was committed after the backlog');
  });

  it('when the organiser cuts the places through another bot instance after creating the TeachMeet, then sign-ups on the instance that created it get only the places left', async function () {
    const { card, activityId } = await w.createEvent(w.cora, { places: '2' });
    const second = await w.secondInstance();
    const opened = await via(w.sim, second.url, () => w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId }));
    const form = invokeResponseCard(opened.body);
    assert.ok(form, answered(opened));
    const saved = await via(w.sim, second.url, () => w.sim.click(w.cora, w.staffRoom, form, 'Save changes', { places: '1' }, { replyToId: activityId }));
    assert.equal(saved.status, 200);

    // The instance that created it (and kept it as created) takes the next sign-ups.
    const [ann, ben] = [w.sim.user('ann', 'Ann Hughes'), w.sim.user('ben', 'Ben Carter')];
    const answers = await Promise.all([ann, ben].map((p) => w.sim.click(p, w.staffRoom, card, 'Attend', {}, { replyToId: activityId })));
    await w.settle();
    const told = answers.map((r) => answered(r));
    assert.equal(told.filter((t) => /You're attending/.test(t)).length, 1, `one place, one person attending: ${told.join(' | ')}`);
    assert.equal(told.filter((t) => /you're number 1 on the waitlist/i.test(t)).length, 1, 'the other is first on the waitlist');
    assert.match(cardText(w.sharedCard(activityId)), /0 of 1 left/, 'the shared card shows the one place taken');
    assert.ok(w.bot.together.teachmeets.queue.conflicts >= 1, 'the copy it kept from creating it was out of date, and the ETag said so');
  });

  it("when two instances change the event close together and one instance's card update is held up, then the shared card still ends showing the latest state", async function () {
    const { card, activityId } = await w.createEvent();
    const second = await w.secondInstance();
    const ann = w.sim.user('ann', 'Ann Hughes');
    const ben = w.sim.user('ben', 'Ben Carter');
    // Teams throttles the first update of the shared card: it is retried a second later.
    w.sim.failNext((req) => req.method === 'PUT' && req.path.endsWith(`/activities/${activityId}`), 429, { 'Retry-After': '1' });

    const first = await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    const then = await via(w.sim, second.url, () => w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }));
    assert.match(answered(first), /You're attending/);
    assert.match(answered(then), /You're attending/);
    await w.settle();

    assert.equal(w.sim.failures.length, 1, 'one update was held up');
    assert.match(cardText(w.sharedCard(activityId)), /0 of 2 left/, 'the last update shows both places taken');
  });

  it('when a rush is answered at once, then confirmations follow within the send rate, and someone who cancelled before theirs went is not told their place is confirmed', async function () {
    this.timeout(30_000);
    // An instance allowed 20 requests a second: 30 confirmations (each opening a chat first) take a few seconds.
    const paced = await startTestBot({ tablePrefix: w.bot.tablePrefix, env: { ...w.env, TEAMS_SEND_RATE: '20' }, clock: w.clock });
    w.others.push(paced);
    const { card, activityId } = await w.createEvent(w.cora, { places: '40' });
    const people = Array.from({ length: 29 }, (_, i) => w.sim.user(`early${i}`, `Early ${i}`));
    const started = Date.now();
    const early = await Promise.all(people.map((p) => via(w.sim, paced.url, () => w.sim.click(p, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }))));
    assert.ok(early.every((r) => /You're attending/.test(answered(r))), 'all 29 were answered with their place at once');
    const zoe = w.sim.user('zoe', 'Zoe Patel');
    const attended = await via(w.sim, paced.url, () => w.sim.click(zoe, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }));
    assert.match(answered(attended), /You're attending/);
    const asked = await via(w.sim, paced.url, () => w.sim.click(zoe, w.staffRoom, card, 'Cancel my place', {}, { replyToId: activityId }));
    const cancelled = await via(w.sim, paced.url, () => w.sim.click(zoe, w.staffRoom, invokeResponseCard(asked.body)!, 'Yes, cancel my place', {}, { replyToId: activityId }));
    assert.doesNotMatch(answered(cancelled), /You're attending/, 'Zoe has cancelled');
    assert.ok(people.some((p) => w.messagesFor(p, /Your place is confirmed/).length === 0), 'some confirmations were still waiting their turn when Zoe cancelled');

    await w.settle();
    for (const p of people) assert.equal(w.messagesFor(p, /Your place is confirmed/).length, 1, `${p.name} got one confirmation`);
    assert.equal(w.messagesFor(zoe, /Your place is confirmed/).length, 0, 'Zoe, who cancelled, was not told her place is confirmed');
    // The requests went (a chat opened and a confirmation for each). How far apart they leave is the
    // pacer's, checked on its own clock in test/platform/sendPacer.test.ts: arrival times here carry the
    // machine's scheduling jitter, and a test that counted them per second failed under load.
    const times = w.sim.requests.filter((r) => r.at >= started).map((r) => r.at);
    assert.ok(times.length >= 60, `the confirmations went (${times.length} requests)`);
  });

  it("when a confirmation is on its way but Teams is slow to open the person's chat, and they cancel meanwhile, then the confirmation is not sent when its turn comes", async function () {
    const { card, activityId } = await w.createEvent(w.cora, { places: '2' });
    const zoe = w.sim.user('zoe', 'Zoe Patel');
    // Teams takes its time to open Zoe's 1:1 chat: the request that opens it is held.
    w.sim.hold((req) => req.method === 'POST' && /\/v3\/conversations$/.test(req.path) && JSON.stringify(req.body?.members ?? []).includes(zoe.id));
    const attended = await w.sim.click(zoe, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    assert.match(answered(attended), /You're attending/);
    for (let i = 0; i < 400 && w.sim.held.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(w.sim.held.length, 1, 'her confirmation is on its way: the bot is opening her chat');

    const asked = await w.sim.click(zoe, w.staffRoom, card, 'Cancel my place', {}, { replyToId: activityId });
    const cancelled = await w.sim.click(zoe, w.staffRoom, invokeResponseCard(asked.body)!, 'Yes, cancel my place', {}, { replyToId: activityId });
    assert.doesNotMatch(answered(cancelled), /You're attending/, 'Zoe has cancelled');
    await w.sim.release();
    await w.settle();

    assert.equal(w.messagesFor(zoe, /Your place is confirmed/).length, 0, 'Zoe, who cancelled before it went, was not told her place is confirmed');
    assert.match(cardText(w.sharedCard(activityId)), /2 of 2 left/, 'the shared card shows her place free again');
  });

  it('when Teams delivers the same Attend activity twice, then the person has one place and one confirmation', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const ann = w.sim.user('ann', 'Ann Hughes');

    const first = await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId, id: 'f:1234567890123456789' });
    await w.settle();
    const again = await w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId, id: 'f:1234567890123456789' });
    await w.settle();

    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.match(answered(first), /You're attending/);
    assert.match(answered(again), /You're attending/, 'the retry shows the same state');
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.size, 1);
    assert.equal(agg.signUps.get(ann.aadObjectId)?.status, 'confirmed');
    assert.match(cardText(w.sharedCard(activityId)), /1 of 2 left/, 'one place taken');
    assert.equal(w.messagesFor(ann, /Your place is confirmed/).length, 1, 'one confirmation message');
  });

  it('when someone double-clicks Attend, or Teams redelivers while the first is still in flight, then one place and one confirmation', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const ann = w.sim.user('ann', 'Ann Hughes');
    const ben = w.sim.user('ben', 'Ben Carter');

    const clicks = await Promise.all([
      w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }),
      w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId }),
      w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId, id: 'f:9999999999999999999' }),
      w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId, id: 'f:9999999999999999999' }),
    ]);
    await w.settle();

    for (const c of clicks) {
      assert.equal(c.status, 200);
      assert.match(answered(c), /You're attending/);
    }
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.size, 2);
    assert.ok([...agg.signUps.values()].every((s) => s.status === 'confirmed'));
    assert.match(cardText(w.sharedCard(activityId)), /0 of 2 left/);
    assert.match(cardText(w.sharedCard(activityId)), /Nobody waiting/, 'a second click did not put anyone on the waitlist');
    assert.equal(w.messagesFor(ann, /Your place is confirmed/).length, 1, 'Ann got one confirmation');
    assert.equal(w.messagesFor(ben, /Your place is confirmed/).length, 1, 'Ben got one confirmation');
  });

  it('when the redelivery of an Attend reaches the other bot instance, then still one place and one confirmation', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const second = await w.secondInstance();
    const ann = w.sim.user('ann', 'Ann Hughes');
    const id = 'f:2222222222222222222';

    const clicks = await Promise.all([
      w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId, id }),
      via(w.sim, second.url, () => w.sim.click(ann, w.staffRoom, card, 'Attend', {}, { replyToId: activityId, id })),
    ]);
    await w.settle();

    for (const c of clicks) assert.match(answered(c), /You're attending/);
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.size, 1);
    assert.match(cardText(w.sharedCard(activityId)), /1 of 2 left/);
    assert.equal(w.messagesFor(ann, /Your place is confirmed/).length, 1, 'one confirmation');
  });

  it('when a Present is redelivered, then the talk is signed up once and the slot count drops by one', async function () {
    const { card, activityId, eventId } = await w.createEvent(w.cora, { slots5: '2' });
    const ann = w.sim.user('ann', 'Ann Hughes');
    const talk = { talkTitle: 'Retrieval practice in Year 9', slot: '5', talkLine: 'Low-stakes quizzes' };

    const clicks = await Promise.all([
      w.sim.click(ann, w.staffRoom, card, 'Sign up to present', talk, { replyToId: activityId, id: 'f:1111111111111111111' }),
      w.sim.click(ann, w.staffRoom, card, 'Sign up to present', talk, { replyToId: activityId, id: 'f:1111111111111111111' }),
    ]);
    await w.settle();

    for (const c of clicks) assert.match(answered(c), /You're presenting: 5 min, 'Retrieval practice in Year 9'/);
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.signUps.size, 1);
    assert.match(cardText(w.sharedCard(activityId)), /1 of 2 × 5 min left/);
    assert.equal(w.messagesFor(ann, /You're presenting/).length, 1, 'one presenter confirmation');
  });
});

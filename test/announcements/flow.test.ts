import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimConversation, SimUser } from '../support/simulator';
import { eventually, said, textOf, World } from './world';

/**
 * Announcements through the wire, on Azurite: compose → preview → send to three schools' channels,
 * and the short form to every rep; each recipient gets it once, the coordinator's copy is updated in
 * place with the report, and "Got it" is counted once per person, per school.
 */

describe('announcements through the wire', function () {
  this.timeout(30_000);
  let w: World;
  let schools: { name: string; id: string; channel: SimConversation }[];
  let ann: SimUser;
  let ben: SimUser;
  let cat: SimUser;
  let dev: SimUser;

  beforeEach(async function () {
    w = await World.start();
    schools = [];
    for (const name of ['Oakfield Academy', "St Anne's School", 'Hillside Primary']) schools.push({ name, ...(await w.addSchool(name)) });
    ann = w.sim.user('ann', 'Ann Hughes');
    ben = w.sim.user('ben', 'Ben Carter');
    cat = w.sim.user('cat', 'Cat Nolan');
    dev = w.sim.user('dev', 'Dev Shah');
    await w.makeRep(ann, 'Oakfield Academy');
    await w.makeRep(ben, "St Anne's School");
    await w.makeRep(cat, 'Hillside Primary');
    // Ann and Cat have talked to Together in their personal chat; Ben never has (a chat is opened for him).
    await w.sim.say(ann, w.sim.personalChat(ann), 'whoami');
    await w.sim.say(cat, w.sim.personalChat(cat), 'whoami');
    await w.sim.say(dev, w.sim.personalChat(dev), "my school St Anne's School");
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a coordinator composes, previews and sends to all schools\' channels, then each channel gets the card once, the report is updated in place and Got it is counted once per person per school', async function () {
    const me = w.sim.personalChat(w.cora);
    const compose = await w.compose(w.cora, me);
    assert.match(textOf(compose), /New announcement/);
    const inputs = { title: 'STEM Week proposals', text: 'Deadline for **STEM Week** proposals is Friday.', audience: 'schools', importance: 'important', ack: 'true' };
    const { card: preview } = await w.preview(w.cora, me, compose, inputs);
    const shown = cardText(preview);
    assert.match(shown, /Preview: this is exactly what recipients will get/);
    assert.match(shown, /STEM Week proposals/);
    assert.match(shown, /Deadline for \*\*STEM Week\*\* proposals is Friday\./);
    assert.match(shown, /Important/);
    assert.match(shown, /Oakfield Academy/);
    assert.match(shown, /Hillside Primary/);
    assert.match(shown, /3 conversations in all/);
    assert.equal(w.sim.sent.filter((s) => textOf(s).includes('Deadline for **STEM Week**') && s.conversationId !== me.id).length, 0, 'nothing is sent by a preview');

    // The preview shows exactly the recipients' card: its body is embedded as is.
    const sentBack = await w.press(w.cora, me, preview, 'Send', compose.activityId);
    assert.match(said(sentBack), /Your announcement: STEM Week proposals/);

    for (const s of schools) {
      await eventually(`${s.name}'s channel got it`, () => w.announcementsIn(s.channel, 'Deadline for **STEM Week**').length === 1);
    }
    await w.settle();
    for (const s of schools) assert.equal(w.announcementsIn(s.channel, 'Deadline for **STEM Week**').length, 1, `${s.name} got it once`);
    const oak = w.announcementsIn(schools[0]!.channel, 'Deadline for **STEM Week**')[0]!;
    const recipientsCard = adaptiveCardsOf(oak.activity)[0] as { body: unknown[] };
    const previewBody = (preview as { body: { items?: unknown }[] }).body[1]!.items;
    assert.deepEqual(previewBody, recipientsCard.body, 'the preview embedded exactly the body recipients got');
    assert.equal(oak.activity.importance, 'high');

    // The coordinator's copy (the compose card's message) now shows the finished report.
    const report = await eventually('the report says all sent', () => {
      const text = w.latest(me, compose.activityId);
      return /Sent to all 3/.test(text) ? text : undefined;
    });
    assert.match(report, /Oakfield Academy\s+1\s+0\s+0\s+0/);
    assert.ok(w.sim.sent.some((s) => s.method === 'PUT' && s.activityId === compose.activityId), 'updated in place');

    // Got it: Ann (Oakfield's rep) presses twice, Dev (St Anne's teacher) once, in the channels.
    const ackCard = adaptiveCardsOf(oak.activity)[0]!;
    const first = await w.press(ann, schools[0]!.channel, ackCard, 'Got it', oak.activityId);
    assert.match(said(first), /Thanks, Ann: noted that you got it/);
    const again = await w.press(ann, schools[0]!.channel, ackCard, 'Got it', oak.activityId);
    assert.match(said(again), /You already said you got it/);
    const stAnnes = w.announcementsIn(schools[1]!.channel, 'Deadline for **STEM Week**')[0]!;
    await w.press(dev, schools[1]!.channel, adaptiveCardsOf(stAnnes.activity)[0]!, 'Got it', stAnnes.activityId);
    await w.settle();
    const acked = await eventually('the report counts acknowledgements', () => {
      const text = w.latest(me, compose.activityId);
      return /Total\s+3\s+0\s+0\s+2/.test(text) ? text : undefined;
    });
    assert.match(acked, /Oakfield Academy\s+1\s+0\s+0\s+1/);
    assert.match(acked, /St Anne's School\s+1\s+0\s+0\s+1/);
    assert.match(acked, /Hillside Primary\s+1\s+0\s+0\s+0/);

    const list = await w.sim.say(w.cora, me, 'announcements');
    assert.match(said(list), /STEM Week proposals/);
    assert.match(said(list), /Sent to 3/);
  });

  it('when a coordinator uses the short form to the reps, then every rep gets it once in a personal chat (one opened for a rep who had none) and the report counts them per school', async function () {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce reps: Deadline for STEM Week proposals is Friday');
    const previewSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.ok(previewSent, said(typed));
    const shown = textOf(previewSent);
    assert.match(shown, /All school reps/);
    assert.match(shown, /3 conversations in all/);
    const sent = await w.sim.click(w.cora, me, previewSent, 'Send');
    assert.equal(sent.status, 200);

    for (const rep of [ann, ben, cat]) {
      await eventually(`${rep.name} got it`, () => w.announcementsIn(w.sim.personalChat(rep), 'Deadline for STEM Week proposals is Friday').length >= 1);
    }
    await w.settle();
    for (const rep of [ann, ben, cat]) assert.equal(w.announcementsIn(w.sim.personalChat(rep), 'Deadline for STEM Week proposals is Friday').length, 1, `${rep.name} got it once`);
    assert.equal(w.sim.createdConversations.filter((c) => c.memberId === ben.aadObjectId).length, 1, "a chat was opened for Ben, who had none");
    assert.ok(await w.together.conversations.personal(ben.aadObjectId), "Ben's new chat is remembered");

    const report = await eventually('the report says all sent', () => {
      const text = w.latest(me, previewSent.activityId);
      return /Sent to all 3/.test(text) ? text : undefined;
    });
    for (const s of schools) assert.match(report, new RegExp(`${s.name}\\s+1\\s+0\\s+0`));
  });

  it('when a coordinator announces to one school\'s channel, then the report says it reached its one recipient, not "all 1"', async function () {
    const westfield = await w.addSchool('Westfield School'); // its channel, and no reps yet
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce Westfield School: Trip forms are due on Friday');
    const previewSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.ok(previewSent, said(typed));
    assert.match(textOf(previewSent), /\b1 conversation\b/);
    await w.sim.click(w.cora, me, previewSent, 'Send');
    await eventually("Westfield's channel got it", () => w.announcementsIn(westfield.channel, 'Trip forms are due on Friday').length === 1);
    const report = await eventually('the report is final', () => {
      const text = w.latest(me, previewSent.activityId);
      return /Sent to/.test(text) ? text : undefined;
    });
    assert.match(report, /Sent to its one recipient\./);
    assert.doesNotMatch(report, /all 1\b/);
  });

  it('when Send is pressed twice (or Teams delivers the press twice), then nobody gets it twice', async function () {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce schools: Twice pressed');
    const previewSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const [a, b] = await Promise.all([w.sim.click(w.cora, me, previewSent, 'Send'), w.sim.click(w.cora, me, previewSent, 'Send')]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    for (const s of schools) await eventually(`${s.name} got it`, () => w.announcementsIn(s.channel, 'Twice pressed').length >= 1);
    await w.settle();
    await new Promise((r) => setTimeout(r, 200));
    for (const s of schools) assert.equal(w.announcementsIn(s.channel, 'Twice pressed').length, 1, `${s.name} got it once`);
    assert.ok(invokeResponseCard(a.body) || invokeResponseCard(b.body) || said(a) || said(b));
  });
});

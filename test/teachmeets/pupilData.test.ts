import assert from 'node:assert/strict';
import { actionTitles, adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimUser } from '../support/simulator';
import { answered, eventIdOf, FORM, said, World } from './world';

/**
 * A TeachMeet or a talk whose words seem to name a pupil comes back with a warning before anything is
 * stored; the writer edits it or goes on anyway. Ordinary titles go straight through.
 */

const WARNING = /This may name a pupil: "Supporting Jayden Smith in Year 9" \((the title|the talk title)\)\. Together must not hold pupils' personal data, so nothing has been saved yet/;

describe('TeachMeets: the pupil-data warning', function () {
  let w: World;
  let ben: SimUser;

  beforeEach(async function () {
    w = await World.start();
    ben = w.sim.user('ben', 'Ben Carter');
  });

  afterEach(async function () {
    await w.stop();
  });

  const upcoming = async () => said(await w.sim.say(w.cora, w.staffRoom, 'teachmeets'));

  async function typedForm() {
    const typed = await w.sim.say(w.cora, w.staffRoom, 'teachmeet new');
    const form = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(form, said(typed));
    return form;
  }

  it('when a coordinator creates a TeachMeet titled with a pupil\'s name, then the form comes back with the warning and nothing is stored or posted; "Post anyway" posts it', async function () {
    const form = await typedForm();
    const sentBefore = w.sim.sent.length;
    const warned = await w.sim.click(w.cora, w.staffRoom, form, 'Create and post', { ...FORM, host: w.schoolId, title: 'Supporting Jayden Smith in Year 9' });
    const again = invokeResponseCard(warned.body);
    assert.ok(again, `the form comes back: ${answered(warned)}`);
    assert.match(cardText(again), WARNING);
    assert.match(cardText(again), /New TeachMeet/, 'it is the form, with the title kept');
    assert.ok(JSON.stringify(again).includes('Supporting Jayden Smith in Year 9'));
    assert.ok(actionTitles(again).includes('Post anyway: it is not a pupil'));
    await w.settle();
    assert.equal(w.sim.sent.length, sentBefore, 'nothing posted');
    assert.match(await upcoming(), /No TeachMeets are coming up/, 'no TeachMeet stored');

    const anyway = await w.sim.click(w.cora, w.staffRoom, again, 'Post anyway: it is not a pupil', {}, { replyToId: form.activityId });
    const card = invokeResponseCard(anyway.body);
    assert.ok(card, answered(anyway));
    assert.match(cardText(card), /TeachMeet: Supporting Jayden Smith in Year 9/);
    assert.match(await upcoming(), /Supporting Jayden Smith in Year 9/, 'stored once the coordinator said it is not a pupil');
  });

  it('when the organiser edits the theme to name a pupil, then the edit form comes back with the warning and the TeachMeet is unchanged', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const edit = invokeResponseCard((await w.sim.click(w.cora, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId })).body);
    assert.ok(edit);
    const warned = await w.sim.click(w.cora, w.staffRoom, edit, 'Save changes', { theme: 'How we helped pupil Maisie Brown read' }, { replyToId: activityId });
    const again = invokeResponseCard(warned.body);
    assert.ok(again, answered(warned));
    assert.match(cardText(again), /This may name a pupil: "helped pupil Maisie Brown" \(the theme\)\./);
    assert.ok(actionTitles(again).includes('Save anyway: it is not a pupil'));
    assert.equal((await w.signUps(eventId)).agg.event.theme, FORM.theme, 'the theme is unchanged');

    const edited = await w.sim.click(w.cora, w.staffRoom, again, 'Save changes', { theme: 'How we helped a pupil read' }, { replyToId: activityId });
    assert.ok(invokeResponseCard(edited.body), answered(edited));
    assert.equal((await w.signUps(eventId)).agg.event.theme, 'How we helped a pupil read', 'saved once the name is out');
  });

  it('when a teacher offers a talk titled with a pupil\'s name, then the talk comes back with the warning and no place is taken; "Sign up anyway" signs them up', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const warned = await w.sim.click(ben, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Supporting Jayden Smith in Year 9', slot: '5', talkLine: 'What worked' }, { replyToId: activityId });
    const again = invokeResponseCard(warned.body);
    assert.ok(again, answered(warned));
    assert.match(cardText(again), WARNING);
    assert.match(cardText(again), /\(the talk title\)/);
    assert.deepEqual(actionTitles(again), ['Sign up to present', 'Sign up anyway: it is not a pupil', 'Back']);
    assert.equal((await w.signUps(eventId)).agg.signUps.size, 0, 'no sign-up stored');

    const anyway = await w.sim.click(ben, w.staffRoom, again, 'Sign up anyway: it is not a pupil', {}, { replyToId: activityId });
    assert.match(said(anyway), /You're presenting: 5 min, 'Supporting Jayden Smith in Year 9'/);
    const signUp = (await w.signUps(eventId)).agg.signUps.get(ben.aadObjectId);
    assert.equal(signUp?.talk?.line, 'What worked', 'the line kept as typed');
  });

  it('when a talk\'s one line names a pupil, then it warns too; taking the name out signs them up', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    const warned = await w.sim.click(ben, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Reading for pleasure', slot: '5', talkLine: 'How Year 4 student Ollie Price found books he loved' }, { replyToId: activityId });
    const again = invokeResponseCard(warned.body);
    assert.ok(again, answered(warned));
    assert.match(cardText(again), /This may name a pupil: "Year 4 student Ollie Price" \(the line about it\)/);
    const edited = await w.sim.click(ben, w.staffRoom, again, 'Sign up to present', { talkLine: 'How a Year 4 class found books they loved' }, { replyToId: activityId });
    assert.match(said(edited), /You're presenting: 5 min, 'Reading for pleasure'/);
    assert.equal((await w.signUps(eventId)).agg.signUps.get(ben.aadObjectId)?.talk?.line, 'How a Year 4 class found books they loved');
  });

  it('when the organiser gives a reason for cancelling that names a pupil, then it warns and nothing is cancelled or told; "Cancel it anyway" cancels', async function () {
    const { card, activityId, eventId } = await w.createEvent();
    await w.sim.click(ben, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    await w.settle();
    const asked = invokeResponseCard((await w.sim.click(w.cora, w.staffRoom, card, 'Cancel this TeachMeet', {}, { replyToId: activityId })).body);
    assert.ok(asked);
    const sentBefore = w.sim.sent.length;
    const warned = await w.sim.click(w.cora, w.staffRoom, asked, 'Yes, cancel this TeachMeet', { reason: 'Our host, who supports Year 9 pupil Jayden Smith, is unwell' }, { replyToId: activityId });
    const again = invokeResponseCard(warned.body);
    assert.ok(again, answered(warned));
    assert.match(cardText(again), /This may name a pupil: "Year 9 pupil Jayden Smith" \(the reason\)\. Together must not hold pupils' personal data, so nothing has been saved yet/);
    await w.settle();
    assert.equal((await w.signUps(eventId)).agg.event.status, 'open', 'nothing cancelled');
    assert.equal(w.sim.sent.length, sentBefore, 'nobody told');

    await w.sim.click(w.cora, w.staffRoom, again, 'Cancel it anyway: it is not a pupil', {}, { replyToId: activityId });
    await w.settle();
    assert.equal((await w.signUps(eventId)).agg.event.status, 'cancelled');
    assert.equal(w.messagesFor(ben, /The organiser has cancelled this TeachMeet/).length, 1, 'Ben is told once');
  });

  it('when the titles talk only of year groups and subjects, then the TeachMeet and the talk go straight through', async function () {
    const { card, activityId, eventId } = await w.createEvent(w.cora, { title: 'Year 9 maths: what works', theme: 'Retrieval practice with Year 11 students' });
    assert.equal(eventIdOf(card), eventId);
    const presented = await w.sim.click(ben, w.staffRoom, card, 'Sign up to present', { talkTitle: 'Retrieval practice in Year 9', slot: '5', talkLine: 'Low-stakes quizzes for Year 7 pupils in Science' }, { replyToId: activityId });
    assert.match(said(presented), /You're presenting: 5 min, 'Retrieval practice in Year 9'/);
  });
});

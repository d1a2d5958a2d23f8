import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimConversation, SimUser } from '../support/simulator';
import { answered, FORM, said, World } from './world';

/**
 * What a rep's TeachMeet may do, checked on the server from who they are: it goes to the partnership's
 * announcements channel only while reps may announce, and it stays at their own school (or online)
 * however the Edit form is filled in.
 */

describe('TeachMeets: what a rep may do with their own', function () {
  let w: World;
  let ray: SimUser;
  let announcements: SimConversation;

  beforeEach(async function () {
    w = await World.start();
    ray = w.sim.user('ray', 'Ray Osei');
    await w.makeRep(ray, 'Oakfield Academy');
    announcements = w.sim.channel('Riverside Schools Together', 'Announcements');
    assert.match(said(await w.sim.say(w.cora, announcements, 'channel announcements')), /announcements channel/);
  });

  afterEach(async function () {
    await w.stop();
  });

  function postedIn(conv: SimConversation, title: string): number {
    return w.sim.messagesTo(conv).filter((s) => s.method === 'POST' && adaptiveCardsOf(s.activity).some((c) => cardText(c).includes(title))).length;
  }

  it('when reps may not announce and a rep asks for their TeachMeet in the announcements channel, then it is posted where they made it and not there; once rep announcements are on, it is', async function () {
    // A forged form asks for it anyway.
    const forged = await w.sim.execute(ray, w.staffRoom, 'teachmeet.create', { ...FORM, host: w.schoolId, title: 'Not for everyone', announce: 'true' });
    assert.match(said(forged), /Not for everyone/, 'it is created');
    assert.equal(postedIn(announcements, 'Not for everyone'), 0, 'not in the announcements channel');
    const typed = await w.sim.say(ray, w.staffRoom, 'teachmeet new');
    const form = typed.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0]!;
    assert.doesNotMatch(JSON.stringify(form), /announcements channel/, 'the form does not offer it');

    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'rep announcements on')), /may now announce/);
    const offered = await w.sim.say(ray, w.staffRoom, 'teachmeet new');
    assert.match(JSON.stringify(offered.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0]), /announcements channel/, 'now the form offers it');
    await w.createEvent(ray, { title: 'For everyone', announce: 'true' } as Partial<typeof FORM>);
    assert.equal(postedIn(announcements, 'For everyone'), 1, 'posted in the announcements channel');
  });

  it('when a coordinator asks for a TeachMeet in the announcements channel, then it is posted there whatever the rep setting', async function () {
    await w.createEvent(w.cora, { title: 'From the coordinator', announce: 'true' } as Partial<typeof FORM>);
    assert.equal(postedIn(announcements, 'From the coordinator'), 1);
  });

  it('when a rep edits their TeachMeet and sends another school as its host, then they are told to choose their own school or online, and it stays where it was', async function () {
    const { card, activityId, eventId } = await w.createEvent(ray);
    const opened = await w.sim.click(ray, w.staffRoom, card, 'Edit details', {}, { replyToId: activityId });
    const form = invokeResponseCard(opened.body);
    assert.ok(form, answered(opened));

    const moved = await w.sim.click(ray, w.staffRoom, form, 'Save changes', { host: w.otherSchoolId }, { replyToId: activityId });
    assert.equal(moved.status, 200);
    assert.match(answered(moved), /Choose the host school, or online/);
    const { agg } = await w.signUps(eventId);
    assert.equal(agg.event.host.kind === 'school' && agg.event.host.schoolId, w.schoolId, 'still at Oakfield');
    assert.doesNotMatch(JSON.stringify(form), /Brookside Primary/, 'another school is not offered');

    const online = await w.sim.click(ray, w.staffRoom, form, 'Save changes', { host: 'online', venue: '', link: 'https://teams.example/meet/2' }, { replyToId: activityId });
    assert.match(answered(online), /is updated/);
    assert.equal((await w.signUps(eventId)).agg.event.host.kind, 'online', 'online is fine');
  });
});

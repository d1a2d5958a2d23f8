import assert from 'node:assert/strict';
import { ANNOUNCEMENTS_TABLE } from '../../src/announcements/store';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { SimConversation, SimUser, TurnResult } from '../support/simulator';
import { said, World } from './world';

/**
 * Bad input and people who may not announce: a clear message, HTTP 200, nothing owed in the outbox,
 * nothing sent. Reps may announce to their own school only, and only when a coordinator allows it.
 */

describe('announcements: bad input and who may announce', function () {
  this.timeout(30_000);
  let w: World;
  let oak: { id: string; channel: SimConversation };
  let hill: { id: string; channel: SimConversation };
  let ann: SimUser;
  let tia: SimUser;

  before(async function () {
    w = await World.start();
    oak = await w.addSchool('Oakfield Academy');
    hill = await w.addSchool('Hillside Primary');
    ann = w.sim.user('ann', 'Ann Hughes');
    tia = w.sim.user('tia', 'Tia Brown');
    await w.makeRep(ann, 'Oakfield Academy');
  });

  after(async function () {
    await w.stop();
  });

  async function nothingOwed(): Promise<void> {
    await w.settle();
    const owed = [];
    for await (const row of w.tables().client(ANNOUNCEMENTS_TABLE).listEntities({ queryOptions: { filter: `RowKey ge 'out|' and RowKey lt 'out}'` } })) owed.push(row.rowKey);
    assert.deepEqual(owed, [], 'nothing owed in the outbox');
    for (const conv of [oak.channel, hill.channel]) assert.equal(w.sim.messagesTo(conv).filter((s) => cardText(adaptiveCardsOf(s.activity)[0] ?? {}).includes('· announcement')).length, 0, 'nothing sent');
  }

  const ok = (r: TurnResult) => {
    assert.equal(r.status, 200);
    return said(r);
  };

  it('when the form is wrong (empty text, too long for Teams, unknown audience or school, a send time in the past), then the form comes back with the problem and nothing is sent', async function () {
    const me = w.sim.personalChat(w.cora);
    const cases: [Record<string, string>, RegExp][] = [
      [{ text: '   ', audience: 'schools' }, /Write the announcement's text/],
      [{ text: 'é'.repeat(15_000), audience: 'schools' }, /too long for one Teams message: about \d+ KB as a card, and Teams takes about 27 KB/],
      [{ text: 'x'.repeat(20_001), audience: 'schools' }, /too long for a Teams message \(20,001 characters\)/],
      [{ text: 'Hello', audience: 'martians' }, /I don't know that audience/],
      [{ text: 'Hello', audience: 'school:nope1234' }, /I don't know that audience \(or that school is no longer in the directory\)/],
      [{ text: 'Hello', audience: 'schools', sendDate: '2026-11-24', sendTime: '09:00' }, /That send time is in the past/],
      [{ text: 'Hello', audience: 'schools', sendDate: '2026-11-30' }, /Choose the time to send it/],
      [{ text: 'Hello', audience: 'schools', link: 'http://insecure.example' }, /must be a full https:\/\/ address/],
    ];
    for (const [inputs, problem] of cases) {
      const compose = await w.compose(w.cora, me);
      const result = await w.sim.click(w.cora, me, compose, 'Preview', inputs);
      const text = ok(result);
      assert.match(text, problem, `inputs ${JSON.stringify(inputs).slice(0, 80)}`);
      assert.match(text, /Nothing has been sent/);
      assert.match(text, /New announcement/, 'the form came back');
    }
    await nothingOwed();
  });

  it('when the short form names nobody known, then the form comes back with the text kept and a clear message', async function () {
    const me = w.sim.personalChat(w.cora);
    const text = ok(await w.sim.say(w.cora, me, 'announce Narnia: Assembly at nine'));
    assert.match(text, /I don't know who "Narnia" is/);
    assert.match(text, /Oakfield Academy/);
    const noColon = ok(await w.sim.say(w.cora, me, 'announce Assembly at nine'));
    assert.match(noColon, /Say who it goes to before a colon/);
    const empty = ok(await w.sim.say(w.cora, me, 'announce reps:   '));
    assert.match(empty, /Write the announcement's text/);
    await nothingOwed();
  });

  it('when a payload is tampered with (unknown id, malformed id, stale version, another person\'s draft), then it is refused with a message and nothing is sent', async function () {
    const me = w.sim.personalChat(w.cora);
    const unknown = ok(await w.sim.execute(w.cora, me, 'announce.send', { announcementId: 'an0000000000', version: '1' }));
    assert.match(unknown, /can't find that announcement/);
    const malformed = ok(await w.sim.execute(w.cora, me, 'announce.send', { announcementId: '../etc', version: '1' }));
    assert.match(malformed, /could not read, so nothing was changed/);
    const noVersion = ok(await w.sim.execute(w.cora, me, 'announce.send', { announcementId: 'an0000000000', version: 'latest' }));
    assert.match(noVersion, /could not read/);

    // A preview, then an edit: the first preview's Send is out of date.
    const typed = await w.sim.say(w.cora, me, 'announce schools: Version one');
    const preview = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const edit = await w.sim.click(w.cora, me, preview, 'Edit');
    const form = invokeResponseCard(edit.body)!;
    assert.match(cardText(form), /Edit the announcement/);
    await w.sim.click(w.cora, me, form, 'Preview', { text: 'Version two' }, { replyToId: preview.activityId });
    const stale = await w.sim.click(w.cora, me, preview, 'Send');
    assert.match(ok(stale), /Preview: this is exactly/, 'the stale Send shows the current preview instead of sending');
    assert.match(said(stale), /Version two/);

    // Someone else's draft: a rep cannot send, edit or cancel a coordinator's announcement.
    for (const title of ['Send', 'Edit', 'Cancel']) {
      const refused = ok(await w.sim.click(ann, me, preview, title));
      assert.match(refused, /Only Cora Whitfield or a coordinator can do that/);
    }
    // A teacher cannot press coordinator buttons at all.
    assert.match(ok(await w.sim.click(tia, me, preview, 'Send')), /Only school reps and coordinators can use that/);
    await nothingOwed();

    const discarded = ok(await w.sim.click(w.cora, me, preview, 'Cancel'));
    assert.match(discarded, /Cancelled: nothing was sent/);
  });

  it('when rep announcements are off, then a rep\'s help does not list announce; once a coordinator turns them on, it does; a coordinator\'s always does', async function () {
    const helpOf = async (who: SimUser) => said(await w.sim.say(who, w.sim.personalChat(who), 'help'));
    await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'rep announcements off');
    const off = await helpOf(ann);
    assert.match(off, /Commands for you as a school rep/);
    assert.doesNotMatch(off, /Post an announcement/, 'not offered while reps may not announce');
    assert.match(off, /Scheduled and recent announcements/, 'the rest of a rep\'s commands are still there');
    assert.match(await helpOf(w.cora), /Post an announcement/, 'a coordinator may always announce');

    await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'rep announcements on');
    assert.match(await helpOf(ann), /Post an announcement/, 'offered once reps may announce');
    assert.doesNotMatch(await helpOf(tia), /Post an announcement/, 'never to a teacher');
    await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'rep announcements off');
  });

  it('when a teacher types announce, then they are refused; a rep is refused until a coordinator allows reps, and then may announce to their own school only', async function () {
    assert.match(ok(await w.sim.say(tia, w.sim.personalChat(tia), 'announce')), /Only school reps and coordinators can use `announce`/);
    assert.match(ok(await w.sim.say(tia, w.sim.personalChat(tia), 'announce reps: hello')), /Only school reps and coordinators can use `announce`/);
    const annChat = w.sim.personalChat(ann);
    assert.match(ok(await w.sim.say(ann, annChat, 'announce')), /a coordinator can allow it with `rep announcements on`/);
    assert.match(ok(await w.sim.say(ann, annChat, 'rep announcements on')), /Only coordinators can use `rep announcements`/);
    assert.match(ok(await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'rep announcements on')), /reps may now announce to their own school/);

    const compose = await w.compose(ann, annChat);
    assert.match(cardText(adaptiveCardsOf(compose.activity)[0]!), /Oakfield Academy: its channel and its reps/);
    assert.doesNotMatch(cardText(adaptiveCardsOf(compose.activity)[0]!), /Everyone who has installed Together/);
    const other = await w.sim.click(ann, annChat, compose, 'Preview', { text: 'Hello', audience: 'schools' });
    assert.match(ok(other), /As a rep you can announce to your own school only/);
    const otherSchool = await w.sim.click(ann, annChat, compose, 'Preview', { text: 'Hello', audience: `school:${hill.id}` });
    assert.match(ok(otherSchool), /As a rep you can announce to your own school only/);
    assert.match(ok(await w.sim.say(ann, annChat, 'announce everyone: hello')), /As a rep you can announce to your own school only/);
    await nothingOwed();

    const own = await w.sim.click(ann, annChat, compose, 'Preview', { text: 'Oakfield staff briefing moved', audience: `school:${oak.id}` });
    const preview = invokeResponseCard(own.body)!;
    assert.match(cardText(preview), /Oakfield Academy: its channel and its reps/);
    // Coordinators switch it off before Ann presses Send: refused, nothing sent.
    await w.sim.say(w.cora, w.sim.personalChat(w.cora), 'rep announcements off');
    assert.match(ok(await w.press(ann, annChat, preview, 'Send', compose.activityId)), /Reps cannot post announcements in this partnership.*Nothing was sent/);
    await nothingOwed();
  });
});

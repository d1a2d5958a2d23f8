import assert from 'node:assert/strict';
import { startTestBot, type TestBot } from '../support/bot';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { TeamsSimulator, type SimConversation, type SimUser, type TurnResult } from '../support/simulator';

/** What the bot said in a turn, as a person reads it: message texts and card texts. */
function said(result: TurnResult): string {
  return result.sent
    .map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((card) => cardText(card))].join('\n'))
    .join('\n');
}

describe('directory: coordinators manage schools, reps and coordinators from Teams', function () {
  let sim: TeamsSimulator;
  let bot: TestBot;
  let cora: SimUser; // coordinator from configuration
  let sam: SimUser; // becomes a rep
  let tia: SimUser; // a teacher
  let staffRoom: SimConversation;

  beforeEach(async function () {
    sim = await TeamsSimulator.start();
    cora = sim.user('cora', 'Cora Whitfield');
    sam = sim.user('sam', 'Sam Patel');
    tia = sim.user('tia', 'Tia Okafor');
    staffRoom = sim.channel('Riverside Schools Together', 'Staff room');
    bot = await startTestBot({ env: { COORDINATORS: cora.aadObjectId } });
    sim.botEndpoint = bot.url;
  });

  afterEach(async function () {
    await bot.stop();
    await sim.stop();
  });

  it('when a coordinator adds a school and a rep by @mention, then the rep\'s whoami shows it and a restart keeps it', async function () {
    const added = await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    assert.equal(added.status, 200);
    assert.match(said(added), /Added Oakfield Academy to the partnership/);

    const rep = await sim.say(cora, staffRoom, `rep add <at>${sam.name}</at> Oakfield Academy`, { mentions: [sam] });
    assert.match(said(rep), /Sam Patel is now a rep of Oakfield Academy/);
    assert.ok(sim.memberLookups.some((l) => l.memberId === sam.id && l.status === 200), 'the mention was resolved through the members API');

    const who = await sim.say(sam, sim.personalChat(sam), 'whoami');
    assert.match(said(who), /You're a rep of Oakfield Academy/);

    bot = await bot.restart();
    sim.botEndpoint = bot.url;
    const after = await sim.say(sam, sim.personalChat(sam), 'whoami');
    assert.match(said(after), /You're a rep of Oakfield Academy/);
    const listed = await sim.say(tia, sim.personalChat(tia), 'directory');
    const text = said(listed);
    assert.match(text, /Oakfield Academy/);
    assert.match(text, /Sam Patel/);
    assert.match(text, /Cora Whitfield/);
  });

  it('when a teacher tries to add a school or a rep, then they are told only coordinators can, who they are, and nothing changes', async function () {
    await sim.say(cora, sim.personalChat(cora), 'whoami'); // Cora's name becomes known
    const refused = await sim.say(tia, sim.personalChat(tia), 'school add Hillside High');
    assert.match(said(refused), /Only coordinators can use `school add`\. Your coordinators: Cora Whitfield\./);
    const rep = await sim.say(tia, staffRoom, `rep add <at>${sam.name}</at> Hillside High`, { mentions: [sam] });
    assert.match(said(rep), /Only coordinators can use `rep add`/);
    assert.equal(sim.memberLookups.length, 0, 'a refused command looks nobody up');
    const listed = await sim.say(tia, sim.personalChat(tia), 'directory');
    assert.doesNotMatch(said(listed), /Hillside High/);
    assert.match(said(listed), /No schools yet/);
  });

  it('when a teacher sets their own school, then whoami shows it; an unknown school lists the real ones and changes nothing', async function () {
    await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    await sim.say(cora, staffRoom, 'school add Hillside High');
    const before = await sim.say(tia, sim.personalChat(tia), 'whoami');
    assert.match(said(before), /You haven't set your school yet/);
    const wrong = await sim.say(tia, sim.personalChat(tia), 'my school Oak Field');
    assert.match(said(wrong), /I can't find a school called "Oak Field"\. The schools are: Hillside High, Oakfield Academy\./);
    const set = await sim.say(tia, sim.personalChat(tia), 'my school oakfield academy');
    assert.match(said(set), /your school is Oakfield Academy/);
    const who = await sim.say(tia, sim.personalChat(tia), 'whoami');
    assert.match(said(who), /You're a teacher at Oakfield Academy/);
  });

  it('when a new teacher and a coordinator ask whoami, then the teacher is shown how to set a school without angle-bracket placeholders (Teams clients drop or garble them) and the coordinator is not told to make themselves a coordinator', async function () {
    await sim.say(cora, staffRoom, 'school add Hillside High');
    const teacher = said(await sim.say(tia, sim.personalChat(tia), 'whoami'));
    assert.match(teacher, /You haven't set your school yet: type `my school` and your school's name, e.g\. `my school Hillside High`\./);
    assert.doesNotMatch(teacher, /[<>]|&lt;|&gt;/, teacher);
    assert.match(teacher, /Your Entra object id is .* \(put it in COORDINATORS to make yourself a coordinator\)/, 'local mode tells a teacher how to become a coordinator');
    const coordinator = said(await sim.say(cora, sim.personalChat(cora), 'whoami'));
    assert.match(coordinator, /You're a coordinator of the partnership/);
    assert.match(coordinator, /Your Entra object id is /);
    assert.doesNotMatch(coordinator, /make yourself a coordinator/, coordinator);
  });

  it('when a coordinator renames and removes schools, then names stay unique and the school\'s reps stop being reps', async function () {
    await sim.say(cora, staffRoom, 'school add Oakfield');
    await sim.say(cora, staffRoom, 'school add Hillside High');
    const duplicate = await sim.say(cora, staffRoom, 'school add  OAKFIELD ');
    assert.match(said(duplicate), /There is already a school called OAKFIELD/);
    const renamed = await sim.say(cora, staffRoom, 'school rename oakfield to Oakfield Academy');
    assert.match(said(renamed), /Renamed Oakfield to Oakfield Academy/);
    const clash = await sim.say(cora, staffRoom, 'school rename Oakfield Academy to Hillside High');
    assert.match(said(clash), /There is already a school called Hillside High/);
    await sim.say(cora, staffRoom, `rep add <at>${sam.name}</at> Oakfield Academy`, { mentions: [sam] });
    const removed = await sim.say(cora, staffRoom, 'school remove Oakfield Academy');
    assert.match(said(removed), /Removed Oakfield Academy from the partnership\. 1 rep is no longer a rep\./);
    const who = await sim.say(sam, sim.personalChat(sam), 'whoami');
    assert.match(said(who), /You're a teacher\. You haven't set your school yet/);
    const listed = await sim.say(cora, staffRoom, 'directory');
    assert.doesNotMatch(said(listed), /Oakfield/);
    assert.match(said(listed), /Hillside High/);
  });

  it('when a coordinator adds and removes another coordinator, then the new one can manage the directory and the configured one cannot be removed', async function () {
    const added = await sim.say(cora, staffRoom, `coordinator add <at>${tia.name}</at>`, { mentions: [tia] });
    assert.match(said(added), /Tia Okafor is now a coordinator of Riverside Schools Together/);
    const byTia = await sim.say(tia, staffRoom, 'school add Hillside High');
    assert.match(said(byTia), /Added Hillside High/);
    const removeCora = await sim.say(tia, staffRoom, `coordinator remove <at>${cora.name}</at>`, { mentions: [cora] });
    assert.match(said(removeCora), /coordinator through the COORDINATORS setting/);
    const removeTia = await sim.say(cora, staffRoom, `coordinator remove <at>${tia.name}</at>`, { mentions: [tia] });
    assert.match(said(removeTia), /Tia Okafor is no longer a coordinator/);
    const refused = await sim.say(tia, staffRoom, 'school add Brookside Primary');
    assert.match(said(refused), /Only coordinators can use `school add`/);
  });

  it("when a coordinator gives someone a role by @mention, then their Teams id is kept (for shared cards' own views) before they ever message Together, and goes when their last role does", async function () {
    await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    const teamsIdOf = async (user: SimUser) => (await bot.together.directory.person(user.aadObjectId))?.teamsId;
    await sim.say(cora, staffRoom, `rep add <at>${sam.name}</at> Oakfield Academy`, { mentions: [sam] });
    await sim.say(cora, staffRoom, `coordinator add <at>${tia.name}</at>`, { mentions: [tia] });
    assert.equal(await teamsIdOf(sam), sam.id, "the rep's, from the mention");
    assert.equal(await teamsIdOf(tia), tia.id, "the coordinator's, from the mention");
    await sim.say(cora, staffRoom, `rep remove <at>${sam.name}</at>`, { mentions: [sam] });
    await sim.say(cora, staffRoom, `coordinator remove <at>${tia.name}</at>`, { mentions: [tia] });
    assert.equal(await teamsIdOf(sam), undefined, 'no role, no Teams id kept');
    assert.equal(await teamsIdOf(tia), undefined);
    // A teacher's own messages do not store one either; a configured coordinator's do.
    await sim.say(sam, sim.personalChat(sam), 'whoami');
    assert.equal(await teamsIdOf(sam), undefined);
    assert.equal(await teamsIdOf(cora), cora.id);
  });

  it('when a command names nobody, the wrong person or someone not in the conversation, then the coordinator is told clearly and nothing changes', async function () {
    await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    const none = await sim.say(cora, staffRoom, 'rep add Oakfield Academy');
    assert.match(said(none), /Mention exactly one person/);
    const stranger: SimUser = { ...sam, id: '29:not-a-member', name: 'Nobody Here', key: 'nobody' };
    const missing = await sim.say(cora, staffRoom, `rep add <at>${stranger.name}</at> Oakfield Academy`, { mentions: [stranger] });
    assert.match(said(missing), /I couldn't find Nobody Here in this conversation/);
    const noSchool = await sim.say(cora, staffRoom, `rep add <at>${sam.name}</at> Nowhere School`, { mentions: [sam] });
    assert.match(said(noSchool), /I can't find a school called "Nowhere School"/);
    const who = await sim.say(sam, sim.personalChat(sam), 'whoami');
    assert.match(said(who), /You're a teacher\./);
  });

  it('when a coordinator marks channels, then the directory lists them and `channel` outside a channel is explained', async function () {
    await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    const reps = sim.channel('Riverside Schools Together', 'Reps');
    assert.match(said(await sim.say(cora, reps, 'channel reps')), /reps' channel/);
    assert.match(said(await sim.say(cora, staffRoom, 'channel announcements')), /announcements channel/);
    assert.match(said(await sim.say(cora, sim.personalChat(cora), 'channel reps')), /Use `channel` in a team channel/);
    const listed = said(await sim.say(cora, staffRoom, 'directory'));
    assert.match(listed, /Reps' channel/);
    assert.match(listed, /Riverside Schools Together › Reps/);
    assert.match(listed, /Announcements/);
  });
});

import assert from 'node:assert/strict';
import { addDays, londonToday, playgroundPerson, squash, startPlaygroundRun, type PlaygroundRun } from '../support/playground';
import { cardShows, COORDINATOR, HILLCREST, HILLCREST_REP, OAKFIELD, OAKFIELD_REP, PARTNERSHIP, press, proposeProject, setUpPartnership } from '../support/playgroundScenarios';

/**
 * Proposals in the real client: the bot started as `npm start` starts it, the Microsoft 365 Agents
 * Playground, headless Chromium (see test/support/playground.ts). The coordinator sets up two schools,
 * their reps and the reps' channel; Priya (Oakfield's rep) proposes a joint project on the form and
 * finds its card in the reps' channel; Eleanor (Hillcrest's rep) opens it from `proposals` and approves
 * for her school; the coordinator gives the final sign-off. Each person is a restart of the Playground,
 * signed in as them.
 *
 * What the Playground cannot show: several people looking at one channel card. It keeps no history
 * across restarts, so after a restart the shared card in the reps' channel is gone from the screen and
 * each person opens the proposal from `proposals` (its Show button); the channel card's updates for
 * everyone are proven through the wire (test/proposals/).
 */
describe('proposals in the Agents Playground', function () {
  let run: PlaygroundRun | undefined;

  before(async function () {
    this.timeout(180_000);
    run = await startPlaygroundRun({ suite: 'proposals', env: { PARTNERSHIP_NAME: PARTNERSHIP, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  });

  after(async function () {
    this.timeout(60_000);
    const exit = await run?.stop();
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM should stop the bot cleanly');
  });

  it('when a rep proposes a project and the partner school approves, then the coordinator signs it off from the card and it reads as approved', async function () {
    this.timeout(170_000);
    const r = run!;
    const title = 'Year 5 reasoning partnership';
    const today = londonToday();
    await r.explainingFailure(async () => {
      await setUpPartnership(r);

      await r.as(OAKFIELD_REP);
      const card = await proposeProject(r, {
        title,
        summary: 'Year 5 pupils from both schools work on maths reasoning together for a term.',
        partners: [HILLCREST],
        startDate: addDays(today, 30),
        decisionBy: addDays(today, 10),
      });
      const posted = squash(await card.innerText());
      for (const words of ['The four criteria', OAKFIELD, HILLCREST, 'Year 5 classes from both schools solve problems in mixed teams']) {
        assert.ok(posted.includes(words), `the proposal card shows "${words}": ${posted}`);
      }
      await r.screenshot('proposal-card', card);

      await r.as(HILLCREST_REP);
      await r.send('proposals');
      const list = await r.waitForCard(`Proposals in ${PARTNERSHIP}`);
      await press(list.filter({ hasText: title }), 'Show');
      const hers = r.card(`Proposal: ${title}`).first();
      await hers.waitFor({ state: 'visible', timeout: 45_000 });
      await press(hers, 'Approve for my school');
      // Her answer is the card again, her school's decision on it: who made it, and now a coordinator's turn.
      await cardShows(hers, `${HILLCREST} Approved ${HILLCREST_REP},`);
      await cardShows(hers, `Approved for ${HILLCREST}. Every partner school has now approved '${title}': a coordinator gives the final sign-off.`);

      await r.as(COORDINATOR);
      await r.send('proposals');
      const coordinatorsList = await r.waitForCard(`Proposals in ${PARTNERSHIP}`);
      await press(coordinatorsList.filter({ hasText: title }), 'Show');
      const toSign = r.card(`Proposal: ${title}`).first();
      await toSign.waitFor({ state: 'visible', timeout: 45_000 });
      await press(toSign, 'Give final sign-off');
      const signed = await cardShows(toSign, `Final sign-off: ${COORDINATOR},`);
      assert.ok(signed.includes(`Signed off: '${title}' is approved.`), `the coordinator is told it is approved: ${signed}`);
      assert.equal(await toSign.getByRole('button', { name: 'Give final sign-off', exact: true }).count(), 0, 'the sign-off button is gone once it is signed off');
      await r.screenshot('proposal-signed-off', toSign);
    });
  });
});

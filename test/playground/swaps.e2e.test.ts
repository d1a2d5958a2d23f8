import assert from 'node:assert/strict';
import { addDays, londonToday, playgroundPerson, squash, startPlaygroundRun, type PlaygroundRun } from '../support/playground';
import { cardShows, COORDINATOR, HILLCREST, HILLCREST_REP, OAKFIELD, OAKFIELD_REP, PARTNERSHIP, press, offerSwap, setUpPartnership } from '../support/playgroundScenarios';

/**
 * Trainee placement swaps in the real client: the bot started as `npm start` starts it, the Microsoft
 * 365 Agents Playground, headless Chromium (see test/support/playground.ts). Oakfield's rep offers a
 * swap on the form and is told there is no match yet; Hillcrest's rep offers one that fits both ways and
 * gets the proposed swap in her chat, where she accepts it; Oakfield's rep opens it from her swaps board
 * and accepts too, and the swap is agreed. Each person is a restart of the Playground, signed in as them.
 *
 * What the Playground cannot show: the proposal arriving in the chat of someone who is not signed in.
 * It keeps no history across restarts, so Oakfield's rep (signed out when the match was made) finds it
 * on her board (`swaps`, Answer), as a rep who missed the message would; the message to both schools'
 * reps is proven through the wire (test/swaps/).
 */
describe('placement swaps in the Agents Playground', function () {
  let run: PlaygroundRun | undefined;

  before(async function () {
    this.timeout(180_000);
    run = await startPlaygroundRun({ suite: 'swaps', env: { PARTNERSHIP_NAME: PARTNERSHIP, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  });

  after(async function () {
    this.timeout(60_000);
    const exit = await run?.stop();
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM should stop the bot cleanly');
  });

  it('when two schools offer swaps that fit and both reps accept from the card, then the swap is agreed and the card says so', async function () {
    this.timeout(170_000);
    const r = run!;
    const today = londonToday();
    const from = addDays(today, 35);
    const offer = { phase: 'Primary', subject: 'General primary', from, to: addDays(from, 27), confirmBy: addDays(today, 14) };
    await r.explainingFailure(async () => {
      await setUpPartnership(r);

      await r.as(OAKFIELD_REP);
      const first = await offerSwap(r, { ...offer, trainee: 'Amira K.' });
      assert.match(squash(await first.innerText()), /No match yet/, 'the first offer has nobody to match');

      await r.as(HILLCREST_REP);
      const second = await offerSwap(r, { ...offer, trainee: 'Ben T.' });
      assert.ok(squash(await second.innerText()).includes(`I've found a match with ${OAKFIELD}`), 'the second offer is matched with the first');
      const proposal = r.card(/^\s*Placement swap: /).filter({ has: r.page.getByRole('button', { name: 'Accept', exact: true }) }).first();
      await proposal.waitFor({ state: 'visible', timeout: 45_000 });
      const both = squash(await proposal.innerText());
      for (const school of [OAKFIELD, HILLCREST]) assert.ok(both.includes(school), `the proposed swap names ${school}: ${both}`);
      await r.screenshot('swap-proposed', proposal);
      await press(proposal, 'Accept');
      // The card she clicked becomes her school's answer, waiting on the other school.
      const answered = r.card(/^\s*Placement swap: /).filter({ hasText: `You've accepted for ${HILLCREST}.` }).first();
      const waiting = await cardShows(answered, `${HILLCREST}: accepted (${HILLCREST_REP})`);
      assert.ok(waiting.includes(`${OAKFIELD}: not answered yet`), `the card says ${OAKFIELD} has not answered: ${waiting}`);
      assert.equal(await answered.getByRole('button', { name: 'Accept', exact: true }).count(), 0, 'no Accept button once her school has accepted');

      await r.as(OAKFIELD_REP);
      await r.send('swaps');
      const board = r.card(/./).filter({ has: r.page.getByRole('button', { name: 'Answer', exact: true }) }).first();
      await board.waitFor({ state: 'visible', timeout: 45_000 });
      await press(board, 'Answer');
      const hers = r.card(/^\s*Placement swap: /).filter({ has: r.page.getByRole('button', { name: 'Accept', exact: true }) }).first();
      await hers.waitFor({ state: 'visible', timeout: 45_000 });
      await press(hers, 'Accept');
      const agreed = r.card(/^\s*Placement swap: /).filter({ hasText: 'The swap is agreed' }).first();
      const shown = await cardShows(agreed, 'Agreed by both schools.');
      // (the two schools are named in the match's order, either way round)
      assert.match(shown, new RegExp(`The swap is agreed: both (${OAKFIELD} and ${HILLCREST}|${HILLCREST} and ${OAKFIELD}) have accepted\\.`), `the card tells her the swap is agreed: ${shown}`);
      assert.equal(await agreed.getByRole('button', { name: 'Accept', exact: true }).count(), 0, `no Accept button on the agreed swap: ${shown}`);
      await r.screenshot('swap-agreed', agreed);
    });
  });
});

import assert from 'node:assert/strict';
import { addDays, dayText, londonToday, playgroundPerson, squash, startPlaygroundRun, waitForCardDelivery, exactly, type PlaygroundRun } from '../support/playground';
import { COORDINATOR, createTeachMeet } from '../support/playgroundScenarios';

/**
 * The whole local developer loop, for real: the bot started exactly as `npm start` starts it (a child
 * process, local mode, embedded Azurite under a temp DATA_DIR), the Microsoft 365 Agents Playground
 * pointed at it (as `npm run playground` does, with the repo's .m365agentsplayground.yml), and headless
 * Chromium clicking and typing in the Playground (test/support/playground.ts). The bot, the Playground and
 * the browser start once for every test here; each test opens the Playground afresh, which starts a new
 * personal chat. Screenshots are kept in test-artefacts/playground/teachmeets/.
 *
 * The Playground's signed-in user (currentUser in the yml) is a coordinator, as
 * `COORDINATORS=<their aadObjectId> npm start` makes them: the Playground has one user per process, and
 * only reps and coordinators may create TeachMeets.
 *
 * Needs Chromium (Debian package `chromium`): without it these tests fail, they do not skip.
 */
describe('the Microsoft 365 Agents Playground, end to end', function () {
  const partnership = 'Severn Vale Schools Partnership';
  const helpTitle = `Together — ${partnership}`;

  let run: PlaygroundRun | undefined;

  before(async function () {
    this.timeout(180_000);
    run = await startPlaygroundRun({ suite: 'teachmeets', env: { PARTNERSHIP_NAME: partnership, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  });

  after(async function () {
    this.timeout(60_000);
    const exit = await run?.stop();
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM should stop the bot cleanly with exit code 0');
  });

  it('when a teacher types help in the Agents Playground, then they see the help card', async function () {
    this.timeout(120_000);
    const r = run!;
    const { page } = r;
    await r.explainingFailure(async () => {
      await r.open();

      const helpCards = page
        .locator('.ac-adaptiveCard')
        .filter({ has: page.locator('.ac-textBlock', { hasText: exactly(helpTitle) }) })
        .filter({ hasText: 'whoami' });
      assert.equal(await helpCards.count(), 0, 'a help card was on the page before anyone typed help');

      await r.send('help');

      const helpCard = helpCards.first();
      await helpCard.waitFor({ state: 'visible', timeout: 45_000 }).catch((err: Error) => {
        throw new Error(`no help card (first TextBlock "${helpTitle}", listing whoami) appeared after typing help: ${err.message}`);
      });
      const firstTextBlock = (await helpCard.locator('.ac-textBlock').first().innerText()).trim();
      assert.equal(firstTextBlock, helpTitle, "the help card's first TextBlock names the partnership");
      assert.match(await helpCard.innerText(), /\bwhoami\b/);

      // What to type shows as typed, placeholders and all, and every line has the card's width to itself.
      const shown = await helpCard.innerText();
      for (const usage of ['school rename <name> to <new name>', 'holidays add <first day> - <last day> <name>', 'my school <school name>']) {
        assert.ok(shown.includes(usage), `the help card shows "${usage}": ${shown}`);
      }
      const cardWidth = (await helpCard.boundingBox())!.width;
      const blocks = helpCard.locator('.ac-textBlock');
      for (let i = 0; i < (await blocks.count()); i += 1) {
        const block = blocks.nth(i);
        const width = (await block.boundingBox())?.width ?? cardWidth;
        assert.ok(width >= cardWidth * 0.6, `"${(await block.innerText()).trim()}" is squeezed into ${Math.round(width)} of the card's ${Math.round(cardWidth)} pixels`);
      }
    });
  });

  it('when a coordinator types whoami in the Agents Playground, then they are told their role and id without being told to make themselves a coordinator', async function () {
    this.timeout(120_000);
    const r = run!;
    const { page } = r;
    await r.explainingFailure(async () => {
      await r.open();
      await r.send('whoami');
      const answer = page.getByText(/You're a coordinator of the partnership/).first();
      await answer.waitFor({ state: 'visible', timeout: 45_000 });
      const shown = await page.locator('body').innerText();
      assert.match(shown, /Your Entra object id is /, 'local mode shows the id');
      assert.doesNotMatch(shown, /to make yourself a coordinator/, 'a coordinator is not told to make themselves one');
    });
  });

  it('when a teacher attends a TeachMeet from its card in the Agents Playground, then the card shows their place and a confirmation with a calendar link arrives in her chat', async function () {
    this.timeout(150_000);
    const r = run!;
    const { page } = r;
    const title = 'Retrieval practice across the partnership';
    const places = 30;
    // Real dates: the form refuses the past, so the TeachMeet is two weeks after today in London,
    // and sign-ups close three days before it (at the form's default time, 17:00).
    const today = londonToday();
    const date = addDays(today, 14);
    const deadline = addDays(date, -3);

    await r.explainingFailure(async () => {
      await r.open();
      const { card, messageId } = await createTeachMeet(r, { title, date, places, deadline });
      assert.equal(await card.count(), 1, 'there should be exactly one card for the new TeachMeet');
      const posted = squash(await card.innerText());
      assert.ok(posted.includes(`${dayText(date, today)}, 16:00–17:30`), `the card should say when it is (${dayText(date, today)}, 16:00–17:30): ${posted}`);
      assert.ok(posted.includes('Online'), `the card should say it is online: ${posted}`);
      assert.ok(posted.includes(`${places} of ${places} left`), `a new TeachMeet has every place left: ${posted}`);
      assert.ok(posted.includes(`Close ${dayText(deadline, today)}, 17:00`), `the card should say when sign-ups close: ${posted}`);
      assert.ok(!posted.includes("You're attending."), `nobody is attending yet: ${posted}`);

      const attend = card.getByRole('button', { name: 'Attend', exact: true });
      const clickedAt = await page.evaluate(() => Date.now());
      await attend.click();

      // Her click is answered with her own view of the card: her place, and one place fewer.
      const placesLeft = `${places - 1} of ${places} left`;
      const answer = await waitForCardDelivery(page, { kind: 'invoke', verb: 'teachmeet.attend', since: clickedAt }, 45_000);
      assert.equal(answer.status, 200, `the Attend click was answered with HTTP ${answer.status}: ${answer.json.slice(0, 500)}`);
      assert.equal(answer.messageId, messageId, 'the Attend click came from the message that holds the card');
      assert.ok(answer.json.includes("You're attending.") && answer.json.includes(placesLeft), `the answer to Attend should be her view ("You're attending.", "${placesLeft}"): ${answer.json.slice(0, 1_500)}`);

      // The bot then updates the shared card in place for everyone who sees it. The Playground shows a
      // message's latest delivery, so she is left looking at whichever of the two arrived last.
      const update = await waitForCardDelivery(page, { kind: 'update', messageId: messageId, since: clickedAt, includes: placesLeft }, 45_000);
      const last = update.at > answer.at ? update : answer;
      assert.ok(
        last.json.includes("You're attending."),
        `after she clicked Attend the card showed "You're attending.", then the shared card's update (${update.at - answer.at} ms later) ` +
          `replaced it with the view for everyone, which does not say she has a place: the card she is left with shows "${placesLeft}" but not her place.`,
      );

      const mine = card.filter({ hasText: "You're attending." }).filter({ hasText: placesLeft });
      await mine.waitFor({ state: 'visible', timeout: 15_000 }).catch(async (err: Error) => {
        throw new Error(`the card does not show "You're attending." and "${placesLeft}": ${err.message}\nThe card reads: ${squash(await card.innerText())}`);
      });
      const shown = squash(await card.innerText());
      assert.ok(!shown.includes(`${places} of ${places} left`), `the card still counts every place as free: ${shown}`);
      await r.screenshot('teachmeet-card', card);

      // Her confirmation arrives as a message in her personal chat, with the calendar link.
      const confirmation = await waitForCardDelivery(page, { kind: 'create', since: clickedAt, includes: 'Your place is confirmed' }, 45_000);
      assert.ok(confirmation.json.includes(title), `the confirmation names the TeachMeet: ${confirmation.json.slice(0, 800)}`);
      assert.ok(confirmation.json.includes('Add to calendar'), `the confirmation has the calendar link: ${confirmation.json.slice(0, 800)}`);
    });
  });
});

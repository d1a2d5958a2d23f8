import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import {
  cardDeliveries,
  chooseOption,
  chooseTime,
  describeCardDeliveries,
  exactly,
  findChromium,
  freePort,
  launchChromium,
  recordCardDeliveries,
  startBotProcess,
  startPlayground,
  typeDate,
  waitForCardDelivery,
  type BotProcess,
  type HeadlessBrowser,
  type Playground,
} from './support/playground';
import { repositoryRoot } from '../scripts/playground';

/**
 * The whole local developer loop, for real: the bot started exactly as `npm start` starts it (a child
 * process, local mode, embedded Azurite under a temp DATA_DIR), the Microsoft 365 Agents Playground
 * pointed at it (as `npm run playground` does, with the repo's .m365agentsplayground.yml), and headless
 * Chromium clicking and typing in the Playground. The bot, the Playground and the browser start once for
 * every test here; each test opens the Playground afresh, which starts a new personal chat.
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

  let tmp: string | undefined;
  let bot: BotProcess | undefined;
  let playground: Playground | undefined;
  let browser: HeadlessBrowser | undefined;
  let started = false;

  before(async function () {
    this.timeout(180_000);
    findChromium(); // fail now, with the install hint, before starting anything
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'together-playground-e2e-'));
    bot = await startBotProcess({
      dataDir: path.join(tmp, 'data'),
      env: { PARTNERSHIP_NAME: partnership, LOG_LEVEL: 'info', COORDINATORS: playgroundUserAadObjectId() },
      timeoutMs: 60_000,
    });
    playground = await startPlayground({
      botEndpoint: bot.endpoint,
      port: await freePort(),
      logFile: path.join(tmp, 'm365agentsplayground.log'),
      timeoutMs: 60_000,
    });
    browser = await launchChromium();
    await recordCardDeliveries(browser.context);
    started = true;
  });

  after(async function () {
    this.timeout(60_000);
    try {
      await browser?.close();
      await playground?.stop();
      if (bot) {
        const exit = await bot.stop();
        if (started) {
          assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM should stop the bot cleanly with exit code 0.\nBot output:\n${bot.output()}`);
        }
      }
    } finally {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** Runs `steps` against the page; on failure adds a full-page screenshot, what the page received for cards, and the Playground's and the bot's output. */
  async function explainingFailure(page: Page, steps: () => Promise<void>): Promise<void> {
    try {
      await steps();
    } catch (err) {
      const shot = path.join(os.tmpdir(), `together-playground-failure-${Date.now()}.png`);
      const saved = await page
        .screenshot({ path: shot, fullPage: true })
        .then(() => `Screenshot: ${shot}`)
        .catch((e: Error) => `(no screenshot: ${e.message})`);
      const deliveries = await cardDeliveries(page).then(describeCardDeliveries, (e: Error) => `(no card deliveries: ${e.message})`);
      throw new Error(
        [(err as Error).message, saved, deliveries, playground!.diagnostics(), `Bot output (tail):\n${bot!.output().slice(-6_000)}`].join('\n'),
      );
    }
  }

  /** Opens the Playground (a new personal chat), waits until it has reached the bot, and returns the message box. */
  async function openPersonalChat(page: Page): Promise<Locator> {
    await page.goto(playground!.url, { waitUntil: 'load', timeout: 30_000 });
    // The Playground's log panel says "Connected." once it has reached the bot's endpoint.
    await page.getByText('Connected.', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // Personal Chat is open by default and has one message box (a Lexical contenteditable).
    const messageBox = page.locator('[contenteditable="true"][role="textbox"]').filter({ visible: true }).first();
    await messageBox.waitFor({ state: 'visible', timeout: 30_000 });
    return messageBox;
  }

  async function send(page: Page, messageBox: Locator, text: string): Promise<void> {
    await messageBox.click();
    await page.keyboard.type(text);
    assert.equal((await messageBox.innerText()).trim(), text, 'the message box did not take the typed text');
    await page.keyboard.press('Enter');
  }

  it('when a teacher types help in the Agents Playground, then they see the help card', async function () {
    this.timeout(120_000);
    const { page } = browser!;
    await explainingFailure(page, async () => {
      const messageBox = await openPersonalChat(page);

      const helpCards = page
        .locator('.ac-adaptiveCard')
        .filter({ has: page.locator('.ac-textBlock', { hasText: exactly(helpTitle) }) })
        .filter({ hasText: 'whoami' });
      assert.equal(await helpCards.count(), 0, 'a help card was on the page before anyone typed help');

      await send(page, messageBox, 'help');

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
    const { page } = browser!;
    await explainingFailure(page, async () => {
      const messageBox = await openPersonalChat(page);
      await send(page, messageBox, 'whoami');
      const answer = page.getByText(/You're a coordinator of the partnership/).first();
      await answer.waitFor({ state: 'visible', timeout: 45_000 });
      const shown = await page.locator('body').innerText();
      assert.match(shown, /Your Entra object id is /, 'local mode shows the id');
      assert.doesNotMatch(shown, /to make yourself a coordinator/, 'a coordinator is not told to make themselves one');
    });
  });

  it('when a teacher attends a TeachMeet from its card in the Agents Playground, then the card shows their place and a confirmation with a calendar link arrives in her chat', async function () {
    this.timeout(150_000);
    const { page } = browser!;
    const title = 'Retrieval practice across the partnership';
    const places = 30;
    // Real dates: the form refuses the past, so the TeachMeet is two weeks after today in London,
    // and sign-ups close three days before it (at the form's default time, 17:00).
    const today = londonToday();
    const date = addDays(today, 14);
    const deadline = addDays(date, -3);

    await explainingFailure(page, async () => {
      const messageBox = await openPersonalChat(page);
      await send(page, messageBox, 'teachmeet new');

      const form = page
        .locator('.ac-adaptiveCard')
        .filter({ has: page.locator('.ac-textBlock', { hasText: exactly('New TeachMeet') }) })
        .filter({ has: page.getByRole('button', { name: 'Create and post', exact: true }) });
      await form.waitFor({ state: 'visible', timeout: 45_000 }).catch((err: Error) => {
        throw new Error(`no TeachMeet form (heading "New TeachMeet", button "Create and post") appeared after typing teachmeet new: ${err.message}`);
      });
      const formMessage = await waitForCardDelivery(page, { kind: 'create', includes: '"verb":"teachmeet.create"' }, 10_000);

      await form.getByRole('textbox', { name: 'Title', exact: true }).fill(title);
      await chooseOption(page, form.getByRole('combobox', { name: /^Host/ }), 'Online');
      await typeDate(page, form.getByRole('combobox', { name: /^Date/ }), date);
      await chooseTime(page, form.getByRole('combobox', { name: /^Starts/ }), '16:00');
      await chooseTime(page, form.getByRole('combobox', { name: /^Ends/ }), '17:30');
      await form.getByRole('textbox', { name: /^Meeting link/ }).fill('https://teams.example.org/meet/retrieval-practice');
      await form.getByRole('textbox', { name: 'Attendee places', exact: true }).fill(String(places));
      await typeDate(page, form.getByRole('combobox', { name: /^Sign-ups close on/ }), deadline);
      await form.getByRole('button', { name: 'Create and post', exact: true }).click();

      // The form turns into the TeachMeet's card, in the same message.
      const card = page.locator('.ac-adaptiveCard').filter({ has: page.locator('.ac-textBlock', { hasText: exactly(`TeachMeet: ${title}`) }) });
      await card.waitFor({ state: 'visible', timeout: 45_000 }).catch(async (err: Error) => {
        const formText = (await form.innerText().catch(() => '(the form is gone)')).replace(/\s+/g, ' ');
        throw new Error(`no card "TeachMeet: ${title}" replaced the form after Create and post: ${err.message}\nThe form now reads: ${formText}`);
      });
      assert.equal(await form.count(), 0, 'the form is still on the page next to the new card');
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
      assert.equal(answer.messageId, formMessage.messageId, 'the Attend click came from the message that holds the card');
      assert.ok(answer.json.includes("You're attending.") && answer.json.includes(placesLeft), `the answer to Attend should be her view ("You're attending.", "${placesLeft}"): ${answer.json.slice(0, 1_500)}`);

      // The bot then updates the shared card in place for everyone who sees it. The Playground shows a
      // message's latest delivery, so she is left looking at whichever of the two arrived last.
      const update = await waitForCardDelivery(page, { kind: 'update', messageId: formMessage.messageId, since: clickedAt, includes: placesLeft }, 45_000);
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

      // Her confirmation arrives as a message in her personal chat, with the calendar link.
      const confirmation = await waitForCardDelivery(page, { kind: 'create', since: clickedAt, includes: 'Your place is confirmed' }, 45_000);
      assert.ok(confirmation.json.includes(title), `the confirmation names the TeachMeet: ${confirmation.json.slice(0, 800)}`);
      assert.ok(confirmation.json.includes('Add to calendar'), `the confirmation has the calendar link: ${confirmation.json.slice(0, 800)}`);
    });
  });
});

/** The aadObjectId of the Playground's signed-in user (currentUser in .m365agentsplayground.yml). */
function playgroundUserAadObjectId(): string {
  const yml = fs.readFileSync(path.join(repositoryRoot(), '.m365agentsplayground.yml'), 'utf8');
  const id = /^currentUser:\s*\n(?:[ \t]+.*\n)*?[ \t]+aadObjectId:\s*([0-9a-f-]{36})\s*$/m.exec(yml)?.[1];
  if (!id) throw new Error('no currentUser.aadObjectId in .m365agentsplayground.yml');
  return id;
}

/** Today's date in London, YYYY-MM-DD. */
function londonToday(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** How the cards write a day: "Mon 7 Dec", with the year when it is not this year ("Mon 4 Jan 2027"). */
function dayText(isoDate: string, todayIso: string): string {
  const sameYear = isoDate.slice(0, 4) === todayIso.slice(0, 4);
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) });
  return format.format(new Date(`${isoDate}T00:00:00Z`)).replace(/,/g, '');
}

function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  exactly,
  findChromium,
  freePort,
  launchChromium,
  startBotProcess,
  startPlayground,
  type BotProcess,
  type HeadlessBrowser,
  type Playground,
} from './support/playground';

/**
 * The whole local developer loop, for real: the bot started exactly as `npm start` starts it (a child
 * process, local mode, embedded Azurite under a temp DATA_DIR), the Microsoft 365 Agents Playground
 * pointed at it (as `npm run playground` does, with the repo's .m365agentsplayground.yml), and headless
 * Chromium typing into the Playground's message box.
 *
 * Needs Chromium (Debian package `chromium`): without it this test fails, it does not skip.
 */
describe('the Microsoft 365 Agents Playground, end to end', function () {
  const partnership = 'Severn Vale Schools Partnership';
  const helpTitle = `Together — ${partnership}`;

  it('when a teacher types help in the Agents Playground, then they see the help card', async function () {
    this.timeout(120_000);
    findChromium(); // fail now, with the install hint, before starting anything

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'together-playground-e2e-'));
    let bot: BotProcess | undefined;
    let playground: Playground | undefined;
    let browser: HeadlessBrowser | undefined;
    try {
      bot = await startBotProcess({
        dataDir: path.join(tmp, 'data'),
        env: { PARTNERSHIP_NAME: partnership, LOG_LEVEL: 'info' },
        timeoutMs: 60_000,
      });
      playground = await startPlayground({
        botEndpoint: bot.endpoint,
        port: await freePort(),
        logFile: path.join(tmp, 'm365agentsplayground.log'),
        timeoutMs: 60_000,
      });
      browser = await launchChromium();
      const { page } = browser;

      try {
        await page.goto(playground.url, { waitUntil: 'load', timeout: 30_000 });
        // The Playground's log panel says "Connected." once it has reached the bot's endpoint.
        await page.getByText('Connected.', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });

        const helpCards = page
          .locator('.ac-adaptiveCard')
          .filter({ has: page.locator('.ac-textBlock', { hasText: exactly(helpTitle) }) })
          .filter({ hasText: 'whoami' });
        assert.equal(await helpCards.count(), 0, 'a help card was on the page before anyone typed help');

        // Personal Chat is open by default and has one message box (a Lexical contenteditable).
        const messageBox = page.locator('[contenteditable="true"][role="textbox"]').filter({ visible: true }).first();
        await messageBox.waitFor({ state: 'visible', timeout: 30_000 });
        await messageBox.click();
        await page.keyboard.type('help');
        assert.equal((await messageBox.innerText()).trim(), 'help', 'the message box did not take the typed text');
        await page.keyboard.press('Enter');

        const helpCard = helpCards.first();
        await helpCard.waitFor({ state: 'visible', timeout: 45_000 }).catch((err: Error) => {
          throw new Error(`no help card (first TextBlock "${helpTitle}", listing whoami) appeared after typing help: ${err.message}`);
        });
        const firstTextBlock = (await helpCard.locator('.ac-textBlock').first().innerText()).trim();
        assert.equal(firstTextBlock, helpTitle, "the help card's first TextBlock names the partnership");
        assert.match(await helpCard.innerText(), /\bwhoami\b/);
      } catch (err) {
        const shot = path.join(os.tmpdir(), `together-playground-failure-${Date.now()}.png`);
        const saved = await page
          .screenshot({ path: shot, fullPage: true })
          .then(() => `Screenshot: ${shot}`)
          .catch((e: Error) => `(no screenshot: ${e.message})`);
        throw new Error(
          [(err as Error).message, saved, playground.diagnostics(), `Bot output (tail):\n${bot.output().slice(-6_000)}`].join('\n'),
        );
      }

      await browser.close();
      await playground.stop();
      const exit = await bot.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM should stop the bot cleanly with exit code 0.\nBot output:\n${bot.output()}`);
    } finally {
      await browser?.close();
      await playground?.stop();
      await bot?.stop(5_000);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

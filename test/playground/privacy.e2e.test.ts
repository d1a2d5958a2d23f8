import assert from 'node:assert/strict';
import { playgroundPerson, squash, startPlaygroundRun, type PlaygroundRun } from '../support/playground';
import { COORDINATOR, OAKFIELD_REP, PARTNERSHIP, press, seen, setUpPartnership } from '../support/playgroundScenarios';

/**
 * Privacy in the real client: the bot started as `npm start` starts it, the Microsoft 365 Agents
 * Playground, headless Chromium (see test/support/playground.ts). The coordinator makes Priya a rep;
 * Priya asks `my data` in her own chat and sees what Together holds about her, table by table, with the
 * download button; then `forget me`, confirms on the card, is told nothing identifies her any more, and
 * `whoami` shows her as a new teacher. What the erasure leaves in every table is proven through the
 * wire (test/privacy/).
 */
describe('privacy in the Agents Playground', function () {
  let run: PlaygroundRun | undefined;

  before(async function () {
    this.timeout(180_000);
    run = await startPlaygroundRun({ suite: 'privacy', env: { PARTNERSHIP_NAME: PARTNERSHIP, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  });

  after(async function () {
    this.timeout(60_000);
    const exit = await run?.stop();
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM should stop the bot cleanly');
  });

  it('when a rep asks for her data and then to be forgotten, then she sees what is held with a download, confirms on the card, and is a stranger to Together afterwards', async function () {
    this.timeout(170_000);
    const r = run!;
    await r.explainingFailure(async () => {
      await setUpPartnership(r);

      await r.as(OAKFIELD_REP);
      await r.send('my data');
      const held = await r.waitForCard('What Together holds about you');
      const shown = squash(await held.innerText());
      assert.match(shown, /Directory: 1/, `her directory entry is listed: ${shown}`);
      assert.ok((await held.getByRole('button', { name: 'Download my data (JSON)' }).count()) + (await held.getByRole('link', { name: 'Download my data (JSON)' }).count()) > 0, `the download is offered: ${shown}`);
      await r.screenshot('my-data', held);

      await r.send('forget me');
      const confirm = await r.waitForCard('Erase what Together holds about you?');
      assert.match(squash(await confirm.innerText()), /This cannot be undone/);
      await r.screenshot('forget-confirm', confirm);
      await press(confirm, 'Yes, erase me');
      await seen(r, /Together no longer holds anything that identifies you/);
      await r.screenshot('forgotten');

      await r.send('whoami');
      await seen(r, /You're a teacher/);
    });
  });
});

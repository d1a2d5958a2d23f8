import assert from 'node:assert/strict';
import { playgroundPerson, squash, startPlaygroundRun, type PlaygroundRun } from '../support/playground';
import { announceToEveryone, cardShows, COORDINATOR, PARTNERSHIP, press, seen, setUpPartnership } from '../support/playgroundScenarios';

/**
 * Announcements in the real client: the bot started as `npm start` starts it (its embedded Azurite's
 * tables carrying the sends through the outbox), the Microsoft 365 Agents Playground, headless
 * Chromium (see test/support/playground.ts). The coordinator composes an announcement on the form,
 * checks the preview, sends it, receives it in her own chat like everyone who has installed Together,
 * presses Got it, and sees the delivery and acknowledgement report.
 *
 * What the Playground cannot show: another person receiving it. It holds one signed-in user and keeps
 * no history across restarts, so a message sent to someone else's chat is never on screen; the report
 * (sent per recipient conversation) is what the coordinator sees of them. Scheduling, throttling and
 * retries are proven through the wire (test/announcements/).
 */
describe('announcements in the Agents Playground', function () {
  let run: PlaygroundRun | undefined;

  before(async function () {
    this.timeout(180_000);
    run = await startPlaygroundRun({ suite: 'announcements', env: { PARTNERSHIP_NAME: PARTNERSHIP, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  });

  after(async function () {
    this.timeout(60_000);
    const exit = await run?.stop();
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM should stop the bot cleanly');
  });

  it('when a coordinator sends an announcement asking for Got it, then she sees the preview, receives it, presses Got it and the report counts her', async function () {
    this.timeout(150_000);
    const r = run!;
    await r.explainingFailure(async () => {
      await setUpPartnership(r);
      const title = 'Moderation day moved';
      const { report, message } = await announceToEveryone(r, title, 'The KS2 writing moderation day is now on **Thursday**, at Hillcrest.');

      const sent = squash(await report.innerText());
      assert.match(sent, /Sent to (all \d+|its one recipient)\./, `the report says everything was sent: ${sent}`);
      const shown = squash(await message.innerText());
      assert.ok(shown.includes('The KS2 writing moderation day is now on Thursday, at Hillcrest.'), `the announcement reads as written, formatting applied: ${shown}`);

      await press(message, 'Got it');
      await seen(r, `Thanks, ${COORDINATOR.split(' ')[0]}: noted that you got it.`);
      await press(report, 'Refresh');
      // Sent, pending, failed, Got it: every conversation sent, none pending or failed, her Got it counted.
      await cardShows(report, /Total (\d+) 0 0 1\b/);
      await r.screenshot('announcement-report', report);
    });
  });
});

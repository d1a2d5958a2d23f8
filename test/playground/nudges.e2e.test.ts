import assert from 'node:assert/strict';
import { addDays, londonToday, playgroundPerson, squash, startPlaygroundRun, type PlaygroundRun } from '../support/playground';
import { COORDINATOR, HILLCREST, OAKFIELD_REP, PARTNERSHIP, proposeProject, seen, setUpPartnership } from '../support/playgroundScenarios';

/**
 * Nudges in the real client: the bot started as `npm start` starts it, the Microsoft 365 Agents
 * Playground, headless Chromium (see test/support/playground.ts). A rep's proposal puts a decision
 * deadline on the partner school; the coordinator sees it under that school in `deadlines`, and sets
 * when nudges go out (school hours, a holiday) with the commands the README lists.
 *
 * What the Playground cannot show: a nudge arriving. Nudges go out on the real clock, in school hours
 * Mon–Fri (Europe/London) only (the days cannot be changed, and `nudges hours` keeps at least an hour),
 * and the bot process here runs on the system clock, so whether a nudge is due while this test runs
 * depends on when it runs; tests never depend on the time. The daily message, its buttons (Snooze, Stop
 * reminding me) and the coordinators' overdue notice are proven through the wire with a controlled
 * clock (test/nudges/).
 */
describe('nudges in the Agents Playground', function () {
  let run: PlaygroundRun | undefined;

  before(async function () {
    this.timeout(180_000);
    run = await startPlaygroundRun({ suite: 'nudges', env: { PARTNERSHIP_NAME: PARTNERSHIP, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  });

  after(async function () {
    this.timeout(60_000);
    const exit = await run?.stop();
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM should stop the bot cleanly');
  });

  it('when a proposal waits on a school, then the coordinator sees its deadline under that school and can set the hours and a holiday nudges keep to', async function () {
    this.timeout(170_000);
    const r = run!;
    const today = londonToday();
    const title = 'Shared science moderation';
    await r.explainingFailure(async () => {
      await setUpPartnership(r);
      await r.as(OAKFIELD_REP);
      await proposeProject(r, {
        title,
        summary: 'Science leads from both schools moderate Year 6 assessments together.',
        partners: [HILLCREST],
        startDate: addDays(today, 30),
        decisionBy: addDays(today, 10),
      });

      await r.as(COORDINATOR);
      await r.send('deadlines');
      const deadlines = await r.waitForCard('Deadlines across the partnership');
      const shown = squash(await deadlines.innerText());
      assert.ok(shown.includes(`${HILLCREST} Approve '${title}' for ${HILLCREST}`), `the deadline is listed under ${HILLCREST}: ${shown}`);
      await r.screenshot('deadlines', deadlines);

      await r.send('nudges');
      await seen(r, 'Nudges go out Mon–Fri, 08:00–17:00 (Europe/London), at most one message a day to each person.');
      await r.send('nudges hours 08:30-16:30');
      await seen(r, 'Nudges now go out 08:30–16:30.');

      const from = addDays(today, 20);
      const to = addDays(today, 24);
      const typed = (iso: string) => new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${iso}T00:00:00Z`));
      await r.send(`holidays add ${typed(from)} - ${typed(to)} INSET days`);
      await seen(r, /^Added: .*\(INSET days\)\. Nobody is nudged on those days\.$/);
      await r.send('holidays');
      await seen(r, /No nudges on these days:[\s\S]*\(INSET days\)/);
      await r.screenshot('nudge-settings');
    });
  });
});

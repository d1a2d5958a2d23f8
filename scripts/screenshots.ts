/**
 * `npm run screenshots`: regenerates the README's screenshots (docs/screenshots/*.png) by driving the
 * Microsoft 365 Agents Playground in headless Chromium exactly as the Playground tests do (the same
 * steps, test/support/playgroundScenarios.ts): the coordinator sets up two schools and their reps, a rep
 * creates a TeachMeet and proposes a project, and the coordinator sends an announcement and presses Got it.
 * Each picture is cropped to its card. Needs Chromium, like the tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator } from 'playwright-core';
import { addDays, londonToday, playgroundPerson, startPlaygroundRun } from '../test/support/playground';
import {
  announceToEveryone,
  cardShows,
  COORDINATOR,
  createTeachMeet,
  HILLCREST,
  OAKFIELD_REP,
  PARTNERSHIP,
  press,
  proposeProject,
  setUpPartnership,
} from '../test/support/playgroundScenarios';
import { repositoryRoot } from './playground';

async function main(): Promise<void> {
  const out = path.join(repositoryRoot(), 'docs', 'screenshots');
  fs.mkdirSync(out, { recursive: true });
  const run = await startPlaygroundRun({ suite: 'readme', env: { PARTNERSHIP_NAME: PARTNERSHIP, COORDINATORS: playgroundPerson(COORDINATOR).aadObjectId } });
  // Tall enough for the longest card to be in view whole, under the Playground's fixed header.
  await run.page.setViewportSize({ width: 1400, height: 2400 });
  const keep = async (name: string, card: Locator) => {
    const file = path.join(out, `${name}.png`);
    await card.screenshot({ path: file });
    console.log(`${path.relative(repositoryRoot(), file)} (${Math.round(fs.statSync(file).size / 1024)} kB)`);
  };
  let failed = false;
  try {
    await run.explainingFailure(async () => {
      await setUpPartnership(run);
      // Before anyone else opens Together, so everyone it goes to is in this Playground (one person per process).
      const title = 'Moderation day moved';
      const { report, message } = await announceToEveryone(run, title, 'The KS2 writing moderation day is now on **Thursday**, at Hillcrest.');
      await press(message, 'Got it');
      await press(report, 'Refresh');
      await cardShows(report, /Total \d+ 0 0 1\b/);
      await keep('announcement-report', report);

      await run.as(OAKFIELD_REP);
      const today = londonToday();
      const date = addDays(today, 14);
      const { card } = await createTeachMeet(run, { title: 'Retrieval practice across the partnership', date, places: 30, deadline: addDays(date, -3) });
      await press(card, 'Attend');
      await cardShows(card, "You're attending.");
      await keep('teachmeet-card', card);

      const proposal = await proposeProject(run, {
        title: 'Year 5 reasoning partnership',
        summary: 'Year 5 pupils from both schools work on maths reasoning together for a term.',
        partners: [HILLCREST],
        startDate: addDays(today, 30),
        decisionBy: addDays(today, 10),
      });
      await keep('proposal-card', proposal);
    });
  } catch (err) {
    failed = true;
    console.error((err as Error).message);
  } finally {
    await run.stop();
  }
  process.exit(failed ? 1 : 0);
}

void main();

import type { Locator } from 'playwright-core';
import { chooseOption, chooseTime, exactly, squash, typeDate, waitForCardDelivery, type PlaygroundRun } from './playground';

/**
 * What the partnership's people do in the Agents Playground, step by step, shared by the Playground
 * end-to-end tests (test/playground/) and `npm run screenshots`. Each step checks what the person sees
 * before going on, so a step that did not work stops there with what was on the screen.
 */

export const PARTNERSHIP = 'Severn Vale Schools Partnership';
/** Everyone in .m365agentsplayground.yml: Sarah (its currentUser) is the coordinator in these runs. */
export const COORDINATOR = 'Sarah Whitfield';
export const OAKFIELD = 'Oakfield Academy';
export const HILLCREST = 'Hillcrest School';
export const OAKFIELD_REP = 'Priya Sharma';
export const HILLCREST_REP = 'Eleanor Marsh';

/** Waits until a message or card in the open chat shows `text`; the error says what the chat shows instead. */
export async function seen(run: PlaygroundRun, text: string | RegExp, timeoutMs = 45_000): Promise<Locator> {
  const found = run.page.getByText(text).first();
  await found.waitFor({ state: 'visible', timeout: timeoutMs }).catch(async (err: Error) => {
    const shown = squash(await run.page.locator('body').innerText().catch(() => '')).slice(0, 3_000);
    throw new Error(`nothing on the screen shows ${String(text)}: ${err.message.split('\n')[0]}\nThe page shows: ${shown}`);
  });
  return found;
}

/** In the team's General channel, a coordinator mentions Together with `parts` and waits for the answer. */
export async function inChannel(run: PlaygroundRun, answer: string | RegExp, ...parts: Parameters<PlaygroundRun['send']>): Promise<void> {
  await run.send({ mention: 'Together' }, ' ', ...parts);
  await seen(run, answer);
}

/**
 * The coordinator sets up the partnership from the team's General channel, as the README says: two
 * schools, a rep for each (mentioned), and General as the reps' channel.
 */
export async function setUpPartnership(run: PlaygroundRun): Promise<void> {
  if (run.person().name !== COORDINATOR) throw new Error(`setUpPartnership needs the coordinator signed in, not ${run.person().name}`);
  await run.goTo('General');
  for (const school of [OAKFIELD, HILLCREST]) await inChannel(run, `Added ${school} to the partnership.`, `school add ${school}`);
  for (const [rep, school] of [[OAKFIELD_REP, OAKFIELD], [HILLCREST_REP, HILLCREST]] as const) {
    await inChannel(run, `${rep} is now a rep of ${school}.`, 'rep add ', { mention: rep }, ` ${school}`);
  }
  await inChannel(run, "This channel is now the reps' channel", 'channel reps');
  await run.goTo('Personal Chat');
}

/** Presses `button` on `card` (waiting for it to be enabled). */
export async function press(card: Locator, button: string): Promise<void> {
  await card.getByRole('button', { name: button, exact: true }).click({ timeout: 15_000 });
}

export { exactly };

/**
 * The coordinator types `announce`, fills the form (title, text, everyone, Got it asked), previews it
 * and sends it; returns the report card and the announcement as it arrived in her own chat.
 */
export async function announceToEveryone(run: PlaygroundRun, title: string, text: string): Promise<{ report: Locator; message: Locator }> {
  await run.send('announce');
  const form = await run.waitForCard('New announcement', 'with the announcement form');
  await form.getByRole('textbox', { name: /^Title/ }).fill(title);
  await form.getByRole('textbox', { name: /^Announcement/ }).fill(text);
  await chooseOption(run.page, form.getByRole('combobox', { name: 'Who it goes to', exact: true }), 'Everyone who has installed Together');
  await form.getByRole('checkbox', { name: /^Ask people to press Got it/ }).check();
  await press(form, 'Preview');
  const preview = await run.waitForCard('Preview: this is exactly what recipients will get');
  await press(preview, 'Send');
  // To everyone, the preview asks again, in red, how many conversations that is.
  const sure = run.card('Preview: this is exactly what recipients will get').filter({ hasText: /This goes to everyone who has installed Together: \d+ conversations/ });
  await sure.waitFor({ state: 'visible', timeout: 45_000 });
  await press(sure, 'Yes, send to everyone');
  const report = await run.waitForCard(`Your announcement: ${title}`);
  // Sending finishes within seconds: the report then says how many it reached.
  await cardShows(report, /Sent to /);
  const message = run
    .card(title)
    .filter({ has: run.page.getByRole('button', { name: 'Got it', exact: true }) })
    .filter({ hasNotText: 'Preview: this is exactly what recipients will get' })
    .filter({ hasNotText: 'Your announcement' })
    .first();
  await message.waitFor({ state: 'visible', timeout: 45_000 });
  return { report, message };
}

/** Waits until `card` (re-rendered as often as the bot updates it) reads `text`; returns what it reads then. */
export async function cardShows(card: Locator, text: string | RegExp, timeoutMs = 45_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  for (;;) {
    shown = squash(await card.innerText({ timeout: 5_000 }).catch(() => ''));
    if (typeof text === 'string' ? shown.includes(text) : text.test(shown)) return shown;
    if (Date.now() > deadline) throw new Error(`the card never read ${String(text)}; it reads: ${shown || '(nothing: it is gone)'}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface ProposalDraft {
  readonly title: string;
  readonly summary: string;
  /** Partner schools besides the proposer's own. */
  readonly partners: readonly string[];
  /** YYYY-MM-DD */
  readonly startDate: string;
  readonly decisionBy: string;
}

/**
 * A rep types `propose`, fills the form as the README describes (the four criteria, counts, a mutual need
 * and a funder outcome, dates) and submits it; returns the proposal card as it was posted in the
 * reps' channel (General), which the Playground shows when she opens the channel.
 */
export async function proposeProject(run: PlaygroundRun, draft: ProposalDraft): Promise<Locator> {
  await run.send('propose');
  const form = await run.waitForCard('Propose a project', 'with the proposal form (after typing propose)');
  const text = (name: RegExp | string, value: string) => form.getByRole('textbox', { name, exact: typeof name === 'string' }).fill(value);
  await text('Title', draft.title);
  await text('Summary', draft.summary);
  // Multi-select choice sets show as drop-downs of options in the Playground.
  const partners = form.getByRole('combobox', { name: /^Partner schools \(at least one/ });
  for (const partner of draft.partners) {
    await partners.click();
    await run.page.getByRole('menuitemcheckbox', { name: partner, exact: true }).click();
    await run.page.keyboard.press('Escape');
  }
  await text(/^1\. How each school contributes/, 'Oakfield hosts the maths hub sessions; Hillcrest brings its Year 5 reasoning resources and two lead teachers.');
  await text('Pupils', '60');
  await text('Staff', '6');
  await text(/^2\. Legacy/, 'A shared bank of reasoning tasks both schools keep using.');
  await text(/^3\. How different pupil or staff groups work together/, 'Year 5 classes from both schools solve problems in mixed teams, staff co-plan each session.');
  await text(/^4\. Measurable outcome/, 'Reasoning scores in the spring assessment up 10% on the autumn baseline.');
  const firstChoice = async (name: RegExp) => {
    await form.getByRole('combobox', { name }).click();
    await run.page.getByRole('menuitemcheckbox').first().click();
    await run.page.keyboard.press('Escape');
  };
  await firstChoice(/^Mutual needs/);
  await firstChoice(/^Funder outcomes/);
  await typeDate(run.page, form.getByRole('combobox', { name: /^Starts/ }), draft.startDate);
  await typeDate(run.page, form.getByRole('combobox', { name: /^Partner schools decide by/ }), draft.decisionBy);
  await press(form, 'Submit for approval');
  await run.waitForCard(`'${draft.title}' is posted for approval`);
  await run.goTo('General');
  return run.waitForCard(`Proposal: ${draft.title}`, `"Proposal: ${draft.title}" in the reps' channel`);
}

export interface SwapOfferDraft {
  /** Sends one trainee of this phase and subject, hosts the same. */
  readonly phase: 'Primary' | 'Secondary' | string;
  readonly subject: string;
  readonly trainee: string;
  /** YYYY-MM-DD */
  readonly from: string;
  readonly to: string;
  readonly confirmBy: string;
}

/** A rep types `swap offer`, fills the form for her own school and sends it; returns the answer card ("Your offer is saved"). */
export async function offerSwap(run: PlaygroundRun, draft: SwapOfferDraft): Promise<Locator> {
  await run.send('swap offer');
  const form = await run.waitForCard('Offer a placement swap', 'with the swap offer form (after typing swap offer)');
  const phases = form.getByRole('combobox', { name: /^Phase/ });
  await chooseOption(run.page, phases.nth(0), draft.phase);
  await form.getByRole('textbox', { name: /^Subject/ }).first().fill(draft.subject);
  await form.getByRole('textbox', { name: /^Number of trainees/ }).fill('1');
  await form.getByRole('textbox', { name: /^Trainee/ }).fill(draft.trainee);
  await chooseOption(run.page, phases.nth(1), draft.phase);
  await form.getByRole('textbox', { name: /^Subjects \(separate with commas\)/ }).fill(draft.subject);
  await typeDate(run.page, form.getByRole('combobox', { name: /^First date/ }), draft.from);
  await typeDate(run.page, form.getByRole('combobox', { name: /^Last date/ }), draft.to);
  await typeDate(run.page, form.getByRole('combobox', { name: /^Agree the swap by/ }), draft.confirmBy);
  await press(form, 'Send the offer');
  return run.waitForCard('Your offer is saved', '"Your offer is saved" (after Send the offer)');
}

export interface TeachMeetDraft {
  readonly title: string;
  /** YYYY-MM-DD, London */
  readonly date: string;
  readonly places: number;
  /** YYYY-MM-DD: sign-ups close at 17:00 that day (the form's default time). */
  readonly deadline: string;
}

/**
 * Someone who may create TeachMeets types `teachmeet new`, fills the form for an online TeachMeet from
 * 16:00 to 17:30 and presses Create and post; returns the TeachMeet's card (which replaces the form, in
 * the same message) and that message's id.
 */
export async function createTeachMeet(run: PlaygroundRun, draft: TeachMeetDraft): Promise<{ card: Locator; messageId: string }> {
  const { page } = run;
  await run.send('teachmeet new');
  const form = run.card('New TeachMeet').filter({ has: page.getByRole('button', { name: 'Create and post', exact: true }) });
  await form.waitFor({ state: 'visible', timeout: 45_000 }).catch((err: Error) => {
    throw new Error(`no TeachMeet form (heading "New TeachMeet", button "Create and post") appeared after typing teachmeet new: ${err.message}`);
  });
  const formMessage = await waitForCardDelivery(page, { kind: 'create', includes: '"verb":"teachmeet.create"' }, 10_000);

  await form.getByRole('textbox', { name: 'Title', exact: true }).fill(draft.title);
  await chooseOption(page, form.getByRole('combobox', { name: /^Host/ }), 'Online');
  await typeDate(page, form.getByRole('combobox', { name: /^Date/ }), draft.date);
  await chooseTime(page, form.getByRole('combobox', { name: /^Starts/ }), '16:00');
  await chooseTime(page, form.getByRole('combobox', { name: /^Ends/ }), '17:30');
  await form.getByRole('textbox', { name: /^Meeting link/ }).fill('https://teams.example.org/meet/retrieval-practice');
  await form.getByRole('textbox', { name: 'Attendee places', exact: true }).fill(String(draft.places));
  await typeDate(page, form.getByRole('combobox', { name: /^Sign-ups close on/ }), draft.deadline);
  await form.getByRole('button', { name: 'Create and post', exact: true }).click();

  // The form turns into the TeachMeet's card, in the same message.
  const card = run.card(`TeachMeet: ${draft.title}`);
  await card.waitFor({ state: 'visible', timeout: 45_000 }).catch(async (err: Error) => {
    const formText = squash(await form.innerText().catch(() => '(the form is gone)'));
    throw new Error(`no card "TeachMeet: ${draft.title}" replaced the form after Create and post: ${err.message}\nThe form now reads: ${formText}`);
  });
  if ((await form.count()) !== 0) throw new Error('the form is still on the page next to the new card');
  return { card, messageId: formMessage.messageId };
}

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repositoryRoot } from '../../scripts/playground';
import { launchChromium } from '../support/playground';
import { adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import type { Sent, SimUser } from '../support/simulator';
import { FORM as TEACHMEET_FORM, eventIdOf } from '../teachmeets/world';
import { answered, said, textOf, World } from '../proposals/world';

/**
 * Impact through the wire: a known autumn term is built by people using Together (terms set, a
 * TeachMeet with attendees and a presenter, an agreed placement swap, a project approved and one
 * pending, a nudge, an announcement acknowledged), then a coordinator types `impact` and every number
 * on the card, the report page and the CSV is checked against the values counted by hand below.
 */

/** Thu 5 Dec 2026 would be a Saturday: the report is asked for on Sat 5 Dec 2026, 10:00 London. */
const REPORT_AT = '2026-12-05T10:00:00Z';

/**
 * Counted by hand from the history built in `buildHistory`:
 * - TeachMeet on Fri 4 Dec at Oakfield: Ann (Oakfield) and Tia (Riverside) attend, Cat (Hillview) presents.
 * - Swap agreed for 7–18 Dec: Oakfield sends 2 trainees, Hillview sends 1.
 * - 'STEM Week' led by Oakfield with Riverside and Hillview: 120 pupils, 12 staff, STEM + Collaboration,
 *   Leadership skills; submitted Wed 25 Nov 10:00, signed off Fri 27 Nov 22:00 (2.5 days).
 * - 'Careers fair' led by Westbrook with Oakfield, pending: Oakfield's decision was due Fri 4 Dec 17:00
 *   and is still open (missed); Ann was nudged about it on Fri 27 Nov.
 * - An announcement to the reps asking for "Got it": Ann (twice), Ben and Cat press it.
 */
/** In the order the partnership lists its schools (by name). */
const EXPECTED: Record<string, number[]> = {
  //                      att pre sent host led part appr pupils staff (achieved) ack nudge missed
  'Hillview High School': [0, 1, 1, 2, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0],
  'Oakfield Academy': [1, 0, 2, 1, 1, 1, 1, 120, 12, 0, 0, 1, 1, 1],
  'Riverside Primary': [1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0],
  'Westbrook School': [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};
const TOTALS = [2, 1, 3, 3, 2, 3, 1, 120, 12, 0, 0, 3, 1, 1];

/** The swap both schools offer: 7–18 Dec 2026 (2 school weeks), to be agreed by Fri 4 Dec. */
const SWAP = { sendSubject: 'Maths', trainee: 'Sam P.', hostSubjects: 'Maths', from: '2026-12-07', to: '2026-12-18', confirmBy: '2026-12-04', notes: '' };

/** The rows of an HTML table (cells as text), by the table's section id. */
function htmlRows(html: string, section: string): string[][] {
  const at = html.indexOf(`<section id="${section}">`);
  assert.ok(at >= 0, `the page has the ${section} table`);
  const body = html.slice(at, html.indexOf('</section>', at));
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((r) => [...r[1]!.matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)].map((c) => c[1]!));
}

function impactCard(result: { sent: Sent[] }): object {
  const sent = result.sent.find((s) => adaptiveCardsOf(s.activity).some((c) => /Impact: /.test(cardText(c))));
  assert.ok(sent, `an impact card came back: ${result.sent.map(textOf).join('\n')}`);
  return adaptiveCardsOf(sent.activity)[0]!;
}

function reportUrl(card: object): string {
  const match = /"url":"(http[^"]+\/report\?[^"]+)"/.exec(JSON.stringify(card));
  assert.ok(match, 'the card has an Open the report link');
  return match[1]!;
}

describe('impact through the wire', function () {
  this.timeout(90_000);
  let w: World;

  async function swapOffer(user: SimUser, inputs: Record<string, string>): Promise<string> {
    const chat = w.chat(user);
    const form = await w.sim.say(user, chat, 'swap offer');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(formSent, `the swap form came back: ${said(form)}`);
    return said(await w.sim.click(user, chat, formSent, 'Send the offer', inputs));
  }

  async function buildHistory(): Promise<void> {
    // Terms: the coordinator sets this autumn's real dates; a range the wrong way round changes nothing.
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'term set autumn 2026 2 Sep 2026 - 18 Dec 2026')), /Done: Autumn term 2026 is now 2 Sep 2026 – 18 Dec 2026/);
    const backwards = said(await w.sim.say(w.cora, w.staffRoom, 'term set spring 2027 26 Mar 2027 - 4 Jan 2027'));
    assert.match(backwards, /That range runs backwards: 26 Mar 2027 is after 4 Jan 2027/);
    const terms = said(await w.sim.say(w.ben, w.chat(w.ben), 'terms'));
    assert.match(terms, /Autumn term 2026: 2 Sep 2026 – 18 Dec 2026\n/);
    assert.match(terms, /Spring term 2027: 1 Jan 2027 – 28 Mar 2027 \(usual dates\)/);
    assert.match(said(await w.sim.say(w.ben, w.chat(w.ben), 'term set autumn 2026 1 Sep 2026 - 1 Dec 2026')), /Only coordinators|coordinators/i);

    // A TeachMeet at Oakfield on Fri 4 Dec: Ann and Tia attend, Cat presents.
    const typed = await w.sim.say(w.cora, w.staffRoom, 'teachmeet new');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const created = await w.sim.click(w.cora, w.staffRoom, formSent, 'Create and post', { ...TEACHMEET_FORM, places: '5', host: w.school.oak });
    const event = invokeResponseCard(created.body)!;
    eventIdOf(event);
    for (const who of [w.ann, w.tia]) assert.match(said(await w.sim.click(who, w.staffRoom, event, 'Attend', {}, { replyToId: formSent.activityId })), /place|going|coming/i);
    const presents = await w.sim.click(w.cat, w.staffRoom, event, 'Sign up to present', { talkTitle: 'Retrieval practice', slot: '5', talkLine: 'Low-stakes quizzes' }, { replyToId: formSent.activityId });
    assert.equal(presents.status, 200);
    await w.bot.together.teachmeets.settle();

    // A placement swap: Oakfield sends 2, Hillview 1; both accept.
    assert.match(await swapOffer(w.ann, { ...SWAP, sendCount: '2' }), /Your offer is saved/);
    assert.match(await swapOffer(w.cat, { ...SWAP, sendCount: '1', trainee: 'Jo K.' }), /found a match/);
    for (const who of [w.ann, w.cat]) {
      const card = w.sim.messagesTo(w.chat(who)).filter((s) => /Placement swap: /.test(textOf(s))).at(-1)!;
      assert.match(said(await w.sim.click(who, w.chat(who), card, 'Accept')), /accepted|agreed/);
    }

    // 'STEM Week' (Oakfield with Riverside and Hillview) approved 2.5 days after it was submitted; 'Careers fair' pending.
    await w.propose(w.ann);
    await w.propose(w.dan, { title: 'Careers fair', pupils: '60', staff: '6', needs: 'careers-provision', funderOutcomes: 'community-pride-and-responsibility', partners: w.school.oak });
    const stem = w.posted(w.reps).find((p) => /STEM Week/.test(textOf(p)))!;
    w.clock.advance(60 * 60_000);
    assert.match(answered(await w.press(w.ben, stem, 'Approve for my school')), /Approved for Riverside Primary/);
    w.clock.advance(24 * 60 * 60_000);
    assert.match(answered(await w.press(w.cat, stem, 'Approve for my school')), /Approved for Hillview High School/);
    w.clock.advance(35 * 60 * 60_000); // Fri 27 Nov 22:00
    assert.match(answered(await w.press(w.cora, stem, 'Give final sign-off')), /Signed off/);

    // Sat 28 Nov is no school day; the nudge round on Mon 30 Nov 10:00 reminds Ann about 'Careers fair'.
    w.clock.set(new Date('2026-11-30T10:00:00Z'));
    const before = w.messagesFor(w.ann, /Careers fair/).length;
    await w.bot.together.scheduler.tick();
    assert.equal(w.messagesFor(w.ann, /Careers fair/).length, before + 1, 'Ann was nudged about Careers fair');

    // An announcement to the reps, asking for "Got it".
    const me = w.chat(w.cora);
    const compose = (await w.sim.say(w.cora, me, 'announce')).sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const preview = invokeResponseCard((await w.sim.click(w.cora, me, compose, 'Preview', { title: 'Autumn review', text: 'Please read the autumn review.', audience: 'reps', importance: 'normal', ack: 'true' })).body)!;
    await w.sim.click(w.cora, me, preview, 'Send', {}, { replyToId: compose.activityId });
    for (const who of [w.ann, w.ann, w.ben, w.cat]) {
      const got = await waitFor(() => w.sim.messagesTo(w.chat(who)).find((s) => /Please read the autumn review/.test(textOf(s))));
      const pressed = await w.sim.click(who, w.chat(who), adaptiveCardsOf(got.activity)[0]!, 'Got it', {}, { replyToId: got.activityId });
      assert.match(said(pressed), /got it/i);
    }
    await w.bot.together.announcements.settle();
    w.clock.set(new Date(REPORT_AT));
  }

  async function waitFor<T>(find: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found) return found;
      if (Date.now() > until) assert.fail('timed out waiting for a message');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async function () {
    w = await World.start();
    await buildHistory();
  });

  after(async function () {
    await w.stop();
  });

  it('when a coordinator types impact, then the card shows this term per school, every partner school listed, with the numbers counted by hand', async function () {
    const card = impactCard(await w.sim.say(w.cora, w.staffRoom, 'impact'));
    const text = cardText(card);
    assert.match(text, /Impact: Autumn term 2026/);
    assert.match(text, /2 Sep 2026 – 18 Dec 2026/);
    assert.match(text, /Every partner school \(4\)/);
    assert.match(text, /Staff at TeachMeets\n2 attended, 1 presented/);
    assert.match(text, /Trainees in swaps\n3 sent, 3 hosted/);
    assert.match(text, /Projects approved\n1\n/);
    assert.match(text, /Participants planned\n120 pupils, 12 staff/);
    assert.match(text, /Participants achieved\n0 pupils, 0 staff \(0 of 1 project recorded\)/);
    assert.match(text, /Approval turnaround\n2.5 days \(1 project\)/);
    assert.match(text, /Announcements acknowledged\n3\n/);
    assert.match(text, /Nudges sent\n1\n/);
    assert.match(text, /Deadlines missed\n1\n/);
    for (const [school, n] of Object.entries(EXPECTED)) {
      const line = `${n[0]} attended · ${n[1]} presented · ${n[2]} trainees sent · ${n[3]} hosted · ${n[4]} proposals led · ${n[5]} partnered · ${n[6]} approved · ${n[11]} acknowledged`;
      assert.ok(text.includes(`${school}\n${line}`), `${school}: ${line}\n---\n${text}`);
    }
  });

  it('when the report page is opened from the card, then its tables, definitions and charts show the same numbers, and its CSVs match them', async function () {
    const card = impactCard(await w.sim.say(w.cora, w.staffRoom, 'impact'));
    const page = await fetch(reportUrl(card));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /<h1>Impact: Autumn term 2026<\/h1>/);
    const rows = htmlRows(html, 'schools');
    assert.deepEqual(rows[0]!.slice(0, 3), ['School', 'Staff at TeachMeets (attended)', 'Staff at TeachMeets (presented)']);
    const body = Object.fromEntries(rows.slice(1).map((r) => [r[0]!, r.slice(1).map(Number)]));
    assert.deepEqual(body, { ...EXPECTED, 'All schools': TOTALS });
    // Each figure's definition is beside its table.
    assert.match(html, /<dt>Staff at TeachMeets \(attended\)<\/dt><dd>Confirmed attendee places at TeachMeets that have taken place/);
    assert.match(html, /Date that counts: the final sign-off\./);
    // Mutual needs and funder outcomes: every one listed; STEM Week under its own.
    const needs = Object.fromEntries(htmlRows(html, 'needs').slice(1).map((r) => [r[0]!, r.slice(1).map(Number)]));
    assert.deepEqual(needs['STEM'], [1, 132, 0]);
    assert.deepEqual(needs['Collaboration'], [1, 132, 0]);
    assert.deepEqual(needs['Careers provision'], [0, 0, 0], 'the pending Careers fair is not an approved project');
    const outcomes = Object.fromEntries(htmlRows(html, 'outcomes').slice(1).map((r) => [r[0]!, r.slice(1).map(Number)]));
    assert.deepEqual(outcomes, { 'Cultural capital (knowledge, skills and education)': [0, 0, 0], 'Leadership skills': [1, 132, 0], 'Community pride and responsibility': [0, 0, 0], 'Self-confidence and resilience': [0, 0, 0] });
    assert.match(html, /Approval turnaround \(median days\):<\/b> 2.5 days \(1 project\)/);
    // Charts: a bar per school and per funder outcome.
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 5);
    // The trend across terms: only the autumn term of 2026/27 has started, with the same totals.
    assert.deepEqual(htmlRows(html, 'terms').slice(1).map((r) => [r[0], ...r.slice(1).map(Number)]), [['Autumn term 2026', ...TOTALS]]);
    assert.match(html, /<title>Oakfield Academy: 3<\/title>|<title>Oakfield Academy: 1<\/title>/);
    assert.match(html, /<title>Leadership skills: 1<\/title>/);

    // The per-school CSV: BOM, header, a row per school and the total, the same numbers.
    const csvUrl = /href="([^"]+\/table\.csv\?[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    assert.match(csvUrl, /\.schools\/table\.csv/);
    const csv = await fetch(csvUrl);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="impact-2026-09-02-2026-12-18-schools\.csv"/);
    const bytes = Buffer.from(await csv.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
    const lines = bytes.toString('utf8').slice(1).trimEnd().split('\r\n');
    assert.equal(lines[0], 'School,Staff at TeachMeets (attended),Staff at TeachMeets (presented),Trainees sent,Trainees hosted,Proposals led,Proposals partnered,Projects approved,Pupils planned,Staff planned,Pupils achieved,Staff achieved,Announcements acknowledged,Nudges sent,Deadlines missed');
    assert.deepEqual(lines.slice(1), [...Object.entries(EXPECTED).map(([s, n]) => [s, ...n].join(',')), ['All schools', ...TOTALS].join(',')]);
  });

  it('when a report link is tampered with or has expired, then a clear 403 page is shown, never a 500', async function () {
    const url = reportUrl(impactCard(await w.sim.say(w.cora, w.staffRoom, 'impact')));
    const otherSchool = url.replace('.all/report', `.${w.school.west}/report`);
    for (const bad of [url.replace(/sig=[^&]+/, 'sig=AAAA'), otherSchool, url.replace(/exp=\d+/, 'exp=9999999999')]) {
      const res = await fetch(bad);
      assert.equal(res.status, 403, bad);
      assert.match(await res.text(), /This link has expired or is not valid\. Type `impact` in Teams for a new one\./);
    }
    w.clock.advance(16 * 60_000);
    const expired = await fetch(url);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /This link can’t be opened/);
    w.clock.set(new Date(REPORT_AT));
  });

  it('when the report page is opened in headless Chromium at phone width and printed on A4, then it renders with its charts and nothing is cut off', async function () {
    const url = reportUrl(impactCard(await w.sim.say(w.cora, w.staffRoom, 'impact')));
    const artefacts = path.join(repositoryRoot(), 'test-artefacts', 'impact');
    fs.mkdirSync(artefacts, { recursive: true });
    const browser = await launchChromium();
    try {
      const { page } = browser;
      /** How far anything reaches past the right edge (0 when nothing is cut off), and the charts' drawn bars. */
      const layout = () =>
        page.evaluate(`(() => {
          const width = document.documentElement.clientWidth;
          const all = [...document.querySelectorAll('td, th, svg, h1, p')];
          const edges = all.map((e) => e.getBoundingClientRect().right - width);
          const overflow = Math.max(0, document.documentElement.scrollWidth - width, ...edges);
          const culprits = all.filter((e) => e.getBoundingClientRect().right > width + 0.5).map((e) => e.tagName + ': ' + (e.textContent || '').slice(0, 40));
          const charts = [...document.querySelectorAll('svg.chart')].map((svg) => ({ width: svg.getBoundingClientRect().width, bars: svg.querySelectorAll('rect').length }));
          const cell = document.querySelector('#schools tbody tr td:nth-child(3)');
          return { overflow: Math.ceil(overflow), culprits, charts, label: getComputedStyle(cell, '::before').content, value: cell.textContent };
        })()`) as Promise<{ overflow: number; culprits: string[]; charts: { width: number; bars: number }[]; label: string; value: string }>;

      // A phone: 390 px wide. Each school's row is a card of labelled figures.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(url);
      assert.equal(await page.locator('h1').textContent(), 'Impact: Autumn term 2026');
      const phone = await layout();
      assert.equal(phone.overflow, 0, `nothing reaches past the right edge of a phone: ${phone.culprits.join('; ')}`);
      assert.deepEqual(phone.charts.map((c) => c.bars), [4, 4, 1, 1, 4], 'a bar per school (twice), per term (twice) and per funder outcome');
      assert.ok(phone.charts.every((c) => c.width > 300), 'the charts fill the phone width');
      assert.deepEqual([phone.label, phone.value], ['"Staff at TeachMeets (presented)"', '1'], "each figure on a phone is labelled: Hillview's presenters");
      await page.screenshot({ path: path.join(artefacts, 'report-phone.png'), fullPage: true });
      await page.screenshot({ path: path.join(artefacts, 'report-phone-top.png') });

      // A4 print: 210 mm less 12 mm margins each side is 186 mm, about 703 CSS px.
      await page.emulateMedia({ media: 'print' });
      await page.setViewportSize({ width: 703, height: 1000 });
      const print = await layout();
      assert.equal(print.overflow, 0, `nothing reaches past the printed page: ${print.culprits.join('; ')}`);
      assert.equal(await page.locator('.download').first().isVisible(), false, 'download links are not printed');
      await page.screenshot({ path: path.join(artefacts, 'report-print.png'), fullPage: true });
      await page.pdf({ path: path.join(artefacts, 'report.pdf'), format: 'A4', margin: { top: '12mm', bottom: '12mm', left: '12mm', right: '12mm' } });
    } finally {
      await browser.close();
    }
  });

  it("when a rep types impact, then they see their own school's numbers only; asking for another school is refused", async function () {
    const card = impactCard(await w.sim.say(w.ben, w.chat(w.ben), 'impact'));
    const text = cardText(card);
    assert.match(text, /Riverside Primary only/);
    assert.ok(text.includes('Riverside Primary\n1 attended · 0 presented · 0 trainees sent · 0 hosted · 0 proposals led · 1 partnered · 1 approved · 1 acknowledged'), text);
    assert.doesNotMatch(text, /Oakfield Academy|Hillview High School|Westbrook School/);
    const html = await (await fetch(reportUrl(card))).text();
    assert.deepEqual(htmlRows(html, 'schools').slice(1).map((r) => r[0]), ['Riverside Primary']);

    const refused = said(await w.sim.say(w.ben, w.chat(w.ben), 'impact for Oakfield Academy'));
    assert.match(refused, /You can see your own school’s impact only \(Riverside Primary\); coordinators see every school\./);
    assert.doesNotMatch(refused, /Impact: /);
    assert.match(said(await w.sim.say(w.tia, w.chat(w.tia), 'impact')), /school reps and coordinators/);
  });

  it('when a coordinator asks for a school, a year or a range, then the report covers it; an unknown term or a backwards range is refused with a clear message', async function () {
    const oak = cardText(impactCard(await w.sim.say(w.cora, w.staffRoom, 'impact 2026/27 for Oakfield Academy')));
    assert.match(oak, /Impact: Academic year 2026\/27/);
    assert.match(oak, /2 Sep 2026 – 31 Aug 2027/);
    assert.match(oak, /Oakfield Academy only/);
    assert.ok(oak.includes('Oakfield Academy\n1 attended · 0 presented · 2 trainees sent · 1 hosted · 1 proposals led · 1 partnered · 1 approved · 1 acknowledged'), oak);

    const november = cardText(impactCard(await w.sim.say(w.cora, w.staffRoom, 'impact 1 Nov 2026 - 30 Nov 2026')));
    assert.match(november, /Impact: 1 Nov 2026 – 30 Nov 2026/);
    assert.match(november, /Staff at TeachMeets\n0 attended, 0 presented/, 'the TeachMeet was on 4 Dec');
    assert.match(november, /Trainees in swaps\n0 sent, 0 hosted/, 'the swap starts on 7 Dec');
    assert.match(november, /Projects approved\n1\n/);

    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'impact winter 2026')), /I don't know a term called "winter": terms are autumn, spring and summer/);
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'impact 30 Nov 2026 - 1 Nov 2026')), /That range runs backwards: 30 Nov 2026 is after 1 Nov 2026\. Put the earlier date first\./);
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'impact for Narnia High')), /I don’t know a school called "Narnia High"/);
  });
});

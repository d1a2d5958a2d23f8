import assert from 'node:assert/strict';
import { findAction, invokeResponseCard } from '../support/cardActions';
import { formulaCells, readAsSpreadsheet } from '../support/csv';
import { answered, World } from '../teachmeets/world';

/**
 * The CSVs Together serves (who is coming to a TeachMeet, who an announcement could not reach) are
 * opened in spreadsheets, some with `;` as the separator: nothing people typed may turn into a formula
 * there, and accents and full-width characters must survive (a UTF-8 BOM tells Excel the encoding).
 */

describe('CSV downloads', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it("when people's names and talks start with formula characters or hide one after a ;, then the attendees CSV read with , or ; has no cell a spreadsheet would run, keeps every name, and starts with a UTF-8 BOM", async function () {
    const { card, activityId } = await w.createEvent(w.cora, { places: '5', slots5: '3' });
    const people = [
      w.sim.user('eve', '＝HYPERLINK("https://evil.example","Zoë")'),
      w.sim.user('mal', '@SUM(1+1)*cmd'),
      w.sim.user('tab', '\tTabitha'),
      w.sim.user('pat', "Pat O'Brien; =1+2"),
    ];
    for (const p of people) await w.sim.click(p, w.staffRoom, card, 'Attend', {}, { replyToId: activityId });
    const presenter = w.sim.user('dev', 'Dev Shah');
    await w.sim.click(presenter, w.staffRoom, card, 'Sign up to present', { talkTitle: '-2+3 ways to plan', slot: '5', talkLine: 'Quizzes; +cmd|" /C calc"!A0' }, { replyToId: activityId });
    await w.settle();

    const listed = await w.sim.click(w.cora, w.staffRoom, card, "Who's coming", {}, { replyToId: activityId });
    const list = invokeResponseCard(listed.body);
    assert.ok(list, answered(listed));
    const open = findAction(list, 'Download CSV (link valid for 15 minutes)');
    const link = new URL(String(open?.url));
    const response = await fetch(new URL(`${link.pathname}${link.search}`, w.bot.together.url));
    assert.equal(response.status, 200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);

    for (const separator of [',', ';'] as const) {
      const rows = readAsSpreadsheet(text, separator);
      assert.deepEqual(formulaCells(rows), [], `nothing would run when opened with "${separator}" as the separator`);
    }
    assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], 'it starts with a UTF-8 BOM');
    const rows = readAsSpreadsheet(text, ',');
    assert.deepEqual(rows[0], ['Name', 'School', 'Role', 'Talk', 'Status']);
    const names = rows.slice(1).map((r) => r[0] ?? '');
    for (const p of [...people, presenter]) {
      assert.ok(names.some((n) => n.replace(/^'/, '').trim() === p.name.trim()), `${p.name} is listed as typed (a leading ' at most): ${names.join(' | ')}`);
    }
    const dev = rows.find((r) => r[0] === 'Dev Shah');
    assert.equal(dev?.[3], `'-2+3 ways to plan — Quizzes; +cmd|" /C calc"!A0`);
  });
});

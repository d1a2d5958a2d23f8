import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inspectCapabilities } from '../../src/index';
import { createLogger } from '../../src/platform/logging';
import { Tables } from '../../src/platform/storage/tables';
import { startTestBot, testConfig, uniquePrefix, type TestBot } from '../support/bot';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { storageConnectionString } from '../support/hooks';
import { TeamsSimulator, type SimConversation, type SimUser, type TurnResult } from '../support/simulator';

/** `help`, unknown commands, and the command menu Teams shows from the manifest. */

const MANIFEST = path.resolve(__dirname, '..', '..', '..', 'appPackage', 'manifest.json');

/** The help card a turn answered with, as a person reads it. */
function helpCard(result: TurnResult): string {
  const cards = result.sent.flatMap((s) => adaptiveCardsOf(s.activity)).map((c) => cardText(c));
  const help = cards.filter((text) => /Commands for you as a/.test(text));
  assert.equal(help.length, 1, `expected one help card; the bot said:\n${result.sent.map((s) => s.activity?.text ?? cardText(adaptiveCardsOf(s.activity)[0] ?? {})).join('\n---\n')}`);
  return help[0]!;
}

/** The usages a help card lists (the monospace column), one per command. */
function listedUsages(result: TurnResult): string[] {
  const card = result.sent.flatMap((s) => adaptiveCardsOf(s.activity))[0] as Record<string, unknown>;
  const usages: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const v = value as Record<string, unknown>;
    if (v.type === 'TextBlock' && v.fontType === 'Monospace' && typeof v.text === 'string') usages.push(asShown(v.text));
    Object.values(v).forEach(visit);
  };
  visit(card);
  return usages;
}

/**
 * A TextBlock's text as Teams and the Agents Playground show it: they read it as Markdown that may
 * hold HTML, so a bare `<name>` is taken for a tag and dropped, and character references show as the
 * characters they stand for.
 */
function asShown(text: string): string {
  return text
    .replace(/<\/?[A-Za-z][^<>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Whether the card lists the command `name` (its usage is the name, or the name then what to type). */
function lists(usages: string[], name: string): boolean {
  return usages.some((u) => u === name || u.startsWith(`${name} `));
}

function said(result: TurnResult): string {
  return result.sent.map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n')).join('\n');
}

describe('help: what each person can do, and what happens when the bot does not understand', function () {
  let sim: TeamsSimulator;
  let bot: TestBot;
  let cora: SimUser; // coordinator (COORDINATORS)
  let sam: SimUser; // becomes a rep
  let tia: SimUser; // teacher
  let staffRoom: SimConversation;

  before(async function () {
    sim = await TeamsSimulator.start();
    cora = sim.user('cora', 'Cora Whitfield');
    sam = sim.user('sam', 'Sam Patel');
    tia = sim.user('tia', 'Tia Okafor');
    staffRoom = sim.channel('Riverside Schools Together', 'Staff room');
    bot = await startTestBot({ env: { COORDINATORS: cora.aadObjectId } });
    sim.botEndpoint = bot.url;
  });

  after(async function () {
    await bot.stop();
    await sim.stop();
  });

  it('when a teacher says help, then the card lists whoami, my school and directory but none of the coordinators\' commands', async function () {
    const result = await sim.say(tia, sim.personalChat(tia), 'help');
    const text = helpCard(result);
    assert.match(text, /Together — Riverside Schools Together/);
    assert.match(text, /Commands for you as a teacher/);
    const usages = listedUsages(result);
    for (const expected of ['help', 'whoami', 'my school', 'directory']) assert.ok(lists(usages, expected), `${expected} is listed; got ${usages.join(', ')}`);
    for (const hidden of ['school add', 'school rename', 'school remove', 'rep add', 'rep remove', 'coordinator add', 'coordinator remove', 'channel']) {
      assert.ok(!lists(usages, hidden), `${hidden} is not listed for a teacher`);
    }
    assert.doesNotMatch(text, /didn't recognise/);
  });

  it('when a coordinator says help, then the card also lists school add, rep add and channel', async function () {
    const result = await sim.say(cora, sim.personalChat(cora), 'help');
    const text = helpCard(result);
    assert.match(text, /Commands for you as a coordinator/);
    const usages = listedUsages(result);
    for (const expected of ['help', 'whoami', 'my school', 'directory', 'school add', 'school rename', 'school remove', 'rep add', 'rep remove', 'coordinator add', 'coordinator remove', 'channel']) {
      assert.ok(lists(usages, expected), `${expected} is listed; got ${usages.join(', ')}`);
    }
    const usages2 = listedUsages(result);
    for (const usage of ['school add <name>', 'school rename <name> to <new name>', 'holidays add <first day> - <last day> <name>', 'my school <school name>']) {
      assert.ok(usages2.includes(usage), `"${usage}" shows as typed; the card shows: ${usages2.join(' | ')}`);
    }
    assert.ok(!JSON.stringify(result.sent.flatMap((s) => adaptiveCardsOf(s.activity))).includes('"type":"ColumnSet"'), 'each command has the card\'s width: what to type, then what it does (no narrow side-by-side columns)');
  });

  it('when a rep says help, then the card addresses them as a school rep and still hides the coordinators\' commands', async function () {
    await sim.say(cora, staffRoom, 'school add Oakfield Academy');
    const added = await sim.say(cora, staffRoom, `rep add <at>${sam.name}</at> Oakfield Academy`, { mentions: [sam] });
    assert.match(said(added), /Sam Patel is now a rep of Oakfield Academy/);
    const result = await sim.say(sam, sim.personalChat(sam), 'help');
    assert.match(helpCard(result), /Commands for you as a school rep/);
    assert.ok(!lists(listedUsages(result), 'school add'));
  });

  it('when a teacher types a command that does not exist, then the help card says which word it did not recognise', async function () {
    const result = await sim.say(tia, sim.personalChat(tia), 'teachmeat');
    const text = helpCard(result);
    assert.match(text, /I didn't recognise "teachmeat"\. Here is what you can do:/);
    assert.match(text, /whoami/);
  });

  it('when the unknown text is very long, then the card quotes only the start of it', async function () {
    const long = `teachmeat ${'please '.repeat(40)}`.trim();
    const text = helpCard(await sim.say(tia, sim.personalChat(tia), long));
    const quoted = /I didn't recognise "([^"]*)"/.exec(text)?.[1] ?? '';
    assert.ok(quoted.startsWith('teachmeat please'), quoted);
    assert.ok(quoted.length <= 60, `quoted ${quoted.length} characters`);
  });

  it('when a command is typed in capitals with extra spaces, then it is still understood', async function () {
    const result = await sim.say(tia, sim.personalChat(tia), '  HELP  ');
    assert.doesNotMatch(helpCard(result), /didn't recognise/);
  });

  it('when someone @mentions the bot in a channel with help, then the help card is posted in the channel', async function () {
    const result = await sim.say(tia, staffRoom, 'help');
    assert.equal(result.status, 200);
    const text = helpCard(result);
    assert.doesNotMatch(text, /didn't recognise/, 'the @mention is not taken for a command');
    assert.ok(result.sent.every((s) => s.conversationId === staffRoom.id), 'answered in the channel');
  });

  it('when someone @mentions the bot in a channel with an unknown command, then the help card names it without the mention', async function () {
    const text = helpCard(await sim.say(tia, staffRoom, 'teachmeat'));
    assert.match(text, /I didn't recognise "teachmeat"/);
  });

  it('when someone only @mentions the bot, then they get the help card without a complaint', async function () {
    const text = helpCard(await sim.say(tia, staffRoom, ''));
    assert.doesNotMatch(text, /didn't recognise/);
  });

  describe('the manifest\'s command menu', function () {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { bots: { commandLists?: { scopes: string[]; commands: { title: string }[] }[] }[] };
    const lists = manifest.bots.flatMap((b) => b.commandLists ?? []);
    const titles = [...new Set(lists.flatMap((l) => l.commands.map((c) => c.title)))];

    it('when the manifest is read, then it lists commands for personal, team and group chat', function () {
      assert.deepEqual(lists.flatMap((l) => l.scopes).sort(), ['groupChat', 'personal', 'team']);
      assert.ok(titles.length > 0);
    });

    it('when each command in the manifest is compared with the bot\'s commands, then every one exists', function () {
      const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
      const config = testConfig({ COORDINATORS: cora.aadObjectId });
      const tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
      const names = inspectCapabilities({ config, logger, tables }).commands.map((c) => c.name);
      const missing = titles.filter((t) => !names.includes(t));
      assert.deepEqual(missing, [], `the manifest offers commands the bot does not have; the bot has: ${names.join(', ')}`);
    });

    it('when a coordinator picks each command from the menu, then the bot never says it did not recognise it', async function () {
      for (const title of titles) {
        const result = await sim.say(cora, sim.personalChat(cora), title);
        assert.equal(result.status, 200, title);
        assert.ok(result.sent.length > 0, `${title}: the bot answered`);
        assert.doesNotMatch(said(result), /didn't recognise/, `${title} is understood`);
      }
    });
  });
});

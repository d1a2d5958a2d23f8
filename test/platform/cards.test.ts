import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inspectCapabilities } from '../../src/index';
import { CARDS_DIR, renderCard, templateNames } from '../../src/platform/cards';
import { createLogger } from '../../src/platform/logging';
import { Tables } from '../../src/platform/storage/tables';
import { testConfig, uniquePrefix } from '../support/bot';
import { storageConnectionString } from '../support/hooks';
import { liveMarkup, markdownTexts } from '../support/markdown';

/**
 * Every template in cards/*.json, checked as Teams would meet it: expanded with realistic data from
 * test/fixtures/cards/<name>.json (an object, or an array of objects for several variants), it parses
 * with the Adaptive Cards parser without errors, leaves no `${` behind, names only verbs the bot has,
 * and stays well under Teams' message size limit. A new template is covered as soon as it exists, and
 * fails until it has a fixture.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const AC = require('adaptivecards/dist/adaptivecards.js') as typeof import('adaptivecards');

const FIXTURES_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'cards');
const MAX_BYTES = 40 * 1024;
/** Events the parser reports that are advice, not errors. */
const ADVICE = new Set<number>([AC.ValidationEvent.Hint, AC.ValidationEvent.Deprecated]);

type Json = Record<string, unknown>;

/** Every problem the Adaptive Cards parser and validator find in a card. */
function parserProblems(json: object): string[] {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  card.parse(json, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    if (!ADVICE.has(event.event)) problems.push(`parse: ${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  for (const event of card.validateProperties().validationEvents) {
    if (!ADVICE.has(event.event)) problems.push(`validate: ${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  const top = json as Json;
  if (top.type !== 'AdaptiveCard') problems.push(`type is ${JSON.stringify(top.type)}, not "AdaptiveCard"`);
  if (top.version !== '1.5') problems.push(`version is ${JSON.stringify(top.version)}, not "1.5"`);
  return problems;
}

/** Every action in a card, wherever it is (body, actions, selectAction, fallbacks, ShowCard cards). */
function actionsIn(value: unknown, found: Json[] = [], automatic = false): Json[] {
  if (Array.isArray(value)) {
    for (const item of value) actionsIn(item, found, automatic);
  } else if (typeof value === 'object' && value !== null) {
    const v = value as Json;
    if (typeof v.type === 'string' && v.type.startsWith('Action.')) found.push(automatic ? { ...v, automatic: true } : v);
    // A card's `refresh.action` is invoked by Teams itself (Universal Actions); no older client shows it as a button.
    for (const [key, child] of Object.entries(v)) if (key !== 'data') actionsIn(child, found, automatic || key === 'refresh');
  }
  return found;
}

/** Where a string with `${` survives expansion, as JSON paths. */
function leftovers(value: unknown, at = '$'): string[] {
  if (typeof value === 'string') return value.includes('${') ? [`${at}: ${value.slice(0, 80)}`] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => leftovers(item, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value as Json).flatMap(([key, child]) => [...(key.includes('${') ? [`${at}: key ${key}`] : []), ...leftovers(child, `${at}.${key}`)]);
  }
  return [];
}

/** The problems with the buttons of an expanded card, given the verbs the bot has. */
function actionProblems(card: object, verbs: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const action of actionsIn(card)) {
    const data = (typeof action.data === 'object' && action.data !== null ? action.data : undefined) as Json | undefined;
    const title = String(action.title ?? action.type);
    if (action.type === 'Action.Execute') {
      const verb = action.verb;
      if (typeof verb !== 'string' || !verbs.has(verb)) problems.push(`"${title}": Action.Execute verb ${JSON.stringify(verb)} has no registered action`);
      const fallback = action.fallback as Json | undefined;
      if (action.automatic === true) continue; // a refresh: its verb must exist, a fallback has no meaning
      if (fallback === undefined || fallback.type !== 'Action.Submit') {
        problems.push(`"${title}": Action.Execute has no Action.Submit fallback for older Teams clients`);
      } else {
        const fallbackData = (fallback.data ?? {}) as Json;
        if (fallbackData.verb !== verb) problems.push(`"${title}": the fallback sends verb ${JSON.stringify(fallbackData.verb)}, not ${JSON.stringify(verb)}`);
        for (const [key, value] of Object.entries(data ?? {})) {
          if (key !== 'verb' && JSON.stringify(fallbackData[key]) !== JSON.stringify(value)) problems.push(`"${title}": the fallback does not carry ${key} as the button does`);
        }
      }
    } else if (action.type === 'Action.Submit') {
      const msteams = data?.msteams as Json | undefined;
      if (msteams) continue; // imBack/messageBack: typed text, handled as a command
      const verb = data?.verb;
      if (typeof verb !== 'string' || !verbs.has(verb)) problems.push(`"${title}": Action.Submit data.verb ${JSON.stringify(verb)} has no registered action`);
    }
  }
  return problems;
}

/**
 * The data with Markdown appended to every string someone could have typed (not to fields named as
 * Markdown, such as an announcement's body, which its author may format).
 */
function typedByMallory(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return key.endsWith('Markdown') ? value : `${value} **Free** _now_ [Claim your CPD certificate](https://evil.example)`;
  if (Array.isArray(value)) return value.map((v) => typedByMallory(v, key));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typedByMallory(v, k)]));
}

function fixtureVariants(name: string): object[] {
  const file = path.join(FIXTURES_DIR, `${name}.json`);
  assert.ok(existsSync(file), `cards/${name}.json has no fixture: add realistic template data as test/fixtures/cards/${name}.json (an object, or an array of variants)`);
  const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const variants = Array.isArray(data) ? data : [data];
  assert.ok(variants.length > 0 && variants.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v)), `${file} must hold an object or a non-empty array of objects`);
  return variants as object[];
}

describe('cards: every template expands, parses and only names real buttons', function () {
  const names = templateNames();
  let verbs: ReadonlySet<string>;

  before(function () {
    const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
    const config = testConfig();
    const tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    verbs = new Set(inspectCapabilities({ config, logger, tables }).actions.map((a) => a.verb));
  });

  it('when the cards folder is read, then it has the platform\'s templates', function () {
    for (const expected of ['help', 'welcome', 'directory']) assert.ok(names.includes(expected), `cards/${expected}.json exists`);
  });

  describe('the checks themselves', function () {
    it('when a card is broken, then the parser check reports it', function () {
      const broken = {
        type: 'AdaptiveCard',
        version: '1.5',
        body: [
          { type: 'TextBlok', text: 'typo in the element type' },
          { type: 'TextBlock', text: 'x', size: 'Huge' },
          { type: 'Input.Text', id: 'title', isRequired: true },
          { type: 'Input.Text', id: 'title' },
        ],
        actions: [{ type: 'Action.Execut', title: 'typo in the action type' }],
      };
      const problems = parserProblems(broken).join('\n');
      assert.match(problems, /UnknownElementType/);
      assert.match(problems, /InvalidPropertyValue/);
      assert.match(problems, /UnknownActionType/);
      assert.match(problems, /DuplicateId/);
      assert.match(problems, /RequiredInputsShouldHaveLabel/);
      assert.deepEqual(parserProblems({ type: 'AdaptiveCard', version: '1.6', body: [] }), ['version is "1.6", not "1.5"']);
      assert.deepEqual(parserProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'fine', wrap: true }] }), []);
    });

    it('when a card names a verb nobody handles or drops the fallback, then the verb check reports it', function () {
      const card = {
        type: 'AdaptiveCard',
        version: '1.5',
        body: [{ type: 'ActionSet', actions: [{ type: 'Action.Execute', title: 'Go', verb: 'nobody.handles', data: { verb: 'nobody.handles' } }] }],
        actions: [
          { type: 'Action.Submit', title: 'Old', data: { verb: 'missing.too' } },
          { type: 'Action.Execute', title: 'Help', verb: 'help.show', data: { verb: 'help.show', id: '1' }, fallback: { type: 'Action.Submit', title: 'Help', data: { verb: 'help.show' } } },
        ],
      };
      const problems = actionProblems(card, new Set(['help.show'])).join('\n');
      assert.match(problems, /"Go": Action.Execute verb "nobody.handles" has no registered action/);
      assert.match(problems, /"Go": Action.Execute has no Action.Submit fallback/);
      assert.match(problems, /"Old": Action.Submit data.verb "missing.too"/);
      assert.match(problems, /"Help": the fallback does not carry id/);
    });

    it('when expansion leaves a placeholder, then the leftover check finds it', function () {
      assert.deepEqual(leftovers({ body: [{ text: 'Hello ${name}' }] }), ['$.body[0].text: Hello ${name}']);
    });
  });

  for (const name of names) {
    describe(`cards/${name}.json`, function () {
      const template = JSON.parse(readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8')) as Json;

      it('when the template is read, then it is an Adaptive Card of version 1.5', function () {
        assert.equal(template.type, 'AdaptiveCard');
        assert.equal(template.version, '1.5');
      });

      it('when it is expanded with its fixture data, then nothing of the template syntax is left', function () {
        for (const [i, data] of fixtureVariants(name).entries()) {
          const card = renderCard(name, data);
          assert.deepEqual(leftovers(card), [], `variant ${i}: unexpanded placeholders (a field missing from the data?)`);
          assert.doesNotMatch(JSON.stringify(card), /"\$(data|when)"/, `variant ${i}: $data/$when left in the card`);
        }
      });

      it('when it is expanded, then the Adaptive Cards parser finds no errors', function () {
        for (const [i, data] of fixtureVariants(name).entries()) {
          assert.deepEqual(parserProblems(renderCard(name, data)), [], `variant ${i}`);
        }
      });

      it('when it is expanded, then every verb it names has a registered action, with the Submit fallback older clients need', function () {
        for (const [i, data] of fixtureVariants(name).entries()) {
          assert.deepEqual(actionProblems(renderCard(name, data), verbs), [], `variant ${i}; the bot's verbs: ${[...verbs].join(', ')}`);
        }
      });

      it('when every text in its data is Markdown someone typed, then no TextBlock or fact shows it as a link or emphasis', function () {
        for (const [i, data] of fixtureVariants(name).entries()) {
          const card = renderCard(name, typedByMallory(data) as object);
          // The template's own links keep working; their target is one address, whatever the data held.
          const problems = markdownTexts(card)
            .map((text) => text.replace(/\[Join online\]\([^\s()]+\)/g, ''))
            .flatMap(liveMarkup)
            .filter((p) => /Claim|evil|Free|now/.test(p));
          assert.deepEqual(problems, [], `variant ${i}`);
        }
      });

      it('when it is expanded, then it is under 40 KB', function () {
        for (const [i, data] of fixtureVariants(name).entries()) {
          const bytes = Buffer.byteLength(JSON.stringify(renderCard(name, data)), 'utf8');
          assert.ok(bytes < MAX_BYTES, `variant ${i} is ${bytes} bytes`);
        }
      });
    });
  }
});

import assert from 'node:assert/strict';
import type { Audience } from '../../src/platform/identity';
import type { SimUser, TurnResult } from '../support/simulator';
import { answered, said } from '../support/said';
import { assertNothingInternal, changes, routeDefinitions, stored } from '../support/security';
import { World } from '../teachmeets/world';

/**
 * Who may do what, for every command and every card verb the bot has, generated from the route
 * definitions themselves (a new command or verb is covered the day it is added): each is tried by
 * each role it is not for, through the wire, and must be refused with a message and change nothing
 * stored. Then every verb is sent card data of the wrong shape by everyone: never a 5xx, never a
 * stack trace, nothing changed.
 */

const capabilities = routeDefinitions();
const below: Record<Audience, ('teacher' | 'rep')[]> = { everyone: [], rep: ['teacher'], coordinator: ['teacher', 'rep'] };

function noStackTrace(result: TurnResult): void {
  assertNothingInternal(`${JSON.stringify(result.body ?? '')}\n${said(result)}`);
}

async function unchangedSince(before: string[], prefix: string): Promise<void> {
  const after = await stored(prefix);
  assert.deepEqual(after, before, changes(before, after));
}

describe('security: who may do what, from the route definitions', function () {
  this.timeout(120_000);
  let w: World;
  let tia: SimUser;
  let rita: SimUser;
  const people = () => ({ teacher: tia, rep: rita });

  before(async function () {
    w = await World.start();
    tia = w.sim.user('tia', 'Tia Okafor');
    rita = w.sim.user('rita', 'Rita Mensah');
    await w.makeRep(rita, 'Oakfield Academy');
    await w.createEvent();
    await w.settle();
    // Everyone has spoken once, so their chats and directory rows are stored before the checks begin.
    for (const p of [tia, rita, w.cora]) await w.sim.say(p, w.sim.personalChat(p), 'help');
  });
  after(async function () {
    await w.stop();
  });

  it('when the routes are read, then there are commands and verbs for every role to check', function () {
    assert.ok(capabilities.commands.filter((c) => c.audience !== 'everyone').length >= 10);
    assert.ok(capabilities.actions.filter((a) => a.audience !== 'everyone').length >= 10);
  });

  for (const command of capabilities.commands.filter((c) => c.audience !== 'everyone')) {
    for (const role of below[command.audience]) {
      it(`when a ${role} types \`${command.name}\` (for ${command.audience}s), then it is refused with a message and nothing stored changes`, async function () {
        const before = await stored(w.bot.tablePrefix);
        const person = people()[role];
        const result = await w.sim.say(person, w.sim.personalChat(person), command.name);
        assert.equal(result.status, 200);
        assert.match(said(result), new RegExp(`Only .+ can use \`${command.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``));
        noStackTrace(result);
        await unchangedSince(before, w.bot.tablePrefix);
      });
    }
  }

  for (const action of capabilities.actions.filter((a) => a.audience !== 'everyone')) {
    for (const role of below[action.audience]) {
      it(`when a ${role} presses a \`${action.verb}\` button (for ${action.audience}s), then it is refused with a message and nothing stored changes`, async function () {
        const before = await stored(w.bot.tablePrefix);
        const person = people()[role];
        const result = await w.sim.execute(person, w.staffRoom, action.verb, {});
        assert.equal(result.status, 200);
        assert.match(answered(result), /^Only .+ can use that\./);
        noStackTrace(result);
        await unchangedSince(before, w.bot.tablePrefix);
      });
    }
  }

  const wrongShapes: [string, Record<string, unknown>][] = [
    ['numbers and objects where ids go', { eventId: 12345, proposalId: { $ne: null }, announcementId: ['x'], matchId: true, offerId: null, version: 'NaN' }],
    ['a huge string', { eventId: 'x'.repeat(5000), title: 'y'.repeat(20000) }],
    ['ids that do not exist', { eventId: 'tm0000000000', proposalId: 'pr0000000000', announcementId: 'an0000000000', matchId: 'm0', offerId: 'o0', version: '1' }],
  ];
  for (const action of capabilities.actions) {
    for (const [what, data] of wrongShapes) {
      it(`when a coordinator presses \`${action.verb}\` with ${what}, then the answer is a message or a card, never an error, and nothing stored changes`, async function () {
        const before = await stored(w.bot.tablePrefix);
        const result = await w.sim.execute(w.cora, w.staffRoom, action.verb, data);
        assert.equal(result.status, 200, `HTTP ${result.status}`);
        noStackTrace(result);
        assert.doesNotMatch(answered(result), /Sorry, something went wrong/);
        await unchangedSince(before, w.bot.tablePrefix);
      });
    }
  }
});


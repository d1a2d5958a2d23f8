import assert from 'node:assert/strict';
import { startTestBot, type TestBot } from '../support/bot';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { TeamsSimulator, type SimUser } from '../support/simulator';

/**
 * What an operator reads in the logs: one line per request to /api/messages, saying what kind of
 * activity, which command or button, how it ended and how long it took; never what people typed,
 * nor credentials.
 */

const BOT_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

interface TurnLine {
  activityType: string;
  name?: string;
  command?: string;
  verb?: string;
  outcome: string;
  status?: number;
  durationMs: number;
}

function turnLines(bot: TestBot): TurnLine[] {
  return bot.logs.filter((line) => line.msg === 'turn').map((line) => line.turn as TurnLine);
}

function assertNowhere(bot: TestBot, secrets: string[]): void {
  for (const line of bot.logs) {
    const text = JSON.stringify(line);
    for (const secret of secrets) {
      assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `a log line contains ${JSON.stringify(secret)}:\n${text}`);
    }
  }
}

describe('logging: one line per turn, and nothing people typed', function () {
  let sim: TeamsSimulator;
  let bot: TestBot;
  let cora: SimUser;
  let tia: SimUser;

  afterEach(async function () {
    await bot?.stop();
    await sim?.stop();
  });

  it('when a command, a refusal, a card click, an unknown command and bad requests come in, then each gets exactly one line with type, command or verb, outcome and duration, and no text', async function () {
    sim = await TeamsSimulator.start();
    cora = sim.user('cora', 'Cora Whitfield');
    tia = sim.user('tia', 'Tia Okafor');
    bot = await startTestBot({ env: { COORDINATORS: cora.aadObjectId } });
    sim.botEndpoint = bot.url;
    const tiaChat = sim.personalChat(tia);
    let requests = 0;

    const added = await sim.say(cora, sim.personalChat(cora), 'school add Sekrit-Phrase-123');
    requests += 1;
    assert.match(added.sent.map((s) => s.activity.text).join('\n'), /Added Sekrit-Phrase-123/, 'the school was added');

    const refused = await sim.say(tia, tiaChat, 'school add Hidden-Words-456');
    requests += 1;
    assert.match(refused.sent.map((s) => s.activity.text).join('\n'), /Only coordinators/);

    await sim.install(tia, tiaChat);
    requests += 2;
    const welcome = sim.messagesTo(tiaChat).find((s) => adaptiveCardsOf(s.activity).some((c) => /Welcome/.test(cardText(c))))!;
    const clicked = await sim.click(tia, tiaChat, welcome, 'Who am I?');
    requests += 1;
    assert.equal(clicked.status, 200);

    const tampered = await sim.execute(tia, tiaChat, 'help.show', { verb: 'help.show', note: 'Tampered-Value-789' });
    requests += 1;
    assert.match(String((tampered.body as { value?: unknown }).value), /could not read/);

    await sim.say(tia, tiaChat, 'teachmeat Unknown-Words-321');
    requests += 1;

    const malformed = await sim.post('{"type":"message","text":"Broken-Json-654"');
    requests += 1;
    assert.equal(malformed.status, 400);
    const notActivity = await sim.post({ type: 'message', text: 'Not-An-Activity-987' });
    requests += 1;
    assert.equal(notActivity.status, 400);
    await sim.post({ ...(sim as unknown as { activity(...a: unknown[]): object }).activity('message', tia, tiaChat, {}), text: 'help' }, { Authorization: 'Bearer Auth-Header-Value-000' });
    requests += 1;

    const lines = turnLines(bot);
    assert.equal(lines.length, requests, `one line per request; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    for (const line of lines) {
      assert.equal(typeof line.activityType, 'string');
      assert.ok(['ok', 'refused', 'invalid'].includes(line.outcome), `outcome ${line.outcome}`);
      assert.equal(typeof line.durationMs, 'number');
      assert.ok(Number.isInteger(line.durationMs) && line.durationMs >= 0);
      if (line.activityType === 'message' && line.outcome !== 'invalid') assert.ok(line.command || line.verb, `a message line names its command: ${JSON.stringify(line)}`);
      if (line.activityType === 'invoke') assert.ok(line.verb, `an invoke line names its verb: ${JSON.stringify(line)}`);
    }

    const [add, refusal, install, joined, click, tamper, unknown, broken, shapeless, withHeader] = lines;
    assert.deepEqual(pick(add), { activityType: 'message', command: 'school add', outcome: 'ok' });
    assert.deepEqual(pick(refusal), { activityType: 'message', command: 'school add', outcome: 'refused' });
    assert.deepEqual(pick(install), { activityType: 'installationUpdate', outcome: 'ok' });
    assert.deepEqual(pick(joined), { activityType: 'conversationUpdate', outcome: 'ok' });
    assert.deepEqual(pick(click), { activityType: 'invoke', name: 'adaptiveCard/action', verb: 'directory.whoami', outcome: 'ok' });
    assert.deepEqual(pick(tamper), { activityType: 'invoke', name: 'adaptiveCard/action', verb: 'help.show', outcome: 'invalid' });
    assert.deepEqual(pick(unknown), { activityType: 'message', command: 'unknown', outcome: 'ok' });
    assert.deepEqual(pick(broken), { activityType: 'unknown', outcome: 'invalid', status: 400 });
    assert.deepEqual(pick(shapeless), { activityType: 'message', outcome: 'invalid', status: 400 });
    assert.deepEqual(pick(withHeader), { activityType: 'message', command: 'help', outcome: 'ok' });

    assertNowhere(bot, [
      'Sekrit',
      'Phrase-123',
      'Hidden-Words',
      'Tampered-Value',
      'Unknown-Words',
      'teachmeat',
      'Broken-Json',
      'Not-An-Activity',
      'Auth-Header-Value',
      'Oakfield',
    ]);
  });

  it('when BOT_ID and BOT_PASSWORD are set and requests are refused, then neither the password, the link key nor any Authorization value is logged', async function () {
    sim = await TeamsSimulator.start();
    tia = sim.user('tia', 'Tia Okafor');
    const password = 'Pa55-Very-Sekrit-Password';
    const linkKey = 'Link-Signing-Sekrit-0123456789abcdef0123456789';
    bot = await startTestBot({ env: { BOT_ID, BOT_PASSWORD: password, ALLOWED_TENANTS: sim.tenantId, LINK_SIGNING_KEY: linkKey } });
    sim.botEndpoint = bot.url;
    const chat = sim.personalChat(tia);

    assert.equal((await sim.say(tia, chat, 'school add Sekrit-Phrase-123')).status, 401);
    const activity = { ...(sim as unknown as { activity(...a: unknown[]): object }).activity('message', tia, chat, {}), text: 'help' };
    assert.equal((await sim.post(activity, { Authorization: 'Bearer Forged-Token-Value-111' })).status, 401);
    const jwt = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"iss":"https://issuer.example","secret":"Claim-Value-222"}').toString('base64url')}.`;
    assert.equal((await sim.post(activity, { Authorization: `Bearer ${jwt}` })).status, 401);
    assert.equal((await sim.post('{"a":')).status, 400);

    const lines = turnLines(bot);
    assert.equal(lines.length, 4, `one line per request; got ${JSON.stringify(lines)}`);
    assert.deepEqual(
      lines.map((l) => l.outcome),
      ['refused', 'refused', 'refused', 'invalid'],
    );
    assertNowhere(bot, [password, linkKey, 'Forged-Token-Value', jwt, 'Claim-Value', 'Sekrit']);
  });
});

function pick(line: TurnLine | undefined): Partial<TurnLine> {
  assert.ok(line, 'a line for this turn');
  const { durationMs: _duration, ...rest } = line;
  return rest;
}

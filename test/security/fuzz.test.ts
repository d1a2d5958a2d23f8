import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseActionData, type ActionSpec } from '../../src/platform/actions';
import type { CommandSpec } from '../../src/platform/commands';
import type { Audience } from '../../src/platform/identity';
import type { SimConversation, SimUser, TurnResult } from '../support/simulator';
import { answered, said } from '../support/said';
import { assertNothingInternal, changes, fieldsOf, routeDefinitions, stored } from '../support/security';
import { World } from '../teachmeets/world';

/**
 * Property-based fuzzing through the wire (fast-check): every card verb is pressed with arbitrary and
 * malformed data (Action.Execute invokes, and the Action.Submit message fallback), every command is
 * typed with arbitrary words after it, and arbitrary text (any Unicode, control characters, huge
 * strings, `<at>` tags, mentions of people who do not exist, HTML) is typed, by a teacher, a rep and
 * a coordinator, in a personal chat, a group chat and a channel. Whatever is sent:
 *  - the bot answers with a status below 500, and 200 for every well-formed activity;
 *  - it logs no failed turn, and the process sees no unhandled rejection;
 *  - what the person is shown holds no stack trace or internal error text;
 *  - whatever is refused (the wrong role) or cannot be read (data its verb's schema refuses, a verb
 *    that does not exist, text that is no command) changes nothing stored: every table is compared
 *    before and after each batch.
 * The cases go in batches sent at once (so a run of thousands stays short). The seed is fixed
 * (FUZZ_SEED overrides it) and fast-check prints it, with the failing batch, when a property fails.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const BATCH = 12;
const capabilities = routeDefinitions();

type Role = 'teacher' | 'rep' | 'coordinator';
type Place = 'personal' | 'group' | 'channel';
const RANK: Record<Role | Audience, number> = { everyone: 0, teacher: 0, rep: 1, coordinator: 2 };
const mayUse = (role: Role, audience: Audience) => RANK[role] >= RANK[audience];

/** One thing sent, and what must hold of it. */
interface Case {
  readonly label: string;
  readonly role: Role;
  readonly place: Place;
  readonly send: (w: World, who: SimUser, where: SimConversation) => Promise<TurnResult>;
  /** Refused or unreadable: nothing stored may change. */
  readonly inert: boolean;
  /** What the person must be told, when that is known (a refusal). */
  readonly told?: RegExp;
  /** The HTTP statuses that are right for it (default: 200 only). */
  readonly statuses?: readonly number[];
}

/** Teams sends no message longer than this; the server refuses a longer one with 400 before any turn (server.ts). */
const LONGEST_MESSAGE = 28_000;
/** A message that may be too long for the server to take (the bot's own @mention is added in chats and channels). */
const mayBeTooLong = (message: string): readonly number[] => (message.length + 40 > LONGEST_MESSAGE ? [200, 400, 413] : [200]);

/** fast-check prints a case in a counterexample as what was sent, by whom, where. */
function labelled(c: Case): Case {
  return Object.assign(c, { [fc.toStringMethod]: () => c.label });
}

// ------------------------------------------------------------------------------------------------
// Arbitraries

const CONTROL = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const NASTY = [
  '', ' ', 'null', 'undefined', 'NaN', '-1', '0', '1e309', 'true', '__proto__', 'constructor', 'toString',
  '${title}', '${$root.eventId}', '{{x}}', '<script>alert(1)</script>', '<at>Together</at>', '<at></at>', '</at><at>',
  '&lt;at&gt;x&lt;/at&gt;', '<p>help</p>', '[Claim your CPD certificate](https://example.com)', "' or 1 eq 1 or '",
  "PartitionKey eq 'x'", '../../etc/passwd', '%2F%5C%23%3F', '/\\#?', 'a'.repeat(1000), '\u202e\u0000\uffff', '\ud83d\ude00'.repeat(300),
  '=cmd|\' /C calc\'!A0', '＝１＋１', 'tm', 'tm0123456789', 'pr0000000000', '2026-02-30', '25:99', '-1 days', '99999999999999999999',
];
const HUGE = fc.constantFrom('x'.repeat(27_000), '\u00e9'.repeat(40_000), '\ud83d\udca5'.repeat(6_000), `${'<at>'.repeat(3_000)}${'a'.repeat(10_000)}`, '\u0000'.repeat(20_000));

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: CONTROL, maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: HUGE },
);

/** A value where card data goes: text, the ids the partnership really has, numbers, objects, arrays, nulls. */
function valueFor(known: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.anything({ maxDepth: 2, maxKeys: 4 }) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 })) },
  );
}

/** Card data for a verb: its own field names (and a few others), each with any value. */
function dataFor(spec: ActionSpec, known: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const fields = [...fieldsOf(spec.data), 'verb', 'msteams', '__proto__', 'constructor', 'extra'];
  return fc.dictionary(fc.constantFrom(...fields), valueFor(known), { maxKeys: fields.length });
}

const roleArb = fc.constantFrom<Role>('teacher', 'rep', 'coordinator');
const placeArb = fc.constantFrom<Place>('personal', 'group', 'channel');

/** A press of `spec` with arbitrary data, by Action.Execute or by the Action.Submit fallback. */
function pressOf(spec: ActionSpec, known: readonly string[]): fc.Arbitrary<Case> {
  return fc.record({ role: roleArb, place: placeArb, data: dataFor(spec, known), submit: fc.boolean() }).map(({ role, place, data, submit }): Case => {
    const allowed = mayUse(role, spec.audience);
    const readable = parseActionData(spec, data).ok;
    return {
      label: `${role} ${submit ? 'submits' : 'presses'} ${spec.verb} in a ${place}: ${JSON.stringify(data).slice(0, 300)}`,
      role,
      place,
      send: (w, who, where) => (submit ? w.sim.submit(who, where, { ...data, verb: spec.verb }) : w.sim.execute(who, where, spec.verb, data)),
      inert: !allowed || !readable,
      told: !allowed ? /Only .+ can use that\./ : !readable ? /could not read/ : undefined,
    };
  });
}

/** An invoke whose shape is wrong: no action, an action that is not an object, a verb that is not a string or not known, data that is not an object. */
function malformedInvoke(verbs: readonly string[]): fc.Arbitrary<Case> {
  const value = fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.record({ action: fc.anything({ maxDepth: 2 }) }),
    fc.record({ action: fc.record({ type: fc.constant('Action.Execute'), verb: fc.oneof(text, fc.anything({ maxDepth: 1 })), data: fc.anything({ maxDepth: 2 }) }) }),
    fc.record({ action: fc.record({ type: fc.constant('Action.Execute'), verb: fc.constantFrom(...verbs), data: fc.oneof(text, fc.array(fc.anything({ maxDepth: 1 })), fc.integer(), fc.constant(null)) }) }),
  );
  const name = fc.oneof({ weight: 4, arbitrary: fc.constant('adaptiveCard/action') }, { weight: 1, arbitrary: text });
  return fc.record({ role: roleArb, place: placeArb, value, name }).map(({ role, place, value, name }): Case => {
    const action = (value as { action?: { verb?: unknown; data?: unknown } } | null)?.action;
    const spec = typeof action?.verb === 'string' ? capabilities.actions.find((a) => a.verb === action.verb) : undefined;
    const runs = name === 'adaptiveCard/action' && spec !== undefined && mayUse(role, spec.audience) && parseActionData(spec, action?.data).ok;
    // An invoke the bot has no handler for is answered 501 Not Implemented, as every Bot Framework bot answers it (Teams expects that).
    const statuses = name === 'adaptiveCard/action' ? [200] : [200, 501];
    return { label: `${role} invokes ${JSON.stringify(name).slice(0, 80)} in a ${place}: ${String(JSON.stringify(value)).slice(0, 300)}`, role, place, send: (w, who, where) => w.sim.invoke(who, where, name, value), inert: !runs, statuses };
  });
}

/** An Action.Submit whose value is not a press: not an object, or without a string verb. */
const malformedSubmit: fc.Arbitrary<Case> = fc
  .record({ role: roleArb, place: placeArb, value: fc.oneof(fc.anything({ maxDepth: 2 }), fc.record({ verb: fc.anything({ maxDepth: 1 }).filter((v) => typeof v !== 'string') })) })
  .filter(({ value }) => value !== undefined)
  .map(({ role, place, value }): Case => ({ label: `${role} submits a value that is no press in a ${place}: ${JSON.stringify(value).slice(0, 300)}`, role, place, send: (w, who, where) => w.sim.say(who, where, '', { value, mentionBot: false }), inert: true }));

/** Someone who does not exist, @mentioned: any name, any Teams id. */
const stranger: fc.Arbitrary<SimUser> = fc
  .record({ name: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.constantFrom('Together', 'Cora Whitfield', '', ' ', '</at>', '&amp;')), id: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('29:1/\\#?', '28:bot', '')) })
  .map(({ name, id }) => ({ key: id, id, name, aadObjectId: '00000000-0000-4000-8000-000000000000', tenantId: '' }));

/** Words after a command: arbitrary text, with `<at>` tags and mentions of strangers mixed in. */
const tail = fc.record({ parts: fc.array(fc.oneof(text, stranger), { maxLength: 4 }) }).map(({ parts }) => {
  const mentions = parts.filter((p): p is SimUser => typeof p !== 'string');
  return { words: parts.map((p) => (typeof p === 'string' ? p : `<at>${p.name}</at>`)).join(' '), mentions };
});

/** A command as typed (any case, spaces and line breaks between its words), followed by anything. */
function typed(command: CommandSpec): fc.Arbitrary<Case> {
  const words = command.name.split(' ');
  const spelt = fc.tuple(...words.map((w) => fc.constantFrom(w, w.toUpperCase(), w[0]!.toUpperCase() + w.slice(1))), fc.constantFrom(' ', '  ', '\n', '\u00a0', '&nbsp;')).map((parts) => parts.slice(0, -1).join(String(parts.at(-1))));
  return fc.record({ role: roleArb, place: placeArb, spelt, tail }).map(({ role, place, spelt, tail }): Case => {
    const allowed = mayUse(role, command.audience);
    const message = `${spelt} ${tail.words}`;
    return {
      label: `${role} types ${JSON.stringify(message).slice(0, 300)} in a ${place}`,
      role,
      place,
      send: (w, who, where) => w.sim.say(who, where, message, { mentions: tail.mentions }),
      inert: !allowed,
      told: allowed || message.length + 40 > LONGEST_MESSAGE ? undefined : new RegExp(`Only .+ can use \`${command.name}\``),
      statuses: mayBeTooLong(message),
    };
  });
}

/** Text that is no command: it is answered with help and changes nothing. */
function noise(commands: readonly CommandSpec[]): fc.Arbitrary<Case> {
  const first = new Set(commands.map((c) => c.name.split(' ')[0]!));
  return fc
    .record({ role: roleArb, place: placeArb, tail })
    .filter(({ tail }) => !first.has(tail.words.replace(/<[^>]*>|&nbsp;|\s/g, ' ').trim().split(' ')[0]!.toLowerCase()))
    .map(({ role, place, tail }): Case => ({ label: `${role} types ${JSON.stringify(tail.words).slice(0, 300)} in a ${place}`, role, place, send: (w, who, where) => w.sim.say(who, where, tail.words, { mentions: tail.mentions }), inert: true, told: /Commands for you as/, statuses: mayBeTooLong(tail.words) }));
}

// ------------------------------------------------------------------------------------------------

describe('security: fuzzed commands and card payloads (fast-check, through the wire)', function () {
  this.timeout(180_000);
  let w: World;
  let people: Record<Role, SimUser>;
  let places: Record<Role, Record<Place, SimConversation>>;
  let known: string[];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  let cases = 0;

  before(async function () {
    process.on('unhandledRejection', onRejection);
    // The rate limit is tested elsewhere (limits.test.ts): here each person sends thousands.
    w = await World.start({ pressLimits: { burst: 1_000_000, perSecond: 1_000_000, tellEveryMs: 60_000 } });
    const tia = w.sim.user('tia', 'Tia Okafor');
    const rita = w.sim.user('rita', 'Rita Mensah');
    await w.makeRep(rita, 'Oakfield Academy');
    const { eventId } = await w.createEvent();
    await w.settle();
    people = { teacher: tia, rep: rita, coordinator: w.cora };
    const group = (p: SimUser) => w.sim.groupChat([p, w.cora, rita], 'Planning');
    places = Object.fromEntries((['teacher', 'rep', 'coordinator'] as Role[]).map((r) => [r, { personal: w.sim.personalChat(people[r]), group: group(people[r]), channel: w.staffRoom }])) as typeof places;
    // Everyone has spoken once in every place, so their chats and directory rows are stored before the checks begin.
    // A press in a chat or channel is answered in the person's own chat, which the bot opens (and stores) the first time.
    for (const role of ['teacher', 'rep', 'coordinator'] as Role[]) {
      for (const where of Object.values(places[role])) await w.sim.say(people[role], where, 'help');
      for (const where of [places[role].group, places[role].channel]) await w.sim.submit(people[role], where, { verb: 'help.show' });
      await w.sim.say(people[role], places[role].personal, 'help');
    }
    known = [eventId, w.schoolId, w.otherSchoolId, 'me', tia.aadObjectId, rita.aadObjectId, w.cora.aadObjectId, tia.id, '1', '2', 'yes', 'Oakfield Academy'];
  });
  after(async function () {
    process.off('unhandledRejection', onRejection);
    if (w) await w.stop();
    // eslint-disable-next-line no-console
    if (cases > 0) console.log(`      (${cases} fuzzed activities sent, seed ${SEED})`);
  });

  /** Keeps the cast as it was: a press that really ran (erasing someone, say) must not change who the next batch is sent as. */
  async function keepCast(): Promise<void> {
    const rita = await w.bot.together.directory.resolve(people.rep.aadObjectId, people.rep.name);
    if (!rita.isRep) await w.makeRep(people.rep, 'Oakfield Academy');
  }

  /** Sends a batch at once, then checks each answer, the logs, the process, and (when every case is inert) every table. */
  async function runBatch(batch: readonly Case[]): Promise<void> {
    await keepCast();
    const inert = batch.filter((c) => c.inert);
    const live = batch.filter((c) => !c.inert);
    for (const group of [inert, live]) {
      if (group.length === 0) continue;
      const before = group === inert ? await stored(w.bot.tablePrefix) : [];
      const logged = w.bot.logs.length;
      const results = await Promise.all(group.map((c) => c.send(w, people[c.role], places[c.role][c.place])));
      cases += group.length;
      await new Promise((resolve) => setImmediate(resolve));
      group.forEach((c, i) => {
        const result = results[i]!;
        assert.ok((c.statuses ?? [200]).includes(result.status), `HTTP ${result.status} for: ${c.label}\n${String(JSON.stringify(result.body)).slice(0, 300)}`);
        const shown = `${JSON.stringify(result.body ?? '')}\n${said(result)}`;
        assertNothingInternal(shown, c.label);
        if (c.told && result.status === 200) assert.match(said(result), c.told, `${c.label}: told why (${answered(result).slice(0, 200)})`);
      });
      const failures = w.bot.logs.slice(logged).filter((l) => Number(l.level) >= 50);
      assert.deepEqual(failures.map((l) => `${String(l.msg)}: ${JSON.stringify(l.err).slice(0, 400)}`), [], `no failed turn (batch: ${group.map((c) => c.label).join(' | ').slice(0, 2000)})`);
      assert.deepEqual(rejections.map(String), [], 'no unhandled rejection');
      if (group === inert) {
        const after = await stored(w.bot.tablePrefix);
        assert.deepEqual(after, before, `nothing stored changed; changes:\n${changes(before, after)}\nbatch:\n${group.map((c) => c.label).join('\n').slice(0, 3000)}`);
      }
    }
  }

  const check = (arb: fc.Arbitrary<Case>, numRuns: number, offset: number) =>
    fc.assert(
      fc.asyncProperty(fc.array(arb.map(labelled), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await runBatch(batch);
      }),
      { seed: SEED + offset, numRuns, endOnFailure: true },
    );

  it('when the routes are read, then every verb and command has a property below', function () {
    assert.ok(capabilities.actions.length >= 40, `${capabilities.actions.length} verbs`);
    assert.ok(capabilities.commands.length >= 30, `${capabilities.commands.length} commands`);
  });

  capabilities.actions.forEach((spec, i) => {
    it(`when \`${spec.verb}\` is pressed ${3 * BATCH} times with arbitrary data by every role, then no error shows, nothing crashes, and what is refused or unreadable changes nothing`, async function () {
      await check(pressOf(spec, known), 3, i);
    });
  });

  it(`when invokes and submits of the wrong shape arrive (${15 * BATCH} of them), then each is answered without an error and changes nothing`, async function () {
    const verbs = capabilities.actions.map((a) => a.verb);
    await check(fc.oneof(malformedInvoke(verbs), malformedSubmit), 15, 1000);
  });

  capabilities.commands.forEach((command, i) => {
    it(`when \`${command.name}\` is typed ${2 * BATCH} times with arbitrary words by every role, then no error shows, nothing crashes, and a refusal changes nothing`, async function () {
      await check(typed(command), 2, 2000 + i);
    });
  });

  it(`when arbitrary text that is no command is typed (${20 * BATCH} messages: any Unicode, control characters, huge strings, <at> tags, mentions of strangers), then it is answered with help and changes nothing`, async function () {
    await check(noise(capabilities.commands), 20, 3000);
  });
});

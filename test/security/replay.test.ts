import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { extractMentions, parseCommand, type MentionEntity } from '../../src/platform/commands';
import { adaptiveCardsOf, allActions, cardInputs, gatherInputs, invokeResponseCard, type LocatedAction } from '../support/cardActions';
import type { SimConversation, SimUser, TurnResult } from '../support/simulator';
import { said } from '../support/said';
import { assertNothingInternal, changes, routeDefinitions, stored } from '../support/security';
import { FORM as PROPOSAL } from '../proposals/world';
import { MATHS } from '../swaps/world';
import { FORM as TEACHMEET, World } from '../teachmeets/world';

/**
 * Teams delivers an activity again when it was not answered in time (its retry after 15 s). Here every
 * command and every card verb the bot has (read from the route definitions, so a new one cannot be
 * left out) is used once by someone allowed to, through the wire, and then the very same activity
 * (same id) is delivered again. The repeat must change no stored row (every table compared) and send
 * nobody anything new: a message is acted on once (its repeat gets an empty answer), and a click may
 * only answer the presser again (the same card), never post a second confirmation.
 *
 * Commands are typed from the examples below (a new command fails the coverage check until it has one);
 * card buttons are found as people find them: every button on every card the bot sends is pressed once
 * per verb, by the person the card was sent to, with its form filled in.
 */

const capabilities = routeDefinitions();

/**
 * The bot's own work after a turn is done (TeachMeet follow-ups, card updates, an announcement's
 * fan-out, which runs from a queue): nothing is being sent, storage and the connector are still.
 */
async function quiet(w: World): Promise<string[]> {
  let last = await rows(w);
  const until = Date.now() + 20_000;
  for (;;) {
    await w.settle();
    await w.bot.together.announcements.settle();
    const sent = w.sim.sent.length;
    await sleep(60);
    const now = await rows(w);
    const sending = now.some((row) => row.includes('"status":"sending"'));
    if (w.sim.sent.length === sent && changes(last, now) === '' && (!sending || Date.now() > until)) return now;
    last = now;
  }
}

/** Every stored row, less the leases the announcement workers renew on their own while they run. */
async function rows(w: World): Promise<string[]> {
  return (await stored(w.bot.tablePrefix)).filter((row) => !/Announcements: \{[^{]*"partitionKey":"workers"/.test(row));
}

interface Use {
  readonly what: string;
  readonly mutated: boolean;
}

describe('security: every mutating activity, delivered twice (replay)', function () {
  this.timeout(300_000);
  let w: World;
  let tia: SimUser;
  let rita: SimUser;
  let sam: SimUser;
  const used = new Map<string, Use[]>();
  /** Every card seen, with where it was and who it was for, to press its buttons. */
  const cards: { card: object; conv: SimConversation; by: SimUser; replyToId?: string }[] = [];
  const pressed = new Set<string>();
  /** What went wrong on a repeat (all are gathered, then reported together). */
  const problems: string[] = [];

  /** Delivers `activity` (built by `send`), then the same activity again; checks the repeat; records the use. */
  async function twice(key: string, what: string, by: SimUser, conv: SimConversation, send: (id: string) => Promise<TurnResult>, id: string): Promise<TurnResult> {
    const before = await quiet(w);
    const first = await send(id);
    assert.equal(first.status, 200, `${what}: HTTP ${first.status}`);
    assertNothingInternal(`${JSON.stringify(first.body ?? '')}\n${said(first)}`, what);
    const after = await quiet(w);
    const sentBefore = w.sim.sent.length;
    const again = await send(id);
    const afterAgain = await quiet(w);
    try {
      assert.equal(again.status, 200, `${what} (again): HTTP ${again.status}`);
      assert.deepEqual(afterAgain, after, `${what}: the repeat changed stored rows:\n${changes(after, afterAgain)}`);
      const newPosts = w.sim.sent.slice(sentBefore).filter((s) => s.method === 'POST');
      assert.deepEqual(newPosts.map((s) => said({ status: 200, body: undefined, sent: [s] }).replace(/\s+/g, ' ').slice(0, 200)), [], `${what}: the repeat sent nobody anything new`);
      for (const s of w.sim.sent.slice(sentBefore).filter((s) => s.method === 'PUT')) {
        const previous = w.sim.sent.slice(0, sentBefore).filter((p) => p.activityId === s.activityId).at(-1);
        assert.deepEqual(adaptiveCardsOf(s.activity), previous ? adaptiveCardsOf(previous.activity) : undefined, `${what}: the repeat changed a card people see`);
      }
      // A click's repeat may answer the presser again, with the card as it now stands; never with an error.
      assertNothingInternal(`${JSON.stringify(again.body ?? '')}\n${said(again)}`, `${what} (again)`);
      if (!/Only .+ can use|could not read|not one I know/.test(said(first))) assert.doesNotMatch(said(again), /Only .+ can use|could not read|not one I know/, `${what}: the repeat was answered as if it were wrong`);
    } catch (err) {
      problems.push((err as Error).message.split('\n').slice(0, 4).join('\n'));
    }
    if (process.env.DEBUG_REPLAY) console.log(`${what} -> ${said(first).replace(/\s+/g, ' ').slice(0, Number(process.env.DEBUG_REPLAY))}\n   ${changes(before, after).slice(0, 600)}`);
    const refused = /Only .+ can use/.test(said(first));
    if (!refused) used.set(key, [...(used.get(key) ?? []), { what, mutated: changes(before, after) !== '' }]);
    // Every card this turn produced, to press its buttons later.
    const answer = invokeResponseCard(first.body);
    if (answer) cards.push({ card: answer, conv, by, replyToId: undefined });
    for (const s of first.sent) for (const card of adaptiveCardsOf(s.activity)) cards.push({ card, conv: convOf(s.conversationId, by), by: ownerOf(s.conversationId, by), replyToId: s.activityId });
    return first;
  }

  const people = () => [tia, rita, sam, w.cora];
  function ownerOf(conversationId: string, fallback: SimUser): SimUser {
    return people().find((p) => w.sim.personalChat(p).id === conversationId) ?? fallback;
  }
  function convOf(conversationId: string, fallback: SimUser): SimConversation {
    const owner = people().find((p) => w.sim.personalChat(p).id === conversationId);
    if (owner) return w.sim.personalChat(owner);
    return conversationId === w.staffRoom.id ? w.staffRoom : w.sim.personalChat(fallback);
  }

  let nextId = 1_765_100_000_000;
  async function type(by: SimUser, conv: SimConversation, text: string, mentions: SimUser[] = []): Promise<void> {
    const entities: MentionEntity[] = mentions.map((m) => ({ text: `<at>${m.name}</at>`, mentioned: { id: m.id, name: m.name } }));
    const parsed = parseCommand(capabilities.commands, extractMentions(text, entities));
    assert.ok(parsed, `\`${text}\` is a command`);
    await twice(parsed.command.name, `${parsed.command.name} (\`${text}\` by ${by.name})`, by, conv, (id) => w.sim.say(by, conv, text, { mentions, id }), String(nextId++));
  }

  /** Presses every button not yet pressed (one per verb), on the cards seen so far and those they lead to. */
  async function pressEverything(): Promise<void> {
    for (let i = 0; i < cards.length; i++) {
      const { card, conv, by, replyToId } = cards[i]!;
      for (const located of allActions(card)) {
        const { action } = located;
        if (action.type !== 'Action.Execute' && action.type !== 'Action.Submit') continue;
        const verb = action.type === 'Action.Execute' ? action.verb : (action.data as { verb?: string } | undefined)?.verb;
        if (!verb || pressed.has(verb) || LAST.includes(verb)) continue;
        pressed.add(verb);
        await press(located, card, conv, by, replyToId, verb);
      }
    }
  }

  async function press(located: LocatedAction, card: object, conv: SimConversation, by: SimUser, replyToId: string | undefined, verb: string): Promise<void> {
    const inputs = filled(located, card, verb);
    const id = `f:${nextId++}`;
    await twice(verb, `${verb} ('${located.action.title}' by ${by.name})`, by, conv, () => w.sim.click(by, conv, card, located.action.title, inputs, { id, ...(replyToId ? { replyToId } : {}) }), id);
  }

  /** What a person would type into a form's inputs that are still empty. */
  function filled(located: LocatedAction, card: object, verb: string): Record<string, string> {
    const preset = forms()[verb] ?? {};
    const raw = new Map<string, Record<string, unknown>>();
    JSON.stringify(card, (_k, v: unknown) => {
      if (v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' && String((v as { type?: unknown }).type).startsWith('Input.')) raw.set((v as { id: string }).id, v as Record<string, unknown>);
      return v;
    });
    const present = (() => {
      try {
        return gatherInputs(located);
      } catch {
        return {};
      }
    })();
    const gathered = new Set((located.action.associatedInputs ?? 'auto').toLowerCase() === 'none' ? [] : located.cards.flatMap((c) => cardInputs(c).map((i) => i.id)));
    const typed: Record<string, string> = {};
    for (const [id, input] of raw) {
      if (!gathered.has(id)) continue;
      if (preset[id] !== undefined) typed[id] = preset[id];
      else if (present[id] === undefined || present[id] === '') typed[id] = valueFor(input);
    }
    return typed;
  }

  /** The forms, filled in as people fill them in the capabilities' own tests (dates after the test clock's today). */
  const forms = (): Record<string, Record<string, string>> => ({
    'teachmeet.create': { ...TEACHMEET, link: '', host: w.schoolId },
    'swap.submit': { ...MATHS, from: '2027-01-11', to: '2027-02-05', confirmBy: '2027-01-08' },
    'proposal.submit': { ...PROPOSAL, partners: w.otherSchoolId },
  });

  before(async function () {
    w = await World.start();
    tia = w.sim.user('tia', 'Tia Okafor');
    rita = w.sim.user('rita', 'Rita Mensah');
    sam = w.sim.user('sam', 'Sam Patel');
    await w.makeRep(rita, 'Oakfield Academy');
    for (const p of people()) await w.sim.say(p, w.sim.personalChat(p), 'help');
  });
  after(async function () {
    await w.stop();
  });

  it('when every command is typed and every button pressed once, each delivered twice, then no repeat changes anything or tells anyone anything new', async function () {
    const me = w.sim.personalChat(w.cora);
    await type(w.cora, w.staffRoom, 'school add Hillside School');
    await type(w.cora, w.staffRoom, 'school rename Hillside School to Hillside Academy');
    await type(w.cora, w.staffRoom, 'rep add <at>Sam Patel</at> Brookside Primary', [sam]);
    await type(w.cora, w.staffRoom, 'channel announcements');
    await type(w.cora, me, 'rep announcements on');
    await type(w.cora, me, 'mutual need add Oracy');
    await type(w.cora, me, 'funder outcome add Civic pride');
    await type(w.cora, me, 'term set spring 2027 4 Jan 2027 - 26 Mar 2027');
    await type(w.cora, me, 'holidays add 15 Feb 2027 - 19 Feb 2027 Half term');
    await type(w.cora, me, 'nudges hours 08:00-17:00');
    await type(w.cora, me, 'nudges ladder 7 2 0');
    await type(w.cora, me, 'coordinator add <at>Sam Patel</at>', [sam]);
    await type(w.cora, me, 'coordinator remove <at>Sam Patel</at>', [sam]);
    await type(tia, w.sim.personalChat(tia), 'my school Oakfield Academy');
    await type(rita, w.staffRoom, 'teachmeet new');
    await type(rita, w.sim.personalChat(rita), 'swap offer');
    await type(sam, w.sim.personalChat(sam), 'swap offer');
    await type(rita, w.sim.personalChat(rita), 'propose');
    await type(w.cora, me, 'announce reps: Replayed announcement');
    await pressEverything();
    for (const read of ['help', 'whoami', 'directory', 'teachmeets', 'my teachmeets', 'swaps', 'proposals', 'proposal tags', 'deadlines', 'holidays', 'nudges', 'announcements', 'terms', 'impact', 'my data']) await type(w.cora, me, read);
    await type(rita, w.sim.personalChat(rita), 'proposal edit');
    await type(w.cora, me, 'proposal history Replay project');
    await pressEverything();
    await type(w.cora, me, 'holidays remove 16 Feb 2027');
    await type(w.cora, me, 'mutual need remove Oracy');
    await type(w.cora, me, 'funder outcome remove Civic pride');
    await type(w.cora, me, 'rep remove <at>Sam Patel</at>', [sam]);
    await type(w.cora, me, 'school remove Hillside Academy');
    await type(w.cora, w.staffRoom, 'channel clear');
    await type(w.cora, me, 'rep announcements off');
    await type(w.cora, me, 'forget <at>Sam Patel</at>', [sam]);
    await type(tia, w.sim.personalChat(tia), 'forget me');
    for (const verb of LAST) pressed.delete(verb);
    LAST.length = 0;
    await pressEverything();

    const summary = [...used].map(([what, uses]) => `${what}${uses.some((u) => u.mutated) ? ' (changed something)' : ''}`);
    const unused = [...capabilities.commands.map((c) => c.name), ...capabilities.actions.map((a) => a.verb)].filter((name) => !used.has(name));
    // eslint-disable-next-line no-console
    console.log(`      replayed: ${summary.join(', ')}`);
    assert.deepEqual(problems, [], 'no repeat changed anything or told anyone anything new');
    // A new command or verb fails here until it is replayed (or, knowingly, listed below).
    assert.deepEqual(unused, NOT_YET_REACHED, 'every command and verb was used once and replayed, but those listed as not yet reached');
  });
});

/**
 * Verbs this crawl does not reach yet: their buttons appear only after a second person acts (an offer of
 * a place, a swap match to accept), after the scheduler runs (nudges), or on cards not opened here. Each
 * is still covered by roles.test.ts and fuzz.test.ts, and messages and `once` presses by the inbound
 * claim, but its replay is not checked here. Shorten this list; never lengthen it without saying why.
 */
const NOT_YET_REACHED = [
  'help.show', 'teachmeet.acceptOffer', 'teachmeet.declineOffer', 'swap.accept', 'swap.decline', 'swap.cancelForm', 'swap.cancel', 'swap.show',
  // Lengthened (issue 17): the shared proposal card now offers only "Show my options"; the decision
  // buttons are on a partner school's rep's own view, which this crawl's people do not open.
  // (proposal.history, on the coordinator's own view, is reached now.)
  'proposal.approve', 'proposal.requestChanges', 'proposal.decline',
  'proposal.signOff', 'nudge.snooze', 'nudge.stop', 'announce.preview', 'announce.failures', 'announce.ack', 'impact.outcomeForm', 'impact.outcomeSave',
];

/** Buttons pressed only at the end, once everything else has been tried (they take the person or the event away). */
const LAST: string[] = ['privacy.forget', 'teachmeet.cancelEventSure'];

function valueFor(input: Record<string, unknown>): string {
  switch (input.type) {
    case 'Input.Date':
      return '2027-01-20';
    case 'Input.Time':
      return '16:00';
    case 'Input.Number':
      return '2';
    case 'Input.Toggle':
      return String(input.valueOn ?? 'true');
    case 'Input.ChoiceSet': {
      const choices = (input.choices as { value?: string }[] | undefined) ?? [];
      return choices[0]?.value ?? '';
    }
    default:
      return 'Replay check';
  }
}

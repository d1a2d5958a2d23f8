import assert from 'node:assert/strict';
import { ManualClock } from '../../src/platform/clock';
import { startTestBot, type TestBot } from '../support/bot';
import { adaptiveCardsOf, findAction, invokeResponseCard } from '../support/cardActions';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser, type TurnResult } from '../support/simulator';
import { answered, said, textOf } from '../support/said';
export { answered, said, textOf } from '../support/said';
import { BaseWorld } from '../support/world';

/**
 * Shared set-up for the proposal suites through the wire (not a test file itself): a simulator, a bot
 * on a ManualClock, a coordinator, four schools with a rep each (and a second Riverside rep and a
 * teacher), the reps' channel set up, and helpers that read what people were shown.
 */

export const START = '2026-11-25T10:00:00Z';

export const FORM = {
  title: 'STEM Week',
  summary: 'A week of engineering challenges for Year 9, ending in a showcase.',
  contributions: 'Oakfield hosts the showcase; Riverside runs outreach; Hillview lends its DT rooms.',
  collaboration: 'Mixed-school teams of four.',
  pupils: '120',
  staff: '12',
  legacy: 'A shared bank of challenge resources.',
  outcome: 'Confidence in STEM surveyed before and after; 80% of teams finish a model.',
  needs: 'stem,collaboration',
  funderOutcomes: 'leadership-skills',
  startDate: '2027-02-08',
  endDate: '2027-02-12',
  budget: '1250',
  decisionBy: '2026-12-04',
};

/** The partner-school rows of a proposal card: name → status, who and when, comment. */
export function schoolRows(card: object): Record<string, { status: string; detail: string; comment: string }> {
  const rows: Record<string, { status: string; detail: string; comment: string }> = {};
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const v = value as { type?: string; columns?: { items?: { text?: string; horizontalAlignment?: string }[] }[] };
    if (v.type === 'ColumnSet' && v.columns?.length === 2 && v.columns[1]!.items?.[0]?.horizontalAlignment === 'Right') {
      const [left, right] = v.columns;
      rows[left!.items![0]!.text!] = { status: right!.items![0]!.text ?? '', detail: right!.items![1]?.text ?? '', comment: left!.items![1]?.text ?? '' };
      return;
    }
    for (const child of Object.values(value)) visit(child);
  };
  visit(card);
  return rows;
}

export function statusOfCard(rows: ReturnType<typeof schoolRows>): Record<string, string> {
  return Object.fromEntries(Object.entries(rows).map(([name, r]) => [name, r.status]));
}

export function proposalIdOf(card: object): string {
  const match = /"proposalId":"(pr[0-9a-f]{10})"/.exec(JSON.stringify(card));
  assert.ok(match, 'the card carries its proposal id');
  return match[1]!;
}

export class World extends BaseWorld {
  ann!: SimUser;
  ben!: SimUser;
  bea!: SimUser;
  cat!: SimUser;
  dan!: SimUser;
  tia!: SimUser;
  reps!: SimConversation;
  staffRoom!: SimConversation;
  school: Record<'oak' | 'riv' | 'hill' | 'west', string> = { oak: '', riv: '', hill: '', west: '' };

  static async start(opts: { repsChannel?: boolean } = {}): Promise<World> {
    const w = new World();
    w.sim = await TeamsSimulator.start();
    w.clock = new ManualClock(START);
    w.cora = w.sim.user('cora', 'Cora Whitfield');
    w.ann = w.sim.user('ann', 'Ann Hughes');
    w.ben = w.sim.user('ben', 'Ben Carter');
    w.bea = w.sim.user('bea', 'Bea Lowe');
    w.cat = w.sim.user('cat', 'Cat Nolan');
    w.dan = w.sim.user('dan', 'Dan Ellis');
    w.tia = w.sim.user('tia', 'Tia Grant');
    w.reps = w.sim.channel('Riverside Schools Together', 'Reps');
    w.staffRoom = w.sim.channel('Riverside Schools Together', 'Staff room');
    w.bot = await startTestBot({ env: w.env, clock: w.clock });
    w.sim.botEndpoint = w.bot.url;
    for (const name of ['Oakfield Academy', 'Riverside Primary', 'Hillview High School', 'Westbrook School']) await w.sim.say(w.cora, w.staffRoom, `school add ${name}`);
    const schools = await w.bot.together.directory.schools();
    const id = (name: string) => schools.find((s) => s.name === name)!.id;
    w.school = { oak: id('Oakfield Academy'), riv: id('Riverside Primary'), hill: id('Hillview High School'), west: id('Westbrook School') };
    await w.makeRep(w.ann, 'Oakfield Academy');
    await w.makeRep(w.ben, 'Riverside Primary');
    await w.makeRep(w.bea, 'Riverside Primary');
    await w.makeRep(w.cat, 'Hillview High School');
    await w.makeRep(w.dan, 'Westbrook School');
    await w.sim.say(w.tia, w.sim.personalChat(w.tia), 'my school Riverside Primary');
    if (opts.repsChannel ?? true) assert.match(said(await w.sim.say(w.cora, w.reps, 'channel reps')), /reps' channel/);
    return w;
  }

  async makeRep(user: SimUser, schoolName: string): Promise<void> {
    const r = await this.sim.say(this.cora, this.staffRoom, `rep add <at>${user.name}</at> ${schoolName}`, { mentions: [user] });
    assert.match(said(r), new RegExp(`is now a rep of ${schoolName}`));
  }

  /**
   * Until every instance has delivered what it could of the changes committed so far: a press is
   * answered once its change is committed, and the outbox posts and updates cards and tells people after.
   */
  async settle(): Promise<void> {
    for (const b of [this.bot, ...this.others]) await b.together.outbox.settle();
  }

  chat(user: SimUser): SimConversation {
    return this.sim.personalChat(user);
  }

  /** `by` types `propose` (in their personal chat unless told) and submits the form; returns what the submit answered. */
  async propose(by: SimUser = this.ann, form: Partial<typeof FORM> & { partners?: string } = {}, where: SimConversation = this.chat(by)): Promise<TurnResult> {
    const typed = await this.sim.say(by, where, 'propose');
    const formSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(formSent, `${by.name} got the form: ${said(typed)}`);
    assert.match(textOf(formSent), /Propose a project/);
    return this.sim.click(by, where, formSent, 'Submit for approval', { ...FORM, partners: `${this.school.riv},${this.school.hill}`, ...form });
  }

  /** The proposal cards posted (POST) in a conversation, in order. */
  posted(conv: SimConversation): Sent[] {
    return this.sim.sent.filter((s) => s.method === 'POST' && s.conversationId === conv.id && /Proposal: /.test(textOf(s)));
  }

  /** A shared card as people in the conversation see it now: its latest update, or as first posted. */
  current(post: Sent): object {
    const update = this.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === post.activityId).at(-1);
    return adaptiveCardsOf((update ?? post).activity)[0]!;
  }

  /** Personal messages delivered to `user` whose text matches `pattern`. */
  messagesFor(user: SimUser, pattern: RegExp): Sent[] {
    return this.sim.sent.filter((s) => s.method === 'POST' && s.conversationId === this.chat(user).id && pattern.test(textOf(s)));
  }

  /**
   * The card as `user` has it in front of them: the shared card in the channel, and, when it lists them in
   * `refresh.userIds`, the own view Teams fetches for them (an automatic refresh invoke), as Teams does.
   */
  async seenBy(user: SimUser, post: Sent, conv: SimConversation = this.reps): Promise<object> {
    const shared = this.current(post) as { refresh?: { action?: Record<string, unknown>; userIds?: string[] } };
    if (!shared.refresh?.action || !shared.refresh.userIds?.includes(user.id)) return shared;
    return this.refreshed(user, post, conv);
  }

  /** The own view Teams fetches for `user` through the card's `refresh` action. */
  async refreshed(user: SimUser, post: Sent, conv: SimConversation = this.reps): Promise<object> {
    const shared = this.current(post) as { refresh?: { action?: Record<string, unknown> } };
    assert.ok(shared.refresh?.action, 'the card asks Teams to refresh it');
    const answer = await this.sim.invoke(user, conv, 'adaptiveCard/action', { action: shared.refresh.action, trigger: 'automatic' }, { replyToId: post.activityId });
    const card = invokeResponseCard(answer.body);
    assert.ok(card, `${user.name}'s own view: ${answered(answer)}`);
    return card;
  }

  /**
   * Presses a button on the proposal card in the reps' channel as `user` would: on the own view Teams
   * fetched for them, or, when the card does not list them, after pressing *Show my options* for it.
   */
  press(user: SimUser, post: Sent, title: string, inputs: Record<string, string> = {}, conv: SimConversation = this.reps): Promise<TurnResult> {
    return this.pressVia(undefined, user, post, title, inputs, conv);
  }

  private async pressVia(bot: TestBot | undefined, user: SimUser, post: Sent, title: string, inputs: Record<string, string>, conv: SimConversation): Promise<TurnResult> {
    let card = await this.seenBy(user, post, conv);
    if (!findAction(card, title) && findAction(card, 'Show my options')) {
      const own = invokeResponseCard((await this.sim.click(user, conv, card, 'Show my options', {}, { replyToId: post.activityId })).body);
      assert.ok(own, `${user.name} pressed Show my options`);
      card = own;
    }
    const before = this.sim.botEndpoint;
    if (bot) this.sim.botEndpoint = bot.url;
    try {
      return this.sim.click(user, conv, card, title, inputs, { replyToId: post.activityId });
    } finally {
      this.sim.botEndpoint = before;
    }
  }

  /**
   * Presses a button as `user` that their own view does not offer them: taken from the own view of
   * `holder`, who has it (an old client, a card from before the change, a forwarded or tampered card).
   * The server's refusal is the safety net.
   */
  async pressFromAnotherView(user: SimUser, holder: SimUser, post: Sent, title: string, inputs: Record<string, string> = {}, conv: SimConversation = this.reps): Promise<TurnResult> {
    const card = await this.refreshed(holder, post, conv);
    return this.sim.click(user, conv, card, title, inputs, { replyToId: post.activityId });
  }

  /** The same press on another instance (the simulator reads botEndpoint when the request starts). */
  pressOn(bot: TestBot, user: SimUser, post: Sent, title: string, inputs: Record<string, string> = {}): Promise<TurnResult> {
    return this.pressVia(bot, user, post, title, inputs, this.reps);
  }

  hasButton(card: object, title: string): boolean {
    return !!findAction(card, title);
  }
}

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { odata, TableClient } from '@azure/data-tables';
import { freePort, startAzurite, type EmbeddedAzurite } from '../../../src/platform/storage/azurite';
import { adaptiveCardsOf, cardText, findAction, invokeResponseCard } from '../../support/cardActions';
import { everyStoredFieldIsDeclared } from '../../support/hooks';
import { healthy, launchMain, until, type MainProcess } from '../../support/mainProcess';
import { answered, said, textOf } from '../../support/said';
import { TeamsSimulator, type Sent, type SimConversation, type SimUser } from '../../support/simulator';
import { FORM as PROPOSAL_FORM, schoolRows, statusOfCard } from '../../proposals/world';
import { FORM as TEACHMEET_FORM } from '../../teachmeets/world';

/**
 * The outbox's promise (README, "What people are told, and when") with a real kill: the bot runs as
 * `npm start` runs it (`node dist/src/main.js`, a process of its own, on Azurite), Teams reaches it
 * only over HTTP, and it dies by SIGKILL, the operating system's kill (no handler runs, nothing is
 * flushed, sockets just close), after its commit and before Teams has accepted its sends.
 *
 * How "after the commit and before the send" is reached without a hook in the bot: the connector
 * stand-in takes the bot's sends in but does not answer them; the test waits until the effects are
 * committed (pending outbox rows in the tables) and the sends are on their way (held by the stand-in),
 * then kills the process. Only then does the stand-in answer again, and only sends it answered count
 * as delivered: the held ones were never accepted.
 *
 * Two changes are caught that way at once: a teacher's TeachMeet sign-up (her confirmation, and the
 * shared card's count) and a rep's approval of a proposal (the proposer's notice, and the shared card;
 * his own turn waits for the card to go out, so the kill cuts it off too). What does not wait for Teams
 * (the decision's deadline-registry sync) is normally done before the kill; the in-process crash tests
 * (test/proposals/crash.test.ts) stop the outbox before it.
 * Then either the same bot is started again on the same storage, or a second instance that was running
 * all along carries on, with no restart. Each has its own storage and Teams, and both wait out their
 * recovery side by side (the due-index pointer comes due a minute after the commit).
 *
 * The scheduler ticks every 5 s (SCHEDULER_INTERVAL_SECONDS, the shortest an operator may set), so the
 * wait is the minute the outbox promises plus a few seconds, not a minute more.
 */

const SCHEDULER_INTERVAL_SECONDS = '5';
/** README: owed messages arrive within two minutes (of a restart, or of the crash with another instance running). */
const PROMISED_MS = 2 * 60_000;
const CONFIRMED = /Your place is confirmed/;
const APPROVED = /Riverside Primary approved 'STEM Week'/;

/** A calendar day `days` from today, yyyy-mm-dd (the bot runs on the real clock). */
function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** The value of the choice titled `title` in a card's choice sets, as a person picking it sends. */
function choice(card: object, title: string): string {
  const found = /"title":"([^"]*)","value":"([^"]*)"/g;
  for (const m of JSON.stringify(card).matchAll(found)) if (m[1] === title) return m[2]!;
  throw new Error(`no choice titled ${title} on the card`);
}

/** One partnership's deployment: its own storage, its own Teams (the simulator), and bot processes on them. */
class Deployment {
  readonly processes: MainProcess[] = [];
  cora!: SimUser;
  ann!: SimUser;
  ben!: SimUser;
  cat!: SimUser;
  tia!: SimUser;
  staffRoom!: SimConversation;
  reps!: SimConversation;
  /** The TeachMeet's shared card (the message that carries it) and Ben's own view of the proposal. */
  event!: { card: object; activityId: string };
  proposal!: { post: Sent; bensView: object };
  /** How many sends the stand-in had accepted when it started holding them. */
  acceptedBeforeHold = 0;
  /** When the instance was killed, and when the recovery's two minutes began. */
  killedAt = 0;
  from = 0;

  private constructor(
    readonly name: string,
    readonly storage: EmbeddedAzurite,
    readonly sim: TeamsSimulator,
    readonly dir: string,
  ) {}

  static async start(name: string): Promise<Deployment> {
    const [storage, sim] = await Promise.all([startAzurite(), TeamsSimulator.start()]);
    const d = new Deployment(name, storage, sim, mkdtempSync(path.join(os.tmpdir(), `together-killed-${name}-`)));
    d.cora = sim.user('cora', 'Cora Whitfield');
    d.ann = sim.user('ann', 'Ann Hughes');
    d.ben = sim.user('ben', 'Ben Carter');
    d.cat = sim.user('cat', 'Cat Nolan');
    d.tia = sim.user('tia', 'Tia Grant');
    d.staffRoom = sim.channel('Riverside Schools Together', 'Staff room');
    d.reps = sim.channel('Riverside Schools Together', 'Reps');
    return d;
  }

  /** A bot process as `npm start` runs it, on this deployment's storage. */
  async instance(): Promise<MainProcess> {
    const port = await freePort();
    const env = {
      PORT: String(port),
      STORAGE_CONNECTION_STRING: this.storage.connectionString,
      PARTNERSHIP_NAME: 'Riverside Schools Together',
      COORDINATORS: this.cora.aadObjectId,
      SCHEDULER_INTERVAL_SECONDS,
    };
    const p = launchMain(env, this.dir, port);
    this.processes.push(p);
    await healthy(p);
    return p;
  }

  talkTo(p: MainProcess): void {
    this.sim.botEndpoint = `http://127.0.0.1:${p.port}/api/messages`;
  }

  /** Schools, reps, the reps' channel, a TeachMeet posted in the staff room and a proposal posted to the reps. */
  async setUp(): Promise<void> {
    const { sim, cora } = this;
    for (const school of ['Oakfield Academy', 'Riverside Primary', 'Hillview High School']) assert.match(said(await sim.say(cora, this.staffRoom, `school add ${school}`)), /Added/);
    for (const [rep, school] of [[this.ann, 'Oakfield Academy'], [this.ben, 'Riverside Primary'], [this.cat, 'Hillview High School']] as const) {
      assert.match(said(await sim.say(cora, this.staffRoom, `rep add <at>${rep.name}</at> ${school}`, { mentions: [rep] })), new RegExp(`is now a rep of ${school}`));
    }
    assert.match(said(await sim.say(cora, this.reps, 'channel reps')), /reps' channel/);

    const typed = await sim.say(cora, this.staffRoom, 'teachmeet new');
    const form = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(form, `the TeachMeet form: ${said(typed)}`);
    // The usual test TeachMeet (2 places), dated from today: this bot runs on the real clock.
    const values = { ...TEACHMEET_FORM, date: inDays(14), deadlineDate: inDays(13), places: '2' };
    const created = await sim.click(cora, this.staffRoom, form, 'Create and post', { ...values, host: choice(adaptiveCardsOf(form.activity)[0]!, 'Oakfield Academy') });
    const card = invokeResponseCard(created.body);
    assert.ok(card && /Spring TeachMeet/.test(cardText(card)), `the event card: ${answered(created)}`);
    this.event = { card, activityId: form.activityId };

    const asked = await sim.say(this.ann, sim.personalChat(this.ann), 'propose');
    const proposalForm = asked.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(proposalForm, `the proposal form: ${said(asked)}`);
    const formCard = adaptiveCardsOf(proposalForm.activity)[0]!;
    const submitted = await sim.click(this.ann, sim.personalChat(this.ann), proposalForm, 'Submit for approval', {
      ...PROPOSAL_FORM,
      startDate: inDays(60),
      endDate: inDays(64),
      decisionBy: inDays(10),
      partners: `${choice(formCard, 'Riverside Primary')},${choice(formCard, 'Hillview High School')}`,
    });
    assert.match(answered(submitted), /'STEM Week' is posted for approval/);
    const post = await until('the proposal posted to the reps', undefined, async () => sim.sent.find((s) => s.method === 'POST' && s.conversationId === this.reps.id && /Proposal: /.test(textOf(s))));
    this.proposal = { post, bensView: await this.ownView(this.ben, post) };
  }

  /** The proposal card as `user` has it in front of them: the own view Teams fetches for them, or the one *Show my options* opens. */
  private async ownView(user: SimUser, post: Sent): Promise<object> {
    const shared = adaptiveCardsOf(post.activity)[0]! as { refresh?: { action?: Record<string, unknown>; userIds?: string[] } };
    const answer = shared.refresh?.action && shared.refresh.userIds?.includes(user.id)
      ? await this.sim.invoke(user, this.reps, 'adaptiveCard/action', { action: shared.refresh.action, trigger: 'automatic' }, { replyToId: post.activityId })
      : await this.sim.click(user, this.reps, shared, 'Show my options', {}, { replyToId: post.activityId });
    const card = invokeResponseCard(answer.body);
    assert.ok(card && findAction(card, 'Approve for my school'), `${user.name}'s own view: ${answered(answer)}`);
    return card;
  }

  /**
   * Teams stops answering sends; Tia signs up and Ben approves. The test waits until storage holds what
   * each change owes (committed) and the bot's sends are on their way, unanswered. Tia is answered at
   * once; Ben's turn waits for his card to reach Teams before it answers him, so it is still in flight.
   */
  async changeWhileTeamsHolds(): Promise<void> {
    this.acceptedBeforeHold = this.sim.sent.length;
    this.sim.hold((r) => r.method !== 'GET');
    const attended = await this.sim.click(this.tia, this.staffRoom, this.event.card, 'Attend', {}, { replyToId: this.event.activityId });
    assert.match(answered(attended), /You're attending|You have a place/);
    // Not awaited: this turn is answered only once the card has gone out, so the kill cuts it off.
    void this.sim.click(this.ben, this.reps, this.proposal.bensView, 'Approve for my school', {}, { replyToId: this.proposal.post.activityId }).catch(() => undefined);
    await until('the commits in storage', undefined, async () => ((await this.owed('TeachMeets')) > 0 && (await this.owed('Proposals')) > 0 ? true : undefined));
    await until('the sends on their way', undefined, async () => (Object.values(this.toHeld()).every(Boolean) ? true : undefined));
  }

  /** Which of the owed sends the stand-in is holding. */
  toHeld(): { tia: boolean; ann: boolean; eventCard: boolean; proposalCard: boolean } {
    const held = this.sim.held;
    const to = (who: SimUser) => held.some((r) => r.method === 'POST' && (r.conversationId === this.sim.personalChat(who).id || (r.path === '/v3/conversations' && JSON.stringify(r.body).includes(who.id))));
    return {
      tia: to(this.tia),
      ann: to(this.ann),
      eventCard: held.some((r) => r.method === 'PUT' && r.path.endsWith(`/activities/${this.event.activityId}`)),
      proposalCard: held.some((r) => r.method === 'PUT' && r.path.endsWith(`/activities/${this.proposal.post.activityId}`)),
    };
  }

  /**
   * SIGKILL: the process ends this instant, by the operating system, which closes its connections: the
   * stand-in sees each send it was holding hung up on, never accepted. Then it answers again.
   */
  async kill(p: MainProcess): Promise<void> {
    p.child.kill('SIGKILL');
    assert.deepEqual(await p.exited, { code: null, signal: 'SIGKILL' });
    this.killedAt = Date.now();
    const list = (rs: readonly { method: string; path: string }[]) => rs.map((r) => `${r.method} ${r.path}`).join(', ');
    await until(`${this.name}: the sends in flight hung up`, undefined, async () => (this.sim.hungUp.length === this.sim.held.length ? true : undefined), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}: held ${list(this.sim.held)}; hung up ${list(this.sim.hungUp)}`);
    });
    await this.sim.release();
  }

  /** Sends the stand-in accepted since it started holding. */
  acceptedSince(): Sent[] {
    return this.sim.sent.slice(this.acceptedBeforeHold);
  }

  confirmations(): Sent[] {
    return this.acceptedSince().filter((s) => s.method === 'POST' && s.conversationId === this.sim.personalChat(this.tia).id && CONFIRMED.test(textOf(s)));
  }

  notices(): Sent[] {
    return this.acceptedSince().filter((s) => s.method === 'POST' && s.conversationId === this.sim.personalChat(this.ann).id && APPROVED.test(textOf(s)));
  }

  eventCardUpdates(): Sent[] {
    return this.acceptedSince().filter((s) => s.method === 'PUT' && s.activityId === this.event.activityId);
  }

  proposalCardUpdates(): Sent[] {
    return this.acceptedSince().filter((s) => s.method === 'PUT' && s.activityId === this.proposal.post.activityId);
  }

  /** Effects committed and not yet delivered, in a table (outbox rows still pending). */
  async owed(table: string): Promise<number> {
    return (await this.outboxRows(table)).filter((r) => r.rowKey !== 'out|lease' && r.state === 'pending').length;
  }

  /** Partitions of a table some instance is delivering right now (a live outbox lease). */
  async leases(table: string): Promise<number> {
    return (await this.outboxRows(table)).filter((r) => r.rowKey === 'out|lease').length;
  }

  private async outboxRows(table: string): Promise<{ rowKey: string; state?: string }[]> {
    const client = TableClient.fromConnectionString(this.storage.connectionString, table, { allowInsecureConnection: true });
    const rows: { rowKey: string; state?: string }[] = [];
    for await (const row of client.listEntities<{ state?: string }>({ queryOptions: { filter: odata`RowKey ge ${'out|'} and RowKey lt ${'out}'}` } })) rows.push({ rowKey: String(row.rowKey), state: row.state });
    return rows;
  }

  /**
   * Until what was owed has reached Teams and the outbox has finished with it: nothing pending and no
   * lease held, so nothing of it is on its way or left to send again. Gives up when the two minutes
   * the README promises (from `from`) are over.
   */
  async delivered(): Promise<void> {
    const left = PROMISED_MS - (Date.now() - this.from);
    await until(
      `${this.name}: every owed message and card update, within the two minutes promised`,
      undefined,
      async () => {
        const arrived = this.confirmations().length > 0 && this.notices().length > 0 && this.eventCardUpdates().length > 0 && this.proposalCardUpdates().length > 0;
        if (!arrived) return undefined;
        for (const table of ['TeachMeets', 'Proposals']) if ((await this.owed(table)) > 0 || (await this.leases(table)) > 0) return undefined;
        return true;
      },
      Math.max(0, left),
    ).catch((err: Error) => {
      throw new Error(`${err.message}\naccepted since the hold: ${JSON.stringify(this.acceptedSince().map((s) => `${s.method} ${s.conversationId} ${textOf(s).slice(0, 60)}`))}`);
    });
  }

  async stop(): Promise<void> {
    for (const p of this.processes) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      try {
        process.kill(-p.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await p.exited;
    }
    await this.sim.stop();
    try {
      await everyStoredFieldIsDeclared(this.storage.connectionString);
    } finally {
      await this.storage.stop();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

describe('outbox: a bot process killed by the operating system (SIGKILL) after its commit and before Teams accepted its sends', function () {
  // Both cases wait out the outbox's minute side by side; the whole file takes about a minute and a half.
  this.timeout(PROMISED_MS + 90_000);
  let restarted: Deployment;
  let survived: Deployment;
  let survivor: MainProcess;

  before(async function () {
    [restarted, survived] = await Promise.all([Deployment.start('restarted'), Deployment.start('survivor')]);
    const [alone, dying] = await Promise.all([restarted.instance(), survived.instance()]);
    survivor = await survived.instance();
    restarted.talkTo(alone);
    survived.talkTo(dying);
    await Promise.all([restarted.setUp(), survived.setUp()]);
    await Promise.all([restarted.changeWhileTeamsHolds(), survived.changeWhileTeamsHolds()]);

    await Promise.all([restarted.kill(alone), survived.kill(dying)]);
    for (const d of [restarted, survived]) {
      assert.deepEqual({ confirmations: d.confirmations().length, notices: d.notices().length, eventCard: d.eventCardUpdates().length, proposalCard: d.proposalCardUpdates().length }, { confirmations: 0, notices: 0, eventCard: 0, proposalCard: 0 }, `${d.name}: nothing reached Teams before the kill`);
    }

    survived.from = survived.killedAt;
    restarted.from = Date.now();
    restarted.talkTo(await restarted.instance());
    survived.talkTo(survivor);
  });

  after(async function () {
    await Promise.all([restarted?.stop(), survived?.stop()]);
  });

  for (const [title, deployment] of [
    ['when the only instance is killed and started again on the same storage, then', () => restarted],
    ['when one of two instances is killed, then the other, never restarted,', () => survived],
  ] as const) {
    it(`${title} delivers every owed message and card update exactly once within two minutes, and people see the change`, async function () {
      const d = deployment();
      await d.delivered();
      if (d === survived) assert.equal(survivor.child.exitCode, null, 'the survivor ran throughout, never restarted');
      assert.equal(d.confirmations().length, 1, 'Tia is told her place is confirmed, once');
      assert.equal(d.notices().length, 1, "Ann is told Riverside Primary approved 'STEM Week', once");
      assert.equal(d.eventCardUpdates().length, 1, 'the TeachMeet card is updated once');
      assert.equal(d.proposalCardUpdates().length, 1, 'the proposal card is updated once');
      assert.match(cardText(adaptiveCardsOf(d.eventCardUpdates()[0]!.activity)[0]!), /1 of 2 left/, 'the TeachMeet card counts her place');
      assert.deepEqual(statusOfCard(schoolRows(adaptiveCardsOf(d.proposalCardUpdates()[0]!.activity)[0]!)), { 'Riverside Primary': 'Approved', 'Hillview High School': 'Pending' }, 'the proposal card shows the approval');
      const deadlines = said(await d.sim.say(d.cora, d.sim.personalChat(d.cora), 'deadlines'));
      assert.match(deadlines, /Approve 'STEM Week' for Hillview High School/, 'the coordinator still sees Hillview High School awaited');
      assert.doesNotMatch(deadlines, /for Riverside Primary/, '... and no longer Riverside Primary (the decision reached the deadline registry)');
      assert.match(said(await d.sim.say(d.tia, d.sim.personalChat(d.tia), 'my teachmeets')), /Spring TeachMeet: attending/, 'Tia has her place');
    });
  }
});

import assert from 'node:assert/strict';
import { odata } from '@azure/data-tables';
import { ManualClock } from '../../src/platform/clock';
import { SWAPS_TABLE } from '../../src/swaps/store';
import { actionTitles, adaptiveCardsOf, cardText } from '../support/cardActions';
import { answered } from '../support/said';
import { lastMatching, MATHS, matchesOfSchool, messagesMatching, offer, startWorld, type World } from './world';

/**
 * A swap change's effects survive the instance dying between the commit and the sends: the instance
 * commits the change (the person who acted is answered), then dies before it tells anyone, updates a
 * card or tells the deadline registry. Killed, not stopped: its outbox does nothing more. Another
 * instance (restarted, or already running) finds what is owed through the outbox's due-index and
 * delivers it once, within two minutes. A step after a send that meets a storage blip is done later;
 * an instance whose clock is behind another's still tells people in the order things happened.
 */

/** Hillside's offer: fits Oakfield's (3 school weeks in common). */
const HILL = { ...MATHS, trainee: 'Jo K.', hostSubjects: 'maths', from: '2026-01-19', to: '2026-02-13' };

describe("swaps: a crash, a storage blip or another instance's clock between the commit and the sends", function () {
  this.timeout(60_000);
  let w: World;

  beforeEach(async function () {
    w = await startWorld();
  });

  afterEach(async function () {
    await w.stop();
  });

  /** Oakfield and Hillside have offered and been proposed to each other: the match. */
  async function proposed() {
    await offer(w, w.ann);
    await offer(w, w.ben, HILL);
    const [m] = (await matchesOfSchool(w, w.schools.hill)).map((x) => x.match);
    return m!;
  }

  /** Both schools have offered and Oakfield has accepted: Ben has the card asking Hillside to accept too. */
  async function waitingOnHillside(): Promise<{ matchId: string; waitingCard: string }> {
    const m = await proposed();
    const accepted = await w.sim.execute(w.ann, w.chat(w.ann), 'swap.accept', { matchId: m.id, schoolId: w.schools.oak });
    assert.match(answered(accepted), /You've accepted for Oakfield Academy/);
    const waiting = lastMatching(w.sim, w.chat(w.ben), /Oakfield Academy has accepted \(Ann Hughes\)/);
    return { matchId: m.id, waitingCard: waiting.activityId };
  }

  /** The instance commits Ben's accept, which agrees the swap, and dies before it sends anything. */
  async function agreedThenDied(matchId: string): Promise<void> {
    w.dieAfterCommit();
    const agreed = await w.sim.execute(w.ben, w.chat(w.ben), 'swap.accept', { matchId, schoolId: w.schools.hill });
    assert.match(answered(agreed), /The swap is agreed: both (Oakfield Academy and Hillside High|Hillside High and Oakfield Academy) have accepted/, 'Ben is answered: the agreement is committed');
  }

  const agreedNotices = (who: 'ann' | 'cora') => messagesMatching(w.sim, w.chat(w[who]), /Placement swap agreed/).length;
  const cardUpdates = (activityId: string) => w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === activityId);
  const answerDeadline = async (matchId: string, schoolId: string) => (await w.bot.together.deadlines.get(`swap:answer:${matchId}:${schoolId}`))?.status;

  it('when the instance dies right after committing the accept that agrees a swap, then after a restart Oakfield, the coordinator, the card waiting on Hillside and the deadline registry all hear of it once, within two minutes', async function () {
    const { matchId, waitingCard } = await waitingOnHillside();
    await agreedThenDied(matchId);
    assert.equal(agreedNotices('ann'), 0, 'nothing was sent before it died');
    assert.equal(agreedNotices('cora'), 0);
    assert.equal(cardUpdates(waitingCard).length, 0);
    assert.equal(await answerDeadline(matchId, w.schools.hill), 'open', 'the registry has not heard yet');

    await w.crashed();
    await w.later(61_000);

    assert.equal(agreedNotices('ann'), 1, 'Oakfield is told once');
    assert.match(cardText(adaptiveCardsOf(lastMatching(w.sim, w.chat(w.ann), /Placement swap agreed/).activity)[0]!), /Oakfield Academy hosts 1 secondary Maths trainee \(Jo K\.\) from Hillside High\./);
    assert.equal(agreedNotices('cora'), 1, 'the coordinator is told once');
    assert.equal(messagesMatching(w.sim, w.chat(w.ben), /Placement swap agreed/).length, 0, 'Ben saw it in the answer to his click');
    const updates = cardUpdates(waitingCard);
    assert.equal(updates.length, 1, "the card asking Hillside to accept was updated once");
    const card = adaptiveCardsOf(updates[0]!.activity)[0]!;
    assert.match(cardText(card), /already agreed/);
    assert.ok(!actionTitles(card).includes('Accept'), 'no live Accept is left behind');
    assert.equal(await answerDeadline(matchId, w.schools.hill), 'completed', 'the deadline sync survived the crash');

    // Later ticks find nothing more to send: nobody is told twice.
    await w.later(120_000);
    assert.deepEqual([agreedNotices('ann'), agreedNotices('cora'), cardUpdates(waitingCard).length], [1, 1, 1]);
  });

  it('when one of two instances dies right after committing the accept that agrees a swap, then the other delivers without any restart', async function () {
    const survivor = await w.secondInstance();
    const { matchId, waitingCard } = await waitingOnHillside();
    await agreedThenDied(matchId);
    assert.deepEqual([agreedNotices('ann'), agreedNotices('cora'), cardUpdates(waitingCard).length], [0, 0, 0], 'nothing was sent before it died');
    await w.crashed(false);
    await w.later(61_000, [survivor]);
    assert.deepEqual([agreedNotices('ann'), agreedNotices('cora'), cardUpdates(waitingCard).length], [1, 1, 1]);
    assert.equal((await survivor.together.deadlines.get(`swap:answer:${matchId}:${w.schools.hill}`))?.status, 'completed');
  });

  it('when the instance dies right after committing an offer that is matched, then after a restart both schools get the proposal once and the registry waits on both', async function () {
    await offer(w, w.ann);
    w.dieAfterCommit();
    const second = await offer(w, w.ben, HILL);
    assert.match(answered(second), /I've found a match with Oakfield Academy and sent the proposal to both schools' reps/);
    const proposals = () => [messagesMatching(w.sim, w.chat(w.ann), /Placement swap: Oakfield Academy ⇄ Hillside High/).length, messagesMatching(w.sim, w.chat(w.ben), /Placement swap: Hillside High ⇄ Oakfield Academy/).length];
    assert.deepEqual(proposals(), [0, 0], 'nothing was sent before it died');
    const [m] = (await matchesOfSchool(w, w.schools.hill)).map((x) => x.match);
    assert.equal(await answerDeadline(m!.id, w.schools.oak), undefined);

    await w.crashed();
    await w.later(61_000);
    assert.deepEqual(proposals(), [1, 1], 'each school gets the proposal once');
    const annCard = adaptiveCardsOf(lastMatching(w.sim, w.chat(w.ann), /Placement swap: Oakfield Academy ⇄ Hillside High/).activity)[0]!;
    assert.match(cardText(annCard), /I've found a swap for Oakfield Academy's offer\. Please accept or decline by Fri 9 Jan 2026\./);
    assert.ok(actionTitles(annCard).includes('Accept'));
    assert.deepEqual([await answerDeadline(m!.id, w.schools.oak), await answerDeadline(m!.id, w.schools.hill)], ['open', 'open']);

    await w.later(120_000);
    assert.deepEqual(proposals(), [1, 1], 'nobody is told twice');
  });

  it('when a proposal can never reach a rep (she removed the bot), then it is kept as failed, not sent again, and purged after a year while the swap stays', async function () {
    await offer(w, w.ann);
    await w.sim.uninstall(w.ann, w.chat(w.ann));
    assert.match(answered(await offer(w, w.ben, HILL)), /I've found a match with Oakfield Academy/);
    const failed = async () => {
      const keys: string[] = [];
      const filter = odata`PartitionKey eq 'swaps' and RowKey ge 'out|' and RowKey lt 'out}' and state eq 'failed'`;
      for await (const row of w.bot.together.tables.client(SWAPS_TABLE).listEntities({ queryOptions: { filter } })) keys.push(String(row.rowKey));
      return keys;
    };
    const [row] = await failed();
    assert.ok(row, 'the proposal that could not reach Ann is recorded as failed');
    const [m] = (await matchesOfSchool(w, w.schools.hill)).map((x) => x.match);
    assert.equal(messagesMatching(w.sim, w.chat(w.ben), /Placement swap: Hillside High ⇄ Oakfield Academy/).length, 1, 'Ben has his');
    await w.later(61_000);
    assert.deepEqual(await failed(), [row], 'a failed message is not tried again');

    w.clock.set('2026-10-01T10:00:00Z');
    await w.bot.together.scheduler.tick();
    assert.ok((await failed()).includes(row), 'in 2026/27 the 2025/26 failure is still within one academic year');
    w.clock.set('2027-10-01T10:00:00Z');
    await w.bot.together.scheduler.tick();
    assert.ok(!(await failed()).includes(row), 'in 2027/28 it is gone');
    assert.ok(await w.store.match(m!.id), 'the proposed swap is a programme record: still there');
  });

  it('when one of two instances dies right after committing an offer that is matched, then the other sends the proposal without any restart', async function () {
    const survivor = await w.secondInstance();
    await offer(w, w.ann);
    w.dieAfterCommit();
    await offer(w, w.ben, HILL);
    assert.equal(messagesMatching(w.sim, w.chat(w.ann), /Placement swap: Oakfield Academy ⇄ Hillside High/).length, 0, 'nothing was sent before it died');
    await w.crashed(false);
    await w.later(61_000, [survivor]);
    assert.equal(messagesMatching(w.sim, w.chat(w.ann), /Placement swap: Oakfield Academy ⇄ Hillside High/).length, 1);
    assert.equal(messagesMatching(w.sim, w.chat(w.ben), /Placement swap: Hillside High ⇄ Oakfield Academy/).length, 1);
  });

  it('when remembering the card that asks Hillside to accept fails the first time (storage busy), then Ben gets the card once and it is still closed when the swap is agreed', async function () {
    const m = await proposed();
    // The Swaps table answers 503 once, to the write that remembers where the card went.
    const client = w.bot.together.tables.client(SWAPS_TABLE);
    const submit = client.submitTransaction.bind(client);
    let blips = 0;
    client.submitTransaction = async (actions) => {
      const remembers = actions.some(([, entity]) => typeof entity.waitingCards === 'string' && entity.waitingCards !== '[]');
      if (remembers && blips === 0) {
        blips += 1;
        throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
      }
      return submit(actions);
    };
    const accepted = await w.sim.execute(w.ann, w.chat(w.ann), 'swap.accept', { matchId: m.id, schoolId: w.schools.oak });
    assert.match(answered(accepted), /You've accepted for Oakfield Academy/);
    assert.equal(blips, 1, 'the first try to remember the card met the blip');
    const asking = () => messagesMatching(w.sim, w.chat(w.ben), /Oakfield Academy has accepted \(Ann Hughes\)/);
    assert.equal(asking().length, 1, 'Ben has the card asking Hillside to accept');
    const waitingCard = asking()[0]!.activityId;

    await w.later(61_000);
    const agreed = await w.sim.execute(w.ben, w.chat(w.ben), 'swap.accept', { matchId: m.id, schoolId: w.schools.hill });
    assert.match(answered(agreed), /The swap is agreed/);
    await w.later(61_000);

    assert.equal(asking().length, 1, 'the card was not sent again');
    const updates = w.sim.sent.filter((s) => s.method === 'PUT' && s.activityId === waitingCard);
    assert.equal(updates.length, 1, 'the card asking Hillside to accept was updated once');
    const card = adaptiveCardsOf(updates[0]!.activity)[0]!;
    assert.match(cardText(card), /already agreed/);
    assert.ok(!actionTitles(card).includes('Accept'), 'no live Accept is left behind');
  });

  it('when a change on an instance whose clock is behind follows one on another instance, then a rep told of both hears them in the order they happened', async function () {
    const m = await proposed();
    // The second instance runs on a machine whose clock is five seconds behind the first's.
    const behind = await w.secondInstance(new ManualClock(new Date(w.clock.now().getTime() - 5_000)));
    // Ann accepts on the first instance, which commits (Ben is to get the card asking Hillside to accept) and sends nothing yet.
    w.dieAfterCommit();
    assert.match(answered(await w.sim.execute(w.ann, w.chat(w.ann), 'swap.accept', { matchId: m.id, schoolId: w.schools.oak })), /You've accepted for Oakfield Academy/);
    // A moment later she withdraws Oakfield's offer, and the second instance answers her.
    w.sim.botEndpoint = behind.url;
    const oakOffer = (await w.store.currentOffers()).find((o) => o.offer.schoolId === w.schools.oak)!.offer;
    assert.match(answered(await w.sim.execute(w.ann, w.chat(w.ann), 'swap.withdraw', { offerId: oakOffer.id })), /The proposed swap with Hillside High is off/);
    await behind.together.outbox.settle();

    // New messages in Ben's chat (the card asking him to accept is then closed in place, as it should be).
    const heard = messagesMatching(w.sim, w.chat(w.ben), /Oakfield Academy has accepted \(Ann Hughes\)|Oakfield Academy withdrew its offer/)
      .filter((s) => s.method === 'POST')
      .map((s) => (/Oakfield Academy has accepted/.test(JSON.stringify(s.activity)) ? 'accepted' : 'withdrew'));
    assert.deepEqual(heard, ['accepted', 'withdrew'], 'Ben hears that Oakfield accepted, then that it withdrew');
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/platform/logging';
import type { Proactive } from '../../src/platform/proactive';
import { Outbox } from '../../src/platform/outbox/outbox';
import { Timers } from '../../src/platform/timers';
import { swapRoutes } from '../../src/swaps/routes';
import { SwapService } from '../../src/swaps/service';
import { hold, overlapOf, proposal } from '../../src/swaps/rules';
import { SwapChange } from '../../src/swaps/store';
import { actionTitles, adaptiveCardsOf, cardText, invokeResponseCard } from '../support/cardActions';
import { answered } from '../support/said';
import { lastMatching, MATHS, matchesOfSchool, messagesMatching, offer, said, startWorld, texts, type World } from './world';

/** Placement swaps through the wire: reps offer from a card, both schools get the proposal, accept or decline. */

/** Hillside's offer: fits Oakfield's, 19 Jan – 13 Feb (3 school weeks in common with Oakfield's). */
const HILL = { ...MATHS, trainee: 'Jo K.', hostSubjects: 'maths', from: '2026-01-19', to: '2026-02-13' };
/** Castle's offer: fits Oakfield's (and Hillside's), 12 Jan – 30 Jan (3 school weeks with Oakfield's). */
const CASTLE = { ...MATHS, trainee: 'Lee R.', hostSubjects: 'Mathematics', from: '2026-01-12', to: '2026-01-30' };

describe('placement swaps through the wire', function () {
  let w: World;

  beforeEach(async function () {
    w = await startWorld();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when two schools offer swaps that fit, then both reps get the proposal; when both accept, the swap is agreed and both schools and the coordinators are told', async function () {
    const { sim, ann, ben, cora } = w;
    const first = await offer(w, ann);
    assert.match(said(first), /Your offer is saved/);
    assert.match(said(first), /No match yet: No school offers to host secondary Maths in weeks 12 Jan – 6 Feb 2026\./);
    assert.match(said(first), /confirm-by date \(Fri 9 Jan 2026\)/);

    const second = await offer(w, ben, HILL);
    assert.match(said(second), /I've found a match with Oakfield Academy and sent the proposal to both schools' reps/);

    const annProposal = lastMatching(sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄ Hillside High/);
    const benProposal = lastMatching(sim, w.chat(ben), /Placement swap: Hillside High ⇄ Oakfield Academy/);
    for (const card of [annProposal, benProposal]) {
      const text = cardText(adaptiveCardsOf(card.activity)[0]!);
      assert.match(text, /19 Jan – 6 Feb 2026 \(3 school weeks\)/, 'the overlapping weeks');
      assert.match(text, /Fri 9 Jan 2026/, 'the answer-by date');
      assert.match(text, /1 secondary Maths trainee \(Sam P\.\)/, "Oakfield's offer");
      assert.match(text, /1 secondary Maths trainee \(Jo K\.\)/, "Hillside's offer, side by side");
    }

    const accepted = await sim.click(ann, w.chat(ann), annProposal, 'Accept');
    assert.equal(accepted.status, 200);
    assert.match(said(accepted), /You've accepted for Oakfield Academy\. The swap is agreed as soon as Hillside High accepts too/);
    assert.match(texts(sim, w.chat(ben)).at(-1)!, /Oakfield Academy has accepted \(Ann Hughes\)/, 'Hillside hears that Oakfield said yes');

    const agreed = await sim.click(ben, w.chat(ben), benProposal, 'Accept');
    assert.match(said(agreed), /The swap is agreed: both (Oakfield Academy and Hillside High|Hillside High and Oakfield Academy) have accepted/);
    const annTold = cardText(adaptiveCardsOf(lastMatching(sim, w.chat(ann), /Placement swap agreed/).activity)[0]!);
    assert.match(annTold, /Oakfield Academy hosts 1 secondary Maths trainee \(Jo K\.\) from Hillside High\./);
    assert.match(annTold, /Hillside High hosts 1 secondary Maths trainee \(Sam P\.\) from Oakfield Academy\./);
    assert.equal(messagesMatching(sim, w.chat(cora), /Placement swap agreed/).length, 1, 'the coordinator is told once');
    assert.equal(messagesMatching(sim, w.chat(ben), /Placement swap agreed/).length, 0, 'Ben saw it in the answer to his click');

    const again = await sim.click(ben, w.chat(ben), benProposal, 'Accept');
    assert.match(said(again), /already agreed/);
    assert.equal(messagesMatching(sim, w.chat(ann), /Placement swap agreed/).length, 1, 'a repeated click tells nobody again');

    const board = said(await sim.say(ann, w.chat(ann), 'swaps'));
    assert.ok(board.indexOf('Your school: Oakfield Academy') < board.indexOf("Other schools' open offers"), 'the rep sees their school first');
    assert.match(board, /Oakfield Academy ⇄ Hillside High: agreed/);
    assert.match(board, /No other school has an open offer\./);
    const history = await w.store.history();
    assert.equal(history.length, 1, 'the swap is kept in the history');
  });

  it('when a rep opens the board with their own offer open and their own swap agreed, then no section says it is empty above what it leaves out, and the other sections say they are about other schools', async function () {
    const { sim, ann, ben, cal } = w;
    await offer(w, cal, { ...MATHS, trainee: 'Lee R.', sendSubject: 'History', hostSubjects: 'History', from: '2026-03-02', to: '2026-03-27', confirmBy: '2026-02-27' });
    const open = said(await sim.say(cal, w.chat(cal), 'swaps'));
    assert.match(open, /Castle School offers 1 secondary History trainee/);
    assert.doesNotMatch(open, /No open offers\./, 'the board does not say there are no open offers under Castle School\'s own');
    assert.match(open, /Other schools' open offers\nNo other school has an open offer\./);

    await offer(w, ann);
    await offer(w, ben, HILL);
    await sim.click(ann, w.chat(ann), lastMatching(sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄ Hillside High/), 'Accept');
    await sim.click(ben, w.chat(ben), lastMatching(sim, w.chat(ben), /Placement swap: Hillside High ⇄ Oakfield Academy/), 'Accept');
    const board = said(await sim.say(ann, w.chat(ann), 'swaps'));
    assert.match(board, /Oakfield Academy ⇄ Hillside High: agreed/);
    assert.doesNotMatch(board, /No agreed swaps coming up\./, 'the board does not say there are no agreed swaps under Oakfield Academy\'s own');
    assert.match(board, /Other schools' agreed swaps\nNo other school has an agreed swap coming up\./);
    assert.match(board, /Other schools' open offers\nCastle School offers 1 secondary History trainee/);
    const coordinator = said(await sim.say(w.cora, w.chat(w.cora), 'swaps'));
    assert.match(coordinator, /Agreed swaps\n(Oakfield Academy ⇄ Hillside High|Hillside High ⇄ Oakfield Academy): agreed/, `a coordinator with no school sees every school in one list: ${coordinator}`);
  });

  it('when a school declines, then both offers are freed, the other school is told why, and matching moves on to the next candidate without proposing the pair again', async function () {
    const { sim, ann, ben, cal } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    const castle = await offer(w, cal, CASTLE);
    assert.match(said(castle), /No match yet: Hillside High and Oakfield Academy have offers that fit, but they are waiting on another proposal\. I'll propose a swap as soon as/);

    const benProposal = lastMatching(sim, w.chat(ben), /Placement swap: Hillside High ⇄ Oakfield Academy/);
    const declined = await sim.click(ben, w.chat(ben), benProposal, 'Decline the swap', { reason: 'Our maths mentor is away that term' });
    assert.equal(declined.status, 200);
    assert.match(said(declined), /You declined the swap with Oakfield Academy\. I've told their reps\./);
    assert.match(said(declined), /Your offer is open again\. No match yet: Castle School has an offer that fits, but it is waiting on another proposal/);

    const annNext = lastMatching(sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄ Castle School/);
    assert.ok(annNext, 'Oakfield is proposed the next candidate, Castle School');
    lastMatching(sim, w.chat(cal), /Placement swap: Castle School ⇄ Oakfield Academy/);
    assert.match(texts(sim, w.chat(ann)).join('\n'), /Hillside High declined the swap with Oakfield Academy, saying: "Our maths mentor is away that term"/);

    // Oakfield declines Castle too: Oakfield's offer has no one left it has not been proposed with; Castle and Hillside now meet.
    const second = await sim.click(ann, w.chat(ann), annNext, 'Decline the swap', { reason: 'Dates do not suit our timetable' });
    assert.match(said(second), /Your offer is open again\. No match yet: The only offers that fit yours \(from (Hillside High and Castle School|Castle School and Hillside High)\) were proposed to you before, so I won't propose them again\./);
    lastMatching(sim, w.chat(cal), /Placement swap: Castle School ⇄ Hillside High/);
    lastMatching(sim, w.chat(ben), /Placement swap: Hillside High ⇄ Castle School/);
    assert.equal(messagesMatching(sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄ Hillside High/).length, 1, 'the declined pair was proposed once only');

    const registry = w.bot.together.deadlines;
    const firstMatch = benProposal.activity.attachments[0].content.actions.find((a: { verb?: string }) => a.verb === 'swap.accept').data.matchId as string;
    assert.deepEqual(
      [(await registry.get(`swap:answer:${firstMatch}:${w.schools.hill}`))?.status, (await registry.get(`swap:answer:${firstMatch}:${w.schools.oak}`))?.status],
      ['completed', 'cancelled'],
      'the decliner answered; the other school no longer needs to',
    );
    const stale = await sim.click(ben, w.chat(ben), benProposal, 'Accept');
    assert.match(said(stale), /This proposal is no longer open: Ben Carter of Hillside High declined it\./);
  });

  it('when a rep clicks Accept on two proposals that share one offer at the same moment, then exactly one swap is agreed and the other proposal lapses', async function () {
    const { sim, ann, ben, cal, cora, store, schools } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    await offer(w, cal, CASTLE);
    const [m1] = (await matchesOfSchool(w, schools.hill)).map((m) => m.match);
    assert.ok(m1 && m1.status === 'proposed');
    // A second proposal holding Oakfield's offer, as a second instance that missed the first might have
    // written it: the agreement itself must still never put one offer in two swaps.
    const oak = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.oak)!;
    const castle = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.castle)!;
    const a = { ...oak.offer };
    const c = { ...castle.offer };
    const m2 = proposal(SwapService.matchId(a.id, c.id), a, c, overlapOf(a, c)!, w.clock.now());
    hold(m2, a, c, w.clock.now());
    await store.commit(new SwapChange().updateOffer(a, oak.etag).updateOffer(c, castle.etag).createMatch(m2));

    assert.match(said(await sim.execute(ben, w.chat(ben), 'swap.accept', { matchId: m1.id, schoolId: schools.hill })), /You've accepted for Hillside High/);
    assert.match(said(await sim.execute(cal, w.chat(cal), 'swap.accept', { matchId: m2.id, schoolId: schools.castle })), /You've accepted for Castle School/);

    const [r1, r2] = await Promise.all([
      sim.execute(ann, w.chat(ann), 'swap.accept', { matchId: m1.id, schoolId: schools.oak }),
      sim.execute(cora, w.chat(cora), 'swap.accept', { matchId: m2.id, schoolId: schools.oak }),
    ]);
    assert.deepEqual([r1.status, r2.status], [200, 200]);
    const answers = [said(r1), said(r2)];
    assert.equal(answers.filter((t) => /The swap is agreed:/.test(t)).length, 1, answers.join('\n----\n'));
    assert.equal(answers.filter((t) => /no longer open: Oakfield Academy's offer has been agreed in another swap/.test(t)).length, 1, answers.join('\n----\n'));

    const after = await Promise.all([store.match(m1.id), store.match(m2.id)]);
    assert.deepEqual(after.map((m) => m!.match.status).sort(), ['agreed', 'lapsed']);
    const winner = after.find((m) => m!.match.status === 'agreed')!.match;
    const oakNow = (await store.offer(oak.offer.id))!.offer;
    assert.deepEqual([oakNow.status, oakNow.matchId], ['agreed', winner.id]);
    assert.equal((await store.history()).length, 1, 'one swap in the history');
    const loser = after.find((m) => m!.match.status === 'lapsed')!.match;
    const partner = (await store.offer(loser.offerIds.find((id) => id !== oak.offer.id)!))!.offer;
    assert.equal(partner.status, 'open', "the other school's offer is open again");
    assert.match(texts(sim, w.chat(partner.schoolId === schools.hill ? ben : cal)).at(-1)!, /Oakfield Academy's offer has been agreed in another swap/);
  });

  it('when both schools accept the same proposal at the same moment, then it is agreed once', async function () {
    const { sim, ann, ben, store, schools } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    const [ra, rb] = await Promise.all([sim.execute(ann, w.chat(ann), 'swap.accept', { matchId: m!.id, schoolId: schools.oak }), sim.execute(ben, w.chat(ben), 'swap.accept', { matchId: m!.id, schoolId: schools.hill })]);
    assert.equal([said(ra), said(rb)].filter((t) => /The swap is agreed:/.test(t)).length, 1, `${said(ra)}\n---\n${said(rb)}`);
    assert.equal((await store.match(m!.id))!.match.status, 'agreed');
    assert.equal((await store.history()).length, 1);
  });

  it('when both schools accept the same proposal at the same moment, then whoever completed it is answered "agreed", each school is told once, and nobody is left with a card asking them to accept', async function () {
    const { sim, ann, ben, schools } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    const before = { ann: sim.transcript(w.chat(ann)).length, ben: sim.transcript(w.chat(ben)).length };
    const [ra, rb] = await Promise.all([sim.execute(ann, w.chat(ann), 'swap.accept', { matchId: m!.id, schoolId: schools.oak }), sim.execute(ben, w.chat(ben), 'swap.accept', { matchId: m!.id, schoolId: schools.hill })]);
    assert.ok([ra, rb].some((r) => /The swap is agreed:|so the swap is agreed\./.test(answered(r))), `whoever completed the swap is answered that it is agreed:\n${answered(ra)}\n---\n${answered(rb)}`);
    for (const [who, result, start] of [
      [ann, ra, before.ann],
      [ben, rb, before.ben],
    ] as const) {
      const answer = answered(result);
      const since = sim.transcript(w.chat(who)).slice(start);
      const notices = since.filter((e) => adaptiveCardsOf(e.activity).some((c) => /Placement swap agreed/.test(cardText(c))));
      const toldInAnswer = /The swap is agreed:/.test(answer) ? 1 : 0;
      assert.equal(toldInAnswer + notices.length, 1, `${who.name} is told once that the swap is agreed; answer: ${answer}; then: ${since.map((e) => adaptiveCardsOf(e.activity).map((c) => cardText(c)).join(' ')).join('\n---\n')}`);
      for (const e of since) {
        for (const card of adaptiveCardsOf(e.activity)) {
          assert.doesNotMatch(cardText(card), /as soon as .* accepts too/, `${who.name} is not asked to accept an agreed swap`);
          assert.ok(!actionTitles(card).includes('Accept'), `${who.name} has no live Accept button after the swap is agreed: ${cardText(card)}`);
        }
      }
    }
  });

  it('when two schools offer at the same moment and both fit one open offer, then that offer is in exactly one proposal and the other is told why', async function () {
    const { sim, ann, ben, cal, store, schools } = w;
    await offer(w, ann);
    const [hill, castle] = await Promise.all([offer(w, ben, HILL), offer(w, cal, CASTLE)]);
    const oak = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.oak)!;
    const proposals = (await store.matchesOf(oak.offer.id)).filter((m) => m.match.status === 'proposed');
    assert.ok(proposals.length <= 1, 'at most one proposal holds Oakfield');
    assert.ok([said(hill), said(castle)].every((t) => /Your offer is saved/.test(t)));
    // Whatever the interleaving, no offer is held by two proposals, and every held offer points at its proposal.
    const live = (await store.currentOffers()).map((o) => o.offer);
    for (const o of live) {
      const holding = (await store.matchesOf(o.id)).filter((x) => x.match.status === 'proposed');
      assert.ok(holding.length <= 1, `${o.schoolName}'s offer is in ${holding.length} proposals`);
      if (o.status === 'proposed') assert.equal(holding[0]?.match.id, o.matchId);
      else assert.equal(holding.length, 0);
    }
    assert.equal(messagesMatching(sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄/).length, proposals.length, 'Ann gets a proposal only if Oakfield is in one');
  });

  it('when a proposal waits on a school and an offer is open, then the deadlines for nudges list them with who should act and by when', async function () {
    const { bot, ann, ben, cal, sim, schools, clock } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    await offer(w, cal, { ...MATHS, sendSubject: 'Music', hostSubjects: 'Music', confirmBy: '2025-12-05' });
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    await sim.execute(ann, w.chat(ann), 'swap.accept', { matchId: m!.id, schoolId: schools.oak });
    const registry = bot.together.deadlines;
    const answerHill = await registry.get(`swap:answer:${m!.id}:${schools.hill}`);
    assert.deepEqual([answerHill?.status, answerHill?.who, answerHill?.essential, answerHill?.dueAt.toISOString()], ['open', { kind: 'schoolReps', schoolId: schools.hill }, true, '2026-01-10T00:00:00.000Z']);
    assert.equal(answerHill?.what, 'Answer the placement swap proposal with Oakfield Academy');
    assert.deepEqual(answerHill?.actions.map((a) => a.verb), ['swap.show', 'swap.accept']);
    assert.equal((await registry.get(`swap:answer:${m!.id}:${schools.oak}`))?.status, 'completed', 'Oakfield has answered');
    const castleOffer = (await w.store.currentOffers()).find((o) => o.offer.schoolId === schools.castle)!.offer;
    const reminder = await registry.get(`swap:offer:${castleOffer.id}`);
    assert.deepEqual([reminder?.status, reminder?.kind, reminder?.essential], ['open', 'reminder', false]);
    const oakOffer = (await w.store.currentOffers()).find((o) => o.offer.schoolId === schools.oak)!.offer;
    assert.equal((await registry.get(`swap:offer:${oakOffer.id}`))?.status, 'completed', 'a proposed offer needs no confirm-by reminder');
    const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
    const timers = new Timers(bot.together.tables, logger);
    const outbox = new Outbox({ tables: bot.together.tables, timers, proactive: {} as Proactive, conversations: bot.together.conversations, deadlines: bot.together.deadlines, clock, logger });
    const routes = swapRoutes({ tables: bot.together.tables, directory: bot.together.directory, conversations: bot.together.conversations, outbox, timers, clock, logger, partnershipName: 'Riverside Schools Together' });
    const deadlines = await routes.deadlines();
    assert.deepEqual(
      deadlines.map((d) => [d.kind, d.schoolId, d.dueAt.toISOString(), d.what, d.reps.map((r) => [r.name, r.teamsId])]),
      [
        ['swap.confirmBy', schools.castle, '2025-12-06T00:00:00.000Z', 'Your placement swap offer (secondary Music, 12 Jan – 6 Feb 2026) has no match yet and expires at the end of Fri 5 Dec', [['Cal Moss', cal.id]]],
        ['swap.answer', schools.hill, '2026-01-10T00:00:00.000Z', 'Answer the placement swap proposal with Oakfield Academy by Fri 9 Jan 2026', [['Ben Carter', ben.id]]],
      ],
    );
  });

  it('when a coordinator opens the board, then they can answer for either school of a proposal', async function () {
    const { sim, ann, ben, cora, store, schools } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    const board = await sim.say(cora, w.chat(cora), 'swaps');
    const boardSent = board.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const text = cardText(adaptiveCardsOf(boardSent.activity)[0]!);
    assert.match(text, /Proposed swaps/);
    const shown = await sim.click(cora, w.chat(cora), boardSent, 'Answer for Hillside High');
    assert.match(said(shown), /Placement swap: Hillside High ⇄ Oakfield Academy/);
    const accepted = await sim.click(cora, w.chat(cora), invokeResponseCard(shown.body)!, 'Accept', {}, { replyToId: boardSent.activityId });
    assert.match(said(accepted), /You've accepted for Hillside High/);
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    assert.equal((await store.match(m!.id))!.match.answers.filter(Boolean)[0]!.by, 'Cora Whitfield');
    const teacherBoard = said(await sim.say(w.tia, w.chat(w.tia), 'swaps'));
    assert.match(teacherBoard, /Your school reps offer and agree swaps\./);
  });

  it('when people without the role try to offer, answer, withdraw or cancel for a school, then they are refused and nothing changes', async function () {
    const { sim, ann, ben, cal, tia, store, schools } = w;
    const teacher = await sim.say(tia, w.chat(tia), 'swap offer');
    assert.match(said(teacher), /Only school reps and coordinators can use `swap offer`\. Your coordinators: Cora Whitfield\./);

    await offer(w, ann);
    await offer(w, ben, HILL);
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    const before = JSON.stringify((await store.match(m!.id))!.match);

    const byTeacher = await sim.execute(tia, w.chat(tia), 'swap.accept', { matchId: m!.id, schoolId: schools.oak });
    assert.match(said(byTeacher), /Only school reps and coordinators can use that/);
    const forOtherSchool = await sim.execute(cal, w.chat(cal), 'swap.accept', { matchId: m!.id, schoolId: schools.oak });
    assert.match(said(forOtherSchool), /Only a rep of Oakfield Academy or a coordinator can act for Oakfield Academy\. Nothing was changed\./);
    const declineForOther = await sim.execute(cal, w.chat(cal), 'swap.decline', { matchId: m!.id, schoolId: schools.hill, reason: 'Not for us' });
    assert.match(said(declineForOther), /Only a rep of Hillside High or a coordinator can act for Hillside High/);
    const notInSwap = await sim.execute(cal, w.chat(cal), 'swap.accept', { matchId: m!.id, schoolId: schools.castle });
    assert.match(said(notInSwap), /That swap is between (Oakfield Academy and Hillside High|Hillside High and Oakfield Academy); the card asked about another school, so nothing was changed\./);
    assert.equal(JSON.stringify((await store.match(m!.id))!.match), before, 'the proposal is unchanged');

    const oakOffer = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.oak)!.offer;
    const withdrawOther = await sim.execute(ben, w.chat(ben), 'swap.withdraw', { offerId: oakOffer.id });
    assert.match(said(withdrawOther), /Only a rep of Oakfield Academy or a coordinator can withdraw its offer\./);
    assert.equal((await store.offer(oakOffer.id))!.offer.status, 'proposed');

    await sim.execute(ann, w.chat(ann), 'swap.accept', { matchId: m!.id, schoolId: schools.oak });
    await sim.execute(ben, w.chat(ben), 'swap.accept', { matchId: m!.id, schoolId: schools.hill });
    const cancelOther = await sim.execute(cal, w.chat(cal), 'swap.cancel', { matchId: m!.id, schoolId: schools.oak, reason: 'Mischief' });
    assert.match(said(cancelOther), /Only a rep of Oakfield Academy or a coordinator can act for Oakfield Academy/);
    const formOther = await sim.execute(cal, w.chat(cal), 'swap.cancelForm', { matchId: m!.id, schoolId: schools.hill });
    assert.match(said(formOther), /Only a rep of (Oakfield Academy or Hillside High|Hillside High or Oakfield Academy), or a coordinator, can cancel this swap\./);
    assert.equal((await store.match(m!.id))!.match.status, 'agreed');

    const tampered = await sim.execute(ann, w.chat(ann), 'swap.submit', { ...MATHS, sendPhase: 'secondary', hostPhase: 'secondary', school: schools.hill });
    assert.match(said(tampered), /You can make offers for your own school \(Oakfield Academy\) only\. Nothing was saved\./);
    assert.equal((await store.currentOffers()).filter((o) => o.offer.schoolId === schools.hill).length, 1, 'no offer made for Hillside');
  });

  it('when a coordinator offers, then they choose the school, and the offer is for that school', async function () {
    const { sim, cora, schools, store } = w;
    const form = await sim.say(cora, w.chat(cora), 'swap offer');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    assert.match(cardText(adaptiveCardsOf(formSent.activity)[0]!), /Castle School/);
    const made = await sim.click(cora, w.chat(cora), formSent, 'Send the offer', { ...MATHS, school: schools.castle });
    assert.match(said(made), /Your offer is saved/);
    const offers = (await store.currentOffers()).map((o) => o.offer);
    assert.deepEqual(offers.map((o) => o.schoolName), ['Castle School']);
  });

  it('when the input is bad (form problems, unknown or tampered ids, stale cards, a rep with no school, no reason), then the person is told clearly, nothing changes, and the answer is 200', async function () {
    const { sim, ann, ben, bot, store, schools } = w;
    const chat = w.chat(ann);
    const form = await sim.say(ann, chat, 'swap offer');
    const formSent = form.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const bad = await sim.click(ann, chat, formSent, 'Send the offer', { ...MATHS, sendSubject: ' ', sendCount: '0', trainee: 'Sam Patel', from: '2026-02-06', to: '2026-01-12' });
    assert.equal(bad.status, 200);
    const text = said(bad);
    assert.match(text, /Please check the fields marked below\. Nothing has been saved yet\./);
    assert.match(text, /Say which subject your trainee teaches/);
    assert.match(text, /A swap needs at least one trainee\./);
    assert.match(text, /first name and initial at most, e.g\. Sam P\./);
    assert.match(text, /The last date is before the first date\./);
    assert.match(text, /No pupil names or personal details, please\./);
    assert.match(JSON.stringify(invokeResponseCard(bad.body)), /Sam Patel/, 'the values typed are kept');
    const past = await sim.execute(ann, chat, 'swap.submit', { ...MATHS, sendPhase: 'secondary', hostPhase: 'secondary', from: '2025-11-01', confirmBy: '2025-10-30' });
    assert.match(said(past), /The first date is in the past\./);
    assert.match(said(past), /The confirm-by date is in the past\./);
    assert.equal((await store.currentOffers()).length, 0, 'nothing stored');

    const unknown = await sim.execute(ann, chat, 'swap.accept', { matchId: 'sm0000000000000000', schoolId: schools.oak });
    assert.match(said(unknown), /I can't find that swap\. It may have been removed/);
    const tampered = await sim.execute(ann, chat, 'swap.accept', { matchId: "sm1' or true", schoolId: schools.oak });
    assert.equal(tampered.status, 200);
    assert.match(said(tampered), /That card sent something I could not read, so nothing was changed/);
    const noId = await sim.execute(ann, chat, 'swap.withdraw', {});
    assert.match(said(noId), /could not read/);
    const unknownOffer = await sim.execute(ann, chat, 'swap.withdraw', { offerId: 'so0000000000000000' });
    assert.match(said(unknownOffer), /I can't find that swap/);

    await offer(w, ann);
    await offer(w, ben, HILL);
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    const noReason = await sim.execute(ben, w.chat(ben), 'swap.decline', { matchId: m!.id, schoolId: schools.hill, reason: '  ' });
    assert.match(said(noReason), /Say why, in a few words, so the other school knows\. Nothing was changed\./);
    assert.equal((await store.match(m!.id))!.match.status, 'proposed');
    const longReason = await sim.execute(ben, w.chat(ben), 'swap.decline', { matchId: m!.id, schoolId: schools.hill, reason: 'x'.repeat(5000) });
    assert.match(said(longReason), /could not read/);
    assert.equal((await store.match(m!.id))!.match.status, 'proposed');

    // A rep whose school is not set (the directory lost it): a clear message, no offer.
    await bot.together.directory.updatePerson(ben.aadObjectId, ben.name, () => ({ schoolId: undefined, isRep: true }));
    const noSchool = await sim.say(ben, w.chat(ben), 'swap offer');
    assert.match(said(noSchool), /I don't know your school, so I can't make an offer for it\. Ask a coordinator to `rep add` you/);
    const noSchoolSubmit = await sim.execute(ben, w.chat(ben), 'swap.submit', { ...MATHS, sendPhase: 'secondary', hostPhase: 'secondary' });
    assert.match(said(noSchoolSubmit), /I don't know your school/);
    const noSchoolAnswer = await sim.execute(ben, w.chat(ben), 'swap.accept', { matchId: m!.id, schoolId: schools.hill });
    assert.match(said(noSchoolAnswer), /Only a rep of Hillside High or a coordinator/);
    assert.equal((await store.currentOffers()).length, 2);
    assert.ok(bot.logs.every((l) => (l as { turn?: { outcome?: string } }).turn?.outcome !== 'error'), 'no turn failed');
  });

  it('when an offer is withdrawn while proposed, the other school is told and matched again; when an agreed swap is cancelled, the other school and the coordinators are told', async function () {
    const { sim, ann, ben, cal, cora, store, schools } = w;
    await offer(w, ann);
    await offer(w, ben, HILL);
    const castle = await offer(w, cal, CASTLE);
    const castleOffer = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.castle)!.offer;
    const withdrawn = await sim.click(cal, w.chat(cal), invokeResponseCard(castle.body)!, 'Withdraw', {}, { replyToId: 'x' });
    assert.match(said(withdrawn), /Castle School's offer \(secondary Maths, 12 Jan – 30 Jan 2026\) is withdrawn\./);
    assert.equal((await store.offer(castleOffer.id))!.offer.status, 'withdrawn');
    const again = await sim.execute(cal, w.chat(cal), 'swap.withdraw', { offerId: castleOffer.id });
    assert.match(said(again), /already withdrawn/);

    // Oakfield withdraws while proposed to Hillside: Hillside is told and its offer is open again.
    const oakOffer = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.oak)!.offer;
    const oakWithdrawn = await sim.execute(ann, w.chat(ann), 'swap.withdraw', { offerId: oakOffer.id });
    assert.match(said(oakWithdrawn), /The proposed swap with Hillside High is off; I've told their reps\./);
    assert.match(texts(sim, w.chat(ben)).at(-1)!, /Oakfield Academy withdrew its offer, so the proposed swap with you is off\. No match yet: No school offers to host secondary Maths/);
    const hillOffer = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.hill)!.offer;
    assert.equal(hillOffer.status, 'open');

    // A new Oakfield offer meets Hillside's; both accept; Ann cancels from her agreed notice.
    await offer(w, ann, { ...MATHS, from: '2026-01-19', to: '2026-02-13' });
    const annProposal = lastMatching(sim, w.chat(ann), /Placement swap: Oakfield Academy ⇄ Hillside High/);
    await sim.click(ben, w.chat(ben), lastMatching(sim, w.chat(ben), /Placement swap: Hillside High ⇄ Oakfield Academy/), 'Accept');
    await sim.click(ann, w.chat(ann), annProposal, 'Accept');
    const benAgreed = lastMatching(sim, w.chat(ben), /Placement swap agreed/);
    const form = await sim.click(ben, w.chat(ben), benAgreed, 'Cancel this swap…');
    assert.match(said(form), /Cancel the swap with Oakfield Academy\?/);
    const cancelled = await sim.click(ben, w.chat(ben), invokeResponseCard(form.body)!, 'Cancel the swap', { reason: 'Our trainee has paused their course' }, { replyToId: benAgreed.activityId });
    assert.match(said(cancelled), /The swap with Oakfield Academy is cancelled\. I've told their reps and the coordinators\./);
    assert.match(texts(sim, w.chat(ann)).at(-1)!, /Hillside High \(Ben Carter\) cancelled the placement swap with Oakfield Academy, saying: "Our trainee has paused their course"/);
    assert.match(texts(sim, w.chat(cora)).at(-1)!, /Hillside High cancelled the agreed swap/);
    const history = await store.history();
    assert.deepEqual(history.map((h) => h.cancelled), [true], 'the history keeps the swap, marked cancelled');
    const board = said(await sim.say(ann, w.chat(ann), 'swaps'));
    assert.doesNotMatch(board, /Oakfield Academy ⇄ Hillside High: agreed/);
    assert.match(board, /No agreed swaps coming up\.|Nothing for your school yet|Nothing yet/);
  });

  it('when offers reach their confirm-by date, then an unmatched one expires with the reason told again, and a proposal waiting on it lapses and frees the other offer', async function () {
    const { sim, ann, ben, cal, clock, bot, store, schools } = w;
    await offer(w, cal, { ...MATHS, sendSubject: 'Music', hostSubjects: 'Music', confirmBy: '2025-12-05' });
    await offer(w, ann);
    await offer(w, ben, { ...HILL, confirmBy: '2026-01-02' });
    const [m] = (await matchesOfSchool(w, schools.hill)).map((x) => x.match);
    assert.equal(m!.status, 'proposed');

    clock.set('2025-12-06T00:00:00Z');
    await bot.together.scheduler.tick();
    const calTold = texts(sim, w.chat(cal)).at(-1)!;
    assert.match(calTold, /Your placement swap offer has expired/);
    assert.match(calTold, /reached its confirm-by date \(Fri 5 Dec\) without a match, so it has expired\. No school offers to host secondary Music in weeks 12 Jan – 6 Feb 2026\./);

    clock.set('2026-01-03T00:00:00Z');
    await bot.together.scheduler.tick();
    assert.equal((await store.match(m!.id))!.match.status, 'lapsed');
    assert.match(texts(sim, w.chat(ben)).at(-1)!, /while the proposed swap with Oakfield Academy was still waiting for answers, so it has expired and the proposal has lapsed/);
    assert.match(texts(sim, w.chat(ann)).at(-1)!, /Hillside High's offer expired before both schools accepted, so the proposed swap with you has lapsed\. No match yet/);
    const oak = (await store.currentOffers()).find((o) => o.offer.schoolId === schools.oak)!.offer;
    assert.equal(oak.status, 'open');
    const late = await sim.execute(ann, w.chat(ann), 'swap.accept', { matchId: m!.id, schoolId: schools.oak });
    assert.match(said(late), /no longer open: Hillside High's offer reached its confirm-by date/);
    await bot.together.scheduler.tick();
    assert.equal(texts(sim, w.chat(cal)).filter((t) => /has expired/.test(t)).length, 1, 'told once, however often the scheduler ticks');
  });
});

import assert from 'node:assert/strict';
import { TABLES } from '../../src/index';
import { LogLimiter, PressLimiter } from '../../src/platform/rateLimit';
import { simulatorFor, startTestBot } from '../support/bot';
import { textOf } from '../support/said';
import type { SimUser, TurnResult } from '../support/simulator';
import { World } from '../teachmeets/world';

/**
 * One person sending hundreds of commands or clicks a second is told once to slow down, and what is
 * refused costs no storage; one sender's failures cannot fill the error log.
 */

const SLOW_DOWN = /You are sending me a lot very quickly/;

describe('Per-person limits', function () {
  describe('the rules', function () {
    it('when presses come faster than the allowance, then the burst is allowed, the rest refused, the sender told once a window, and the allowance refills', function () {
      let now = 0;
      const limiter = new PressLimiter({ burst: 3, perSecond: 2, tellEveryMs: 10_000 }, () => now);
      const seen = Array.from({ length: 6 }, () => limiter.take('ann'));
      assert.deepEqual(seen, [{ allowed: true }, { allowed: true }, { allowed: true }, { allowed: false, tell: true }, { allowed: false, tell: false }, { allowed: false, tell: false }]);
      assert.deepEqual(limiter.take('ben'), { allowed: true }, 'another person has their own allowance');
      now = 500;
      assert.deepEqual(limiter.take('ann'), { allowed: true }, 'half a second refills one');
      assert.deepEqual(limiter.take('ann'), { allowed: false, tell: false }, 'told already in this window');
      now = 11_000;
      assert.deepEqual([limiter.take('ann'), limiter.take('ann'), limiter.take('ann'), limiter.take('ann')], [{ allowed: true }, { allowed: true }, { allowed: true }, { allowed: false, tell: true }]);
    });

    it('when one sender causes many error lines, then a few a window are logged and the next window first line counts the ones left out', function () {
      let now = 0;
      const lines = new LogLimiter(2, 60_000, () => now);
      assert.deepEqual([lines.allow('ann'), lines.allow('ann'), lines.allow('ann'), lines.allow('ann'), lines.allow('ben')], [{ suppressed: 0 }, { suppressed: 0 }, undefined, undefined, { suppressed: 0 }]);
      now = 60_000;
      assert.deepEqual(lines.allow('ann'), { suppressed: 2 });
      assert.deepEqual(lines.allow('ann'), { suppressed: 0 });
    });
  });

  describe('through the wire', function () {
    let w: World;
    let ann: SimUser;
    let ben: SimUser;

    beforeEach(async function () {
      w = await World.start();
      ann = w.sim.user('ann', 'Ann Hughes');
      ben = w.sim.user('ben', 'Ben Carter');
    });

    afterEach(async function () {
      await w.stop();
    });

    it('when one person sends 300 commands at once, then they are told once to slow down, the ones refused cost no storage, and someone else is still answered', async function () {
      // A small allowance, so how fast this machine lets the requests arrive does not matter.
      const bot = await startTestBot({ pressLimits: { burst: 10, perSecond: 1, tellEveryMs: 3_600_000 } });
      const sim = await simulatorFor(bot);
      try {
        const chat = sim.personalChat(ann);
        const tables = bot.together.tables;
        let before = tables.callCount;
        await sim.say(ann, chat, 'whoami');
        const perCommand = tables.callCount - before;

        before = tables.callCount;
        const flood: TurnResult[] = await Promise.all(Array.from({ length: 300 }, () => sim.say(ann, chat, 'whoami')));
        const calls = tables.callCount - before;
        for (const r of flood) assert.equal(r.status, 200);
        const toAnn = sim.messagesTo(chat).filter((s) => s.method === 'POST').map(textOf);
        const told = toAnn.filter((t) => SLOW_DOWN.test(t)).length;
        const answered = toAnn.length - 1 - told;
        assert.equal(told, 1, 'told to slow down once');
        assert.ok(answered < 100, `most were refused (${answered} answered)`);
        assert.ok(calls <= (answered + 1) * Math.max(perCommand, 1) + 20, `the refused ones cost no storage (${calls} calls for ${answered} answered at ${perCommand} each)`);

        const other = await sim.say(ben, sim.personalChat(ben), 'whoami');
        assert.doesNotMatch(textOf(other.sent[0]!), SLOW_DOWN, 'Ben is answered as usual');
      } finally {
        await bot.stop();
        await sim.stop();
      }
    });

    it('when one person floods the bot while storage is failing, then only a few error lines are logged for them, and another person\'s failure is still logged', async function () {
      await w.bot.together.tables.dropAll(TABLES);
      const errors = () => w.bot.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).length;
      for (let i = 0; i < 20; i++) await w.sim.say(ann, w.sim.personalChat(ann), `whoami ${i}`);
      const fromAnn = errors();
      assert.ok(fromAnn >= 1 && fromAnn <= 5, `a few lines for Ann's 20 failures (${fromAnn})`);
      await w.sim.say(ben, w.sim.personalChat(ben), 'whoami');
      assert.ok(errors() > fromAnn, "Ben's failure is logged");
    });
  });
});

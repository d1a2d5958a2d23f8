import type { Clock, ManualClock } from '../../src/platform/clock';
import { startTestBot, type TestBot } from './bot';
import type { SimUser, TeamsSimulator } from './simulator';

/**
 * What every capability's through-the-wire "world" shares: a simulator, a bot on a ManualClock with a
 * coordinator from configuration, and second instances on the same tables. Each capability's world
 * extends it with its own people, places and helpers.
 */
export abstract class BaseWorld {
  sim!: TeamsSimulator;
  bot!: TestBot;
  readonly others: TestBot[] = [];
  clock!: ManualClock;
  cora!: SimUser;

  get env(): Record<string, string> {
    return { COORDINATORS: this.cora.aadObjectId };
  }

  /** A second instance on the same tables (on its own `clock` if given: another machine's, which may differ). */
  async secondInstance(clock: Clock = this.clock): Promise<TestBot> {
    const other = await startTestBot({ tablePrefix: this.bot.tablePrefix, env: this.env, clock });
    this.others.push(other);
    return other;
  }

  async restart(): Promise<void> {
    this.bot = await this.bot.restart();
    this.sim.botEndpoint = this.bot.url;
  }

  /**
   * The instance dies right after its next commit, before it sends anything (its outbox delivers
   * nothing from now on). Call `crashed()` after the action to finish it off.
   */
  dieAfterCommit(): void {
    this.bot.together.outbox.pause();
  }

  /** Kills the instance (not a graceful stop) and starts a new one on the same tables, as a host restarting it would. */
  async crashed(restart = true): Promise<void> {
    await this.bot.crash();
    if (!restart) return;
    this.bot = await startTestBot({ tablePrefix: this.bot.tablePrefix, env: this.env, clock: this.clock });
    this.sim.botEndpoint = this.bot.url;
  }

  /** Time passes (`ms`) and the scheduler of each running instance ticks, as it would every minute. */
  async later(ms: number, bots: readonly TestBot[] = [this.bot]): Promise<void> {
    this.clock.advance(ms);
    for (const b of bots) await b.together.scheduler.tick();
    for (const b of bots) await b.together.outbox.settle();
  }

  async stop(): Promise<void> {
    for (const other of this.others) await other.stop();
    await this.bot.stop();
    await this.sim.stop();
  }
}

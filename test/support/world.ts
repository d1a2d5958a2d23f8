import type { ManualClock } from '../../src/platform/clock';
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

  /** A second instance on the same tables. */
  async secondInstance(): Promise<TestBot> {
    const other = await startTestBot({ tablePrefix: this.bot.tablePrefix, env: this.env, clock: this.clock });
    this.others.push(other);
    return other;
  }

  async restart(): Promise<void> {
    this.bot = await this.bot.restart();
    this.sim.botEndpoint = this.bot.url;
  }

  async stop(): Promise<void> {
    for (const other of this.others) await other.stop();
    await this.bot.stop();
    await this.sim.stop();
  }
}

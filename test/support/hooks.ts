import { startAzurite, type EmbeddedAzurite } from '../../src/platform/storage/azurite';

/**
 * Mocha root hooks: one Azurite (tables and queues, in memory, on free loopback ports) for the whole
 * run. Suites keep apart by giving their tables a unique prefix.
 */
let azurite: EmbeddedAzurite | undefined;

export function storageConnectionString(): string {
  if (!azurite) throw new Error('Azurite is not running: the mocha root hook did not start it');
  return azurite.connectionString;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    azurite = await startAzurite();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    await azurite?.stop();
  },
};

import { readFileSync } from 'node:fs';
import path from 'node:path';
import restify from 'restify';
import type { TableClient } from '@azure/data-tables';
import { ActivityTypes, CloudAdapter, ConfigurationBotFrameworkAuthentication, type TurnContext } from 'botbuilder';
import { renderCard } from '../src/platform/cards';

/**
 * The benchmark's baseline: the least a Teams bot can do for a card button. A botbuilder CloudAdapter
 * (no app id, so no authentication, as Together runs in local mode) behind restify, which answers every
 * `adaptiveCard/action` invoke with the TeachMeet event card expanded from cards/teachmeetEvent.json
 * with the test fixture's data, and stores nothing. The same HTTP stack and template engine as
 * Together, without storage, rules or follow-ups.
 */

const FIXTURE = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'cards', 'teachmeetEvent.json');
const CARD_RESPONSE = 'application/vnd.microsoft.card.adaptive';

export interface BareBot {
  readonly url: string;
  /** Invokes answered so far. */
  readonly answered: number;
  close(): Promise<void>;
}

export interface BareBotOptions {
  /**
   * For calibration only: read one (missing) row from this table before answering each click, so the
   * bench can show what a single storage round trip per click costs. The baseline itself stores nothing.
   */
  readonly readEach?: TableClient;
  /** Default 0: any free port. */
  readonly port?: number;
}

export async function startBareBot(options: BareBotOptions = {}): Promise<BareBot> {
  const data = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  // No app id and no password: authentication off, as Together runs locally.
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  let answered = 0;
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 500, body: { error: error.message } } }).catch(() => undefined);
  };
  const logic = async (context: TurnContext): Promise<void> => {
    const activity = context.activity;
    if (activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action') {
      if (options.readEach) {
        await options.readEach.getEntity('bench', String(activity.from?.aadObjectId ?? 'nobody')).catch(() => undefined);
      }
      // A fresh expansion per request, as a bot that renders its answer would do.
      const card = renderCard('teachmeetEvent', { ...data, mine: "You're attending.", hasMine: true });
      await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body: { statusCode: 200, type: CARD_RESPONSE, value: card } } });
      answered += 1;
    }
  };

  const server = restify.createServer({ name: 'bare-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024, mapParams: false }));
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, logic);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/api/messages`,
    get answered() {
      return answered;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.server.close(() => resolve()));
      server.server.closeAllConnections?.();
      await closed;
    },
  };
}

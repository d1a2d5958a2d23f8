import { performance } from 'node:perf_hooks';
import restify from 'restify';
import { z } from 'zod';
import type { Activity } from 'botbuilder';
import type { Logger } from './logging';
import type { HandledRequest } from './bot';

/**
 * The HTTP surface: POST /api/messages (Bot Framework activities) and GET /api/health.
 * A body that is not an activity gets 400, never 500. On close it stops accepting, lets turns in
 * flight finish, then resolves.
 */

const Account = z
  .object({ id: z.string().min(1).max(1024), name: z.string().max(1024).optional(), aadObjectId: z.string().max(100).optional() })
  .passthrough();

const ActivityShape = z
  .object({
    type: z.string().min(1).max(64),
    serviceUrl: z.string().url().max(2048),
    channelId: z.string().min(1).max(64),
    conversation: z.object({ id: z.string().min(1).max(1024), tenantId: z.string().max(100).optional() }).passthrough(),
    // Every activity Teams sends says who it is from and to; botbuilder and teams-ai read both unguarded.
    from: Account,
    recipient: Account,
    text: z.string().max(28_000).optional(),
    entities: z.array(z.object({ type: z.string() }).passthrough()).max(100).optional(),
    membersAdded: z.array(Account).optional(),
    membersRemoved: z.array(Account).optional(),
    channelData: z.object({}).passthrough().optional(),
  })
  .passthrough();

export interface ServerDeps {
  readonly logger: Logger;
  handle(authHeader: string, activity: Activity): Promise<HandledRequest>;
  health(): Promise<{ ok: boolean; detail: Record<string, unknown> }>;
  /** Further GET routes (e.g. short-lived signed download links): path → handler returning status, type and body. */
  readonly downloads?: readonly Download[];
  /** Kept up to date with the turns in flight (the outbox lets answers go first while there are many). */
  readonly turns?: { inFlight: number };
}

export interface Download {
  readonly path: string;
  handle(params: Record<string, string>, query: Record<string, string>): Promise<{ status: number; contentType: string; body: string; filename?: string }>;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Stops accepting requests and waits (up to `graceMs`) for turns in flight. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(deps: ServerDeps, port: number, host: string): Promise<RunningServer> {
  const server = restify.createServer({ name: 'together', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024, mapParams: false, rejectUnknown: true }));
  let inFlight = 0;
  let draining = false;
  const idle: (() => void)[] = [];

  /** The one log line for a request that never became a turn (the bot logs the ones that do). */
  const refusedRequest = (activityType: unknown, outcome: 'invalid' | 'refused', status: number, durationMs: number) => {
    const type = typeof activityType === 'string' ? activityType.slice(0, 40) : 'unknown';
    deps.logger.info({ turn: { activityType: type, outcome, status, durationMs: Math.max(0, Math.round(durationMs)) } }, 'turn');
  };

  server.post('/api/messages', async (req, res) => {
    const started = performance.now();
    const body: unknown = req.body;
    if (draining) {
      refusedRequest((body as { type?: unknown } | undefined)?.type, 'refused', 503, performance.now() - started);
      res.header('Retry-After', '5');
      res.send(503, { error: 'Together is restarting; try again shortly.' });
      return;
    }
    const shape = ActivityShape.safeParse(body);
    if (!shape.success) {
      refusedRequest(typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined, 'invalid', 400, performance.now() - started);
      res.send(400, { error: 'The request body is not a Bot Framework activity.' });
      return;
    }
    inFlight += 1;
    if (deps.turns) deps.turns.inFlight = inFlight;
    try {
      const result = await deps.handle(req.header('authorization') ?? '', shape.data as unknown as Activity);
      if (result.body === undefined) res.send(result.status);
      else res.send(result.status, result.body);
    } finally {
      inFlight -= 1;
      if (deps.turns) deps.turns.inFlight = inFlight;
      if (inFlight === 0) idle.splice(0).forEach((resolve) => resolve());
    }
  });

  server.get('/api/health', async (_req, res) => {
    const { ok, detail } = await deps.health();
    res.send(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', ...detail });
  });

  for (const download of deps.downloads ?? []) {
    server.get(download.path, async (req, res) => {
      const query = Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams);
      const result = await download.handle((req.params ?? {}) as Record<string, string>, query);
      res.setHeader('Content-Type', result.contentType);
      res.setHeader('Cache-Control', 'no-store');
      if (result.filename) res.setHeader('Content-Disposition', `attachment; filename="${result.filename}"`);
      res.writeHead(result.status);
      res.end(result.body);
    });
  }

  server.on('restifyError', (req, res, err, callback) => {
    // Malformed JSON and the like: restify's own 4xx, never a stack trace.
    const status = typeof err.statusCode === 'number' && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) deps.logger.error({ err: { message: err.message } }, 'http error');
    else if (req.method === 'POST' && req.getPath() === '/api/messages') refusedRequest(undefined, 'invalid', status, Date.now() - req.time());
    err.toJSON = () => ({ error: status === 500 ? 'Internal error' : err.message });
    return callback();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    async close(graceMs = 30_000) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.server.close(() => resolve()));
      server.server.closeIdleConnections?.();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => idle.push(resolve)), new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref())]);
      }
      server.server.closeAllConnections?.();
      await closed;
    },
  };
}

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A simulated Bot Connector for the fan-out benchmark, in its own process (see the end of the file): it
 * enforces Teams' limits the way they are documented (per app: `appRate` requests in any 1-second
 * window, every request to the connector counting; per conversation: `conversationRate` messages
 * (activity POSTs and PUTs) in any 1-second window; a request over either limit is refused with 429 and
 * Retry-After: 1 and counted as a violation), and, of the messages within the limits, answers a
 * seeded-random share with 429 (half with Retry-After: 1, half without) and another share with 502.
 * Injected failures count against the limits, as any request does at Teams.
 *
 * Messages to the bench's own recipients (conversation ids starting `a:bench-`) are accepted here and
 * counted per conversation. Any other request within the limits is passed to `upstream` (the Teams
 * simulator of the load generator, which records card updates and personal messages and answers
 * conversation look-ups as Teams does), so that everything the bots send to Teams, whatever it is for,
 * meets one app-wide limit.
 */

export interface ConnectorOptions {
  readonly appRate: number;
  readonly conversationRate: number;
  /** Share of messages (within the limits) answered 429. */
  readonly inject429: number;
  /** Share of messages (within the limits) answered 502. */
  readonly inject502: number;
  readonly seed: number;
  /** Where requests that are not to bench recipients go once admitted (none: answered 404). */
  readonly upstream?: string;
}

export interface ConnectorStats {
  /** Every request received. */
  requests: number;
  /** Requests within both limits (accepted, or answered with an injected failure). */
  withinLimits: number;
  /** Requests refused for breaking the app limit / a conversation's limit. */
  appViolations: number;
  conversationViolations: number;
  injected429: number;
  injected429WithRetryAfter: number;
  injected502: number;
  /** Requests answered 2xx (here or by upstream). */
  accepted: number;
  /** Messages accepted for bench recipients. */
  delivered: number;
  /** Requests to bench recipients, and of those refused for the app limit. */
  benchRequests: number;
  benchAppViolations: number;
  /** Requests passed upstream, and upstream's non-2xx answers. */
  forwarded: number;
  upstreamFailures: number;
  /** performance.now() of the first request to a bench recipient and of the last delivery to one. */
  firstAt: number;
  /** Date.now() of the first request to a bench recipient (to compare with the load generator's clock). */
  firstAtEpoch: number;
  lastDeliveryAt: number;
  lastAt: number;
}

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimulatedConnector {
  stats: ConnectorStats = SimulatedConnector.zero();
  /** Deliveries per bench conversation id. */
  readonly deliveries = new Map<string, number>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  static zero(): ConnectorStats {
    return { requests: 0, withinLimits: 0, appViolations: 0, conversationViolations: 0, injected429: 0, injected429WithRetryAfter: 0, injected502: 0, accepted: 0, delivered: 0, benchRequests: 0, benchAppViolations: 0, forwarded: 0, upstreamFailures: 0, firstAt: NaN, firstAtEpoch: NaN, lastDeliveryAt: NaN, lastAt: NaN };
  }

  /** Zero the counters and deliveries (after setup); the limits' windows are kept. */
  reset(): void {
    this.stats = SimulatedConnector.zero();
    this.deliveries.clear();
  }
  private readonly appWindow: number[] = [];
  private appHead = 0;
  private readonly conversationWindows = new Map<string, number[]>();
  private readonly random: () => number;
  private nextId = 1;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly options: ConnectorOptions,
  ) {
    this.random = prng(options.seed);
  }

  static async start(options: ConnectorOptions): Promise<SimulatedConnector> {
    let connector: SimulatedConnector | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => connector!.handle(req, res, Buffer.concat(chunks)));
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    connector = new SimulatedConnector(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, options);
    return connector;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const now = performance.now();
    const s = this.stats;
    s.requests += 1;
    s.lastAt = now;
    const url = req.url ?? '';
    const segments = url.split('?')[0]!.split('/').filter((x) => x.length > 0);
    const v3 = segments.indexOf('v3');
    const route = v3 >= 0 ? segments.slice(v3 + 1) : [];
    const conversation = route[0] === 'conversations' && route[1] !== undefined ? safeDecode(route[1]) : undefined;
    const isMessage = conversation !== undefined && route[2] === 'activities' && (req.method === 'POST' || req.method === 'PUT');
    const isBench = conversation?.startsWith('a:bench-') ?? false;
    if (isBench) {
      s.benchRequests += 1;
      if (Number.isNaN(s.firstAt)) {
        s.firstAt = now;
        s.firstAtEpoch = Date.now();
      }
    }

    // Per app: at most appRate requests in any 1-second window.
    while (this.appHead < this.appWindow.length && this.appWindow[this.appHead]! <= now - 1000) this.appHead += 1;
    if (this.appHead > 10_000) {
      this.appWindow.splice(0, this.appHead);
      this.appHead = 0;
    }
    if (this.appWindow.length - this.appHead >= this.options.appRate) {
      s.appViolations += 1;
      if (isBench) s.benchAppViolations += 1;
      this.answer(res, 429, { error: { code: 'TooManyRequests', message: 'app rate limit' } }, { 'Retry-After': '1' });
      return;
    }
    // Per conversation: at most conversationRate messages in any 1-second window.
    let window: number[] | undefined;
    if (isMessage) {
      window = (this.conversationWindows.get(conversation) ?? []).filter((t) => t > now - 1000);
      if (window.length >= this.options.conversationRate) {
        s.conversationViolations += 1;
        this.conversationWindows.set(conversation, window);
        this.answer(res, 429, { error: { code: 'TooManyRequests', message: 'conversation rate limit' } }, { 'Retry-After': '1' });
        return;
      }
    }
    this.appWindow.push(now);
    if (window && conversation !== undefined) {
      window.push(now);
      this.conversationWindows.set(conversation, window);
    }
    s.withinLimits += 1;

    if (isMessage) {
      const r = this.random();
      if (r < this.options.inject429) {
        s.injected429 += 1;
        const withHeader = this.random() < 0.5;
        if (withHeader) s.injected429WithRetryAfter += 1;
        this.answer(res, 429, { error: { code: 'TooManyRequests', message: 'injected' } }, withHeader ? { 'Retry-After': '1' } : {});
        return;
      }
      if (r < this.options.inject429 + this.options.inject502) {
        s.injected502 += 1;
        this.answer(res, 502, { error: { code: 'BadGateway', message: 'injected' } });
        return;
      }
    }
    if (isBench && req.method === 'POST' && route.length === 3) {
      s.delivered += 1;
      s.accepted += 1;
      s.lastDeliveryAt = now;
      this.deliveries.set(conversation!, (this.deliveries.get(conversation!) ?? 0) + 1);
      this.answer(res, 200, { id: String(this.nextId++) });
      return;
    }
    if (!this.options.upstream) {
      this.answer(res, 404, { error: { code: 'NotFound', message: 'not served by the bench connector' } });
      return;
    }
    this.forward(req, res, body);
  }

  /** Passes an admitted request to the Teams simulator and its answer back. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const s = this.stats;
    s.forwarded += 1;
    const target = new URL(req.url ?? '/', this.options.upstream);
    const headers: Record<string, string> = { 'Content-Length': String(body.length) };
    if (req.headers['content-type']) headers['Content-Type'] = req.headers['content-type'];
    const out = http.request(target, { method: req.method, headers, agent: this.agent }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const status = up.statusCode ?? 502;
        if (status >= 200 && status < 300) s.accepted += 1;
        else s.upstreamFailures += 1;
        const answerHeaders: Record<string, string> = {};
        if (up.headers['content-type']) answerHeaders['Content-Type'] = up.headers['content-type'];
        if (up.headers['retry-after']) answerHeaders['Retry-After'] = String(up.headers['retry-after']);
        res.writeHead(status, answerHeaders);
        res.end(Buffer.concat(chunks));
      });
    });
    out.on('error', (err) => {
      s.upstreamFailures += 1;
      this.answer(res, 502, { error: { code: 'BadGateway', message: `upstream: ${err.message}` } });
    });
    out.end(body);
  }

  private answer(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }
}

// ------------------------------------------------------------------------------------------------
// In its own process, as Teams is: the bot's pauses (GC, a busy moment) must not pause the clock that
// counts its requests, or requests sent in good time would seem to arrive together.

export interface ConnectorProcess {
  readonly url: string;
  /** Counters, and with `withDeliveries` the deliveries per conversation. */
  stats(withDeliveries?: boolean): Promise<{ stats: ConnectorStats; deliveries: [string, number][] }>;
  /** Zero the counters (after setup); resolves once done. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const CHILD_FLAG = 'TOGETHER_FANOUT_CONNECTOR';

type FromChild = { type: 'ready'; url: string } | { type: 'stats'; id: number; stats: ConnectorStats; deliveries: [string, number][] };
type ToChild = { type: 'stats'; id: number; withDeliveries: boolean } | { type: 'reset'; id: number } | { type: 'stop' };

export async function startConnectorProcess(options: ConnectorOptions): Promise<ConnectorProcess> {
  const { fork } = await import('node:child_process');
  const child = fork(__filename, [], { env: { ...process.env, [CHILD_FLAG]: JSON.stringify(options) }, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (m: Extract<FromChild, { type: 'stats' }>) => void>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the simulated connector exited (${code})`)));
    child.on('message', (m: FromChild) => {
      if (m.type === 'ready') resolve(m.url);
      else waiting.get(m.id)?.(m);
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    stats(withDeliveries = false) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('the simulated connector did not answer within 60 s'));
        }, 60_000);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve({ stats: m.stats, deliveries: m.deliveries });
        });
        child.send({ type: 'stats', id, withDeliveries } satisfies ToChild);
      });
    },
    reset() {
      const id = nextId++;
      return new Promise<void>((resolve) => {
        waiting.set(id, () => {
          waiting.delete(id);
          resolve();
        });
        child.send({ type: 'reset', id } satisfies ToChild);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

if (process.env[CHILD_FLAG] && process.send) {
  const options = JSON.parse(process.env[CHILD_FLAG]) as ConnectorOptions;
  void SimulatedConnector.start(options).then((connector) => {
    process.send!({ type: 'ready', url: connector.url } satisfies FromChild);
    process.on('message', (m: ToChild) => {
      if (m.type === 'stats') {
        // Timestamps are this process's performance.now(); only differences are used.
        process.send!({ type: 'stats', id: m.id, stats: connector.stats, deliveries: m.withDeliveries ? [...connector.deliveries] : [] } satisfies FromChild);
      } else if (m.type === 'reset') {
        connector.reset();
        process.send!({ type: 'stats', id: m.id, stats: connector.stats, deliveries: [] } satisfies FromChild);
      } else if (m.type === 'stop') {
        void connector.stop().then(() => process.exit(0));
      }
    });
    process.on('disconnect', () => process.exit(0));
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { answers200, repositoryRoot, startPlayground, terminateOnExit, type Playground, type PlaygroundOptions } from '../../scripts/playground';

/**
 * Helpers for driving the bot through the Microsoft 365 Agents Playground in headless Chromium:
 * the bot as a child process exactly as `npm start` runs it, the Playground (shared with
 * `npm run playground`), and a browser on a fresh profile.
 */
export { startPlayground, type Playground, type PlaygroundOptions };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor200(url: string, timeoutMs: number, stillWorthWaiting: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers200(url))) {
    if (!stillWorthWaiting()) throw new Error(`gave up waiting for ${url}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface BotProcess {
  readonly port: number;
  /** http://127.0.0.1:<port>/api/messages */
  readonly endpoint: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr (the last 64 kB). */
  output(): string;
  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`, default 20 s). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Environment that would change how `npm start` runs (auth, storage, production checks), removed for a local-mode run. */
const MODE_CHANGING_ENV = [
  'BOT_ID',
  'BOT_PASSWORD',
  'BOT_TYPE',
  'BOT_TENANT_ID',
  'ALLOWED_TENANTS',
  'STORAGE_CONNECTION_STRING',
  'STORAGE_ACCOUNT_NAME',
  'NODE_ENV',
];

/**
 * `node dist/src/main.js` (what `npm start` runs after building) on a free port in local mode (no BOT_ID),
 * with its embedded Azurite under `dataDir`. Resolves when /api/health answers 200.
 */
export async function startBotProcess(options: {
  readonly dataDir: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}): Promise<BotProcess> {
  const root = repositoryRoot();
  const main = path.join(root, 'dist', 'src', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.json)`);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of MODE_CHANGING_ENV) delete env[name];
  Object.assign(env, { PORT: String(port), DATA_DIR: options.dataDir, ...options.env });

  const child = spawn(process.execPath, [main], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  terminateOnExit(child);
  let output = '';
  const record = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-65_536);
  };
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      output += `\n[could not start the bot: ${err.message}]\n`;
      hasExited = true;
      resolve({ code: null, signal: null });
    });
  });
  const stop = async (graceMs = 20_000) => {
    if (!hasExited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!hasExited) child.kill('SIGKILL');
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    }
    return exited;
  };

  try {
    await waitFor200(`http://127.0.0.1:${port}/api/health`, options.timeoutMs ?? 60_000, () => !hasExited);
  } catch (err) {
    await stop(2_000);
    throw new Error(`the bot did not become healthy: ${(err as Error).message}\nBot output:\n${output}`);
  }
  return { port, endpoint: `http://127.0.0.1:${port}/api/messages`, child, exited, output: () => output, stop };
}

/** The Chromium on PATH (Debian's `chromium` package), or CHROMIUM_PATH. Throws a clear error when there is none. */
export function findChromium(): string {
  const override = process.env['CHROMIUM_PATH'];
  if (override) {
    if (isExecutable(override)) return override;
    throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
  }
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  throw new Error(
    'Chromium is not installed, so the Agents Playground end-to-end test cannot run. ' +
      'Install it with `apt-get update && apt-get install -y chromium` (CI does this in .ci/run), ' +
      'or set CHROMIUM_PATH to a Chromium/Chrome executable.',
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** Headless Chromium on a fresh, throw-away profile directory. */
export async function launchChromium(): Promise<HeadlessBrowser> {
  const executablePath = findChromium();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'together-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
      timeout: 30_000,
    });
  } catch (err) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  return {
    context,
    page,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Playwright's text matchers take a RegExp; this one matches `text` exactly, ignoring surrounding whitespace. */
export function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

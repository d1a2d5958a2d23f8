/**
 * Open the running bot in the Microsoft 365 Agents Playground (offline Teams-like chat in a browser).
 *
 *   npm start              # terminal 1: the bot, local mode, on PORT (default 3978)
 *   npm run playground     # terminal 2: then open http://localhost:56150 and type "help"
 *
 * Environment:
 *   BOT_ENDPOINT         the bot's messaging endpoint; default http://127.0.0.1:${PORT:-3978}/api/messages
 *   PORT                 the bot's port, used only when BOT_ENDPOINT is not set
 *   TEAMSAPPTESTER_PORT  the Playground UI port; default 56150 (the Playground itself moves to a random
 *                        port if that one is taken; the line printed at start says which it used)
 *   DATA_DIR             the Playground's log goes to $DATA_DIR/m365agentsplayground.log (default .data)
 *
 * The mock Teams context (tenant, signed-in user, the other five users, group chat, team and channel)
 * comes from .m365agentsplayground.yml at the repository root. The Playground's browser auto-open is
 * off (TEAMSAPPTESTER_BROWSER=none) and so is its telemetry. Ctrl+C stops it.
 *
 * `startPlayground` is shared with the end-to-end tests (test/playground/*.e2e.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

export const DEFAULT_PLAYGROUND_PORT = 56150;
export const PLAYGROUND_CONFIG_FILE = '.m365agentsplayground.yml';

export interface PlaygroundOptions {
  /** The bot's messaging endpoint, e.g. http://127.0.0.1:3978/api/messages. */
  readonly botEndpoint: string;
  /** UI port; default 56150. If it is taken the Playground picks a random one: read `port`/`url`. */
  readonly port?: number;
  /** Working directory; the Playground reads .m365agentsplayground.yml from here. Default: the repository root. */
  readonly cwd?: string;
  /** The Playground's own log file (it writes its console there when stdout is not a terminal). */
  readonly logFile?: string;
  /** How long to wait for the UI to answer. Default 60 s. */
  readonly timeoutMs?: number;
  /** Called with everything the Playground writes to stdout and stderr. */
  readonly onOutput?: (text: string) => void;
  /** Extra environment for the Playground process. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface Playground {
  /** http://localhost:<port>, the UI. */
  readonly url: string;
  readonly port: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves when the Playground process has exited, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote to stdout/stderr (the last 64 kB) and the tail of its log file, for error messages. */
  diagnostics(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s). Safe to call more than once. */
  stop(graceMs?: number): Promise<void>;
}

/** The directory holding package.json and tsconfig.json above this file (src or dist). */
export function repositoryRoot(from: string = __dirname): string {
  let dir = from;
  while (!(fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tsconfig.json')))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`Cannot find the repository root above ${from}`);
    dir = up;
  }
  return dir;
}

/** The Playground CLI's entry script, run with this Node (no npx, no shell). */
export function playgroundCli(): string {
  const pkg = require.resolve('@microsoft/m365agentsplayground/package.json', { paths: [repositoryRoot()] });
  const manifest = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { bin?: Record<string, string> };
  const bin = manifest.bin?.['agentsplayground'] ?? 'cli.js';
  return path.join(path.dirname(pkg), bin);
}

/** Starts the Agents Playground against `botEndpoint` and resolves once its UI answers HTTP 200. */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const cwd = path.resolve(options.cwd ?? repositoryRoot());
  const requestedPort = options.port ?? DEFAULT_PLAYGROUND_PORT;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const logFile = path.resolve(cwd, options.logFile ?? path.join('.data', 'm365agentsplayground.log'));
  const configFile = path.join(cwd, PLAYGROUND_CONFIG_FILE);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BOT_ENDPOINT: options.botEndpoint,
    TEAMSAPPTESTER_BROWSER: 'none',
    M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
    ...options.env,
  };
  delete env['TEAMSAPPTESTER_LOGFILE'];
  if (fs.existsSync(configFile)) env['M365_AGENTS_PLAYGROUND_CONFIG_PATH'] = configFile;

  const child = spawn(process.execPath, [playgroundCli(), '--port', String(requestedPort), '--disable-telemetry'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  terminateOnExit(child);

  let output = '';
  let announcedPort: number | undefined;
  const record = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-65_536);
    const listening = /Listening on (\d+)/.exec(output);
    if (listening && announcedPort === undefined) announcedPort = Number(listening[1]);
    options.onOutput?.(text);
  };
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      output += `\n[could not start the Playground: ${err.message}]\n`;
      resolve({ code: null, signal: null });
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const diagnostics = () => {
    let log = '';
    try {
      log = fs.readFileSync(logFile, 'utf8').slice(-8_000);
    } catch {
      log = '(no log file)';
    }
    return `Playground output:\n${output.trim() || '(none)'}\nPlayground log (${logFile}):\n${log.trim()}`;
  };

  const stop = async (graceMs = 5_000) => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!hasExited) child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  try {
    while (announcedPort === undefined) {
      if (hasExited) throw new Error('the Playground exited before it started listening');
      if (Date.now() > deadline) throw new Error(`the Playground did not say "Listening on <port>" within ${timeoutMs} ms`);
      await delay(100);
    }
    const url = `http://localhost:${announcedPort}`;
    while (!(await answers200(`http://127.0.0.1:${announcedPort}/`))) {
      if (hasExited) throw new Error('the Playground exited before its UI answered');
      if (Date.now() > deadline) throw new Error(`the Playground UI at ${url} did not answer 200 within ${timeoutMs} ms`);
      await delay(200);
    }
    return { url, port: announcedPort, logFile, child, exited, diagnostics, stop };
  } catch (err) {
    await stop(2_000);
    throw new Error(`${(err as Error).message}\n${diagnostics()}`);
  }
}

const children = new Set<ChildProcess>();
/**
 * SIGTERMs `child` if this process exits while it is still running (mocha --exit after a timed-out test,
 * an uncaught error), so no Playground or bot is left behind holding its port.
 */
export function terminateOnExit(child: ChildProcess): void {
  if (children.size === 0) {
    process.once('exit', () => {
      for (const running of children) running.kill('SIGTERM');
    });
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One GET; true on HTTP 200, false on any other status or a connection error. */
export function answers200(url: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** `npm run playground`. */
async function main(): Promise<void> {
  const botEndpoint = process.env['BOT_ENDPOINT'] || `http://127.0.0.1:${process.env['PORT'] || 3978}/api/messages`;
  const port = Number(process.env['TEAMSAPPTESTER_PORT'] || DEFAULT_PLAYGROUND_PORT);
  const root = repositoryRoot();
  const logFile = path.resolve(root, process.env['DATA_DIR'] || '.data', 'm365agentsplayground.log');

  const health = new URL('/api/health', botEndpoint).toString();
  if (!(await answers200(health))) {
    console.warn(
      `The bot does not answer at ${health} yet. Start it in another terminal with \`npm start\`` +
        ' (the Playground waits for it and connects when it is up).',
    );
  }

  console.log(`Starting the Microsoft 365 Agents Playground for ${botEndpoint} ...`);
  let stopping = false;
  let playground: Playground;
  try {
    playground = await startPlayground({
      botEndpoint,
      port,
      cwd: root,
      logFile,
      onOutput: (text) => {
        if (stopping) return;
        for (const line of text.split('\n')) if (line.trim() && !/^Listening on \d+$/.test(line.trim())) console.log(`[playground] ${line}`);
      },
    });
  } catch (err) {
    console.error(`Could not start the Agents Playground: ${(err as Error).message}`);
    process.exit(1);
  }

  if (playground.port !== port) {
    console.warn(`Port ${port} was taken, so the Playground is on ${playground.port} instead.`);
  }
  console.log('');
  console.log(`Open ${playground.url} in your browser`);
  console.log('');
  console.log(`  bot endpoint: ${botEndpoint}`);
  console.log(`  mock Teams users and chats: ${path.join(root, PLAYGROUND_CONFIG_FILE)}`);
  console.log(`  Playground log: ${playground.logFile}`);
  console.log('  Type "help" in Personal Chat. In the group chat and channels, @mention the bot first. Ctrl+C stops.');

  const forward = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nStopping the Playground (${signal}) ...`);
    void playground.stop();
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));

  const { code, signal } = await playground.exited;
  // Ctrl+C in a terminal signals the whole process group, so the Playground may get there first.
  if (stopping || signal === 'SIGINT' || signal === 'SIGTERM') {
    console.log('Playground stopped.');
    process.exit(0);
  }
  console.error(`The Playground exited unexpectedly (${signal ?? `exit code ${code}`}).\n${playground.diagnostics()}`);
  process.exit(code || 1);
}

if (require.main === module) {
  void main();
}

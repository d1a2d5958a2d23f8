import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * `node dist/src/main.js` (what `npm start` runs once built) as a child process of the test, with the
 * environment given and nothing else of the test's: the bot as an operator runs it, reachable only
 * over HTTP, and killable as a real process is.
 */

export const MAIN = path.resolve(__dirname, '..', '..', 'src', 'main.js');

export interface MainProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts main.js in its own process group (so a failed test can take down whatever it started with it). */
export function launchMain(env: Record<string, string>, cwd: string, port: number): MainProcess {
  const child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, port, logs, stdout: () => out, stderr: () => err, exited };
}

/** Polls `probe` until it gives a value; gives up if `running` (when given) exits first, or after a generous deadline. */
export async function until<T>(what: string, running: MainProcess | undefined, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (running && running.child.exitCode !== null) throw new Error(`${what}: the process exited (${running.child.exitCode}); stderr:\n${running.stderr()}\nstdout:\n${running.stdout()}`);
    if (Date.now() > deadline) throw new Error(`${what}: gave up waiting${running ? `; stdout:\n${running.stdout()}\nstderr:\n${running.stderr()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Until the process answers its health check. */
export async function healthy(running: MainProcess): Promise<void> {
  await until('health', running, async () => {
    const response = await fetch(`http://127.0.0.1:${running.port}/api/health`);
    return response.status === 200 ? true : undefined;
  });
}

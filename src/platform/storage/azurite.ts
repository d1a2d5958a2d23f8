import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Runs Azurite's table service as a child process on a loopback port chosen at start, so a test run,
 * a running `npm start` and anything else on the machine never collide. Together needs Table Storage
 * only. The same TableClient code path as production talks to it through the connection string it returns.
 */

const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface EmbeddedAzurite {
  readonly connectionString: string;
  readonly tablePort: number;
  /**
   * Resolves if the service exits while it should be running (killed, crashed, out of memory); never
   * after stop(). The bot cannot work without it, so the process entry stops loudly (see main.ts).
   */
  readonly died: Promise<{ service: Service; code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Folder for Azurite's files; omit for in-memory persistence (tests). */
  readonly location?: string;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<EmbeddedAzurite> {
  if (options.location) mkdirSync(options.location, { recursive: true });
  const table = await startService('table', options.location);
  return {
    connectionString: azuriteConnectionString(table.port),
    tablePort: table.port,
    died: table.died,
    stop: () => table.stop(),
  };
}

export function azuriteConnectionString(tablePort: number): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${ACCOUNT}`,
    `AccountKey=${ACCOUNT_KEY}`,
    `TableEndpoint=http://127.0.0.1:${tablePort}/${ACCOUNT}`,
  ].join(';');
}

interface RunningService {
  readonly port: number;
  readonly died: Promise<{ service: Service; code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

type Service = 'table';

async function startService(service: Service, location: string | undefined): Promise<RunningService> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    try {
      return await launch(service, port, location);
    } catch (err) {
      lastError = err as Error; // most likely the port was taken between probing and binding: try another
    }
  }
  throw new Error(`Azurite ${service} service did not start: ${lastError?.message ?? 'unknown error'}`);
}

/**
 * Runs Azurite's entry point, and shuts it down as on Ctrl+C (it saves its database, then exits)
 * when its stdin reaches end of file, i.e. when the process that started it has gone, however it
 * went (a crash, SIGKILL). Otherwise an orphaned Azurite keeps the data folder, and the next start
 * runs a second one on the same files.
 */
const FOLLOW_PARENT = [
  "process.stdin.on('end', () => process.emit('SIGINT'));",
  "process.once('SIGINT', () => process.stdin.destroy());",
  'process.stdin.resume();',
  'require(process.argv[1]);',
].join(' ');

/** Where Azurite is installed; a production install (`npm ci --omit=dev`) has none. */
function azuriteMain(service: Service): string {
  let pkg: string;
  try {
    pkg = require.resolve('azurite/package.json');
  } catch {
    throw new Error(
      'the embedded storage emulator (the azurite package, a development dependency) is not installed: run `npm install`, or set STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_NAME',
    );
  }
  return path.join(path.dirname(pkg), 'dist', 'src', service, 'main.js');
}

function launch(service: Service, port: number, location: string | undefined): Promise<RunningService> {
  const main = azuriteMain(service);
  const args = ['-e', FOLLOW_PARENT, '--', main, `--${service}Host`, '127.0.0.1', `--${service}Port`, String(port), '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose'];
  args.push(...(location ? ['--location', location] : ['--inMemoryPersistence']));
  // stdin is a pipe only so the child notices when this process is gone (see FOLLOW_PARENT).
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/successfully (started|listens)/.test(output)) {
        cleanup();
        let stopping = false;
        const died = new Promise<{ service: Service; code: number | null; signal: NodeJS.Signals | null }>((resolveDied) => {
          child.once('exit', (code, signal) => {
            if (!stopping) resolveDied({ service, code, signal });
          });
        });
        resolve({
          port,
          died,
          stop: () => {
            stopping = true;
            return stopChild(child);
          },
        });
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited with code ${code}: ${output.trim().slice(-500)}`));
    };
    const cleanup = () => {
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // Azurite saves its database and closes on SIGINT; it then exits once nothing is left open.
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGTERM'), 2000).unref();
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/platform/storage/azurite';
import { messageFrom } from './support/activities';
import { adaptiveCardsOf, cardText } from './support/cardActions';
import { storageConnectionString } from './support/hooks';
import { healthy, launchMain as launch, until, type MainProcess } from './support/mainProcess';
import { TeamsSimulator, type SimUser, type TurnResult } from './support/simulator';

/**
 * `npm start` as an operator runs it: `node dist/src/main.js` with embedded storage under DATA_DIR,
 * answering Teams, keeping its data across restarts, and stopping cleanly on SIGTERM.
 */

type Running = MainProcess;

function azuriteTablePort(running: Running): Promise<number> {
  return until('the embedded Azurite log line', running, async () => {
    const line = running.logs.find((l) => l.msg === 'started embedded Azurite');
    return line ? Number(line.tablePort) : undefined;
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Processes whose command line mentions `text` (Linux only; empty elsewhere). */
function processesMentioning(text: string): number[] {
  if (!existsSync('/proc')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** An address of this machine that is not 127.0.0.1: a network interface's, else 127.0.0.2 (Linux answers on all of 127/8). */
function otherAddressOfThisMachine(): string {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  return external?.address ?? '127.0.0.2';
}

function reachable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function said(result: TurnResult): string {
  return result.sent.map((s) => [s.activity?.text ?? '', ...adaptiveCardsOf(s.activity).map((c) => cardText(c))].join('\n')).join('\n');
}

describe('npm start: the process an operator runs', function () {
  this.timeout(120_000);
  let dataDir: string;
  let sim: TeamsSimulator;
  let cora: SimUser;
  let tia: SimUser;
  const running: Running[] = [];

  beforeEach(async function () {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'together-start-'));
    sim = await TeamsSimulator.start({ seed: 'start-test' });
    cora = sim.user('cora', 'Cora Whitfield');
    tia = sim.user('tia', 'Tia Okafor');
  });

  afterEach(async function () {
    for (const r of running.splice(0)) {
      try {
        process.kill(-r.child.pid!, 'SIGKILL'); // this test's own process group: main.js and anything it left behind
      } catch {
        // already gone
      }
      await r.exited;
    }
    await sim.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(extra: Record<string, string> = {}): Promise<Running> {
    const port = await freePort();
    const r = launch({ PORT: String(port), DATA_DIR: dataDir, PARTNERSHIP_NAME: 'Riverside Schools Together', COORDINATORS: cora.aadObjectId, ...extra }, dataDir, port);
    running.push(r);
    await healthy(r);
    sim.botEndpoint = `http://127.0.0.1:${port}/api/messages`;
    return r;
  }

  async function stop(r: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    r.child.kill('SIGTERM');
    return r.exited;
  }

  it('when started with no storage settings, then it answers Teams, stops cleanly on SIGTERM and keeps its data for the next start', async function () {
    const first = await start();
    const tablePort = await azuriteTablePort(first);
    assert.match(first.stderr(), /LOCAL MODE: BOT_ID is not set/, 'the operator is warned that requests are not authenticated');
    assert.match(first.stdout(), /Together is running for Riverside Schools Together/);

    const added = await sim.say(cora, sim.personalChat(cora), 'school add Oakfield Academy');
    assert.equal(added.status, 200);
    assert.match(said(added), /Added Oakfield Academy to the partnership/);
    const help = await sim.say(tia, sim.personalChat(tia), 'help');
    assert.equal(help.sent.flatMap((s) => adaptiveCardsOf(s.activity)).length, 1, 'help answers with a card');
    assert.match(said(help), /Commands for you as a teacher/);

    const exit = await stop(first);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit; stderr:\n${first.stderr()}`);
    assert.ok(first.logs.some((l) => l.msg === 'stopped'), 'it says it stopped');
    assert.equal(await listening(tablePort), false, 'the embedded table service is gone');
    assert.equal(await listening(first.port), false, 'the bot no longer listens');
    assert.deepEqual(processesMentioning(path.join(dataDir, 'azurite')), [], 'no Azurite process is left running');

    const location = path.join(dataDir, 'azurite');
    assert.ok(existsSync(location) && readdirSync(location).length > 0, `data files under ${location}`);
    assert.deepEqual(readdirSync(location).filter((f) => !/table/.test(f)), [], 'only the table service keeps data there: Together needs Table Storage alone');

    const second = await start();
    const listed = await sim.say(tia, sim.personalChat(tia), 'directory');
    assert.match(said(listed), /Oakfield Academy/, 'the school survived the restart');
    assert.deepEqual(await stop(second), { code: 0, signal: null });
  });

  it('when the process dies without cleaning up (SIGKILL), then its embedded Azurite goes too and the next start has the data', async function () {
    const first = await start();
    const tablePort = await azuriteTablePort(first);
    assert.match(said(await sim.say(cora, sim.personalChat(cora), 'school add Hillside High')), /Added Hillside High/);

    first.child.kill('SIGKILL'); // main.js only, not its process group
    await first.exited;
    await until('the embedded Azurite to follow the process that started it', undefined, async () => {
      const left = (await listening(tablePort)) || processesMentioning(path.join(dataDir, 'azurite')).length > 0;
      return left ? undefined : true;
    }, 20_000);

    const second = await start();
    assert.match(said(await sim.say(tia, sim.personalChat(tia), 'directory')), /Hillside High/);
    assert.deepEqual(await stop(second), { code: 0, signal: null });
  });

  it('when NODE_ENV=production and BOT_ID is not set, then it refuses to start', async function () {
    const port = await freePort();
    const r = launch({ PORT: String(port), DATA_DIR: dataDir, NODE_ENV: 'production' }, dataDir, port);
    running.push(r);
    const exit = await r.exited;
    assert.equal(exit.code, 1);
    assert.match(r.stderr(), /BOT_ID: is required when NODE_ENV=production/);
    assert.equal(existsSync(path.join(dataDir, 'azurite')), false, 'no storage was started');
  });

  it('when NODE_ENV=production or BOT_ID is set with neither storage setting, then it refuses to start, naming the two settings, and starts no emulator', async function () {
    const production = { NODE_ENV: 'production', BOT_ID: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', BOT_TYPE: 'UserAssignedMsi', BOT_TENANT_ID: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d', ALLOWED_TENANTS: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d', PUBLIC_URL: 'https://together.example.org', LINK_SIGNING_KEY: 'k'.repeat(40) };
    const { NODE_ENV: _, ...botOnly } = production;
    for (const env of [production, botOnly]) {
      const port = await freePort();
      const r = launch({ PORT: String(port), DATA_DIR: dataDir, ...env }, dataDir, port);
      running.push(r);
      const exit = await r.exited;
      assert.equal(exit.code, 1, `exit; stderr:\n${r.stderr()}`);
      assert.match(r.stderr(), /STORAGE_ACCOUNT_NAME or STORAGE_CONNECTION_STRING: one is required/);
      assert.equal(existsSync(path.join(dataDir, 'azurite')), false, 'no storage emulator was started');
    }
  });

  it('when it runs in local mode (no BOT_ID), then it answers on 127.0.0.1 only: another address of the machine cannot reach it', async function () {
    const r = await start();
    const other = otherAddressOfThisMachine();
    assert.equal(await reachable(r.port, '127.0.0.1'), true, 'loopback reaches it');
    assert.equal(await reachable(r.port, other), false, `${other} must not reach an unauthenticated bot`);
    assert.deepEqual(await stop(r), { code: 0, signal: null });
  });

  it('when BOT_ID is set (requests authenticated), then it answers on every interface, as App Service needs', async function () {
    const port = await freePort();
    const r = launch(
      {
        PORT: String(port),
        DATA_DIR: dataDir,
        BOT_ID: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
        BOT_TYPE: 'SingleTenant',
        BOT_PASSWORD: 'not-a-real-secret',
        BOT_TENANT_ID: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d',
        ALLOWED_TENANTS: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d',
        PUBLIC_URL: 'https://together.example.org',
        STORAGE_CONNECTION_STRING: storageConnectionString(),
      },
      dataDir,
      port,
    );
    running.push(r);
    await healthy(r);
    const other = otherAddressOfThisMachine();
    assert.equal(await reachable(port, other), true, `${other} reaches the authenticated bot`);
    const response = await fetch(`http://127.0.0.1:${port}/api/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(messageFrom(sim, tia, 'help')) });
    assert.equal(response.status, 401, 'and a request without a token is refused');
    assert.equal(existsSync(path.join(dataDir, 'azurite')), false, 'no storage emulator was started');
    assert.deepEqual(await stop(r), { code: 0, signal: null });
  });

  it('when the embedded storage emulator dies while the bot runs, then the bot says so loudly and exits non-zero', async function () {
    const r = await start();
    const tablePort = await azuriteTablePort(r);
    const tableProcess = processesMentioning(`${tablePort}`).filter((pid) => pid !== r.child.pid);
    assert.ok(tableProcess.length > 0, 'found the table service process');
    for (const pid of tableProcess) process.kill(pid, 'SIGKILL');
    const exit = await r.exited;
    assert.equal(exit.code, 1, `exit; stdout:\n${r.stdout()}`);
    assert.match(r.stderr(), /The embedded storage emulator \(Azurite table service\) stopped unexpectedly \(SIGKILL\)\. Together is stopping/);
    assert.ok(r.logs.some((l) => l.msg === 'embedded storage stopped: Together is stopping' && l.level === 60), 'a fatal log line');
  });

  it('when SIGTERM arrives while a turn is in flight, then the turn finishes and its reply is delivered before the process exits 0', async function () {
    const r = await start();
    // A connector that holds the bot's reply until the test lets it go.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let replyArrived: (body: string) => void = () => undefined;
    const arrived = new Promise<string>((resolve) => (replyArrived = resolve));
    const slow = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        replyArrived(body);
        void released.then(() => {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ id: '1700000000001' }));
        });
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', () => resolve()));
    const slowUrl = `http://127.0.0.1:${(slow.address() as net.AddressInfo).port}/`;
    try {
      const chat = sim.personalChat(tia);
      const activity = {
        type: 'message',
        id: '1700000000000',
        timestamp: new Date().toISOString(),
        serviceUrl: slowUrl,
        channelId: 'msteams',
        from: { id: tia.id, name: tia.name, aadObjectId: tia.aadObjectId },
        recipient: { id: sim.bot.id, name: sim.bot.name },
        conversation: { id: chat.id, conversationType: 'personal', tenantId: sim.tenantId },
        channelData: { tenant: { id: sim.tenantId } },
        text: 'whoami',
        textFormat: 'plain',
      };
      const turn = sim.post(activity);
      const reply = await arrived; // the turn is now waiting on the connector
      r.child.kill('SIGTERM');
      await until('the stopping log line', r, async () => (r.logs.some((l) => l.msg === 'stopping: finishing turns in flight') ? true : undefined));
      assert.equal(r.child.exitCode, null, 'still running while the turn is in flight');
      release();

      const result = await turn;
      assert.equal(result.status, 200, 'the turn in flight was answered');
      assert.match(reply, /You're a teacher/);
      assert.deepEqual(await r.exited, { code: 0, signal: null });
    } finally {
      release();
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});

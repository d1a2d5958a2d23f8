import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { locateBrowser } from '../../scripts/browser';
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

/**
 * The Chrome, Edge or Chromium the end-to-end tests drive, found as `npm test`'s pretest step finds it
 * (scripts/browser.js: CHROMIUM_PATH, the PATH, the usual install places, Playwright's managed Chromium).
 * Throws the same one-line hint when there is none.
 */
export function findChromium(): string {
  const found = locateBrowser();
  if (!found.ok) throw new Error(found.message);
  return found.path;
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

/**
 * What reached the Playground page for cards, in the order the page received it, each stamped with the
 * page's clock: a message created or updated in the conversation (the bot's sends and updateActivity
 * calls, pushed over the Playground's conversation WebSocket) and the answer to an Action.Execute click
 * (the invoke the page posts, with the card the bot returned). The Playground shows a message's latest
 * delivery, so this tells which card a person is left looking at, however close together they arrive.
 */
export interface CardDelivery {
  readonly kind: 'create' | 'update' | 'invoke';
  /** Date.now() in the page when it arrived. */
  readonly at: number;
  /** create/update: the message; invoke: the message whose card was clicked (replyToId). */
  readonly messageId: string;
  /** invoke only: the Action.Execute verb and the HTTP status of the answer. */
  readonly verb?: string;
  readonly status?: number;
  /** The card payload as JSON text (attachments for create/update, the invoke response body). */
  readonly json: string;
}

/**
 * Starts recording card deliveries in every page of `context` (a script that runs before the Playground's
 * own code, wrapping WebSocket and XMLHttpRequest to listen in; nothing is changed). Call before the first
 * `page.goto`; each navigation starts a fresh record. Read it with `cardDeliveries`, wait with `waitForCardDelivery`.
 */
export async function recordCardDeliveries(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    // Runs in the browser. lib has no DOM types here, hence `any`.
    const w = globalThis as any;
    if (w.__togetherCardDeliveries) return;
    const record: unknown[] = (w.__togetherCardDeliveries = []);
    const NativeWebSocket = w.WebSocket as new (url: string, protocols?: string | string[]) => any;
    w.WebSocket = class extends NativeWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        if (!String(url).includes('/_ws_conversation/')) return;
        // Added before the Playground sets its own handler, so this runs first for every frame.
        this.addEventListener('message', (event: { data: unknown }) => {
          const at = Date.now();
          let data: any;
          try {
            data = JSON.parse(String(event.data));
          } catch {
            return;
          }
          if ((data?.action === 'createMessage' || data?.action === 'updateMessage') && data.message) {
            record.push({ kind: data.action === 'createMessage' ? 'create' : 'update', at, messageId: String(data.message.messageId), json: JSON.stringify(data.message.attachments ?? []) });
          }
        });
      }
    };
    const xhr = w.XMLHttpRequest.prototype;
    const open = xhr.open;
    const send = xhr.send;
    xhr.open = function (this: any, method: string, url: string, ...rest: unknown[]) {
      this.__togetherUrl = String(url);
      return open.call(this, method, url, ...rest);
    };
    xhr.send = function (this: any, body?: unknown) {
      if (String(this.__togetherUrl ?? '').includes('/_conversation/v1/invoke')) {
        let request: any = {};
        try {
          request = JSON.parse(String(body));
        } catch {
          request = {};
        }
        this.addEventListener('readystatechange', () => {
          if (this.readyState !== 4) return;
          record.push({ kind: 'invoke', at: Date.now(), messageId: String(request?.replyToId ?? ''), verb: String(request?.value?.action?.verb ?? ''), status: this.status, json: String(this.responseText ?? '') });
        });
      }
      return send.call(this, body);
    };
  });
}

export async function cardDeliveries(page: Page): Promise<CardDelivery[]> {
  return page.evaluate(() => ((globalThis as any).__togetherCardDeliveries ?? []) as CardDelivery[]);
}

export interface CardDeliveryQuery {
  readonly kind: CardDelivery['kind'];
  /** Only deliveries that arrived at or after this page time (Date.now() in the page). */
  readonly since?: number;
  readonly messageId?: string;
  readonly verb?: string;
  /** Text the card JSON must contain. */
  readonly includes?: string;
}

/** The first delivery matching `query`, waiting up to `timeoutMs` for it; the error says what was seen instead. */
export async function waitForCardDelivery(page: Page, query: CardDeliveryQuery, timeoutMs: number): Promise<CardDelivery> {
  try {
    const handle = await page.waitForFunction(
      (q: CardDeliveryQuery) =>
        (((globalThis as any).__togetherCardDeliveries ?? []) as CardDelivery[]).find(
          (d) =>
            d.kind === q.kind &&
            d.at >= (q.since ?? 0) &&
            (q.messageId === undefined || d.messageId === q.messageId) &&
            (q.verb === undefined || d.verb === q.verb) &&
            (q.includes === undefined || d.json.includes(q.includes)),
        ) ?? false,
      query,
      { timeout: timeoutMs },
    );
    return (await handle.jsonValue()) as CardDelivery;
  } catch (err) {
    const seen = await cardDeliveries(page).catch(() => []);
    throw new Error(`no card delivery ${JSON.stringify(query)} within ${timeoutMs} ms (${(err as Error).message.split('\n')[0]}).\n${describeCardDeliveries(seen)}`);
  }
}

/** One line per delivery, for error messages. */
export function describeCardDeliveries(deliveries: readonly CardDelivery[]): string {
  if (deliveries.length === 0) return 'Card deliveries seen by the page: none.';
  const t0 = deliveries[0]!.at;
  const lines = deliveries.map((d) => {
    const title = /"text":"([^"]{1,80})"/.exec(d.json)?.[1] ?? '';
    return `  +${d.at - t0} ms ${d.kind}${d.verb ? ` ${d.verb} (${d.status})` : ''} message ${d.messageId}: ${title}`;
  });
  return `Card deliveries seen by the page:\n${lines.join('\n')}`;
}

/*
 * How the Playground (0.2.x) renders Adaptive Card inputs: Fluent UI v9 controls, not native HTML inputs.
 * Input.ChoiceSet (compact) is a combobox with a listbox of options; Input.Date is a DatePicker that also
 * takes typed text (parsed with the browser's Date.parse, shown as "December 7, 2026"); Input.Time is a
 * TimePicker listing every half hour as "4:00 PM". Each control's accessible name starts with its label.
 */

/** Opens a compact Input.ChoiceSet and picks the option titled `title`. */
export async function chooseOption(page: Page, combobox: Locator, title: string): Promise<void> {
  await combobox.click();
  await page.getByRole('option', { name: title, exact: true }).click();
  const shown = await combobox.inputValue();
  if (shown !== title) throw new Error(`the choice set shows "${shown}" after choosing "${title}"`);
}

/** Types `isoDate` (YYYY-MM-DD) into an Input.Date the way a person would, in the picker's own format, and leaves the field. */
export async function typeDate(page: Page, input: Locator, isoDate: string): Promise<void> {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!match) throw new Error(`not a YYYY-MM-DD date: ${isoDate}`);
  // Month name, day, year: unambiguous, and Date.parse reads it as that calendar day in the browser's own time zone.
  const text = new Intl.DateTimeFormat('en-US', { month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${isoDate}T00:00:00Z`));
  await input.fill(text);
  await page.keyboard.press('Tab');
  const shown = await input.inputValue();
  if (shown !== text) throw new Error(`the date field shows "${shown}" after typing "${text}"`);
}

/** Picks `hhmm` (24-hour "16:00"; on the hour or half hour) from an Input.Time's list. */
export async function chooseTime(page: Page, combobox: Locator, hhmm: string): Promise<void> {
  const match = /^(\d{2}):(00|30)$/.exec(hhmm);
  if (!match) throw new Error(`the Playground's time list has only whole and half hours: ${hhmm}`);
  const hour = Number(match[1]);
  const label = `${hour % 12 === 0 ? 12 : hour % 12}:${match[2]} ${hour < 12 ? 'AM' : 'PM'}`;
  await chooseOption(page, combobox, label);
}

/*
 * A whole Playground run for one test file: the bot (as `npm start` runs it, on its own data), the
 * Agents Playground signed in as one person, and headless Chromium. The Playground holds one user per
 * process, so `as(person)` restarts it (same port, so the bot's stored serviceUrl stays right) with that
 * person as its signed-in user; it keeps no history across restarts.
 */

/** A person of .m365agentsplayground.yml (currentUser or one of the five users). */
export interface PlaygroundPerson {
  readonly id: string;
  readonly name: string;
  readonly aadObjectId: string;
  readonly [field: string]: string;
}

interface PlaygroundConfigFile {
  currentUser: PlaygroundPerson;
  users: PlaygroundPerson[];
  personalChat?: { id: string };
  [key: string]: unknown;
}

function readPlaygroundConfig(): PlaygroundConfigFile {
  // yaml is a devDependency (the infra test reads m365agents.yml with it).
  const YAML = require('yaml') as typeof import('yaml');
  return YAML.parse(fs.readFileSync(path.join(repositoryRoot(), '.m365agentsplayground.yml'), 'utf8')) as PlaygroundConfigFile;
}

/** Everyone in .m365agentsplayground.yml, signed-in user first. */
export function playgroundPeople(): PlaygroundPerson[] {
  const config = readPlaygroundConfig();
  return [config.currentUser, ...config.users];
}

export function playgroundPerson(name: string): PlaygroundPerson {
  const person = playgroundPeople().find((p) => p.name === name);
  if (!person) throw new Error(`nobody called ${name} in .m365agentsplayground.yml`);
  return person;
}

/**
 * Writes `dir`/.m365agentsplayground.yml: the repository's, with `name` as the signed-in user (the others,
 * the repository's currentUser among them, as the five users) and a personal chat of their own, so a
 * message the bot sends to one person's chat never shows in another's.
 */
export function writePlaygroundConfigAs(dir: string, name: string): PlaygroundPerson {
  const YAML = require('yaml') as typeof import('yaml');
  const config = readPlaygroundConfig();
  const everyone = [config.currentUser, ...config.users];
  const person = everyone.find((p) => p.name === name);
  if (!person) throw new Error(`nobody called ${name} in .m365agentsplayground.yml`);
  const slug = name.toLowerCase().replace(/[^a-z]+/g, '-');
  const mine: PlaygroundConfigFile = {
    ...config,
    currentUser: person,
    users: everyone.filter((p) => p !== person),
    personalChat: { id: `a:playground-personal-chat-${slug}` },
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '.m365agentsplayground.yml'), YAML.stringify(mine));
  return person;
}

/** Where the tests keep their screenshots (gitignored): test-artefacts/playground/<suite>/. */
export function artifactDir(suite: string): string {
  const dir = path.join(repositoryRoot(), 'test-artefacts', 'playground', suite);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Something to type: text, and people (or the bot) to @mention through the Playground's mention picker. */
export type MessagePart = string | { readonly mention: string };

export interface PlaygroundRun {
  readonly bot: BotProcess;
  readonly browser: HeadlessBrowser;
  readonly page: Page;
  /** The Playground now running (changes with `as`). */
  playground(): Playground;
  /** Who the Playground is signed in as. */
  person(): PlaygroundPerson;
  /** Restarts the Playground signed in as `name` and opens it (Personal Chat). */
  as(name: string): Promise<void>;
  /** Opens the Playground afresh (a new page load) and waits until it has reached the bot. */
  open(): Promise<void>;
  /** Switches to a chat or channel in the Playground's side bar ('Personal Chat', 'General', …). */
  goTo(chat: string): Promise<void>;
  /** Types a message in the open chat and sends it; in a group chat or channel, mention Together first. */
  send(...parts: MessagePart[]): Promise<void>;
  /** The Adaptive Card (the newest first) whose TextBlock reads exactly `title` (or matches it). */
  card(title: string | RegExp): Locator;
  /** Waits for `card(title)` to be visible (45 s), with a clear error. */
  waitForCard(title: string | RegExp, what?: string): Promise<Locator>;
  /** Keeps a screenshot (of `of`, or the page) in test-artefacts/playground/<suite>/<name>.png; returns its path. */
  screenshot(name: string, of?: Locator): Promise<string>;
  /** Runs `steps`; on failure adds a screenshot, the card deliveries, the Playground's and the bot's output. */
  explainingFailure(steps: () => Promise<void>): Promise<void>;
  /** Stops the browser, the Playground and the bot; returns the bot's exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a run: the bot on a fresh data directory (env added to its environment), the Playground signed in
 * as `as` (default: the repository's currentUser), Chromium recording card deliveries, and opens the page.
 */
export async function startPlaygroundRun(options: {
  readonly suite: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly as?: string;
}): Promise<PlaygroundRun> {
  findChromium(); // fail now, with the install hint, before starting anything
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `together-playground-${options.suite}-`));
  const shots = artifactDir(options.suite);
  let bot: BotProcess | undefined;
  let playground: Playground | undefined;
  let browser: HeadlessBrowser | undefined;
  try {
    bot = await startBotProcess({ dataDir: path.join(tmp, 'data'), env: { LOG_LEVEL: 'info', ...options.env }, timeoutMs: 60_000 });
    const port = await freePort();
    let current = playgroundPerson(options.as ?? readPlaygroundConfig().currentUser.name);
    const startAs = async (name: string): Promise<Playground> => {
      const cwd = path.join(tmp, 'as', name.replace(/\W+/g, '-'));
      current = writePlaygroundConfigAs(cwd, name);
      return startPlayground({ botEndpoint: bot!.endpoint, port, cwd, logFile: path.join(cwd, 'm365agentsplayground.log'), timeoutMs: 60_000 });
    };
    playground = await startAs(current.name);
    browser = await launchChromium();
    await recordCardDeliveries(browser.context);
    const { page } = browser;
    const run: PlaygroundRun = {
      bot,
      browser,
      page,
      playground: () => playground!,
      person: () => current,
      async as(name) {
        await playground!.stop();
        playground = await startAs(name);
        if (playground.port !== port) throw new Error(`the Playground came back on port ${playground.port}, not ${port}: the bot's stored chats would point at the old one`);
        await run.open();
      },
      async open() {
        await page.goto(playground!.url, { waitUntil: 'load', timeout: 30_000 });
        // The Playground's log panel says "Connected." once it has reached the bot's endpoint.
        await page.getByText('Connected.', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });
        await messageBox(page).waitFor({ state: 'visible', timeout: 30_000 });
      },
      async goTo(chat) {
        await page.getByText(chat, { exact: true }).first().click();
        await messageBox(page).waitFor({ state: 'visible', timeout: 15_000 });
      },
      async send(...parts) {
        const box = messageBox(page);
        await box.click();
        let typed = '';
        for (const part of parts) {
          if (typeof part === 'string') {
            await page.keyboard.type(part);
            typed += part;
          } else {
            // The Playground's mention picker opens on "@" and lists the people (and the bot) matching what follows.
            await page.keyboard.type(`@${part.mention.slice(0, 3)}`);
            await page
              .getByRole('menuitem')
              .filter({ has: page.getByText(part.mention, { exact: true }) })
              .first()
              .click({ timeout: 10_000 });
            typed += part.mention;
          }
        }
        const shown = (await box.innerText()).replace(/\s+/g, ' ').trim();
        if (shown !== typed.replace(/\s+/g, ' ').trim()) throw new Error(`the message box shows "${shown}", not "${typed}"`);
        await page.keyboard.press('Enter');
      },
      card(title) {
        const text = typeof title === 'string' ? exactly(title) : title;
        return page.locator('.ac-adaptiveCard').filter({ has: page.locator('.ac-textBlock', { hasText: text }) });
      },
      async waitForCard(title, what) {
        const card = run.card(title).first();
        await card.waitFor({ state: 'visible', timeout: 45_000 }).catch(async (err: Error) => {
          const firsts = await page
            .locator('.ac-adaptiveCard')
            .evaluateAll((cards) => cards.map((c) => (c.querySelector('.ac-textBlock') as { textContent?: string } | null)?.textContent ?? '(no TextBlock)'))
            .catch(() => []);
          const matches = run.card(title);
          const n = await matches.count();
          const boxes = [];
          for (let i = 0; i < n; i += 1) boxes.push(JSON.stringify(await matches.nth(i).boundingBox()));
          throw new Error(`(${n} matching: ${boxes.join(' ')}) no card ${what ?? `"${String(title)}"`} appeared: ${err.message.split('\n')[0]}\nThe cards on screen begin: ${firsts.map((t) => JSON.stringify(t)).join(', ') || 'none'}`);
        });
        return card;
      },
      async screenshot(name, of) {
        const file = path.join(shots, `${name}.png`);
        if (of) await of.screenshot({ path: file });
        else await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      async explainingFailure(steps) {
        try {
          await steps();
        } catch (err) {
          const shot = path.join(shots, `failure-${Date.now()}.png`);
          const saved = await page
            .screenshot({ path: shot, fullPage: true })
            .then(() => `Screenshot: ${shot}`)
            .catch((e: Error) => `(no screenshot: ${e.message})`);
          const deliveries = await cardDeliveries(page).then(describeCardDeliveries, (e: Error) => `(no card deliveries: ${e.message})`);
          throw new Error(
            [(err as Error).message, saved, deliveries, playground!.diagnostics(), `Bot output (tail):\n${bot!.output().slice(-6_000)}`].join('\n'),
          );
        }
      },
      async stop() {
        try {
          await browser?.close();
          await playground?.stop();
          return bot ? await bot.stop() : { code: 0, signal: null };
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      },
    };
    await run.open();
    return run;
  } catch (err) {
    await browser?.close();
    await playground?.stop();
    await bot?.stop(2_000);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The open chat's message box (a Lexical contenteditable). */
export function messageBox(page: Page): Locator {
  return page.locator('[contenteditable="true"][role="textbox"]').filter({ visible: true }).first();
}

/** Today's date in London, YYYY-MM-DD. */
export function londonToday(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** How the cards write a day: "Mon 7 Dec", with the year when it is not this year ("Mon 4 Jan 2027"). */
export function dayText(isoDate: string, todayIso: string): string {
  const sameYear = isoDate.slice(0, 4) === todayIso.slice(0, 4);
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) });
  return format.format(new Date(`${isoDate}T00:00:00Z`)).replace(/,/g, '');
}

export function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

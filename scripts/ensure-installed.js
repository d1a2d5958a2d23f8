#!/usr/bin/env node
// Plain JavaScript on purpose: it runs before anything is installed or built.
// `npm start` and `npm test` call it first, so a fresh clone needs no separate step:
//   - it stops at once, in one line, on a Node older than 22.12;
//   - it runs `npm ci` when node_modules is missing or older than package-lock.json;
//   - with --browser (npm test), it finds a Chrome, Edge or Chromium for the Agents Playground tests
//     (scripts/browser.js), sets one up where it can (apt-get as root on Debian/Ubuntu; Playwright's
//     download unless PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD is set; neither when TOGETHER_NO_BROWSER_INSTALL=1),
//     and otherwise stops at once with one line saying what to install;
//   - with --build, it runs tsc only when a source file changed since the last good build (the
//     stamp dist/.build-stamp, written after tsc succeeds), so a start with nothing changed does not wait for it.
'use strict';
const { existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync, utimesSync, mkdirSync, rmSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);

// Before anything else: an older Node would fail later with a confusing error (restify 12 needs 22+).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `Together needs Node.js 22.12 or newer (24 LTS recommended); this is ${process.version}. Install Node 24 from https://nodejs.org, or run \`source scripts/use-node24.sh\` to fetch it from the npm registry into .tools/.`,
  );
  process.exit(1);
}
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
// A node_modules that is a link to another checkout's install (a git worktree sharing one) is never
// reinstalled from here: `npm ci` through the link would empty the other checkout's install first.
const linked = existsSync(path.join(root, 'node_modules')) && lstatSync(path.join(root, 'node_modules')).isSymbolicLink();
if (stale && linked) {
  console.log('node_modules is a link to another checkout\'s install: not reinstalling it from here (run npm ci where it lives, or replace the link with npm ci here).');
} else if (stale) {
  console.log('Installing dependencies (npm ci)…');
  const npm = process.env.npm_execpath;
  const result = npm
    ? spawnSync(process.execPath, [npm, 'ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    console.error('npm ci failed; see the messages above.');
    process.exit(result.status ?? 1);
  }
}

function ensureBrowser() {
  const { locateBrowser, canInstallWithApt } = require('./browser');
  let found = locateBrowser();
  if (found.ok) return;
  if (!found.override && process.env.TOGETHER_NO_BROWSER_INSTALL !== '1') {
    const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : undefined;
    if (canInstallWithApt({ platform: process.platform, uid: process.getuid?.(), osRelease })) {
      console.log('Installing Chromium for the Agents Playground tests (apt-get install -y chromium)…');
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const update = spawnSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' }) : update;
      if (install.status !== 0) console.error(`apt-get could not install chromium: ${lastLine(install.stderr) || install.error?.message || `exit ${install.status}`}`);
      found = locateBrowser();
    }
    if (!found.ok && !process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD) {
      const main = resolveFrom('playwright-core'); // its package exports no cli.js; it sits next to the main file
      const cli = main && path.join(path.dirname(main), 'cli.js');
      if (cli) {
        console.log("Downloading Playwright's Chromium for the Agents Playground tests (playwright-core install chromium)…");
        const download = spawnSync(process.execPath, [cli, 'install', 'chromium'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 });
        if (download.status !== 0) console.error(`The download failed: ${firstLine(download.stderr) || download.error?.message || `exit ${download.status}`}`);
        found = locateBrowser();
      }
    }
  }
  if (!found.ok) {
    console.error(found.message);
    process.exit(1);
  }
}

/** @param {string | undefined} text */
function firstLine(text) {
  return (text || '').trim().split('\n')[0] || '';
}

/** @param {string | undefined} text */
function lastLine(text) {
  return (text || '').trim().split('\n').pop() || '';
}

/** @param {string} request */
function resolveFrom(request) {
  try {
    return require.resolve(request, { paths: [root] });
  } catch {
    return undefined;
  }
}

/** What tsc reads: the folders in tsconfig.json's include, tsconfig.json itself and the installed packages. */
const BUILD_INPUTS = ['src', 'test', 'bench', 'scripts', 'tsconfig.json', 'package-lock.json'];
const STAMP = path.join(root, 'dist', '.build-stamp');

/** The newest modification time among the build's inputs: files and folders (a folder changes when a file is added, removed or renamed). */
function newestInput() {
  let newest = 0;
  /** @param {string} entry */
  const visit = (entry) => {
    let stat;
    try {
      stat = statSync(entry);
    } catch {
      return;
    }
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) for (const name of readdirSync(entry)) visit(path.join(entry, name));
  };
  for (const input of BUILD_INPUTS) visit(path.join(root, input));
  return newest;
}

function buildIfChanged() {
  const stamp = existsSync(STAMP) ? statSync(STAMP).mtimeMs : -1;
  if (stamp >= newestInput()) {
    console.log('Nothing changed since the last build: not rebuilding.');
    return;
  }
  console.log('Building (tsc)…');
  const started = new Date();
  const tsc = resolveFrom('typescript/bin/tsc');
  const result = tsc
    ? spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' })
    : { status: 1, error: new Error('typescript is not installed (run npm ci)') };
  if (result.status !== 0) {
    rmSync(STAMP, { force: true }); // so the next start builds again and shows the errors
    console.error(`The build failed${result.error ? `: ${result.error.message}` : '; see the messages above'}.`);
    process.exit(result.status || 1);
  }
  // Stamped with the time the build started, so a file saved while tsc ran is built next time.
  mkdirSync(path.dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, 'the last successful build (scripts/ensure-installed.js)\n');
  utimesSync(STAMP, started, started);
}

if (args.includes('--browser')) ensureBrowser();
if (args.includes('--build')) buildIfChanged();

// Plain JavaScript on purpose: `npm test` runs it (through scripts/ensure-installed.js) before anything
// is built, and the test support (test/support/playground.ts) imports it, so there is one way to find
// the browser the Agents Playground end-to-end tests drive.
//
// Where a Chrome, Edge or Chromium is looked for, in this order:
//   1. CHROMIUM_PATH, when set (and then only there: a wrong one is reported, not silently passed over);
//   2. the PATH, under the names the browsers install as (chromium, google-chrome, microsoft-edge, …;
//      chrome.exe and msedge.exe on Windows);
//   3. the places their installers put them when not on the PATH (/opt on Linux, /Applications on
//      macOS, Program Files and the user's AppData on Windows);
//   4. Playwright's managed Chromium (`npx playwright-core install chromium`), where playwright-core
//      says it lives (PLAYWRIGHT_BROWSERS_PATH or its cache folder).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Names the browsers go by on the PATH. */
const PATH_NAMES = {
  linux: ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'microsoft-edge', 'microsoft-edge-stable'],
  darwin: ['chromium', 'google-chrome', 'microsoft-edge'],
  win32: ['chrome.exe', 'msedge.exe', 'chromium.exe'],
};

/**
 * Where installers put the browsers, for a platform and environment.
 * @param {string} platform process.platform
 * @param {(name: string) => string | undefined} getenv
 * @returns {string[]}
 */
function installPaths(platform, getenv) {
  if (platform === 'linux') {
    return ['/opt/google/chrome/chrome', '/opt/google/chrome-beta/chrome', '/opt/microsoft/msedge/msedge', '/snap/bin/chromium'];
  }
  if (platform === 'darwin') {
    const apps = ['/Applications', ...(getenv('HOME') ? [path.posix.join(getenv('HOME') || '', 'Applications')] : [])];
    const bundles = ['Google Chrome.app/Contents/MacOS/Google Chrome', 'Chromium.app/Contents/MacOS/Chromium', 'Microsoft Edge.app/Contents/MacOS/Microsoft Edge'];
    return apps.flatMap((dir) => bundles.map((bundle) => path.posix.join(dir, bundle)));
  }
  if (platform === 'win32') {
    const roots = ['PROGRAMFILES', 'PROGRAMFILES(X86)', 'LOCALAPPDATA'].map(getenv).filter((dir) => !!dir);
    const exes = ['Google\\Chrome\\Application\\chrome.exe', 'Microsoft\\Edge\\Application\\msedge.exe', 'Chromium\\Application\\chrome.exe'];
    return roots.flatMap((dir) => exes.map((exe) => path.win32.join(/** @type {string} */ (dir), exe)));
  }
  return [];
}

/**
 * The one line to print when there is no browser: what to install on this platform.
 * @param {string} platform process.platform
 * @returns {string}
 */
function installHint(platform) {
  const how =
    platform === 'darwin'
      ? 'install Google Chrome (https://www.google.com/chrome) or run `brew install --cask chromium`'
      : platform === 'win32'
        ? 'install Google Chrome (https://www.google.com/chrome) or Microsoft Edge'
        : 'install Chromium (Debian/Ubuntu: `sudo apt-get install -y chromium`) or Google Chrome, or run `npx playwright-core install chromium`';
  return `npm test needs Chrome, Edge or Chromium for the Agents Playground tests and found none: ${how}, or set CHROMIUM_PATH to the browser's executable.`;
}

/**
 * @typedef {{ ok: true, path: string, how: 'CHROMIUM_PATH' | 'PATH' | 'installed' | 'playwright' }} Found
 * @typedef {{ ok: false, message: string, override: boolean }} NotFound
 */

/**
 * Where the browser is, from the platform, the environment and what exists. Pure: it only looks through `exists`.
 * @param {{ platform: string, env: Record<string, string | undefined>, exists: (file: string) => boolean, managed?: string }} where
 *   `exists` says whether an executable file is there; `managed` is where Playwright's managed Chromium
 *   would be (playwright-core's chromium.executablePath()), if playwright-core is installed.
 * @returns {Found | NotFound}
 */
function findBrowser({ platform, env, exists, managed }) {
  // Windows environment names are case-insensitive (Path, ProgramFiles, …).
  /** @param {string} name */
  const getenv = (name) => {
    if (platform !== 'win32') return env[name];
    const key = Object.keys(env).find((k) => k.toUpperCase() === name.toUpperCase());
    return key === undefined ? undefined : env[key];
  };
  const override = getenv('CHROMIUM_PATH');
  if (override) {
    if (exists(override)) return { ok: true, path: override, how: 'CHROMIUM_PATH' };
    return { ok: false, override: true, message: `CHROMIUM_PATH=${override} is not an executable file: point it at Chrome, Edge or Chromium, or unset it.` };
  }
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  const dirs = (getenv('PATH') || '').split(platform === 'win32' ? ';' : ':').filter((dir) => dir !== '');
  const names = PATH_NAMES[/** @type {keyof typeof PATH_NAMES} */ (platform)] || PATH_NAMES.linux;
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      if (exists(candidate)) return { ok: true, path: candidate, how: 'PATH' };
    }
  }
  for (const candidate of installPaths(platform, getenv)) {
    if (exists(candidate)) return { ok: true, path: candidate, how: 'installed' };
  }
  if (managed && exists(managed)) return { ok: true, path: managed, how: 'playwright' };
  return { ok: false, override: false, message: installHint(platform) };
}

/**
 * Whether `apt-get install -y chromium` can set the browser up here: root on Debian or Ubuntu (or a derivative).
 * @param {{ platform: string, uid: number | undefined, osRelease: string | undefined }} system
 *   `osRelease` is the text of /etc/os-release, if there is one.
 * @returns {boolean}
 */
function canInstallWithApt({ platform, uid, osRelease }) {
  if (platform !== 'linux' || uid !== 0 || !osRelease) return false;
  const field = (/** @type {string} */ name) => (new RegExp(`^${name}=["']?([^"'\\n]*)`, 'm').exec(osRelease) || [])[1] || '';
  return [field('ID'), ...field('ID_LIKE').split(/\s+/)].some((id) => id === 'debian' || id === 'ubuntu');
}

/** @param {string} file */
function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where Playwright's managed Chromium lives (or would, once downloaded: PLAYWRIGHT_BROWSERS_PATH or its
 * cache folder), or undefined when playwright-core is not installed.
 * @returns {string | undefined}
 */
function managedChromium() {
  try {
    const playwright = require(require.resolve('playwright-core', { paths: [path.resolve(__dirname, '..')] }));
    return playwright.chromium.executablePath() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The browser on this machine (process.env, the real filesystem), as findBrowser finds it.
 * @returns {Found | NotFound}
 */
function locateBrowser() {
  return findBrowser({ platform: process.platform, env: process.env, exists: isExecutableFile, managed: managedChromium() });
}

module.exports = { findBrowser, installHint, installPaths, canInstallWithApt, managedChromium, locateBrowser, PATH_NAMES };

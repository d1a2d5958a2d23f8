import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canInstallWithApt, findBrowser, installHint } from '../scripts/browser';

/**
 * `npm test` on a fresh machine: the browser the Agents Playground tests drive is found wherever it is
 * installed (scripts/browser.js, used by the pretest step and by the test support), and when there is
 * none and none can be set up, the pretest step stops at once with one line saying what to install.
 */

const root = path.resolve(__dirname, '..', '..');

interface Machine {
  readonly platform: NodeJS.Platform;
  readonly env: Record<string, string>;
  /** The executable files there are. */
  readonly files: readonly string[];
  /** Where Playwright's managed Chromium would be. */
  readonly managed?: string;
}

const PLAYWRIGHT_LINUX = '/home/sam/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome';
const PLAYWRIGHT_MAC = '/Users/sam/Library/Caches/ms-playwright/chromium-1255/chrome-mac/Chromium.app/Contents/MacOS/Chromium';
const PLAYWRIGHT_WINDOWS = 'C:\\Users\\sam\\AppData\\Local\\ms-playwright\\chromium-1255\\chrome-win\\chrome.exe';
const WINDOWS_ENV = {
  Path: 'C:\\Windows\\system32;C:\\Program Files\\nodejs',
  ProgramFiles: 'C:\\Program Files',
  'ProgramFiles(x86)': 'C:\\Program Files (x86)',
  LOCALAPPDATA: 'C:\\Users\\sam\\AppData\\Local',
};

const found: Array<[string, Machine, string, string]> = [
  ['Debian has the chromium package', { platform: 'linux', env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, files: ['/usr/bin/chromium'] }, '/usr/bin/chromium', 'PATH'],
  ['Ubuntu has chromium-browser', { platform: 'linux', env: { PATH: '/usr/bin:/bin' }, files: ['/usr/bin/chromium-browser'] }, '/usr/bin/chromium-browser', 'PATH'],
  ['Linux has Google Chrome on the PATH', { platform: 'linux', env: { PATH: '/usr/bin' }, files: ['/usr/bin/google-chrome-stable'] }, '/usr/bin/google-chrome-stable', 'PATH'],
  ['Linux has Edge on the PATH', { platform: 'linux', env: { PATH: '/usr/bin' }, files: ['/usr/bin/microsoft-edge'] }, '/usr/bin/microsoft-edge', 'PATH'],
  ['Linux has Google Chrome only in /opt', { platform: 'linux', env: { PATH: '/usr/bin' }, files: ['/opt/google/chrome/chrome'] }, '/opt/google/chrome/chrome', 'installed'],
  ['Linux has Edge only in /opt', { platform: 'linux', env: { PATH: '/usr/bin' }, files: ['/opt/microsoft/msedge/msedge'] }, '/opt/microsoft/msedge/msedge', 'installed'],
  ['Linux has the Chromium snap', { platform: 'linux', env: { PATH: '/usr/bin' }, files: ['/snap/bin/chromium'] }, '/snap/bin/chromium', 'installed'],
  ['Linux has only Playwright\'s Chromium', { platform: 'linux', env: { PATH: '/usr/bin' }, files: [PLAYWRIGHT_LINUX], managed: PLAYWRIGHT_LINUX }, PLAYWRIGHT_LINUX, 'playwright'],
  [
    'the PATH comes before the install places and Playwright',
    { platform: 'linux', env: { PATH: '/home/sam/bin:/usr/bin' }, files: ['/opt/google/chrome/chrome', '/home/sam/bin/chromium', PLAYWRIGHT_LINUX], managed: PLAYWRIGHT_LINUX },
    '/home/sam/bin/chromium',
    'PATH',
  ],
  [
    'CHROMIUM_PATH is set, and a browser is on the PATH too',
    { platform: 'linux', env: { PATH: '/usr/bin', CHROMIUM_PATH: '/srv/browsers/chrome' }, files: ['/usr/bin/chromium', '/srv/browsers/chrome'] },
    '/srv/browsers/chrome',
    'CHROMIUM_PATH',
  ],
  ['a Mac has Google Chrome', { platform: 'darwin', env: { PATH: '/usr/bin:/bin', HOME: '/Users/sam' }, files: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'] }, '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', 'installed'],
  ['a Mac has Edge', { platform: 'darwin', env: { PATH: '/usr/bin', HOME: '/Users/sam' }, files: ['/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge'] }, '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge', 'installed'],
  ['a Mac has Chromium in the user\'s Applications', { platform: 'darwin', env: { PATH: '/usr/bin', HOME: '/Users/sam' }, files: ['/Users/sam/Applications/Chromium.app/Contents/MacOS/Chromium'] }, '/Users/sam/Applications/Chromium.app/Contents/MacOS/Chromium', 'installed'],
  ['a Mac has Homebrew\'s chromium on the PATH', { platform: 'darwin', env: { PATH: '/opt/homebrew/bin:/usr/bin', HOME: '/Users/sam' }, files: ['/opt/homebrew/bin/chromium'] }, '/opt/homebrew/bin/chromium', 'PATH'],
  ['a Mac has only Playwright\'s Chromium', { platform: 'darwin', env: { PATH: '/usr/bin', HOME: '/Users/sam' }, files: [PLAYWRIGHT_MAC], managed: PLAYWRIGHT_MAC }, PLAYWRIGHT_MAC, 'playwright'],
  ['Windows has Edge, as every Windows 10 and 11 does', { platform: 'win32', env: WINDOWS_ENV, files: ['C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'] }, 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe', 'installed'],
  [
    'Windows has Google Chrome for everyone, and Edge',
    { platform: 'win32', env: WINDOWS_ENV, files: ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'] },
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    'installed',
  ],
  ['Windows has Google Chrome for one user', { platform: 'win32', env: WINDOWS_ENV, files: ['C:\\Users\\sam\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe'] }, 'C:\\Users\\sam\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe', 'installed'],
  ['Windows has chrome.exe on the Path', { platform: 'win32', env: { ...WINDOWS_ENV, Path: 'C:\\tools\\chrome;C:\\Windows' }, files: ['C:\\tools\\chrome\\chrome.exe'] }, 'C:\\tools\\chrome\\chrome.exe', 'PATH'],
  ['Windows has only Playwright\'s Chromium', { platform: 'win32', env: WINDOWS_ENV, files: [PLAYWRIGHT_WINDOWS], managed: PLAYWRIGHT_WINDOWS }, PLAYWRIGHT_WINDOWS, 'playwright'],
];

const none: Array<[string, Machine]> = [
  ['a Linux machine has no browser and no PATH', { platform: 'linux', env: {}, files: [] }],
  ['a Linux machine has only playwright-core, without its download', { platform: 'linux', env: { PATH: '/usr/bin' }, files: ['/usr/bin/firefox'], managed: PLAYWRIGHT_LINUX }],
  ['a Mac has only Safari', { platform: 'darwin', env: { PATH: '/usr/bin', HOME: '/Users/sam' }, files: ['/Applications/Safari.app/Contents/MacOS/Safari'] }],
  ['a Windows machine has Edge removed', { platform: 'win32', env: WINDOWS_ENV, files: ['C:\\Windows\\system32\\notepad.exe'] }],
];

function find(machine: Machine) {
  const files = new Set(machine.files);
  return findBrowser({ platform: machine.platform, env: machine.env, exists: (file) => files.has(file), ...(machine.managed ? { managed: machine.managed } : {}) });
}

describe('finding a browser for the Agents Playground tests', function () {
  for (const [what, machine, expected, how] of found) {
    it(`when ${what}, then that browser is used`, function () {
      assert.deepEqual(find(machine), { ok: true, path: expected, how });
    });
  }

  for (const [what, machine] of none) {
    it(`when ${what}, then nothing is found and the hint says what to install on that system`, function () {
      assert.deepEqual(find(machine), { ok: false, override: false, message: installHint(machine.platform) });
    });
  }

  it('when CHROMIUM_PATH names a file that is not there, then it says so rather than using another browser', function () {
    assert.deepEqual(find({ platform: 'linux', env: { PATH: '/usr/bin', CHROMIUM_PATH: '/srv/chrome' }, files: ['/usr/bin/chromium'] }), {
      ok: false,
      override: true,
      message: 'CHROMIUM_PATH=/srv/chrome is not an executable file: point it at Chrome, Edge or Chromium, or unset it.',
    });
  });

  it('when the hint is given, then it is one line naming what to install for that system', function () {
    for (const [platform, install] of [['linux', /apt-get install -y chromium/], ['darwin', /Google Chrome/], ['win32', /Microsoft Edge/]] as const) {
      const hint = installHint(platform);
      assert.doesNotMatch(hint, /\n/);
      assert.match(hint, install);
      assert.match(hint, /CHROMIUM_PATH/);
    }
  });

  const apt: Array<[string, Parameters<typeof canInstallWithApt>[0], boolean]> = [
    ['root on Debian', { platform: 'linux', uid: 0, osRelease: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n' }, true],
    ['root on Ubuntu', { platform: 'linux', uid: 0, osRelease: 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n' }, true],
    ['root on Linux Mint', { platform: 'linux', uid: 0, osRelease: 'ID=linuxmint\nID_LIKE="ubuntu debian"\n' }, true],
    ['a user on Debian', { platform: 'linux', uid: 1000, osRelease: 'ID=debian\n' }, false],
    ['root on Fedora', { platform: 'linux', uid: 0, osRelease: 'ID=fedora\n' }, false],
    ['root with no /etc/os-release', { platform: 'linux', uid: 0, osRelease: undefined }, false],
    ['root on a Mac', { platform: 'darwin', uid: 0, osRelease: undefined }, false],
  ];
  for (const [who, system, can] of apt) {
    it(`when npm test runs as ${who}, then it ${can ? 'installs' : 'does not try to install'} the Debian package chromium`, function () {
      assert.equal(canInstallWithApt(system), can);
    });
  }

  /** `npm test`'s pretest step, as package.json has it, on this machine with nothing on the PATH and no Playwright download yet. */
  function pretestWithoutBrowser(env: Record<string, string>) {
    const pretest = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['pretest'] ?? '';
    const [command, ...args] = pretest.split(' ');
    assert.equal(command, 'node', pretest);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'together-no-browser-'));
    try {
      const runEnv: NodeJS.ProcessEnv = { ...process.env, PATH: empty, PLAYWRIGHT_BROWSERS_PATH: empty, ...env };
      delete runEnv['CHROMIUM_PATH'];
      delete runEnv['PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD'];
      return spawnSync(process.execPath, args, { cwd: root, env: runEnv, encoding: 'utf8', timeout: 120_000 });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }

  it('when npm test runs where no browser is found and none may be installed, then its pretest step stops at once with one line saying what to install', function () {
    const run = pretestWithoutBrowser({ TOGETHER_NO_BROWSER_INSTALL: '1' });
    assert.equal(run.status, 1, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.equal(run.stdout, '', 'nothing installed or built');
    assert.equal(run.stderr, `${installHint(process.platform)}\n`);
  });

  it("when npm test runs where no browser is found and downloads are allowed, then its pretest step tries Playwright's download and, when that fails, stops with what to install", function () {
    this.timeout(150_000);
    // The download host is a closed port on this machine: nothing is fetched from anywhere.
    const run = pretestWithoutBrowser({ PLAYWRIGHT_DOWNLOAD_HOST: 'http://127.0.0.1:9' });
    assert.equal(run.status, 1, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.match(run.stdout, /^Downloading Playwright's Chromium for the Agents Playground tests \(playwright-core install chromium\)…$/m);
    assert.doesNotMatch(run.stdout, /Building/, 'it stops before building');
    assert.match(run.stderr, /^The download failed: .*ECONNREFUSED/m);
    assert.equal(run.stderr.trim().split('\n').pop(), installHint(process.platform));
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm start` with nothing changed does not wait for tsc: its prestart step (scripts/ensure-installed.js)
 * builds only when a source changed since the last good build, and says which it did. Run here on a small
 * project laid out like this one (src/, tsconfig.json, the real TypeScript), so the repository's own
 * sources and dist/ are not touched.
 */

const root = path.resolve(__dirname, '..', '..');
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

const BUILDING = 'Building (tsc)…';
const UP_TO_DATE = 'Nothing changed since the last build: not rebuilding.';

/** A project with one source file, installed (node_modules newer than the lock file) and never built. */
function project(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'together-build-'));
  mkdirSync(path.join(dir, 'scripts'));
  for (const file of ['ensure-installed.js', 'browser.js']) copyFileSync(path.join(root, 'scripts', file), path.join(dir, 'scripts', file));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, scripts }));
  writeFileSync(path.join(dir, 'package-lock.json'), '{}');
  mkdirSync(path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'node_modules', '.package-lock.json'), '{}');
  symlinkSync(path.join(root, 'node_modules', 'typescript'), path.join(dir, 'node_modules', 'typescript'), 'dir');
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, outDir: 'dist', rootDir: '.', types: [], incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo' },
      include: ['src/**/*.ts'],
    }),
  );
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'src', 'main.ts'), "export const greeting: string = 'hello';\n");
  return dir;
}

/** The project's TypeScript swapped for one that only says it ran and fails, to show whether tsc is run at all. */
function tscThatMustNotRun(dir: string): void {
  rmSync(path.join(dir, 'node_modules', 'typescript'));
  mkdirSync(path.join(dir, 'node_modules', 'typescript', 'bin'), { recursive: true });
  writeFileSync(path.join(dir, 'node_modules', 'typescript', 'package.json'), JSON.stringify({ name: 'typescript', version: '0.0.0' }));
  writeFileSync(path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), "console.error('tsc ran'); process.exit(3);\n");
}

/** `npm start`'s prestart step, as package.json has it, in `dir`. */
function prestart(dir: string) {
  const [command, ...args] = (scripts['prestart'] ?? '').split(' ');
  assert.equal(command, 'node', scripts['prestart']);
  return spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
}

describe('npm start in a checkout whose node_modules is a link to another install (a git worktree)', function () {
  this.timeout(60_000);
  it('when the lock file looks newer than that install, then it does not reinstall through the link (which would empty the other install) and says why', function () {
    const shared = mkdtempSync(path.join(os.tmpdir(), 'together-shared-'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'together-worktree-'));
    try {
      mkdirSync(path.join(dir, 'scripts'));
      for (const file of ['ensure-installed.js', 'browser.js']) copyFileSync(path.join(root, 'scripts', file), path.join(dir, 'scripts', file));
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, scripts: { prestart: 'node scripts/ensure-installed.js' } }));
      // The other install: its marker older than this checkout's lock file, and something in it to lose.
      writeFileSync(path.join(shared, '.package-lock.json'), '{}');
      writeFileSync(path.join(shared, 'keep-me.txt'), 'the other checkout needs this');
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(path.join(shared, '.package-lock.json'), old, old);
      writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ name: 'fixture', lockfileVersion: 3, requires: true, packages: { '': { name: 'fixture' } } }));
      symlinkSync(shared, path.join(dir, 'node_modules'), 'dir');
      const run = spawnSync(process.execPath, ['scripts/ensure-installed.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      assert.ok(existsSync(path.join(shared, 'keep-me.txt')), `the other install is intact; output: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /node_modules is a link to another checkout's install: not reinstalling it from here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(shared, { recursive: true, force: true });
    }
  });
});

describe('npm start builds only what changed', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(function () {
    dir = project();
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('when it starts for the first time, then it says it is building and builds', function () {
    const run = prestart(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${BUILDING}\n`);
    assert.match(readFileSync(path.join(dir, 'dist', 'src', 'main.js'), 'utf8'), /hello/);
  });

  it('when nothing changed since the last build, then it does not run tsc and says the build is skipped', function () {
    assert.equal(prestart(dir).status, 0);
    tscThatMustNotRun(dir);
    const run = prestart(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${UP_TO_DATE}\n`);
    assert.equal(run.stderr, '');
  });

  it('when a source file changed since the last build, then it is built again', function () {
    assert.equal(prestart(dir).status, 0);
    writeFileSync(path.join(dir, 'src', 'main.ts'), "export const greeting: string = 'bonjour';\n");
    const run = prestart(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${BUILDING}\n`);
    assert.match(readFileSync(path.join(dir, 'dist', 'src', 'main.js'), 'utf8'), /bonjour/);
  });

  it('when a source file was added since the last build, then it is built', function () {
    assert.equal(prestart(dir).status, 0);
    mkdirSync(path.join(dir, 'src', 'platform'));
    writeFileSync(path.join(dir, 'src', 'platform', 'extra.ts'), 'export const extra = 1;\n');
    const run = prestart(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${BUILDING}\n`);
    assert.ok(existsSync(path.join(dir, 'dist', 'src', 'platform', 'extra.js')));
  });

  it('when the last build failed, then the next start builds again and shows the errors instead of starting the old build', function () {
    writeFileSync(path.join(dir, 'src', 'main.ts'), 'export const greeting: string = 42;\n');
    for (let attempt = 1; attempt <= 2; attempt++) {
      const run = prestart(dir);
      assert.notEqual(run.status, 0, `attempt ${attempt} should fail`);
      assert.equal(run.stdout.split('\n')[0], BUILDING, `attempt ${attempt}`);
      assert.match(run.stdout, /src\/main\.ts.*error TS2322/, `attempt ${attempt} shows the error`);
      assert.match(run.stderr, /The build failed/);
    }
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The runtime a newcomer needs, and what they are told when they have an older one. */

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };

/** Runs scripts/ensure-installed.js as if this Node were `version`. */
function ensureInstalledOn(version: string) {
  const pretend = `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${version}' } }); Object.defineProperty(process, 'version', { value: 'v${version}' });`;
  return spawnSync(process.execPath, ['-e', `${pretend} require(${JSON.stringify(path.join(root, 'scripts', 'ensure-installed.js'))})`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('runtime: Node.js 22.12 or newer, 24 LTS in CI and on Azure', function () {
  it('when npm start or npm test runs, then the Node check runs first', function () {
    assert.match(pkg.scripts.prestart ?? '', /scripts\/ensure-installed\.js/);
    assert.match(pkg.scripts.pretest ?? '', /scripts\/ensure-installed\.js/);
    assert.equal(pkg.engines.node, '>=22.12');
  });

  for (const old of ['20.19.0', '22.11.0', '18.20.4']) {
    it(`when Node ${old} runs them, then they stop at once with one line saying what to install`, function () {
      const result = ensureInstalledOn(old);
      assert.equal(result.status, 1);
      assert.equal(result.stdout, '', 'nothing installed or built');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`^Together needs Node\\.js 22\\.12 or newer \\(24 LTS recommended\\); this is v${old.replace(/\./g, '\\.')}\\. Install Node 24 from https://nodejs\\.org, or run \`source scripts/use-node24\\.sh\``));
    });
  }

  for (const current of ['22.12.0', '24.0.0']) {
    it(`when Node ${current} runs them, then the check lets them through`, function () {
      const result = ensureInstalledOn(current);
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /Together needs Node/);
    });
  }
});

#!/usr/bin/env node
// Plain JavaScript on purpose: it runs before anything is installed or built.
// `npm start` and `npm test` call it first, so a fresh clone needs no separate install step:
// it runs `npm ci` when node_modules is missing or older than package-lock.json.
'use strict';
const { existsSync, statSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

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
if (stale) {
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

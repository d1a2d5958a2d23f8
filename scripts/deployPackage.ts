/**
 * Stage what App Service runs (build/deploy) and zip it (build/together-<version>-<commit>.zip).
 *
 *   npm run build && node dist/scripts/deployPackage.js
 *
 * The folder holds package.json, package-lock.json, .npmrc, dist/src and cards/, with production
 * dependencies installed by `npm ci --omit=dev` in the folder itself, so the checkout's own
 * node_modules (with its development tools) is left alone. Files matching .webappignore are left out.
 * The Toolkit's deploy (m365agents.yml) zip-deploys build/deploy; without the Toolkit,
 * `az webapp deploy --src-path build/together-….zip --type zip` deploys the zip. Keep the zips:
 * deploying an earlier one is the rollback.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import AdmZip from 'adm-zip';
import { repositoryRoot as repoRoot } from './playground';

/** What the running bot needs, relative to the repository root (dist/src imports cards/ at run time). */
export const STAGED = ['package.json', 'package-lock.json', '.npmrc', 'dist/src', 'cards'] as const;

/**
 * A matcher for .webappignore's simple forms only: `*.ext` (any file with that ending), `dir/`
 * (a folder and everything in it) and exact paths. Anything else is refused, so a pattern never
 * silently means less than it says.
 */
export function ignoreMatcher(text: string): (relPath: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  for (const rule of rules) {
    if (/[?[\]!]/.test(rule) || (rule.includes('*') && !/^\*\.[^*/]+$/.test(rule))) {
      throw new Error(`.webappignore: only "*.ext", "folder/" and plain paths are understood, not "${rule}"`);
    }
  }
  return (relPath) => {
    const p = relPath.split(path.sep).join('/');
    return rules.some((rule) =>
      rule.startsWith('*.') ? p.endsWith(rule.slice(1)) : rule.endsWith('/') ? p.startsWith(rule) || `${p}/` === rule : p === rule,
    );
  };
}

function copyTree(from: string, to: string, rel: string, ignored: (relPath: string) => boolean): void {
  const stat = fs.lstatSync(from);
  if (ignored(rel) || (stat.isDirectory() && ignored(`${rel}/`))) return;
  if (stat.isDirectory()) {
    fs.mkdirSync(to, { recursive: true });
    for (const name of fs.readdirSync(from)) copyTree(path.join(from, name), path.join(to, name), `${rel}/${name}`, ignored);
  } else if (stat.isFile()) {
    fs.copyFileSync(from, to);
  }
}

function removeIgnored(dir: string, rel: string, ignored: (relPath: string) => boolean): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    const child = path.join(dir, entry.name);
    if (ignored(childRel) || (entry.isDirectory() && ignored(`${childRel}/`))) fs.rmSync(child, { recursive: true, force: true });
    else if (entry.isDirectory()) removeIgnored(child, childRel, ignored);
  }
}

export interface StageResult {
  readonly folder: string;
  readonly zipPath: string;
}

export function stageDeployment(root: string = repoRoot()): StageResult {
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'main.js'))) throw new Error('Run `npm run build` first: dist/src/main.js is missing');
  const ignoreFile = path.join(root, '.webappignore');
  const ignored = ignoreMatcher(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '');
  const folder = path.join(root, 'build', 'deploy');
  fs.rmSync(folder, { recursive: true, force: true });
  fs.mkdirSync(folder, { recursive: true });
  for (const rel of STAGED) {
    const from = path.join(root, rel);
    if (fs.existsSync(from)) copyTree(from, path.join(folder, rel), rel, ignored);
  }
  const npm = process.env['npm_execpath'];
  const args = ['ci', '--omit=dev', '--no-audit', '--no-fund'];
  const result = npm
    ? spawnSync(process.execPath, [npm, ...args], { cwd: folder, stdio: 'inherit' })
    : spawnSync('npm', args, { cwd: folder, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`npm ci --omit=dev failed in ${folder}`);
  removeIgnored(folder, '', ignored);

  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const suffix = commit.status === 0 ? `-${commit.stdout.trim()}` : '';
  const zipPath = path.join(root, 'build', `together-${version}${suffix}.zip`);
  const zip = new AdmZip();
  zip.addLocalFolder(folder);
  zip.writeZip(zipPath);
  return { folder, zipPath };
}

if (require.main === module) {
  try {
    const { folder, zipPath } = stageDeployment();
    console.log(`Staged ${folder}\nZip for az webapp deploy: ${zipPath}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

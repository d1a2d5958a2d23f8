/**
 * Build the Teams app package (build/appPackage.zip) from appPackage/.
 *
 *   BOT_ID=<bot's Microsoft App ID> npm run package
 *
 * Environment:
 *   BOT_ID        required: the bot's Microsoft App ID (GUID).
 *   TEAMS_APP_ID  optional: the Teams app id; defaults to a UUID (v5, sha1)
 *                 derived from BOT_ID, so repeated builds keep the same app id.
 *   BOT_DOMAIN    optional: the bot's host for validDomains; defaults to the
 *                 host of BOT_ENDPOINT when that is set, else "localhost".
 *   Any other ${{NAME}} placeholder in the manifest is filled from env NAME.
 *
 * The filled manifest is validated offline against the official schema for its
 * version (scripts/manifestSchema.ts) and the icons are checked before the zip
 * (manifest.json + icons at the zip root) is written.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import AdmZip from 'adm-zip';
import { checkTeamsRules, validateManifest } from './manifestSchema';
import { decodePng, repoRoot } from './png';

export const MISSING_BOT_ID_MESSAGE = "Set BOT_ID (the bot's Microsoft App ID) to build the Teams app package";

/** Fixed namespace for deriving TEAMS_APP_ID from BOT_ID (never change it: app ids would change). */
export const TEAMS_APP_ID_NAMESPACE = '9d39e0bd-9f9c-4f88-9990-9d9b9229838b';

const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** A problem the person running the build can fix; printed without a stack trace. */
export class PackageError extends Error {
  override name = 'PackageError';
}

/** RFC 4122 name-based UUID, version 5 (sha1). */
export function uuidV5(name: string, namespace: string): string {
  if (!GUID.test(namespace)) throw new Error(`Invalid UUID namespace ${namespace}`);
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The stable default Teams app id for a bot. */
export function defaultTeamsAppId(botId: string): string {
  return uuidV5(botId.trim().toLowerCase(), TEAMS_APP_ID_NAMESPACE);
}

function hostnameOf(value: string, variable: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  try {
    const { hostname } = new URL(withScheme);
    if (hostname) return hostname;
  } catch {
    // fall through
  }
  throw new PackageError(`${variable} is not a valid URL or host name: ${value}`);
}

/** Values for the manifest's placeholders, with defaults applied. */
export function resolvePlaceholderValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const botId = env['BOT_ID']?.trim();
  if (!botId) throw new PackageError(MISSING_BOT_ID_MESSAGE);
  if (!GUID.test(botId)) throw new PackageError(`BOT_ID must be the bot's Microsoft App ID (a GUID), got "${botId}"`);

  const teamsAppId = env['TEAMS_APP_ID']?.trim() || defaultTeamsAppId(botId);
  if (!GUID.test(teamsAppId)) throw new PackageError(`TEAMS_APP_ID must be a GUID, got "${teamsAppId}"`);

  const explicitDomain = env['BOT_DOMAIN']?.trim();
  const endpoint = env['BOT_ENDPOINT']?.trim();
  const botDomain = explicitDomain
    ? hostnameOf(explicitDomain, 'BOT_DOMAIN')
    : endpoint
      ? hostnameOf(endpoint, 'BOT_ENDPOINT')
      : 'localhost';

  return { BOT_ID: botId, TEAMS_APP_ID: teamsAppId, BOT_DOMAIN: botDomain };
}

/**
 * Replace ${{NAME}} in the manifest template text. Values come from `values`
 * first, then `env`. Throws if any placeholder is left unfilled.
 */
export function fillPlaceholders(template: string, values: Record<string, string>, env: NodeJS.ProcessEnv = {}): string {
  const missing = new Set<string>();
  const filled = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name] ?? env[name];
    if (value === undefined || value === '') {
      missing.add(name);
      return whole;
    }
    return JSON.stringify(value).slice(1, -1); // escaped for a JSON string
  });
  if (missing.size) {
    throw new PackageError(`Set ${[...missing].join(', ')} to fill the manifest placeholders ${[...missing].map((n) => `\${{${n}}}`).join(', ')}`);
  }
  if (filled.includes('${{')) throw new PackageError('The manifest still contains an unfilled "${{" placeholder');
  return filled;
}

const ICON_SIZES: Record<string, number> = { color: 192, outline: 32, color32x32: 32 };

function checkIcon(kind: string, file: string, bytes: Buffer): void {
  let img;
  try {
    img = decodePng(bytes);
  } catch (err) {
    throw new PackageError(`${file} (${kind} icon) is not a readable PNG: ${(err as Error).message}`);
  }
  const size = ICON_SIZES[kind];
  if (size !== undefined && (img.width !== size || img.height !== size)) {
    throw new PackageError(`${file} (${kind} icon) must be ${size}×${size}, is ${img.width}×${img.height}`);
  }
  if (kind === 'outline') {
    for (let p = 0; p < img.width * img.height; p++) {
      const [r, g, b, a] = img.data.subarray(p * 4, p * 4 + 4);
      if (a !== 0 && (r !== 255 || g !== 255 || b !== 255)) {
        throw new PackageError(`${file} (outline icon) must be white on transparent; pixel ${p % img.width},${Math.floor(p / img.width)} is rgba(${r},${g},${b},${a})`);
      }
    }
  }
}

export interface BuildResult {
  zipPath: string;
  /** The filled manifest written into the zip. */
  manifest: Record<string, unknown>;
  /** Zip entry names. */
  files: string[];
  values: Record<string, string>;
}

/**
 * Fill, validate and zip the app package. Throws PackageError (with a message
 * meant for people) when something needs fixing; writes nothing in that case.
 */
export function buildPackage(
  env: NodeJS.ProcessEnv = process.env,
  outDir: string = path.join(repoRoot(), 'build'),
  appPackageDir: string = path.join(repoRoot(), 'appPackage'),
): BuildResult {
  const values = resolvePlaceholderValues(env);
  const template = fs.readFileSync(path.join(appPackageDir, 'manifest.json'), 'utf8').replace(/^\uFEFF/, '');
  const manifest = JSON.parse(fillPlaceholders(template, values, env)) as Record<string, unknown>;

  const problems = [...validateManifest(manifest), ...checkTeamsRules(manifest)];
  if (problems.length) {
    throw new PackageError(`The Teams manifest is not valid:\n  ${problems.join('\n  ')}`);
  }

  const zip = new AdmZip();
  zip.addFile('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
  const files = ['manifest.json'];
  const icons = (manifest['icons'] ?? {}) as Record<string, string>;
  for (const [kind, rel] of Object.entries(icons)) {
    const file = path.resolve(appPackageDir, rel);
    if (!file.startsWith(path.resolve(appPackageDir) + path.sep)) {
      throw new PackageError(`Icon path ${rel} must stay inside ${appPackageDir}`);
    }
    if (!fs.existsSync(file)) throw new PackageError(`Missing ${kind} icon ${file} (run: node dist/scripts/png.js)`);
    const bytes = fs.readFileSync(file);
    checkIcon(kind, file, bytes);
    const entry = path.posix.normalize(rel.replace(/\\/g, '/'));
    if (!files.includes(entry)) {
      zip.addFile(entry, bytes);
      files.push(entry);
    }
  }

  fs.mkdirSync(outDir, { recursive: true });
  const zipPath = path.join(outDir, 'appPackage.zip');
  zip.writeZip(zipPath);
  return { zipPath, manifest, files, values };
}

if (require.main === module) {
  try {
    const { zipPath, values } = buildPackage(process.env);
    console.log(`Teams app package: ${zipPath}`);
    console.log(`  app id ${values['TEAMS_APP_ID']}, bot id ${values['BOT_ID']}, domain ${values['BOT_DOMAIN']}`);
  } catch (err) {
    if (err instanceof PackageError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

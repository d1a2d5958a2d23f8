/**
 * Build the Teams app package (build/appPackage.zip) from appPackage/.
 *
 *   npm run package -- --env dev        # values from env/.env.dev (+ env/.env.dev.user), as the Toolkit uses
 *   BOT_ID=… DEVELOPER_NAME=… npm run package
 *
 * Every ${{NAME}} placeholder in appPackage/manifest.json is filled from the environment: the same
 * placeholders the Microsoft 365 Agents Toolkit's teamsApp/zipAppPackage fills from env/.env.<env>
 * (m365agents.yml), written the way it writes them, so both give the same manifest.json and icons.
 * With --env <name>, env/.env.<name> and then env/.env.<name>.user are read; a variable already set
 * in the process environment wins.
 *
 *   BOT_ID                 required: the bot's Microsoft App ID (GUID).
 *   TEAMS_APP_ID           optional: the Teams app id; defaults to a UUID (v5, sha1) derived from
 *                          BOT_ID, so repeated builds keep the same app id.
 *   BOT_DOMAIN             optional: the bot's host for validDomains; defaults to the host of
 *                          BOT_ENDPOINT when that is set, else "localhost".
 *   APP_VERSION            always package.json's version (the Toolkit gets it from
 *                          scripts/app-version.js).
 *   DEVELOPER_NAME, DEVELOPER_WEBSITE_URL, DEVELOPER_PRIVACY_URL, DEVELOPER_TERMS_URL, and any other
 *   placeholder: required, from the environment.
 * A missing variable stops the build with one message listing them all.
 *
 * The filled manifest is validated against the official schema for its version by
 * @microsoft/app-manifest (AppManifestUtils.validateAgainstSchema: the schemas it ships, offline), plus
 * the Teams rules the schema leaves out; the icons are read with pngjs (any valid PNG: every bit depth
 * and colour type) and their sizes checked before the zip (manifest.json + icons at the zip root) is written.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import AdmZip from 'adm-zip';
import { AppManifestUtils, TeamsManifestConverter, type AppManifest } from '@microsoft/app-manifest';
import { readPng } from './icons';
import { repositoryRoot as repoRoot } from './playground';

/** What each variable is, for the message listing the missing ones. */
export const VARIABLE_MEANINGS: Readonly<Record<string, string>> = {
  BOT_ID: "the bot's Microsoft App ID",
  DEVELOPER_NAME: 'who publishes the app, e.g. your partnership or trust',
  DEVELOPER_WEBSITE_URL: 'https link to your website',
  DEVELOPER_PRIVACY_URL: 'https link to your privacy notice',
  DEVELOPER_TERMS_URL: 'https link to your terms of use',
};

/** The one message for missing variables: every one of them, with what it is. */
export function missingVariablesMessage(names: readonly string[]): string {
  return [
    'Cannot build the Teams app package: set these variables (in the environment, or in env/.env.<name> and run npm run package -- --env <name>):',
    ...names.map((name) => `  ${name}${VARIABLE_MEANINGS[name] ? ` (${VARIABLE_MEANINGS[name]})` : ''}`),
  ].join('\n');
}

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

/** package.json's version: the app version in the manifest. */
export function packageVersion(root: string = repoRoot()): string {
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The names of the ${{NAME}} placeholders in a manifest template, in order of first use. */
export function placeholdersIn(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/**
 * Values for the template's placeholders: defaults applied (TEAMS_APP_ID, BOT_DOMAIN), APP_VERSION
 * from package.json, everything else from `env`. Throws one PackageError listing every missing one.
 */
export function resolvePlaceholderValues(template: string, env: NodeJS.ProcessEnv, version: string = packageVersion()): Record<string, string> {
  const given = (name: string) => env[name]?.trim() || undefined;
  const names = placeholdersIn(template);
  const values: Record<string, string> = {};
  const missing: string[] = [];
  const botId = given('BOT_ID');
  if (!botId) missing.push('BOT_ID');
  for (const name of names) {
    if (['BOT_ID', 'TEAMS_APP_ID', 'BOT_DOMAIN', 'APP_VERSION'].includes(name)) continue;
    const value = given(name);
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  if (missing.length) throw new PackageError(missingVariablesMessage(missing));
  if (!GUID.test(botId!)) throw new PackageError(`BOT_ID must be the bot's Microsoft App ID (a GUID), got "${botId}"`);

  const teamsAppId = given('TEAMS_APP_ID') || defaultTeamsAppId(botId!);
  if (!GUID.test(teamsAppId)) throw new PackageError(`TEAMS_APP_ID must be a GUID, got "${teamsAppId}"`);

  const explicitDomain = given('BOT_DOMAIN');
  const endpoint = given('BOT_ENDPOINT');
  const botDomain = explicitDomain
    ? hostnameOf(explicitDomain, 'BOT_DOMAIN')
    : endpoint
      ? hostnameOf(endpoint, 'BOT_ENDPOINT')
      : 'localhost';

  return { ...values, BOT_ID: botId!, TEAMS_APP_ID: teamsAppId, BOT_DOMAIN: botDomain, APP_VERSION: version };
}

/**
 * KEY=VALUE lines of a Toolkit env file (env/.env.<name>): comments and blank lines skipped, one
 * pair of surrounding quotes removed.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (!m) continue;
    const raw = m[2]!.trim();
    values[m[1]!] = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return values;
}

/**
 * The environment for `--env <name>`: env/.env.<name>, then env/.env.<name>.user over it, then the
 * process environment over both. A missing env/.env.<name> is an error naming it.
 */
export function environmentFor(name: string, processEnv: NodeJS.ProcessEnv = process.env, root: string = repoRoot()): NodeJS.ProcessEnv {
  const file = path.join(root, 'env', `.env.${name}`);
  if (!/^[A-Za-z0-9_-]+$/.test(name) || !fs.existsSync(file)) {
    throw new PackageError(`There is no environment "${name}": env/.env.${name} does not exist`);
  }
  const user = `${file}.user`;
  const fromFiles = { ...parseEnvFile(fs.readFileSync(file, 'utf8')), ...(fs.existsSync(user) ? parseEnvFile(fs.readFileSync(user, 'utf8')) : {}) };
  const merged: NodeJS.ProcessEnv = { ...fromFiles };
  for (const [key, value] of Object.entries(processEnv)) if (value !== undefined && value !== '') merged[key] = value;
  return merged;
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
  if (missing.size) throw new PackageError(missingVariablesMessage([...missing]));
  if (filled.includes('${{')) throw new PackageError('The manifest still contains an unfilled "${{" placeholder');
  return filled;
}

/**
 * The manifest checked against the official schema for the version its `$schema` names, by
 * @microsoft/app-manifest (the validator the Agents Toolkit uses). Returns readable errors; [] when valid.
 */
export async function validateManifest(manifest: Record<string, unknown>): Promise<string[]> {
  try {
    return await AppManifestUtils.validateAgainstSchema(manifest as unknown as AppManifest);
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * Teams rules that the JSON schema doesn't encode but the Developer Portal /
 * Teams admin centre enforce (https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema#botscommandlists).
 */
export const BOT_COMMAND_TITLE_MAX = 32;
export const BOT_COMMAND_DESCRIPTION_MAX = 128;

export function checkTeamsRules(manifest: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const bots = (Array.isArray(manifest['bots']) ? manifest['bots'] : []) as Array<{ commandLists?: Array<{ commands?: Array<{ title?: unknown; description?: unknown }> }> }>;
  bots.forEach((bot, b) => {
    (bot?.commandLists ?? []).forEach((list, l) => {
      const seen = new Set<string>();
      (list?.commands ?? []).forEach(({ title, description }, c) => {
        const where = `/bots/${b}/commandLists/${l}/commands/${c}`;
        if (typeof title === 'string') {
          if (title.length > BOT_COMMAND_TITLE_MAX) errors.push(`${where}/title is longer than ${BOT_COMMAND_TITLE_MAX} characters: ${title}`);
          if (seen.has(title)) errors.push(`${where}/title repeats "${title}" in the same list`);
          seen.add(title);
        }
        if (typeof description === 'string' && description.length > BOT_COMMAND_DESCRIPTION_MAX) {
          errors.push(`${where}/description is longer than ${BOT_COMMAND_DESCRIPTION_MAX} characters`);
        }
      });
    });
  });
  return errors;
}

const ICON_SIZES: Record<string, number> = { color: 192, outline: 32, color32x32: 32 };

/** Refuses an icon that is not a readable PNG, has the wrong size, or (outline) is not white on transparent. */
export function checkIcon(kind: string, file: string, bytes: Buffer): void {
  let img;
  try {
    img = readPng(bytes);
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
export async function buildPackage(
  env: NodeJS.ProcessEnv = process.env,
  outDir: string = path.join(repoRoot(), 'build'),
  appPackageDir: string = path.join(repoRoot(), 'appPackage'),
): Promise<BuildResult> {
  const template = fs.readFileSync(path.join(appPackageDir, 'manifest.json'), 'utf8').replace(/^\uFEFF/, '');
  const values = resolvePlaceholderValues(template, env);
  // Read the way the Toolkit's teamsApp/zipAppPackage reads it (@microsoft/app-manifest's converter, which
  // puts the properties in the schema's order), so both write the same manifest.json.
  const manifest = JSON.parse(JSON.stringify(TeamsManifestConverter.jsonToManifest(fillPlaceholders(template, values, env)))) as Record<string, unknown>;

  const problems = [...(await validateManifest(manifest)), ...checkTeamsRules(manifest)];
  if (problems.length) {
    throw new PackageError(`The Teams manifest is not valid:\n  ${problems.join('\n  ')}`);
  }

  const zip = new AdmZip();
  // Written as the Toolkit's zipAppPackage writes it (JSON.stringify with 4 spaces), so both zips agree.
  zip.addFile('manifest.json', Buffer.from(JSON.stringify(manifest, null, 4), 'utf8'));
  const files = ['manifest.json'];
  const icons = (manifest['icons'] ?? {}) as Record<string, string>;
  for (const [kind, rel] of Object.entries(icons)) {
    const file = path.resolve(appPackageDir, rel);
    if (!file.startsWith(path.resolve(appPackageDir) + path.sep)) {
      throw new PackageError(`Icon path ${rel} must stay inside ${appPackageDir}`);
    }
    if (!fs.existsSync(file)) throw new PackageError(`Missing ${kind} icon ${file} (run: node dist/scripts/icons.js)`);
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
  (async () => {
    const args = process.argv.slice(2);
    const at = args.indexOf('--env');
    if (at >= 0 && !args[at + 1]) throw new PackageError('--env needs an environment name, e.g. --env dev');
    const env = at >= 0 ? environmentFor(args[at + 1]!) : process.env;
    const { zipPath, values } = await buildPackage(env);
    console.log(`Teams app package: ${zipPath}`);
    console.log(`  app id ${values['TEAMS_APP_ID']}, bot id ${values['BOT_ID']}, domain ${values['BOT_DOMAIN']}, version ${values['APP_VERSION']}`);
  })().catch((err: unknown) => {
    if (err instanceof PackageError) {
      console.error(err.message);
      process.exit(1);
    }
    console.error(err);
    process.exit(1);
  });
}

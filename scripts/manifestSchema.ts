/**
 * Offline validation of a Teams app manifest against the official JSON schema
 * shipped in @microsoft/app-manifest (node_modules/@microsoft/app-manifest/
 * build/json-schemas/teams/v1.NN/MicrosoftTeams.schema.json).
 *
 * The schema version is taken from the manifest's own `$schema` URL, so bumping
 * the manifest to a newer schema needs no change here.
 *
 * The official schemas declare JSON Schema draft-04. We validate with Ajv's
 * default (draft-07) engine after a small, loss-free conversion of the
 * draft-04-only spellings (`id` → `$id`, boolean exclusiveMinimum/Maximum →
 * numeric). References to other schema files (relative or absolute
 * developer.microsoft.com URLs) are resolved from the same local folder; there
 * is never a network fetch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const OFFICIAL_BASE = 'https://developer.microsoft.com/json-schemas/teams/';
const DRAFT_04 = /^https?:\/\/json-schema\.org\/draft-04\/schema#?$/;
const DRAFT_06_07 = /^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/;
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/** Folder holding v1.0 … v1.NN, vDevPreview. */
export function teamsSchemaRoot(): string {
  const pkg = require.resolve('@microsoft/app-manifest/package.json');
  return path.join(path.dirname(pkg), 'build', 'json-schemas', 'teams');
}

/** Schema versions available offline, e.g. ["v1.0", …, "v1.22", …]. */
export function availableSchemaVersions(): string[] {
  return fs
    .readdirSync(teamsSchemaRoot())
    .filter((d) => fs.existsSync(path.join(teamsSchemaRoot(), d, 'MicrosoftTeams.schema.json')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * "v1.22" from a manifest's `$schema`
 * (https://developer.microsoft.com/[en-us/]json-schemas/teams/v1.22/MicrosoftTeams.schema.json).
 */
export function schemaVersionOf(manifest: unknown): string {
  const url = isObject(manifest) ? manifest['$schema'] : undefined;
  if (typeof url !== 'string') throw new Error('The manifest has no "$schema" URL, so its schema version is unknown');
  const m = /\/json-schemas\/teams\/(v1\.\d+|vDevPreview)\/MicrosoftTeams\.schema\.json$/.exec(url);
  if (!m) throw new Error(`Unrecognised Teams manifest "$schema" URL: ${url}`);
  return m[1]!;
}

export function schemaPathFor(version: string): string {
  return path.join(teamsSchemaRoot(), version, 'MicrosoftTeams.schema.json');
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Rewrite draft-04 spellings to draft-07 in place, visiting only schema
 * positions (so a *property* called "id", as Teams manifests have plenty of,
 * is left alone).
 */
function draft04To07(schema: Json): void {
  if (!isObject(schema)) return;
  if (typeof schema['id'] === 'string' && schema['$id'] === undefined) {
    schema['$id'] = schema['id'];
    delete schema['id'];
  }
  for (const [bound, exclusive] of [['minimum', 'exclusiveMinimum'], ['maximum', 'exclusiveMaximum']] as const) {
    const ex = schema[exclusive];
    if (typeof ex === 'boolean') {
      if (ex && typeof schema[bound] === 'number') {
        schema[exclusive] = schema[bound];
        delete schema[bound];
      } else {
        delete schema[exclusive];
      }
    }
  }
  for (const key of ['properties', 'patternProperties', 'definitions']) {
    const map = schema[key];
    if (isObject(map)) for (const sub of Object.values(map)) draft04To07(sub);
  }
  for (const key of ['items', 'additionalItems', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else']) {
    const sub = schema[key];
    if (Array.isArray(sub)) sub.forEach(draft04To07);
    else draft04To07(sub ?? null);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach(draft04To07);
  }
  const deps = schema['dependencies'];
  if (isObject(deps)) for (const sub of Object.values(deps)) if (!Array.isArray(sub)) draft04To07(sub);
}

/** Every `$ref` in the schema that points outside the current document. */
function externalRefs(schema: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) schema.forEach((s) => externalRefs(s, out));
  else if (isObject(schema)) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) out.add(v.split('#')[0]!);
      else externalRefs(v, out);
    }
  }
  return out;
}

/** Map an official schema URL to its file in node_modules (never fetched). */
function localFileFor(url: string): string {
  const withoutLocale = url.replace(/^https:\/\/developer\.microsoft\.com\/[a-z]{2}-[a-z]{2}\//i, 'https://developer.microsoft.com/');
  if (!withoutLocale.startsWith(OFFICIAL_BASE)) {
    throw new Error(`Schema reference ${url} is not a Teams schema shipped with @microsoft/app-manifest`);
  }
  const file = path.join(teamsSchemaRoot(), ...withoutLocale.slice(OFFICIAL_BASE.length).split('/'));
  if (!fs.existsSync(file)) throw new Error(`Schema ${url} is not available offline (looked for ${file})`);
  return file;
}

function readSchema(file: string, id: string): JsonObject {
  const schema = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Json;
  if (!isObject(schema)) throw new Error(`${file} is not a JSON schema object`);
  const declared = schema['$schema'];
  if (typeof declared === 'string') {
    if (DRAFT_04.test(declared)) draft04To07(schema);
    else if (!DRAFT_06_07.test(declared)) throw new Error(`${file} uses ${declared}; only draft-04/06/07 schemas are supported`);
  }
  schema['$schema'] = DRAFT_07;
  schema['$id'] = id;
  return schema;
}

const validators = new Map<string, ValidateFunction>();

/** Compiled validator for a schema version ("v1.22"), cached. */
export function validatorFor(version: string): ValidateFunction {
  const cached = validators.get(version);
  if (cached) return cached;
  const file = schemaPathFor(version);
  if (!fs.existsSync(file)) {
    throw new Error(`No offline schema for Teams manifest ${version}; available: ${availableSchemaVersions().join(', ')}`);
  }
  // Same engine settings as @microsoft/app-manifest's own validator (allErrors, strictTypes off), on draft-07.
  const ajv = new Ajv({ allErrors: true, strictTypes: false });
  addFormats(ajv);
  const rootId = `${OFFICIAL_BASE}${version}/MicrosoftTeams.schema.json`;
  const root = readSchema(file, rootId);
  // Load any referenced schema files (none in current versions, but cheap to support).
  const pending = [...externalRefs(root)].map((ref) => new URL(ref, rootId).href);
  const loaded = new Set<string>([rootId]);
  while (pending.length) {
    const url = pending.pop()!;
    if (loaded.has(url)) continue;
    loaded.add(url);
    const sub = readSchema(localFileFor(url), url);
    ajv.addSchema(sub);
    for (const ref of externalRefs(sub)) pending.push(new URL(ref, url).href);
  }
  const validate = ajv.compile(root);
  validators.set(version, validate);
  return validate;
}

function formatError(e: ErrorObject): string {
  const where = e.instancePath || '(root)';
  const params = Object.keys(e.params ?? {}).length ? ` ${JSON.stringify(e.params)}` : '';
  return `${where} ${e.message ?? 'is invalid'}${params}`;
}

/**
 * Validate a (placeholder-free) manifest against the official schema for the
 * version named in its `$schema`. Returns human-readable errors; [] when valid.
 */
export function validateManifest(manifest: unknown): string[] {
  let validate: ValidateFunction;
  try {
    validate = validatorFor(schemaVersionOf(manifest));
  } catch (err) {
    return [(err as Error).message];
  }
  const errors: string[] = [];
  if (!validate(manifest)) errors.push(...(validate.errors ?? []).map(formatError));
  if (isObject(manifest)) {
    const declared = manifest['manifestVersion'];
    const fromUrl = schemaVersionOf(manifest).replace(/^v/, '');
    if (declared !== fromUrl && fromUrl !== 'DevPreview') {
      errors.push(`/manifestVersion is ${JSON.stringify(declared)} but $schema is for ${fromUrl}`);
    }
  }
  return errors;
}

/**
 * Teams rules that the JSON schema doesn't encode but the Developer Portal /
 * Teams admin centre enforce (https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema#botscommandlists).
 */
export const BOT_COMMAND_TITLE_MAX = 32;
export const BOT_COMMAND_DESCRIPTION_MAX = 128;

export function checkTeamsRules(manifest: unknown): string[] {
  const errors: string[] = [];
  const bots = isObject(manifest) && Array.isArray(manifest['bots']) ? manifest['bots'] : [];
  bots.forEach((bot, b) => {
    const lists = isObject(bot) && Array.isArray(bot['commandLists']) ? bot['commandLists'] : [];
    lists.forEach((list, l) => {
      const commands = isObject(list) && Array.isArray(list['commands']) ? list['commands'] : [];
      const seen = new Set<string>();
      commands.forEach((cmd, c) => {
        if (!isObject(cmd)) return;
        const where = `/bots/${b}/commandLists/${l}/commands/${c}`;
        const { title, description } = cmd;
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

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { loadConfig, type Config } from '../src/config';
import { ignoreMatcher, STAGED } from '../scripts/deployPackage';
import { repositoryRoot as repoRoot } from '../scripts/playground';
import { CARDS_DIR } from '../src/platform/cards';
import { startTestBot } from './support/bot';
import { appSettingsOf, blockOf, Evaluator, parseBicep, propertyOf, type BicepFile, type BicepResource } from './support/bicep';

/**
 * infra/ against the code: what the Bicep sets up in Azure must be what Together needs to start
 * and run there. No Bicep compiler is reachable here, so test/support/bicep.ts reads the templates.
 */

const ROOT = repoRoot();
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

const IDENTITY_CLIENT_ID = '6a1d7c2e-3b4f-4a5c-9d8e-7f6a5b4c3d2e';
const IDENTITY_PRINCIPAL_ID = '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';
const TENANT_ID = '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d';
const SUBSCRIPTION_TENANT_ID = TENANT_ID;

const IDENTITY_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';
const STORAGE_TYPE = 'Microsoft.Storage/storageAccounts';
const SITE_TYPE = 'Microsoft.Web/sites';
const ROLE_ASSIGNMENT_TYPE = 'Microsoft.Authorization/roleAssignments';

/** The storage SDK each role serves: the code needs a role for every one of these it imports. */
const ROLE_FOR_PACKAGE: Record<string, { role: string; id: string }> = {
  '@azure/data-tables': { role: 'Storage Table Data Contributor', id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' },
};

/** What an operator would pass for the params that have no default (as azure.parameters.json does). */
const SAMPLE_PARAMS = { resourceBaseName: 'together-dev', partnershipName: 'Riverside Schools Together' };

function evaluator(file: BicepFile): Evaluator {
  return new Evaluator(
    file,
    SAMPLE_PARAMS,
    {
      [`${IDENTITY_TYPE}:properties.clientId`]: IDENTITY_CLIENT_ID,
      [`${IDENTITY_TYPE}:properties.principalId`]: IDENTITY_PRINCIPAL_ID,
      [`${IDENTITY_TYPE}:properties.tenantId`]: TENANT_ID,
      [`${SITE_TYPE}:properties.defaultHostName`]: 'together-dev-x4k2m9q7w1e5r.azurewebsites.net',
      'Microsoft.Insights/components:properties.ConnectionString': 'InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint=https://uksouth-1.in.applicationinsights.azure.com/',
    },
    {
      'tenant().tenantId': () => TENANT_ID,
      'subscription().tenantId': () => SUBSCRIPTION_TENANT_ID,
      'resourceGroup().location': () => 'uksouth',
      'resourceGroup().id': () => '/subscriptions/s/resourceGroups/together',
      uniqueString: () => 'x4k2m9q7w1e5r',
      newGuid: () => randomUUID(),
      toLower: (s) => String(s).toLowerCase(),
      take: (s, n) => String(s).slice(0, Number(n)),
      replace: (s, from, to) => String(s).split(String(from)).join(String(to)),
      subscriptionResourceId: (type, id) => `/subscriptions/s/providers/${String(type)}/${String(id)}`,
      guid: (...parts) => parts.join('|'),
    },
  );
}

function only(file: BicepFile, type: string): BicepResource {
  const found = file.resources.filter((r) => r.type === type);
  assert.equal(found.length, 1, `expected one ${type} in infra/azure.bicep, found ${found.length}`);
  return found[0]!;
}

/** The environment the web app's processes get: its appSettings, evaluated. */
function appServiceEnvironment(file: BicepFile): Record<string, string> {
  const site = only(file, SITE_TYPE);
  const ev = evaluator(file);
  const env: Record<string, string> = {};
  for (const { name, valueExpr } of appSettingsOf(site.body)) {
    assert.ok(!(name in env), `app setting ${name} is set twice`);
    env[name] = String(ev.evaluate(valueExpr));
  }
  return env;
}

function loaded(env: Record<string, string>): Config {
  const result = loadConfig(env);
  assert.ok(result.ok, `Together would refuse to start on App Service with these settings:\n  ${result.ok ? '' : result.problems.join('\n  ')}`);
  return result.config;
}

/** KEY=VALUE lines of an env file (comments and blank lines skipped). */
function envFile(rel: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of read(rel).split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (m) entries.set(m[1]!, m[2]!.trim());
  }
  return entries;
}

const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

describe('infra: what infra/azure.bicep sets up is what Together needs in Azure', function () {
  const bicep = parseBicep(read('infra/azure.bicep'));

  it('when App Service starts Together with the Bicep\'s app settings, then it starts in production, on the managed identity\'s storage, as a UserAssignedMsi bot', function () {
    const env = appServiceEnvironment(bicep);
    const config = loaded(env);
    assert.equal(config.production, true);
    assert.equal(config.localMode, false);
    assert.equal(config.bot?.type, 'UserAssignedMsi');
    assert.equal(config.bot?.id, IDENTITY_CLIENT_ID, 'BOT_ID is the managed identity\'s client id');
    assert.equal(config.bot?.tenantId, TENANT_ID);
    assert.equal(config.bot?.password, undefined, 'a managed identity has no password');
    assert.equal(config.storage.kind, 'managedIdentity', 'storage is the Storage account reached with the managed identity (STORAGE_ACCOUNT_NAME), not the embedded emulator');
    const storageName = String(evaluator(bicep).reference(only(bicep, STORAGE_TYPE).symbol, ['name']));
    assert.deepEqual(config.storage, { kind: 'managedIdentity', accountName: storageName, clientId: IDENTITY_CLIENT_ID }, 'reached as the bot\'s own identity');
    assert.equal(env['AZURE_CLIENT_ID'], IDENTITY_CLIENT_ID, 'DefaultAzureCredential must pick the bot\'s identity');
    assert.deepEqual(config.allowedTenants, [TENANT_ID]);
    assert.match(config.publicUrl ?? '', /^https:\/\/[a-z0-9-]+\.azurewebsites\.net$/, 'download links point at the web app');
    assert.ok((config.linkSigningKey ?? '').length >= 32, 'every instance signs download links with the same key');
    assert.ok(env['APPLICATIONINSIGHTS_CONNECTION_STRING'], 'Application Insights is connected');
  });

  it('when the web app starts, then it runs the built entry point on the Node major that package.json and .nvmrc ask for', function () {
    const site = only(bicep, SITE_TYPE);
    const ev = evaluator(bicep);
    const fx = String(ev.evaluate(propertyOf(blockOf(site.body, 'siteConfig')!, 'linuxFxVersion')!));
    const major = Number(/^NODE\|(\d+)-lts$/.exec(fx)?.[1]);
    assert.ok(major > 0, `linuxFxVersion ${fx} is not NODE|<major>-lts`);
    const pkg = JSON.parse(read('package.json')) as { main: string; engines: { node: string } };
    const floor = /^>=\s*(\d+)(\.\d+)?/.exec(pkg.engines.node);
    assert.ok(floor, `package.json engines.node ${pkg.engines.node} has no >= lower bound`);
    assert.ok(major >= Number(floor[1]), `App Service runs Node ${major}, package.json needs ${pkg.engines.node}`);
    if (fs.existsSync(path.join(ROOT, '.nvmrc'))) {
      assert.equal(Number(/^v?(\d+)/.exec(read('.nvmrc').trim())?.[1]), major, '.nvmrc and App Service run the same Node major');
    }
    const command = String(ev.evaluate(propertyOf(blockOf(site.body, 'siteConfig')!, 'appCommandLine')!));
    assert.equal(command, `node ${pkg.main}`);
    assert.ok(fs.existsSync(path.join(ROOT, pkg.main)), `${pkg.main} is what npm run build makes`);
  });

  it('when Azure probes the health check path, then the running bot answers it with 200', async function () {
    const site = only(bicep, SITE_TYPE);
    const healthPath = String(evaluator(bicep).evaluate(propertyOf(blockOf(site.body, 'siteConfig')!, 'healthCheckPath')!));
    const bot = await startTestBot();
    try {
      const response = await fetch(new URL(healthPath, bot.together.url));
      assert.equal(response.status, 200, `GET ${healthPath} answered ${response.status}`);
    } finally {
      await bot.stop();
    }
  });

  it('when the code uses a storage service, then the bot\'s identity holds its data role on the storage account (and no role for a service the code does not use), which cannot be deleted by mistake', function () {
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts')) for (const m of fs.readFileSync(full, 'utf8').matchAll(/from '(@azure\/[^']+)'/g)) imported.add(m[1]!);
      }
    };
    walk(path.join(ROOT, 'src'));
    const needed = Object.keys(ROLE_FOR_PACKAGE).filter((pkg) => imported.has(pkg));
    assert.deepEqual(needed.sort(), ['@azure/data-tables'], 'the code reaches tables only');

    const ev = evaluator(bicep);
    const identity = only(bicep, IDENTITY_TYPE);
    const storage = only(bicep, STORAGE_TYPE);
    const site = only(bicep, SITE_TYPE);
    assert.ok(blockOf(site.body, 'userAssignedIdentities')?.includes(`\${${identity.symbol}.id}`), 'the identity is attached to the web app');
    const granted = bicep.resources
      .filter((r) => r.type === ROLE_ASSIGNMENT_TYPE)
      .filter((r) => propertyOf(r.body, 'scope') === storage.symbol)
      .filter((r) => ev.evaluate(propertyOf(blockOf(r.body, 'properties')!, 'principalId')!) === IDENTITY_PRINCIPAL_ID)
      .filter((r) => propertyOf(blockOf(r.body, 'properties')!, 'principalType') === "'ServicePrincipal'")
      .map((r) => String(ev.evaluate(propertyOf(blockOf(r.body, 'properties')!, 'roleDefinitionId')!)));
    for (const pkg of needed) {
      const { role, id } = ROLE_FOR_PACKAGE[pkg]!;
      assert.ok(granted.some((g) => g.endsWith(`/${id}`)), `${role} (${id}) is not assigned to the identity on the storage account; the code uses ${pkg}`);
    }
    const unused = granted.filter((g) => !needed.some((pkg) => g.endsWith(`/${ROLE_FOR_PACKAGE[pkg]!.id}`)));
    assert.deepEqual(unused, [], 'the identity holds only the storage roles the code needs');
    const storageProps = blockOf(storage.body, 'properties')!;
    assert.equal(propertyOf(storageProps, 'allowSharedKeyAccess'), 'false');
    assert.equal(propertyOf(storageProps, 'allowBlobPublicAccess'), 'false');
    assert.equal(propertyOf(storageProps, 'minimumTlsVersion'), "'TLS1_2'");
    const lock = bicep.resources.find((r) => r.type === 'Microsoft.Authorization/locks' && propertyOf(r.body, 'scope') === storage.symbol);
    assert.ok(lock, 'the storage account (which has no point-in-time restore for tables) is locked against deletion');
    assert.equal(propertyOf(blockOf(lock.body, 'properties')!, 'level'), "'CanNotDelete'");
  });

  it('when the web app is reached, then only HTTPS with TLS 1.2+ is served, FTP is off and it is always on', function () {
    const site = only(bicep, SITE_TYPE);
    const siteConfig = blockOf(site.body, 'siteConfig')!;
    assert.equal(propertyOf(blockOf(site.body, 'properties')!, 'httpsOnly'), 'true');
    assert.equal(propertyOf(siteConfig, 'minTlsVersion'), "'1.2'");
    assert.equal(propertyOf(siteConfig, 'ftpsState'), "'Disabled'");
    assert.equal(propertyOf(siteConfig, 'alwaysOn'), 'true');
    const plan = only(bicep, 'Microsoft.Web/serverfarms');
    assert.equal(propertyOf(blockOf(plan.body, 'sku')!, 'capacity'), 'instanceCount');
    assert.equal(evaluator(bicep).evaluate('instanceCount'), 2);
  });

  it('when the bot writes its JSON log lines, then they reach the Log Analytics workspace', function () {
    const diagnostics = bicep.resources.filter((r) => r.type === 'Microsoft.Insights/diagnosticSettings');
    const site = only(bicep, SITE_TYPE);
    const workspace = only(bicep, 'Microsoft.OperationalInsights/workspaces');
    const onSite = diagnostics.find((d) => propertyOf(d.body, 'scope') === site.symbol);
    assert.ok(onSite, 'the web app has a diagnostic setting');
    assert.equal(propertyOf(blockOf(onSite.body, 'properties')!, 'workspaceId'), `${workspace.symbol}.id`);
    for (const category of ['AppServiceConsoleLogs', 'AppServiceHTTPLogs']) {
      assert.match(onSite.body, new RegExp(`category: '${category}'\\s+enabled: true`), `${category} goes to the workspace`);
    }
    const insights = only(bicep, 'Microsoft.Insights/components');
    assert.equal(propertyOf(blockOf(insights.body, 'properties')!, 'WorkspaceResourceId'), `${workspace.symbol}.id`);
  });

  it('when the Toolkit provisions, then azure.parameters.json passes every param the Bicep has no default for, and only params it has', function () {
    const parameters = JSON.parse(read('infra/azure.parameters.json')) as { parameters: Record<string, { value: unknown }> };
    for (const name of Object.keys(parameters.parameters)) assert.ok(bicep.params.has(name), `azure.parameters.json sets ${name}, which infra/azure.bicep does not declare`);
    for (const param of bicep.params.values()) {
      if (param.defaultExpr === undefined) assert.ok(param.name in parameters.parameters, `azure.parameters.json must set ${param.name}`);
    }
    assert.ok(!('linkSigningKey' in parameters.parameters), 'the link signing key is never written into a committed file');
    const env = envFile('env/.env.dev');
    for (const m of read('infra/azure.parameters.json').matchAll(PLACEHOLDER)) {
      assert.ok(env.has(m[1]!), `azure.parameters.json uses \${{${m[1]}}}, which env/.env.dev does not list`);
    }
  });

  it('when m365agents.yml is read, then it provisions with infra/azure.bicep, deploys to the web app it outputs and publishes, naming only files that exist', function () {
    const text = read('m365agents.yml');
    const doc = YAML.parse(text) as Record<string, Array<{ uses: string; with?: Record<string, unknown>; writeToEnvironmentFile?: Record<string, string> }>>;
    const schemaVersion = /\$schema=https:\/\/aka\.ms\/m365-agents-toolkits\/(v[\d.]+)\/yaml\.schema\.json/.exec(text)?.[1];
    assert.equal((doc as unknown as { version: string }).version, schemaVersion, 'version matches the schema it names');
    const uses = (stage: string) => (doc[stage] ?? []).map((a) => a.uses);
    for (const action of ['teamsApp/create', 'arm/deploy', 'teamsApp/validateManifest', 'teamsApp/zipAppPackage', 'teamsApp/validateAppPackage', 'teamsApp/update']) {
      assert.ok(uses('provision').includes(action), `provision runs ${action}`);
    }
    assert.ok(uses('provision').indexOf('arm/deploy') < uses('provision').indexOf('teamsApp/zipAppPackage'), 'the package is zipped after the bot exists');
    assert.deepEqual(uses('deploy').slice(-1), ['azureAppService/zipDeploy']);
    assert.ok(uses('publish').includes('teamsApp/publishAppPackage'));

    const arm = doc['provision']!.find((a) => a.uses === 'arm/deploy')!;
    const templates = arm.with!['templates'] as Array<{ path: string; parameters: string }>;
    assert.deepEqual(templates.map((t) => path.normalize(t.path)), [path.normalize('infra/azure.bicep')]);

    const files: string[] = [];
    for (const actions of Object.values(doc)) {
      if (!Array.isArray(actions)) continue;
      for (const action of actions) {
        for (const [key, value] of Object.entries(action.with ?? {})) {
          if (['manifestPath', 'ignoreFile'].includes(key)) files.push(String(value));
          if (key === 'run') {
            const script = /^node\s+(\S+)/.exec(String(value))?.[1];
            assert.ok(script, `a script step runs node <file>: ${String(value)}`);
            // dist/ files are built by the step before; their source is what exists in the checkout.
            files.push(script.startsWith('dist/') ? script.replace(/^dist\//, '').replace(/\.js$/, '.ts') : script);
          }
        }
        for (const t of (action.with?.['templates'] as Array<{ path: string; parameters: string }> | undefined) ?? []) files.push(t.path, t.parameters);
      }
    }
    for (const file of files) assert.ok(fs.existsSync(path.join(ROOT, file)), `m365agents.yml names ${file}, which does not exist`);

    const env = envFile('env/.env.dev');
    const written = new Set(Object.values(doc).flatMap((actions) => (Array.isArray(actions) ? actions.flatMap((a) => Object.values(a.writeToEnvironmentFile ?? {})) : [])));
    for (const m of text.matchAll(PLACEHOLDER)) {
      const name = m[1]!;
      assert.ok(env.has(name) || bicep.outputs.has(name) || written.has(name), `m365agents.yml uses \${{${name}}}, which neither env/.env.dev, the Bicep's outputs nor a step provides`);
    }
    const zipDeploy = doc['deploy']!.find((a) => a.uses === 'azureAppService/zipDeploy')!;
    const resourceVar = /^\$\{\{(\w+)\}\}$/.exec(String(zipDeploy.with!['resourceId']))?.[1];
    assert.ok(resourceVar && bicep.outputs.get(resourceVar) === `${only(bicep, SITE_TYPE).symbol}.id`, 'deploy goes to the web app the Bicep outputs');
    for (const output of bicep.outputs.keys()) assert.ok(env.has(output), `env/.env.dev lists the output ${output}`);
  });

  it('when the deploy step stages the package, then it carries the entry point and the card templates the running bot reads, and .webappignore drops neither', function () {
    const pkg = JSON.parse(read('package.json')) as { main: string };
    const cardsRel = path.relative(ROOT, CARDS_DIR).split(path.sep).join('/');
    for (const needed of [path.posix.dirname(pkg.main), cardsRel, 'package.json', 'package-lock.json']) {
      assert.ok(STAGED.includes(needed as (typeof STAGED)[number]), `${needed} is not staged for App Service`);
    }
    const ignored = ignoreMatcher(read('.webappignore'));
    const cardFile = fs.readdirSync(CARDS_DIR).find((f) => f.endsWith('.json'))!;
    for (const kept of [pkg.main, `${cardsRel}/${cardFile}`, 'package.json', 'node_modules/pino/package.json']) {
      assert.equal(ignored(kept), false, `.webappignore would leave out ${kept}`);
    }
    for (const dropped of [`${pkg.main}.map`, 'dist/src/config.d.ts', 'node_modules/.bin/', 'node_modules/.bin/pino']) {
      assert.equal(ignored(dropped), true, `.webappignore should leave out ${dropped}`);
    }
    assert.throws(() => ignoreMatcher('**/test'), /only "\*\.ext", "folder\/" and plain paths/);
  });

  it('when env/.env.dev is committed, then it holds no secret values', function () {
    const env = envFile('env/.env.dev');
    assert.ok(env.size > 0);
    for (const [name, value] of env) {
      if (/SECRET|PASSWORD|KEY|TOKEN|CONNECTION_STRING|SAS/i.test(name)) assert.equal(value, '', `${name} must not be committed with a value`);
      assert.doesNotMatch(value, /AccountKey=|SharedAccessSignature=|[?&]sig=|InstrumentationKey=/i, `${name} looks like a secret`);
    }
    const ignored = read('.gitignore');
    assert.match(ignored, /^env\/\.env\.\*\.user$/m, 'env/.env.*.user files are ignored');
  });
});

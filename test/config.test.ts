import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config';

/** What an operator sets in the environment and what they should get back. */

const BOT = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const TENANT = '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d';
const OTHER_TENANT = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const COORDINATOR = 'C0FFEE00-1234-4ABC-8DEF-0123456789AB';
/** The settings of a correctly configured bot in Azure (an app registration with a secret). */
const AUTHENTICATED = {
  BOT_ID: BOT,
  BOT_TYPE: 'SingleTenant',
  BOT_PASSWORD: 'x',
  BOT_TENANT_ID: TENANT,
  ALLOWED_TENANTS: TENANT,
  STORAGE_ACCOUNT_NAME: 'togetherstore01',
  PUBLIC_URL: 'https://together.example.org',
};
/** As infra/azure.bicep deploys it: the bot's identity is a user-assigned managed identity. */
const MANAGED = {
  BOT_ID: BOT,
  BOT_TYPE: 'UserAssignedMsi',
  BOT_TENANT_ID: TENANT,
  ALLOWED_TENANTS: TENANT,
  STORAGE_ACCOUNT_NAME: 'togetherstore01',
  PUBLIC_URL: 'https://together.example.org',
  LINK_SIGNING_KEY: 'k'.repeat(40),
};

function config(env: Record<string, string>): Config {
  const loaded = loadConfig(env);
  assert.ok(loaded.ok, `expected the configuration to be accepted, got: ${loaded.ok ? '' : loaded.problems.join('; ')}`);
  return loaded.config;
}

function problems(env: Record<string, string>): string[] {
  const loaded = loadConfig(env);
  assert.ok(!loaded.ok, 'expected the configuration to be refused');
  return loaded.problems;
}

describe('config: the environment becomes one typed configuration, or one list of problems', function () {
  describe('accepted', function () {
    const accepted: { title: string; env: Record<string, string>; expect: (c: Config) => void }[] = [
      {
        title: 'when nothing is set, then it listens on 3978, keeps data in .data with embedded storage, in local mode',
        env: {},
        expect(c) {
          assert.equal(c.port, 3978);
          assert.equal(c.dataDir, '.data');
          assert.deepEqual(c.storage, { kind: 'embedded', dataDir: '.data' });
          assert.equal(c.localMode, true);
          assert.equal(c.bot, undefined);
          assert.equal(c.production, false);
          assert.equal(c.partnershipName, 'Our partnership');
          assert.deepEqual(c.coordinators, []);
          assert.deepEqual(c.allowedTenants, []);
          assert.equal(c.logLevel, 'info');
          assert.equal(c.host, '127.0.0.1', 'an unauthenticated bot listens on loopback only');
        },
      },
      {
        title: 'when settings are empty strings, then they count as not set',
        env: { PORT: '', DATA_DIR: ' ', STORAGE_CONNECTION_STRING: '', STORAGE_ACCOUNT_NAME: '', BOT_ID: '', COORDINATORS: ' , ' },
        expect(c) {
          assert.equal(c.port, 3978);
          assert.deepEqual(c.storage, { kind: 'embedded', dataDir: '.data' });
          assert.equal(c.localMode, true);
          assert.deepEqual(c.coordinators, []);
        },
      },
      {
        title: 'when PORT and DATA_DIR are set, then they are used',
        env: { PORT: ' 8080 ', DATA_DIR: '/var/together' },
        expect(c) {
          assert.equal(c.port, 8080);
          assert.deepEqual(c.storage, { kind: 'embedded', dataDir: '/var/together' });
        },
      },
      {
        title: 'when STORAGE_CONNECTION_STRING is set, then storage is reached with it',
        env: { STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' },
        expect(c) {
          assert.deepEqual(c.storage, { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
        },
      },
      {
        title: 'when STORAGE_ACCOUNT_NAME is set, then storage is reached with managed identity',
        env: { STORAGE_ACCOUNT_NAME: 'togetherstore01' },
        expect(c) {
          assert.deepEqual(c.storage, { kind: 'managedIdentity', accountName: 'togetherstore01' });
        },
      },
      {
        title: 'when a SingleTenant bot has its id, secret, tenant, storage and public URL, then requests are authenticated and it listens on every interface',
        env: { ...AUTHENTICATED, NODE_ENV: 'production' },
        expect(c) {
          assert.equal(c.localMode, false);
          assert.equal(c.production, true);
          assert.deepEqual({ ...c.bot }, { id: BOT, password: 'x', type: 'SingleTenant', tenantId: TENANT });
          assert.deepEqual(c.allowedTenants, [TENANT]);
          assert.equal(c.host, '0.0.0.0');
          assert.deepEqual(c.storage, { kind: 'managedIdentity', accountName: 'togetherstore01' });
        },
      },
      {
        title: 'when the bot uses a user-assigned managed identity, then no password is needed and storage is reached with that identity',
        env: MANAGED,
        expect(c) {
          assert.equal(c.bot?.type, 'UserAssignedMsi');
          assert.equal(c.bot?.password, undefined);
          assert.deepEqual(c.storage, { kind: 'managedIdentity', accountName: 'togetherstore01', clientId: BOT });
        },
      },
      {
        title: 'when a bot registered before Azure stopped creating MultiTenant bots says so, then it is still accepted',
        env: { ...AUTHENTICATED, BOT_TYPE: 'MultiTenant', BOT_TENANT_ID: '' },
        expect(c) {
          assert.equal(c.bot?.type, 'MultiTenant');
        },
      },
      {
        title: 'when BOT_ID is set with a storage connection string, then that storage is used',
        env: { ...AUTHENTICATED, STORAGE_ACCOUNT_NAME: '', STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=b' },
        expect(c) {
          assert.equal(c.storage.kind, 'connectionString');
        },
      },
      {
        title: 'when COORDINATORS and ALLOWED_TENANTS list several ids with spaces and capitals, then they are trimmed and lower-cased',
        env: { COORDINATORS: ` ${COORDINATOR} , ${BOT}`, ALLOWED_TENANTS: `${TENANT.toUpperCase()},${OTHER_TENANT}` },
        expect(c) {
          assert.deepEqual(c.coordinators, [COORDINATOR.toLowerCase(), BOT]);
          assert.deepEqual(c.allowedTenants, [TENANT, OTHER_TENANT]);
        },
      },
    ];
    for (const row of accepted) {
      it(row.title, function () {
        row.expect(config(row.env));
      });
    }

    it('when the configuration is loaded, then it cannot be changed afterwards', function () {
      const c = config({ COORDINATORS: COORDINATOR });
      assert.throws(() => {
        (c as { port: number }).port = 1;
      });
      assert.throws(() => {
        (c.coordinators as string[]).push(BOT);
      });
    });
  });

  describe('refused', function () {
    const refused: { title: string; env: Record<string, string>; says: RegExp[] }[] = [
      {
        title: 'when both STORAGE_CONNECTION_STRING and STORAGE_ACCOUNT_NAME are set, then the operator is told to pick one',
        env: { STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', STORAGE_ACCOUNT_NAME: 'togetherstore01' },
        says: [/STORAGE_ACCOUNT_NAME: set either STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_NAME, not both/],
      },
      {
        title: 'when STORAGE_ACCOUNT_NAME is not a storage account name, then that is said',
        env: { STORAGE_ACCOUNT_NAME: 'Together_Store' },
        says: [/STORAGE_ACCOUNT_NAME: must be 3-24 lower-case letters and digits/],
      },
      {
        title: 'when PORT is not a port number, then that is said',
        env: { PORT: 'abc' },
        says: [/^PORT: must be a port number from 0 to 65535$/],
      },
      {
        title: 'when PORT is too big, then that is said',
        env: { PORT: '70000' },
        says: [/^PORT: must be a port number from 0 to 65535$/],
      },
      {
        title: 'when BOT_ID is not a GUID, then that is said',
        env: { ...AUTHENTICATED, BOT_ID: 'together-bot' },
        says: [/^BOT_ID: must be a GUID/],
      },
      {
        title: 'when BOT_ID is set without BOT_TYPE, then the kind of identity is asked for (there is no default Azure still creates)',
        env: { ...AUTHENTICATED, BOT_TYPE: '' },
        says: [/^BOT_TYPE: is required when BOT_ID is set: UserAssignedMsi .* or SingleTenant/],
      },
      {
        title: 'when BOT_ID is set without BOT_PASSWORD for a SingleTenant bot, then the password is asked for',
        env: { ...AUTHENTICATED, BOT_PASSWORD: '' },
        says: [/^BOT_PASSWORD: is required for BOT_TYPE=SingleTenant$/, /^LINK_SIGNING_KEY: is required when there is no BOT_PASSWORD/],
      },
      {
        title: 'when a managed-identity bot is given a password, then that is said (the identity has no secret)',
        env: { ...MANAGED, BOT_PASSWORD: 'x' },
        says: [/^BOT_PASSWORD: must not be set for BOT_TYPE=UserAssignedMsi/],
      },
      {
        title: 'when a managed-identity bot has no LINK_SIGNING_KEY, then it is asked for (instances must sign links alike)',
        env: { ...MANAGED, LINK_SIGNING_KEY: '' },
        says: [/^LINK_SIGNING_KEY: is required when there is no BOT_PASSWORD/],
      },
      {
        title: 'when BOT_ID is set without PUBLIC_URL, then it is asked for (links must not point at localhost)',
        env: { ...AUTHENTICATED, PUBLIC_URL: '' },
        says: [/^PUBLIC_URL: is required when BOT_ID is set/],
      },
      {
        title: 'when BOT_ID is set with neither storage setting, then the two settings are named (the embedded emulator is for development)',
        env: { ...AUTHENTICATED, STORAGE_ACCOUNT_NAME: '' },
        says: [/^STORAGE_ACCOUNT_NAME or STORAGE_CONNECTION_STRING: one is required when BOT_ID is set/],
      },
      {
        title: 'when NODE_ENV=production with neither storage setting, then the two settings are named even with BOT_ID set',
        env: { ...AUTHENTICATED, STORAGE_ACCOUNT_NAME: '', NODE_ENV: 'production' },
        says: [/^STORAGE_ACCOUNT_NAME or STORAGE_CONNECTION_STRING: one is required when NODE_ENV=production/],
      },
      {
        title: 'when BOT_PASSWORD is set without BOT_ID, then that is said',
        env: { BOT_PASSWORD: 'x' },
        says: [/^BOT_PASSWORD: is set but BOT_ID is not$/],
      },
      {
        title: 'when the bot is SingleTenant without BOT_TENANT_ID, then the tenant is asked for',
        env: { ...AUTHENTICATED, BOT_TENANT_ID: '' },
        says: [/^BOT_TENANT_ID: is required for BOT_TYPE=SingleTenant$/],
      },
      {
        title: 'when BOT_TYPE is not one of the three, then the three are named',
        env: { ...AUTHENTICATED, BOT_TYPE: 'Multitenant' },
        says: [/^BOT_TYPE: .*MultiTenant.*SingleTenant.*UserAssignedMsi/],
      },
      {
        title: 'when NODE_ENV=production and BOT_ID is not set, then it refuses to run unauthenticated',
        env: { NODE_ENV: 'production', STORAGE_ACCOUNT_NAME: 'togetherstore01' },
        says: [/^BOT_ID: is required when NODE_ENV=production/],
      },
      {
        title: 'when BOT_ID is set without ALLOWED_TENANTS, then the partnership\'s tenants are asked for',
        env: { ...AUTHENTICATED, ALLOWED_TENANTS: '' },
        says: [/^ALLOWED_TENANTS: must list the partnership's tenant ids when BOT_ID is set/],
      },
      {
        title: 'when COORDINATORS has something that is not an Entra object id, then that is said',
        env: { COORDINATORS: `${COORDINATOR},cora@school.example` },
        says: [/^COORDINATORS(\.1)?: each coordinator must be an Entra object id \(a GUID\)$/],
      },
      {
        title: 'when ALLOWED_TENANTS has something that is not a GUID, then that is said',
        env: { ...AUTHENTICATED, ALLOWED_TENANTS: 'contoso.onmicrosoft.com' },
        says: [/^ALLOWED_TENANTS(\.0)?: each tenant must be a GUID$/],
      },
      {
        title: 'when LOG_LEVEL is not a pino level, then that is said',
        env: { LOG_LEVEL: 'loud' },
        says: [/^LOG_LEVEL: /],
      },
      {
        title: 'when several settings are wrong at once, then every problem is listed, cross-setting ones included',
        env: {
          PORT: 'abc',
          NODE_ENV: 'production',
          BOT_PASSWORD: 'x',
          BOT_TYPE: 'Bad',
          COORDINATORS: 'nope',
          STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
          STORAGE_ACCOUNT_NAME: 'togetherstore01',
          LOG_LEVEL: 'loud',
        },
        says: [
          /^PORT: /,
          /^BOT_TYPE: /,
          /^COORDINATORS(\.0)?: /,
          /^LOG_LEVEL: /,
          /^STORAGE_ACCOUNT_NAME: set either/,
          /^STORAGE_CONNECTION_STRING: is the development storage emulator/,
          /^BOT_ID: is required when NODE_ENV=production/,
          /^BOT_PASSWORD: is set but BOT_ID is not/,
        ],
      },
      {
        title: 'when a SingleTenant bot lacks its password, tenant and allowed tenants and PORT is wrong, then all of it is listed',
        env: { BOT_ID: BOT, BOT_TYPE: 'SingleTenant', PORT: '-1' },
        says: [
          /^PORT: /,
          /^STORAGE_ACCOUNT_NAME or STORAGE_CONNECTION_STRING: one is required/,
          /^BOT_PASSWORD: is required/,
          /^BOT_TENANT_ID: is required/,
          /^ALLOWED_TENANTS: must list/,
          /^PUBLIC_URL: is required/,
          /^LINK_SIGNING_KEY: is required/,
        ],
      },
    ];
    for (const row of refused) {
      it(row.title, function () {
        const listed = problems(row.env);
        for (const pattern of row.says) {
          assert.ok(
            listed.some((p) => pattern.test(p)),
            `expected a problem matching ${pattern}; got:\n  ${listed.join('\n  ')}`,
          );
        }
        assert.equal(listed.length, row.says.length, `expected exactly these problems; got:\n  ${listed.join('\n  ')}`);
      });
    }

    it('when a password is wrong elsewhere, then no problem repeats the password', function () {
      const listed = problems({ BOT_ID: 'nope', BOT_PASSWORD: 'Hunter2-Very-Secret', PORT: 'abc' });
      assert.ok(listed.length >= 2);
      assert.ok(listed.every((p) => !p.includes('Hunter2-Very-Secret')), listed.join('\n'));
    });
  });

  describe('the process', function () {
    let cwd: string;
    beforeEach(function () {
      cwd = mkdtempSync(path.join(os.tmpdir(), 'together-config-'));
    });
    afterEach(function () {
      rmSync(cwd, { recursive: true, force: true });
    });

    it('when `node dist/src/main.js` starts with a bad environment, then it exits 1 with one message listing every problem and no stack trace', async function () {
      const main = path.resolve(__dirname, '..', 'src', 'main.js');
      const env = { PATH: process.env.PATH ?? '', HOME: cwd, PORT: 'abc', BOT_ID: 'nope', NODE_ENV: 'production', COORDINATORS: 'cora' };
      const child = spawn(process.execPath, [main], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));

      assert.equal(code, 1, `exit code; stderr:\n${stderr}`);
      assert.equal(stdout, '', 'nothing on stdout');
      assert.equal(stderr.match(/Together cannot start/g)?.length, 1, `one message; got:\n${stderr}`);
      assert.match(stderr, /^Together cannot start: the configuration has problems:\n/);
      assert.match(stderr, /\n {2}- PORT: must be a port number/);
      assert.match(stderr, /\n {2}- BOT_ID: must be a GUID/);
      assert.match(stderr, /\n {2}- COORDINATORS(\.0)?: each coordinator must be an Entra object id/);
      assert.doesNotMatch(stderr, /\n\s+at .+\(.*:\d+:\d+\)|Error:|node:internal|ZodError/, 'no stack trace');
      assert.doesNotMatch(stderr, /LOCAL MODE/, 'no banner before the refusal');
    });
  });
});

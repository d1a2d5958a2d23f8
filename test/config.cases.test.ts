import assert from 'node:assert/strict';
import { loadConfig } from '../src/config';

/** Production settings that would start a bot that cannot work: found in review, each refused. */
const MANAGED = {
  BOT_ID: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  BOT_TYPE: 'UserAssignedMsi',
  BOT_TENANT_ID: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d',
  ALLOWED_TENANTS: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d',
  STORAGE_ACCOUNT_NAME: 'togetherstore01',
  PUBLIC_URL: 'https://together.example.org',
  LINK_SIGNING_KEY: 'k'.repeat(40),
};

describe('config: production settings that look right but are not', function () {
  for (const url of ['localhost:3978', 'javascript:alert(1)', 'https://together.example.org/?x=1', 'http://together.example.org']) {
    it(`when PUBLIC_URL is ${url} with BOT_ID set, then Together refuses to start naming PUBLIC_URL`, function () {
      const loaded = loadConfig({ ...MANAGED, PUBLIC_URL: url });
      assert.ok(!loaded.ok && loaded.problems.some((p) => p.startsWith('PUBLIC_URL')), `accepted: download links would be ${url}/api/mydata/…`);
    });
  }

  it('when NODE_ENV=production and storage is UseDevelopmentStorage=true, then Together refuses to start (the emulator is for development only)', function () {
    const { STORAGE_ACCOUNT_NAME: _, ...rest } = MANAGED;
    const loaded = loadConfig({ ...rest, NODE_ENV: 'production', STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' });
    assert.ok(!loaded.ok && loaded.problems.some((p) => p.startsWith('STORAGE_CONNECTION_STRING: is the development storage emulator')), 'accepted');
  });

  it('when NODE_ENV is Production with a capital P, then it still counts as production (and local mode is refused)', function () {
    const loaded = loadConfig({ NODE_ENV: 'Production', STORAGE_ACCOUNT_NAME: 'togetherstore01' });
    assert.ok(!loaded.ok && loaded.problems.some((p) => p.startsWith('BOT_ID: is required when NODE_ENV=production')));
  });

  it('when PUBLIC_URL is a proper https address with a path, then it is accepted', function () {
    assert.ok(loadConfig({ ...MANAGED, PUBLIC_URL: 'https://schools.example.org/together' }).ok);
  });
});

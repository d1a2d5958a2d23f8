import assert from 'node:assert/strict';
import { AzureNamedKeyCredential, generateAccountSas, TableClient } from '@azure/data-tables';
import { Tables } from '../../src/platform/storage/tables';
import { replaceRows } from '../../src/platform/storage/transaction';
import { uniquePrefix } from '../support/bot';
import { storageConnectionString } from '../support/hooks';

/** Whole-row transactions sent as one $batch: what Table Storage (Azurite) stores, and what it refuses. */

describe('table transactions: every row or none, read back through the Azure SDK', function () {
  let tables: Tables;
  let table: TableClient;

  beforeEach(async function () {
    tables = new Tables({ connectionString: storageConnectionString() }, uniquePrefix());
    await tables.ensure(['Tx']);
    table = tables.client('Tx');
  });

  afterEach(async function () {
    await tables.dropAll(['Tx']).catch(() => undefined);
  });

  it('when rows are written together, then each is stored with its values and types, and the ETags returned are the stored ones', async function () {
    const created = await table.createEntity({ partitionKey: 'tm1', rowKey: 'event', version: 1 });
    const etags = await replaceRows(table, [
      { partitionKey: 'tm1', rowKey: 'event', values: { title: "Teachers' TeachMeet — Ŵales & Zürich", version: 2, ratio: 1.5, open: true }, ifMatch: created.etag },
      { partitionKey: 'tm1', rowKey: 'signup|29:1a+b=c é%', values: { name: 'Siân O’Brien', waitNumber: -1, offerSent: false } },
      { partitionKey: 'tm1', rowKey: "it's|quoted", values: { name: 'Quote', slot: 2_147_483_647 } },
    ]);
    assert.equal(etags.length, 3);

    const event = await table.getEntity<Record<string, unknown>>('tm1', 'event');
    assert.equal(event.title, "Teachers' TeachMeet — Ŵales & Zürich");
    assert.equal(event.version, 2);
    assert.equal(event.ratio, 1.5);
    assert.equal(event.open, true);
    assert.equal(event.etag, etags[0]);

    const signUp = await table.getEntity<Record<string, unknown>>('tm1', 'signup|29:1a+b=c é%');
    assert.deepEqual([signUp.name, signUp.waitNumber, signUp.offerSent], ['Siân O’Brien', -1, false]);
    assert.equal(signUp.etag, etags[1]);
    const quoted = await table.getEntity<Record<string, unknown>>('tm1', "it's|quoted");
    assert.equal(quoted.slot, 2_147_483_647);
    assert.equal(quoted.etag, etags[2]);
  });

  it('when a row already exists without an ETag condition, then it is replaced whole (no old values left)', async function () {
    await table.createEntity({ partitionKey: 'tm1', rowKey: 'signup|a1', name: 'Old', talkTitle: 'Gone' });
    await replaceRows(table, [{ partitionKey: 'tm1', rowKey: 'signup|a1', values: { name: 'New' } }]);
    const row = await table.getEntity<Record<string, unknown>>('tm1', 'signup|a1');
    assert.equal(row.name, 'New');
    assert.equal(row.talkTitle, undefined);
  });

  it('when the event row changed since it was read (stale ETag), then the transaction fails with 412 and none of its rows is written', async function () {
    const created = await table.createEntity({ partitionKey: 'tm1', rowKey: 'event', version: 1 });
    await table.updateEntity({ partitionKey: 'tm1', rowKey: 'event', version: 2 }, 'Replace'); // another instance moved it on
    await assert.rejects(
      replaceRows(table, [
        { partitionKey: 'tm1', rowKey: 'event', values: { version: 3 }, ifMatch: created.etag },
        { partitionKey: 'tm1', rowKey: 'signup|late', values: { name: 'Late' } },
      ]),
      (err: { statusCode?: number; code?: string }) => err.statusCode === 412 && err.code === 'UpdateConditionNotSatisfied',
    );
    assert.equal((await table.getEntity<Record<string, unknown>>('tm1', 'event')).version, 2);
    await assert.rejects(table.getEntity('tm1', 'signup|late'), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('when the event row was deleted, then the conditional replace fails with 404 and nothing is written', async function () {
    const created = await table.createEntity({ partitionKey: 'tm1', rowKey: 'event', version: 1 });
    await table.deleteEntity('tm1', 'event');
    await assert.rejects(
      replaceRows(table, [
        { partitionKey: 'tm1', rowKey: 'event', values: { version: 2 }, ifMatch: created.etag },
        { partitionKey: 'tm1', rowKey: 'signup|x', values: { name: 'X' } },
      ]),
      (err: { statusCode?: number }) => err.statusCode === 404,
    );
    await assert.rejects(table.getEntity('tm1', 'signup|x'), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('when asked for more than 100 rows, rows from two partitions, or a number a row cannot hold, then it refuses before sending', async function () {
    const before = tables.callCount;
    const many = Array.from({ length: 101 }, (_, i) => ({ partitionKey: 'tm1', rowKey: `r${i}`, values: { n: i } }));
    await assert.rejects(replaceRows(table, many), /at most 100 rows/);
    await assert.rejects(replaceRows(table, [{ partitionKey: 'a', rowKey: '1', values: {} }, { partitionKey: 'b', rowKey: '1', values: {} }]), /one partition/);
    await assert.rejects(replaceRows(table, [{ partitionKey: 'a', rowKey: '1', values: { n: 2 ** 40 } }]), /not a number a row can hold/);
    await assert.rejects(replaceRows(table, [{ partitionKey: 'a', rowKey: '1', values: { n: Number.NaN } }]), /not a number a row can hold/);
    assert.equal(tables.callCount, before, 'no request was made');
  });

  it('when storage is reached with a SAS connection string, then the transaction is signed by the SAS and stored', async function () {
    const cs = storageConnectionString();
    const field = (name: string) => new RegExp(`${name}=([^;]+)`).exec(cs)?.[1] ?? '';
    const sas = generateAccountSas(new AzureNamedKeyCredential(field('AccountName'), field('AccountKey')), {
      expiresOn: new Date(Date.now() + 3_600_000),
      permissions: { query: true, add: true, update: true, write: true, delete: true, list: true },
      resourceTypes: 'sco',
    });
    const viaSas = TableClient.fromConnectionString(`TableEndpoint=${field('TableEndpoint')};SharedAccessSignature=${sas}`, table.tableName, { allowInsecureConnection: true });
    assert.ok(new URL(viaSas.url).search.includes('sig='), 'the client carries the SAS in its URL');
    const created = await table.createEntity({ partitionKey: 'tm3', rowKey: 'event', version: 1 });
    const etags = await replaceRows(viaSas, [
      { partitionKey: 'tm3', rowKey: 'event', values: { version: 2 }, ifMatch: created.etag },
      { partitionKey: 'tm3', rowKey: 'signup|s1', values: { name: 'Via SAS' } },
    ]);
    const event = await table.getEntity<Record<string, unknown>>('tm3', 'event');
    assert.equal(event.version, 2);
    assert.equal(event.etag, etags[0]);
    assert.equal((await table.getEntity<Record<string, unknown>>('tm3', 'signup|s1')).name, 'Via SAS');
  });

  it('when an ETag condition is empty, then it refuses rather than replacing the row unconditionally', async function () {
    await assert.rejects(replaceRows(table, [{ partitionKey: 'tm1', rowKey: 'event', values: { version: 9 }, ifMatch: '' }]), /empty ETag/);
  });

  it('when 100 rows are written in one go, then all 100 are stored', async function () {
    const rows = Array.from({ length: 100 }, (_, i) => ({ partitionKey: 'tm2', rowKey: `signup|${String(i).padStart(3, '0')}`, values: { waitNumber: i } }));
    const etags = await replaceRows(table, rows);
    assert.equal(etags.filter((e) => e.length > 0).length, 100);
    const stored: number[] = [];
    for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: "PartitionKey eq 'tm2'" } })) stored.push(row.waitNumber as number);
    assert.deepEqual(stored.sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  });
});

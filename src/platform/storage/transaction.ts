import { randomUUID } from 'node:crypto';
import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, type HttpClient } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';

/**
 * An entity-group transaction of whole-row writes, sent as one `$batch` request through the table
 * client's own pipeline (so it is signed, counted and retried exactly like the client's other calls).
 *
 * `TableClient.submitTransaction` builds a new TableClient and pipeline for every transaction and runs
 * each row through the generated client to serialise it; for a TeachMeet rush of a thousand small
 * commits that was a tenth of the bot's CPU. The wire format here is the same one it sends (OData
 * JSON rows in a multipart/mixed changeset, protocol 2019-02-02); `test/platform/transaction.test.ts`
 * checks it against Azurite and reads the rows back through the SDK.
 *
 * Row values are limited to what our rows hold: strings, booleans and numbers (whole numbers in the
 * Int32 range, or finite doubles), so no OData type annotations are needed.
 */

export type RowValue = string | number | boolean;

export interface RowWrite {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly values: Readonly<Record<string, RowValue>>;
  /** Replace only if the stored row still has this ETag (else the whole transaction fails with 412); without it, insert or replace. */
  readonly ifMatch?: string;
}

/** A failed transaction: `statusCode` and `code` as the SDK's errors have them (412 UpdateConditionNotSatisfied, …). */
export class TransactionError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const MAX_ROWS = 100;
const CRLF = '\r\n';
let sharedHttpClient: HttpClient | undefined;

/** Writes every row or none; returns each row's new ETag, in order. */
export async function replaceRows(client: TableClient, rows: readonly RowWrite[]): Promise<string[]> {
  if (rows.length === 0) return [];
  if (rows.length > MAX_ROWS) throw new Error(`a transaction holds at most ${MAX_ROWS} rows, not ${rows.length}`);
  const partitionKey = rows[0]!.partitionKey;
  if (rows.some((r) => r.partitionKey !== partitionKey)) throw new Error('a transaction must stay within one partition');

  const batch = `batch_${randomUUID()}`;
  const changeset = `changeset_${randomUUID()}`;
  // The account URL may carry a SAS (a SAS connection string): it belongs on the $batch request, not
  // inside the sub-requests, which are addressed to the table without it (as the SDK does).
  const account = new URL(client.url);
  const accountPath = account.pathname.replace(/\/$/, '');
  const tableUrl = `${account.origin}${accountPath}/${client.tableName}`;
  const parts = rows.map((row) => {
    if (row.ifMatch !== undefined && !row.ifMatch) throw new Error('an empty ETag would replace the row unconditionally');
    const headers = ['Content-Type: application/json', 'DataServiceVersion: 3.0', 'Accept: application/json', ...(row.ifMatch !== undefined ? [`If-Match: ${row.ifMatch}`] : [])];
    return [
      `--${changeset}`,
      'content-type: application/http',
      'content-transfer-encoding: binary',
      '',
      `PUT ${tableUrl}(PartitionKey='${keyInUrl(row.partitionKey)}',RowKey='${keyInUrl(row.rowKey)}') HTTP/1.1`,
      ...headers,
      '',
      '',
      JSON.stringify(rowBody(row)),
    ].join(CRLF);
  });
  const body = `--${batch}${CRLF}content-type: multipart/mixed; boundary=${changeset}${CRLF}${CRLF}${CRLF}${parts.join(CRLF)}${CRLF}--${changeset}--${CRLF}--${batch}--${CRLF}`;

  const request = createPipelineRequest({
    url: `${account.origin}${accountPath}/$batch${account.search}`,
    method: 'POST',
    body,
    headers: createHttpHeaders({
      accept: 'application/json',
      'x-ms-version': '2019-02-02',
      DataServiceVersion: '3.0;',
      MaxDataServiceVersion: '3.0;NetFx',
      'content-type': `multipart/mixed; boundary=${batch}`,
    }),
    allowInsecureConnection: client.url.startsWith('http://'),
  });
  sharedHttpClient ??= createDefaultHttpClient();
  const response = await client.pipeline.sendRequest(sharedHttpClient, request);
  const text = response.bodyAsText ?? '';
  if (response.status !== 202) throw new TransactionError(response.status, errorCode(text), `table transaction failed: HTTP ${response.status}`);

  const answers = subResponses(text);
  const failed = answers.find((a) => a.status < 200 || a.status >= 300);
  if (failed) throw new TransactionError(failed.status, errorCode(failed.body), `table transaction failed: ${failed.status}${errorCode(failed.body) ? ` ${errorCode(failed.body)}` : ''}`);
  if (answers.length !== rows.length || answers.some((a) => !a.etag)) {
    throw new TransactionError(0, undefined, `table transaction: ${answers.length} answers with ETags for ${rows.length} rows`);
  }
  return answers.map((a) => a.etag!);
}

function rowBody(row: RowWrite): Record<string, RowValue> {
  const out: Record<string, RowValue> = { PartitionKey: row.partitionKey, RowKey: row.rowKey };
  for (const [name, value] of Object.entries(row.values)) {
    if (name === 'partitionKey' || name === 'rowKey' || name === 'PartitionKey' || name === 'RowKey' || name === 'etag') continue;
    if (typeof value === 'number' && !(Number.isInteger(value) ? value >= -2_147_483_648 && value <= 2_147_483_647 : Number.isFinite(value))) {
      throw new Error(`${name}: ${value} is not a number a row can hold without a type annotation`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new Error(`${name}: unsupported value`);
    out[name] = value;
  }
  return out;
}

/** A key inside the sub-request URL: quotes doubled (OData), then URL-encoded, as the SDK does. */
function keyInUrl(key: string): string {
  return encodeURIComponent(key.replace(/'/g, "''"));
}

interface SubResponse {
  readonly status: number;
  readonly etag?: string;
  readonly body: string;
}

/** The status line, ETag and body of each operation's answer in a changeset response. */
function subResponses(text: string): SubResponse[] {
  const out: SubResponse[] = [];
  const statusLine = /HTTP\/1\.1 (\d{3})[^\r\n]*\r?\n/g;
  const starts: { index: number; end: number; status: number }[] = [];
  for (let m = statusLine.exec(text); m; m = statusLine.exec(text)) starts.push({ index: m.index, end: m.index + m[0].length, status: Number(m[1]) });
  starts.forEach((s, i) => {
    const chunk = text.slice(s.end, i + 1 < starts.length ? starts[i + 1]!.index : text.length);
    const split = chunk.search(/\r?\n\r?\n/);
    const head = split >= 0 ? chunk.slice(0, split) : chunk;
    const rest = split >= 0 ? chunk.slice(split).replace(/^\r?\n\r?\n/, '') : '';
    const etag = /^ETag:\s*(.+)$/im.exec(head)?.[1]?.trim();
    out.push({ status: s.status, etag, body: rest.split(/\r?\n--/)[0] ?? '' });
  });
  return out;
}

function errorCode(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { 'odata.error'?: { code?: unknown } };
    const code = json['odata.error']?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

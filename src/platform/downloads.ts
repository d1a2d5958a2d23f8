import { stringify } from 'csv-stringify/sync';
import type { Clock } from './clock';
import type { SignedLinks } from './links';
import type { Download } from './server';

/** How long a download link on a card works. */
const LINK_MS = 15 * 60_000;

/**
 * A CSV the bot serves itself through a short-lived signed link (who is coming to a TeachMeet, who an
 * announcement could not reach): the card gets `link(id, now)`, and the route checks the id's shape and
 * the link's signature and expiry before anything is read.
 */
export interface SignedCsv {
  link(id: string, now: Date): { url: string; validFor: string };
  readonly download: Download;
}

/** Where a signed link leads and what it refuses: the route (with `:id`), a well-formed id, and what is said (403) for a malformed, expired or forged link. */
export interface SignedLinkSpec {
  readonly route: string;
  readonly id: RegExp;
  readonly refused: string;
}

export function signedCsv(
  links: SignedLinks,
  clock: Clock,
  spec: SignedLinkSpec & {
    /** The CSV and its file name, or what to say when the thing it lists is gone. */
    csv(id: string): Promise<{ body: string; filename: string } | { missing: string }>;
  },
): SignedCsv {
  return signedDownload(links, clock, { ...spec, contentType: 'text/csv; charset=utf-8', file: spec.csv });
}

/**
 * Anything behind a short-lived signed link: signedCsv, signedPage and `my data`'s JSON are this with
 * their content type. Refusals (403) and "gone" answers (404) are in the same type as what is served
 * for a page (an HTML page), in plain text otherwise. A file has a name (a download); a page has none.
 */
export function signedDownload(
  links: SignedLinks,
  clock: Clock,
  spec: SignedLinkSpec & {
    readonly contentType: string;
    /** Refusals and "gone" answers as HTML pages (for a page), else plain text. */
    readonly htmlAnswers?: boolean;
    file(id: string): Promise<{ body: string; filename?: string } | { missing: string }>;
  },
): SignedCsv {
  const pathOf = (id: string) => spec.route.replace(':id', id);
  const answerType = spec.htmlAnswers ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
  const answer = (status: number, body: string) => ({ status, contentType: answerType, body });
  return {
    link: (id, now) => ({ url: links.make(pathOf(id), new Date(now.getTime() + LINK_MS)), validFor: 'for 15 minutes' }),
    download: {
      path: spec.route,
      async handle(params, query) {
        const id = String(params.id ?? '');
        if (!spec.id.test(id) || !links.verify(pathOf(id), query.exp, query.sig, clock.now())) return answer(403, spec.refused);
        const file = await spec.file(id);
        if ('missing' in file) return answer(404, file.missing);
        return { status: 200, contentType: spec.contentType, body: file.body, ...(file.filename ? { filename: file.filename } : {}) };
      },
    },
  };
}

/** How a cell a spreadsheet would run as a formula (or a DDE command) starts: = + - @, tab, CR, or their full-width forms. */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * The one way Together writes a CSV for people to open in a spreadsheet: a UTF-8 BOM (so Excel reads
 * accents and full-width characters), every cell quoted (so a `;` inside a cell cannot start a new
 * cell when the file is opened with `;` as the separator), CRLF line ends, and a single quote before
 * any cell a spreadsheet would otherwise run as a formula.
 */
export function spreadsheetCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const safe = (cell: string) => (FORMULA_START.test(cell) ? `'${cell}` : cell);
  return stringify([header, ...rows].map((row) => row.map(safe)), { bom: true, quoted: true, record_delimiter: 'windows' });
}

/**
 * An HTML page the bot serves itself through a short-lived signed link (the impact report), checked as
 * a signed CSV is: the id's shape, then the link's signature and expiry, before anything is read. A
 * malformed, tampered or expired link gets the `refused` page (a whole HTML page) with 403.
 */
export type SignedPage = SignedCsv;

export function signedPage(
  links: SignedLinks,
  clock: Clock,
  spec: SignedLinkSpec & {
    /** The page, or a whole HTML page saying what is gone (404). */
    page(id: string): Promise<{ html: string } | { missing: string }>;
  },
): SignedPage {
  return signedDownload(links, clock, {
    ...spec,
    contentType: 'text/html; charset=utf-8',
    htmlAnswers: true,
    async file(id) {
      const page = await spec.page(id);
      return 'missing' in page ? page : { body: page.html };
    },
  });
}

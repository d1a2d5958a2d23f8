import { reportTables, turnaroundText, type Table, type TableId } from './cards';
import { figure, type Report } from './figures';
import { dateText } from './rules';

/**
 * The report page behind a signed link: server-rendered HTML with the report's tables (the same ones
 * the CSVs are made from), each figure's definition beside it, and inline SVG bar charts. Readable on
 * a phone (tables become one card per row) and printable on A4. Every piece of text is HTML-escaped.
 */

export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bar: #4f52b2; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", system-ui, -apple-system, sans-serif; color: var(--ink); margin: 0 auto; padding: 16px; max-width: 1100px; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 8px; margin: 12px 0; }
.headline div { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.headline b { display: block; font-size: 1.3rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 4px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; }
tr.total td { font-weight: 700; border-top: 2px solid var(--ink); }
.download { font-size: .9rem; }
dl.defs { font-size: .85rem; color: var(--muted); margin: 8px 0 0; }
dl.defs dt { font-weight: 600; color: var(--ink); margin-top: 6px; }
dl.defs dd { margin: 0; }
svg.chart { width: 100%; height: auto; max-width: 720px; display: block; }
svg.chart text { font-size: 12px; fill: var(--ink); }
svg.chart rect { fill: var(--bar); }
.chart-title { font-weight: 600; margin: 16px 0 4px; }
@media (max-width: 640px) {
  body { padding: 10px; }
  table.wide thead { display: none; }
  table.wide tr { display: block; border: 1px solid var(--line); border-radius: 6px; margin: 0 0 10px; padding: 4px 8px; }
  table.wide td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 3px 0; text-align: right; overflow-wrap: anywhere; }
  table.wide td::before { content: attr(data-label); text-align: left; color: var(--muted); flex: 0 0 45%; }
  table.wide td:first-child { font-weight: 700; }
  table.wide td:first-child::before { content: none; }
}
@media print {
  @page { size: A4; margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  .download { display: none; }
  table { font-size: 7.5pt; page-break-inside: auto; table-layout: fixed; }
  th, td { padding: 3px 2px; overflow-wrap: anywhere; hyphens: auto; }
  th:first-child { width: 16%; }
  tr, .chart-block, .headline div { page-break-inside: avoid; }
  h2 { page-break-after: avoid; }
}
`;

export interface PageLinks {
  /** The signed CSV link of each table. */
  readonly csv: Readonly<Record<TableId, string>>;
  readonly validFor: string;
}

/** A horizontal bar chart: one labelled bar per item, the value at its end. */
export function barChart(title: string, items: readonly { label: string; value: number }[]): string {
  const width = 720;
  const labelWidth = 250;
  const barArea = width - labelWidth - 50;
  const rowHeight = 26;
  const max = Math.max(1, ...items.map((i) => i.value));
  const height = Math.max(1, items.length) * rowHeight + 8;
  const bars = items
    .map((item, i) => {
      const y = 4 + i * rowHeight;
      const w = Math.round((item.value / max) * barArea);
      const label = item.label.length > 38 ? `${item.label.slice(0, 37)}…` : item.label;
      return `<g><title>${escapeHtml(item.label)}: ${item.value}</title><text x="0" y="${y + 16}">${escapeHtml(label)}</text><rect x="${labelWidth}" y="${y + 3}" width="${w}" height="${rowHeight - 8}" rx="2"></rect><text x="${labelWidth + w + 6}" y="${y + 16}">${item.value}</text></g>`;
    })
    .join('');
  return `<div class="chart-block"><p class="chart-title">${escapeHtml(title)}</p><svg class="chart" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">${bars}</svg></div>`;
}

function tableHtml(table: Table, csvUrl: string): string {
  const head = table.columns.map((c) => `<th scope="col"${c.definition ? ` title="${escapeHtml(c.definition)}"` : ''}>${escapeHtml(c.label)}</th>`).join('');
  const row = (cells: readonly (string | number)[], cls = '') =>
    `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((cell, i) => `<td data-label="${escapeHtml(table.columns[i]?.label ?? '')}">${escapeHtml(cell)}</td>`).join('')}</tr>`;
  const body = [...table.rows.map((r) => row(r)), ...(table.total ? [row(table.total, 'total')] : [])].join('');
  // The terms table has the per-school table's figures: their definitions are given there once.
  const defs =
    table.id === 'terms'
      ? '<dd>Each term’s totals, each figure as defined under “Per school”, the term’s dates deciding what counts.</dd>'
      : table.columns
          .filter((c) => c.definition)
          .map((c) => `<dt>${escapeHtml(c.label)}</dt><dd>${escapeHtml(c.definition)}</dd>`)
          .join('');
  return `<section id="${table.id}"><h2>${escapeHtml(table.title)}</h2>
<p class="download"><a href="${escapeHtml(csvUrl)}" download>Download this table (CSV)</a></p>
<table${table.columns.length > 3 ? ' class="wide"' : ''}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>
<dl class="defs">${defs}</dl></section>`;
}

export function reportPage(report: Report, partnership: string, schoolName: string | undefined, links: PageLinks): string {
  const tables = reportTables(report);
  const t = report.totals;
  const scope = report.scope.kind === 'all' ? `Every partner school (${report.schools.length})` : `${schoolName ?? 'One school'} only`;
  const headline = [
    ['Staff at TeachMeets (attended)', t.attended],
    ['Staff at TeachMeets (presented)', t.presented],
    ['Trainees sent', t.traineesSent],
    ['Projects approved', t.projectsApproved],
    ['Pupils planned', t.pupilsPlanned],
    ['Announcements acknowledged', t.acknowledged],
  ]
    .map(([label, value]) => `<div>${escapeHtml(label!)}<b>${escapeHtml(value!)}</b></div>`)
    .join('');
  const section = (id: TableId) => tableHtml(tables.find((x) => x.id === id)!, links.csv[id]);
  const turnaround = figure('turnaround');
  const charts =
    barChart('Staff at TeachMeets (attended and presented), per school', report.schools.map((r) => ({ label: r.school.name, value: r.counts.attended + r.counts.presented }))) +
    barChart('Projects approved, per school', report.schools.map((r) => ({ label: r.school.name, value: r.counts.projectsApproved })));
  return `<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(`Impact: ${report.period.label} – ${partnership}`)}</title><style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(`Impact: ${report.period.label}`)}</h1>
<p class="sub">${escapeHtml(partnership)} · ${escapeHtml(`${dateText(report.period.from)} – ${dateText(report.period.to)}`)} · ${escapeHtml(scope)}</p>
<div class="headline">${headline}</div>
<p><b>${escapeHtml(turnaround.label)}:</b> ${escapeHtml(turnaroundText(report))}. <span class="sub">${escapeHtml(turnaround.definition)} Date that counts: ${escapeHtml(turnaround.date)}.</span></p>
${section('schools')}
${charts}
${section('terms')}
${barChart('Staff at TeachMeets (attended and presented), per term', report.trend.map((t) => ({ label: t.label, value: t.totals.attended + t.totals.presented })))}
${barChart('Projects approved, per term', report.trend.map((t) => ({ label: t.label, value: t.totals.projectsApproved })))}
${section('needs')}
${section('outcomes')}
${barChart('Projects approved, per funder outcome', report.outcomes.map((r) => ({ label: r.label, value: r.projects })))}
${section('projects')}
<p class="sub download">Download links on this page work ${escapeHtml(links.validFor)}. Counts only: no pupil names or personal details.</p>
</main></body></html>`;
}

/** What a tampered or expired link shows (403). */
export function refusedPage(message: string): string {
  return `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Link not valid</title><style>body{font-family:system-ui,sans-serif;margin:24px;max-width:640px}</style></head><body><h1>This link can’t be opened</h1><p>${escapeHtml(message)}</p></body></html>`;
}

/**
 * Reads a CSV as a spreadsheet does when it opens the file with `separator`: a leading UTF-8 BOM is
 * dropped, a field that starts with `"` runs to its closing quote (`""` is a quote) and anything after
 * that up to the separator is kept, and line breaks inside quotes stay in the field.
 */
export function readAsSpreadsheet(text: string, separator: ',' | ';'): string[][] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < body.length) {
    let field = '';
    if (body[i] === '"') {
      i++;
      while (i < body.length) {
        if (body[i] === '"' && body[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (body[i] === '"') {
          i++;
          break;
        } else field += body[i++];
      }
    }
    while (i < body.length && body[i] !== separator && body[i] !== '\r' && body[i] !== '\n') field += body[i++];
    row.push(field);
    if (body[i] === separator) {
      i++;
      continue;
    }
    if (body[i] === '\r') i++;
    if (body[i] === '\n') i++;
    rows.push(row);
    row = [];
  }
  return rows;
}

/** The cells a spreadsheet would treat as a formula (or a command): starting with = + - @, a tab or CR, or their full-width forms. */
export function formulaCells(rows: string[][]): string[] {
  return rows.flat().filter((cell) => /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(cell));
}

/** CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) to rows of fields, for previews. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let [row, field, quoted, i] = [[] as string[], '', false, 0];
  const endRow = () => {
    row.push(field);
    rows.push(row);
    [row, field] = [[], ''];
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') [field, i] = [field + '"', i + 2];
      else if (ch === '"') [quoted, i] = [false, i + 1];
      else [field, i] = [field + ch, i + 1];
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') endRow();
    else if (ch !== '\r') field += ch;
    i++;
  }
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

/**
 * Reads RFC 4180 CSV (quoted fields, doubled quotes, CRLF) as written by core/csv.ts. `CsvRowReader`
 * takes the text in chunks of any size (a gunzip stream's) and hands back the complete rows each chunk
 * ends, so a file of millions of rows is read holding one row; `readCsv` reads a whole text at once.
 */
export class CsvRowReader {
  private row: string[] = [];
  private cell = '';
  private quoted = false;
  /** A chunk's last character when it needs the next one to mean anything (`"` in quotes, `\r`). */
  private carry = '';
  private header: string[] | undefined;

  /** The complete rows in `chunk` (and before it), by header name; the header row itself is not one. */
  push(chunk: string): Record<string, string>[] {
    return this.named(this.scan(this.carry + chunk, false));
  }

  /** The last row, when the text does not end with CRLF. */
  end(): Record<string, string>[] {
    const rows = this.scan(this.carry, true);
    if (this.cell !== '' || this.row.length > 0) rows.push([...this.row, this.cell]);
    this.row = [];
    this.cell = '';
    return this.named(rows);
  }

  private scan(text: string, final: boolean): string[][] {
    const rows: string[][] = [];
    this.carry = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      const next = text[i + 1];
      if (next === undefined && !final && ((this.quoted && c === '"') || (!this.quoted && c === '\r'))) {
        this.carry = c;
        break;
      }
      if (this.quoted) {
        if (c === '"' && next === '"') {
          this.cell += '"';
          i++;
        } else if (c === '"') this.quoted = false;
        else this.cell += c;
      } else if (c === '"') this.quoted = true;
      else if (c === ',') {
        this.row.push(this.cell);
        this.cell = '';
      } else if (c === '\r' && next === '\n') {
        this.row.push(this.cell);
        rows.push(this.row);
        this.row = [];
        this.cell = '';
        i++;
      } else this.cell += c;
    }
    return rows;
  }

  private named(rows: string[][]): Record<string, string>[] {
    if (!this.header) {
      const first = rows.shift();
      if (!first) return [];
      this.header = first;
    }
    const header = this.header;
    return rows.map((cells) => Object.fromEntries(header.map((name, index) => [name, cells[index] ?? ''])));
  }
}

/** A whole CSV text's rows by header name. */
export function readCsv(text: string): Record<string, string>[] {
  const reader = new CsvRowReader();
  return [...reader.push(text), ...reader.end()];
}

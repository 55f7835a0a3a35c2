import * as openpgp from 'openpgp';
/**
 * Bulk issuance CSV files generated on the fly, for the tests and bench/bulk-validate.ts: a header and
 * `rows` rows, yielded as byte chunks of about `chunkBytes` (an S3 body's shape), never held whole.
 * Row n (from 1) is on line n + 1 and has reference `REF-<n>`; `cells` overrides any cell of any row.
 */
/** A business customer's OpenPGP key pair, to which a batch's result file is encrypted. */
export interface CustomerKeys {
  readonly publicKey: string;
  readonly privateKey: openpgp.PrivateKey;
}

export async function customerKeyPair(): Promise<CustomerKeys> {
  const generated = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Acme payroll', email: 'payroll@acme.example' }],
    format: 'armored',
  });
  return {
    publicKey: generated.publicKey,
    privateKey: await openpgp.readPrivateKey({ armoredKey: generated.privateKey }),
  };
}

export const BULK_HEADER = 'Reference,Amount,Recipient_Name,Recipient_Email,Recipient_Phone,Message';

export interface BulkRowCells {
  readonly reference: string;
  readonly amount: string;
  readonly name: string;
  readonly email: string;
  readonly phone: string;
  readonly message: string;
}

export function bulkRowCells(row: number): BulkRowCells {
  return {
    reference: `REF-${String(row).padStart(6, '0')}`,
    amount: String(1_000 + (row % 50) * 100),
    name: `Employee ${row}`,
    email: `employee.${row}@example.com`,
    phone: row % 3 === 0 ? '' : `+4420${String(row).padStart(8, '0')}`,
    message: row % 2 === 0 ? 'Thank you for a great year, "team"!' : '',
  };
}

const quoted = (cell: string) => (/[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);

export function bulkCsvLine(cells: BulkRowCells): string {
  return [cells.reference, cells.amount, cells.name, cells.email, cells.phone, cells.message]
    .map(quoted)
    .join(',');
}

export async function* bulkCsvFile(
  rows: number,
  options: {
    readonly cells?: (row: number, cells: BulkRowCells) => BulkRowCells;
    readonly chunkBytes?: number;
    readonly lineEnd?: string;
  } = {},
): AsyncGenerator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const lineEnd = options.lineEnd ?? '\r\n';
  let pending = `\ufeff${BULK_HEADER}${lineEnd}`;
  for (let row = 1; row <= rows; row++) {
    const cells = bulkRowCells(row);
    pending += bulkCsvLine(options.cells ? options.cells(row, cells) : cells) + lineEnd;
    if (pending.length >= chunkBytes) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  if (pending !== '') yield Buffer.from(pending, 'utf8');
}

/** Byte chunks from strings and raw bytes, for hand-made hostile files. */
export async function* chunksOf(...parts: readonly (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

/**
 * The same rows as a JSON batch file (one array of row objects keyed by column name, amounts as numbers),
 * in byte chunks of about `chunkBytes`; `row` overrides any row's object (row n is the batch's row n).
 */
export async function* bulkJsonFile(
  rows: number,
  options: {
    readonly row?: (row: number, value: Record<string, unknown>) => unknown;
    readonly chunkBytes?: number;
  } = {},
): AsyncGenerator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  let pending = '[\n';
  for (let row = 1; row <= rows; row++) {
    const cells = bulkRowCells(row);
    const value: Record<string, unknown> = {
      reference: cells.reference,
      amount: Number(cells.amount),
      recipient_name: cells.name,
      recipient_email: cells.email,
      ...(cells.phone ? { recipient_phone: cells.phone } : {}),
      ...(cells.message ? { message: cells.message } : {}),
    };
    pending += `${JSON.stringify(options.row ? options.row(row, value) : value)}${row < rows ? ',' : ''}\n`;
    if (pending.length >= chunkBytes) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  yield Buffer.from(`${pending}]\n`, 'utf8');
}

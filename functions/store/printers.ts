import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { auditOfChange } from '../core/audit';
import { notFound } from '../core/errors';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import { auditInsert } from './audit';
import { db, tableName } from './dynamo-client';
import { PRINTERS_INDEX_PK, printerKey, withoutLayout } from './keys';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { writeAtomically } from './transact';

/** A card printer: where production orders' files go, encrypted to its OpenPGP public key. */
export interface Printer {
  readonly id: string;
  readonly name: string;
  /** ASCII-armored; a public key with an encryption subkey (checked when registered). */
  readonly publicKeyArmored: string;
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly createdBy: Actor;
}

/** Registers a printer and audits it in the same transaction. */
export async function putPrinter(
  input: Pick<Printer, 'name' | 'publicKeyArmored' | 'fingerprint'>,
  actor: Actor,
  now: Date,
): Promise<Printer> {
  const printer: Printer = {
    id: newId('prn', now),
    ...input,
    createdAt: now.toISOString(),
    createdBy: actor,
  };
  const { publicKeyArmored: _key, ...shown } = printer;
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: {
            ...printer,
            ...printerKey(printer.id),
            GSI1PK: PRINTERS_INDEX_PK,
            GSI1SK: `${printer.createdAt}#${printer.id}`,
          },
          // Guarantees: a printer id is registered once.
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      auditInsert(
        auditOfChange(
          { actor },
          {
            action: 'printer.register',
            subjectType: 'printer',
            subjectId: printer.id,
            at: now,
            before: null,
            after: shown,
          },
        ),
      ),
    ],
    { claim: undefined, result: printer, now },
  );
  if (outcome.kind !== 'committed')
    throw new Error(`Printer ${printer.id} was not written (${outcome.kind})`);
  return printer;
}

export async function getPrinter(printerId: string): Promise<Printer> {
  const out = await db().send(new GetCommand({ TableName: tableName(), Key: printerKey(printerId) }));
  if (!out.Item) throw notFound('The printer');
  return withoutLayout<Printer>(out.Item);
}

export function listPrinters(limit: number, cursor?: string): Promise<Page<Printer>> {
  return listByIndex('GSI1', PRINTERS_INDEX_PK, { limit, ...(cursor ? { cursor } : {}) }, (item) =>
    withoutLayout<Printer>(item),
  );
}

import { createHash } from 'node:crypto';
import type { BulkBatch } from '../core/bulk/bulk-batch-model';
import { CHUNK_ROWS, GROUP_ROWS, ISSUE_CONCURRENCY } from '../core/bulk/bulk-batch-model';
import { type BulkResultRow, resultHeader, resultLine } from '../core/bulk/bulk-result-row';
import type { OperationContext } from '../core/card';
import { type ClaimToken, newClaimToken } from '../core/delivery/claim-token';
import { newDelivery } from '../core/delivery/new-delivery';
import type { Program } from '../core/program';
import { logger } from '../logger';
import { chunkResults, completeBulkBatch, findBulkBatch, finishChunk } from '../store/bulk-batches';
import { bulkFileChunks, bulkResultKey, writeEncryptedResult } from '../store/bulk-files';
import { changeDelivery, deliveryPut, findDelivery, tokenSwap } from '../store/deliveries';
import type { IdempotencyClaim } from '../store/idempotency';
import { getProgram } from '../store/programs';
import { sealValue } from '../store/sealed-values';
import { acceptedRows, type NumberedRow } from './bulk-rows';
import type { IssuedCard } from './card-issue';
import { type GroupMember, issueCardGroup } from './card-issue-group';
import { claimLinkFor } from './claim-links';

/**
 * The background run of an accepted bulk batch (issue #19).
 *
 * Primary course: read the accepted file from the first unfinished chunk on, issue each chunk's cards
 * ISSUE_CONCURRENCY at a time, store the chunk's results (sealed) and move the progress past it; once
 * every chunk is done, stream the results into the result file, encrypted to the customer's key, and
 * mark the batch SUCCEEDED. Each row is issued under the idempotency key (batch, reference), so a chunk
 * run again after a crash gets the cards it already issued back instead of issuing them again. Memory is
 * one chunk of rows and results, whatever the file's size; the run stops at `deadlineMs` (a Lambda's
 * time) between chunks and says so, for the caller to continue it.
 */
export type BulkRunOutcome = 'done' | 'continue' | 'not-running';

export async function runBulkBatch(
  batchId: string,
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<BulkRunOutcome> {
  const batch = await findBulkBatch(batchId);
  if (batch?.status !== 'RUNNING') return 'not-running';
  const program = await getProgram(batch.programId, { cached: true });
  if (batch.chunksDone < batch.chunks) {
    const chunks = await bulkFileChunks(batch.fileKey);
    if (!chunks) throw new Error(`Bulk batch ${batch.id}: its accepted file is gone`);
    let chunk = batch.chunksDone;
    let rows: NumberedRow[] = [];
    for await (const row of acceptedRows(chunks, program, chunk * CHUNK_ROWS)) {
      rows.push(row);
      if (rows.length < CHUNK_ROWS) continue;
      await finishChunk(batch.id, chunk, await issueChunk(batch, program, rows), new Date());
      chunk += 1;
      rows = [];
      if (Date.now() >= deadlineMs) return 'continue';
    }
    if (rows.length > 0)
      await finishChunk(batch.id, chunk, await issueChunk(batch, program, rows), new Date());
  }
  const resultFile = await writeEncryptedResult(
    resultLines(batch),
    batch.recipientKey,
    bulkResultKey(batch.id),
  );
  await completeBulkBatch(batch.id, { resultFile }, new Date());
  logger.info('Bulk batch done', { batchId: batch.id, rows: resultFile.rows, bytes: resultFile.bytes });
  return 'done';
}

async function* resultLines(batch: BulkBatch): AsyncGenerator<string> {
  yield resultHeader();
  for (let chunk = 0; chunk < batch.chunks; chunk++) {
    const rows = await chunkResults(batch.id, chunk);
    if (!rows) throw new Error(`Bulk batch ${batch.id}: chunk ${chunk} has no results`);
    for (const row of rows) yield resultLine(row);
  }
}

/** Issues the rows in groups of GROUP_ROWS, ISSUE_CONCURRENCY groups at once; results in the rows' order. */
async function issueChunk(
  batch: BulkBatch,
  program: Program,
  rows: readonly NumberedRow[],
): Promise<BulkResultRow[]> {
  const groups: NumberedRow[][] = [];
  for (let at = 0; at < rows.length; at += GROUP_ROWS) groups.push(rows.slice(at, at + GROUP_ROWS));
  const results: BulkResultRow[][] = new Array(groups.length);
  let next = 0;
  const worker = async () => {
    while (next < groups.length) {
      const at = next++;
      const group = groups[at];
      if (group) results[at] = await issueGroup(batch, program, group);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ISSUE_CONCURRENCY, groups.length) }, worker));
  return results.flat();
}

const rowClaim = (batch: BulkBatch, row: NumberedRow): IdempotencyClaim => ({
  scope: `bulk#${batch.id}`,
  key: row.row.reference,
  requestHash: createHash('sha256')
    .update(JSON.stringify([batch.id, row.row]))
    .digest('hex'),
});

interface PlannedRow {
  readonly numbered: NumberedRow;
  readonly member: GroupMember;
  /** The row's recipient is sent the e-gift message (deliver, with an address). */
  readonly sends: boolean;
  /** The claim link's token, when the result file carries a link. */
  readonly link: ClaimToken | undefined;
}

/** One row's card, with its delivery: sent later (deliver, with an address), or a claim link in the file. */
function planRow(batch: BulkBatch, numbered: NumberedRow, context: OperationContext): PlannedRow {
  const { row } = numbered;
  const { now } = context;
  const sends = batch.deliver && row.recipient.email !== undefined;
  const link = !sends && batch.output === 'CLAIM_LINKS' ? newClaimToken(now) : undefined;
  const recipient = row.recipient.email
    ? {
        name: row.recipient.name,
        email: row.recipient.email,
        ...(row.recipient.phone ? { phone: row.recipient.phone } : {}),
      }
    : null;
  const alongside = async (issued: IssuedCard) => {
    if (!sends && !link) return [];
    const order = {
      recipient,
      senderName: batch.customerName,
      ...(row.message ? { message: row.message } : {}),
      sendAt: now,
      timeZone: 'UTC',
    };
    const delivery = newDelivery(issued.card, order, context.actor, now, link);
    const sealed = await sealValue('delivery-code-v1', issued.code, issued.card.id);
    return [deliveryPut(delivery, sealed), ...(link ? tokenSwap(issued.card.id, link, undefined) : [])];
  };
  const member: GroupMember = {
    input: {
      type: 'DIGITAL',
      amount: row.amountMinor,
      activate: true,
      recipient: {
        name: row.recipient.name,
        ...(row.recipient.email ? { email: row.recipient.email } : {}),
        ...(row.message ? { message: row.message } : {}),
      },
      metadata: { bulkBatchId: batch.id, bulkReference: row.reference },
    },
    claim: rowClaim(batch, numbered),
    alongside,
  };
  return { numbered, member, sends, link };
}

async function issueGroup(
  batch: BulkBatch,
  program: Program,
  rows: readonly NumberedRow[],
): Promise<BulkResultRow[]> {
  const now = new Date();
  const context: OperationContext = {
    actor: { type: batch.requestedBy.type, id: batch.requestedBy.id },
    request: { channel: 'ONLINE' },
    now,
  };
  const planned = rows.map((numbered) => planRow(batch, numbered, context));
  const committed = await issueCardGroup(
    program,
    planned.map((row) => row.member),
    context,
  );
  return Promise.all(
    planned.map(async ({ numbered, sends, link }, index) => {
      const issued = committed[index];
      if (!issued) throw new Error(`Bulk batch ${batch.id}: line ${numbered.line} was not issued`);
      const { card, code } = issued.result;
      let token = link?.token;
      // A row issued before a crash: its link's token was never written out, so it gets a new one (the old dies).
      if (issued.replayed && link) token = await reissueLink(card.id, now);
      return {
        line: numbered.line,
        reference: numbered.row.reference,
        cardId: card.id,
        last4: card.last4,
        amountMinor: numbered.row.amountMinor,
        ...(token ? { claimLink: claimLinkFor(token) } : {}),
        ...(batch.output === 'CODES' && !sends ? { code } : {}),
        ...(sends ? { delivery: 'SCHEDULED' } : {}),
      };
    }),
  );
}

async function reissueLink(cardId: string, now: Date): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const stored = await findDelivery(cardId);
    if (!stored) break;
    const token = newClaimToken(now);
    const swapped = await changeDelivery(
      stored.delivery,
      { tokenHash: token.hash, tokenExpiresAt: token.expiresAt, updatedAt: now.toISOString() },
      ['LINK_ISSUED'],
      tokenSwap(cardId, token, stored.delivery.tokenHash),
    );
    if (swapped) return token.token;
  }
  throw new Error(`Card ${cardId}: its claim link could not be reissued`);
}

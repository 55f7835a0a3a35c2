import { createHash, randomBytes } from 'node:crypto';
import type { BulkBatch } from '../core/bulk/bulk-batch-model';
import { CHUNK_ROWS, CHUNKS_IN_FLIGHT, GROUP_ROWS, GROUPS_IN_FLIGHT } from '../core/bulk/bulk-batch-model';
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
 * Primary course: read the accepted file from the first unfinished chunk on, CHUNKS_IN_FLIGHT chunks at
 * once, issuing their cards a group (one transaction) at a time over GROUPS_IN_FLIGHT slots; record each
 * chunk's results (sealed) and move the progress past it in file order; once every chunk is done, stream
 * the results into the result file, encrypted to the customer's key, and mark the batch SUCCEEDED. Each
 * row is issued under the idempotency key (batch, reference), so a chunk run again after a crash gets the
 * cards it already issued back instead of issuing them again. Memory is CHUNKS_IN_FLIGHT chunks of rows
 * and results, whatever the file's size; the run stops at `deadlineMs` (a Lambda's time) between chunks
 * and says so, for the caller to continue it.
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
    const outcome = await issueRemainingChunks(batch, program, deadlineMs);
    if (outcome === 'continue') return outcome;
  }
  // Another runner of the batch (a resume beside a live one) may have finished it meanwhile.
  if ((await findBulkBatch(batchId))?.status !== 'RUNNING') return 'not-running';
  const resultFile = await writeEncryptedResult(
    resultLines(batch),
    batch.recipientKey,
    bulkResultKey(batch.id, randomBytes(6).toString('hex')),
  );
  if (!(await completeBulkBatch(batch.id, { resultFile }, new Date()))) return 'not-running';
  logger.info('Bulk batch done', { batchId: batch.id, rows: resultFile.rows, bytes: resultFile.bytes });
  return 'done';
}

interface ChunkUnderWay {
  readonly chunk: number;
  readonly results: Promise<BulkResultRow[]>;
}

/** Issues the chunks from the first unfinished one on; 'continue' when the deadline stopped it first. */
async function issueRemainingChunks(
  batch: BulkBatch,
  program: Program,
  deadlineMs: number,
): Promise<'done' | 'continue'> {
  const file = await bulkFileChunks(batch.fileKey);
  if (!file) throw new Error(`Bulk batch ${batch.id}: its accepted file is gone`);
  const slots = new GroupSlots(GROUPS_IN_FLIGHT);
  const underWay: ChunkUnderWay[] = [];
  const start = (chunk: number, rows: NumberedRow[]) => {
    const results = issueChunk(batch, program, rows, slots);
    // Awaited in order below; until then a failure must not count as unhandled.
    results.catch(() => undefined);
    underWay.push({ chunk, results });
  };
  const finishOldest = async () => {
    const oldest = underWay.shift();
    if (oldest) await finishChunk(batch.id, oldest.chunk, await oldest.results, new Date());
  };
  let chunk = batch.chunksDone;
  let rows: NumberedRow[] = [];
  try {
    for await (const row of acceptedRows(file, program, chunk * CHUNK_ROWS, batch.format)) {
      rows.push(row);
      if (rows.length < CHUNK_ROWS) continue;
      start(chunk++, rows);
      rows = [];
      if (underWay.length < CHUNKS_IN_FLIGHT) continue;
      await finishOldest();
      if (Date.now() < deadlineMs) continue;
      while (underWay.length > 0) await finishOldest();
      return 'continue';
    }
    if (rows.length > 0) start(chunk, rows);
    while (underWay.length > 0) await finishOldest();
    return 'done';
  } finally {
    // A failed run ends only once nothing it started is still writing (a retry starts from a quiet table).
    await Promise.allSettled(underWay.map((entry) => entry.results));
  }
}

async function* resultLines(batch: BulkBatch): AsyncGenerator<string> {
  yield resultHeader();
  // The next chunk's results are read while this one's lines are written.
  let next = chunkResults(batch.id, 0);
  for (let chunk = 0; chunk < batch.chunks; chunk++) {
    const rows = await next;
    if (!rows) throw new Error(`Bulk batch ${batch.id}: chunk ${chunk} has no results`);
    if (chunk + 1 < batch.chunks) next = chunkResults(batch.id, chunk + 1);
    for (const row of rows) yield resultLine(row);
  }
}

/**
 * A bounded number of numbered slots: a group runs holding one, and uses its number as its issue-count
 * shard, so groups under way never meet on a counter item.
 */
class GroupSlots {
  private readonly free: number[];
  private readonly waiting: ((slot: number) => void)[] = [];

  constructor(size: number) {
    this.free = Array.from({ length: size }, (_, slot) => slot);
  }

  async run<T>(work: (slot: number) => Promise<T>): Promise<T> {
    const slot = this.free.pop() ?? (await new Promise<number>((resolve) => this.waiting.push(resolve)));
    try {
      return await work(slot);
    } finally {
      const next = this.waiting.shift();
      if (next) next(slot);
      else this.free.push(slot);
    }
  }
}

/** Issues the rows in groups of GROUP_ROWS, each in a free slot; results in the rows' order. */
async function issueChunk(
  batch: BulkBatch,
  program: Program,
  rows: readonly NumberedRow[],
  slots: GroupSlots,
): Promise<BulkResultRow[]> {
  const groups: NumberedRow[][] = [];
  for (let at = 0; at < rows.length; at += GROUP_ROWS) groups.push(rows.slice(at, at + GROUP_ROWS));
  const results = await Promise.all(
    groups.map((group) => slots.run((slot) => issueGroup(batch, program, group, slot))),
  );
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
      ...(row.designId ? { designId: row.designId } : {}),
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
  shard: number,
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
    shard,
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

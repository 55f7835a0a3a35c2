import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config';
import { type AuditContext, auditOfChange } from '../core/audit';
import { type CodeFormat, checkCodeFormat, DEFAULT_MAX_CARDS, maxCardsFor } from '../core/card-code';
import { DomainError, notFound } from '../core/errors';
import { defaultFraudRules, type FraudRulesPatch, mergeFraudRules } from '../core/fraud-rules';
import { newId } from '../core/ids';
import { checkProgramRules, DEFAULT_CASH_OUT, DEFAULT_DEACTIVATION, type Program } from '../core/program';
import { auditInsert } from './audit';
import { readItemInBatch } from './batched-reads';
import { TtlCache } from './cache';
import { db, tableName } from './dynamo-client';
import type { IdempotencyClaim } from './idempotency';
import { merchantKey, PROGRAMS_INDEX_PK, programKey, withoutLayout } from './keys';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { keyInProgress, writeAtomically } from './transact';

/** A new program; fraud rules absent or partial are completed with the currency's defaults. */
export type ProgramInput = Omit<Program, 'id' | 'createdAt' | 'updatedAt' | 'fraudRules'> & {
  readonly fraudRules?: FraudRulesPatch;
};
/** A change of rules; `fraudRules` changes only the rules and settings it names. */
export type ProgramPatch = Partial<Omit<ProgramInput, 'currency' | 'fraudRules'>> & {
  readonly fraudRules?: FraudRulesPatch;
};

const cache = new TtlCache<Program>(() => config().REFERENCE_CACHE_SECONDS * 1000);

/**
 * Programs written before code formats were configurable stored `{ length, prefix }` (numeric with Luhn)
 * and no maxCards: they may issue as many cards as their format allows at 10^9 unissued codes per issued
 * one, up to the default (10^6 for the 16-digit codes they all had).
 */
function storedCodeRules(
  format: Partial<CodeFormat> & Pick<CodeFormat, 'length' | 'prefix'>,
  maxCards: number | undefined,
): Pick<Program, 'codeFormat' | 'maxCards'> {
  const codeFormat: CodeFormat = { ...format, alphabet: format.alphabet ?? 'NUMERIC_LUHN' };
  return { codeFormat, maxCards: maxCards ?? Math.min(DEFAULT_MAX_CARDS, maxCardsFor(codeFormat)) };
}

/** Programs written before a rule existed read with that rule's default. */
function toProgram(item: Record<string, unknown>): Program {
  const stored = withoutLayout<Partial<Program> & Omit<Program, 'cashOut' | 'deactivation' | 'fraudRules'>>(
    item,
  );
  return {
    ...stored,
    cashOut: stored.cashOut ?? DEFAULT_CASH_OUT,
    deactivation: stored.deactivation ?? DEFAULT_DEACTIVATION,
    ...storedCodeRules(stored.codeFormat, stored.maxCards),
    // Rules (and settings) added after the program was written read with their defaults.
    fraudRules: mergeFraudRules(defaultFraudRules(stored.currency), stored.fraudRules),
  };
}

/**
 * Primary course: write the program and, in the same transaction, make it available to the listed
 * merchants (each must exist) and, for a caller, write the audit record.
 */
export async function createProgram(
  input: ProgramInput,
  merchantIds: readonly string[],
  claim: IdempotencyClaim | undefined,
  now = new Date(),
  audit?: AuditContext,
): Promise<Program> {
  const program: Program = {
    id: newId('prg', now),
    ...input,
    fraudRules: mergeFraudRules(defaultFraudRules(input.currency), input.fraudRules),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: { ...programKey(program.id), GSI1PK: PROGRAMS_INDEX_PK, GSI1SK: program.id, ...program },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...merchantIds.map((merchantId) => ({
        Update: {
          TableName: tableName(),
          Key: merchantKey(merchantId),
          UpdateExpression: 'SET programIds = list_append(programIds, :program), updatedAt = :now',
          ConditionExpression: 'attribute_exists(PK) AND NOT contains(programIds, :id)',
          ExpressionAttributeValues: {
            ':program': [program.id],
            ':id': program.id,
            ':now': now.toISOString(),
          },
        },
      })),
      ...(audit
        ? [
            auditInsert(
              auditOfChange(audit, {
                action: 'program.create',
                subjectType: 'program',
                subjectId: program.id,
                programId: program.id,
                at: now,
                before: null,
                after: { ...program, merchantIds },
              }),
            ),
          ]
        : []),
    ],
    { claim, result: program, now },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') {
    const missing = outcome.reasons.findIndex(
      (reason, index) => index > 0 && reason.code === 'ConditionalCheckFailed',
    );
    if (missing > 0) {
      throw new DomainError('VALIDATION_FAILED', 'A listed merchant does not exist.', [
        { field: `merchants[${missing - 1}]`, message: 'no such merchant' },
      ]);
    }
    throw new Error(`Program write cancelled: ${outcome.reasons.map((r) => r.code).join(',')}`);
  }
  return program;
}

/**
 * Cached reads in flight, by program id: a read started ahead (warmProgramCache) is joined instead of
 * repeated. A change of the program drops its entry, so nothing read before the change is cached after.
 */
const reading = new Map<string, Promise<Program | undefined>>();

/**
 * `batched`: the read opens a batch of reads (store/batched-reads.ts) that a card read sent in the same
 * turn joins, so the two cost one BatchGetItem (a consistent read) instead of two GetItems.
 */
export async function findProgram(
  programId: string,
  options: { cached?: boolean; batched?: boolean } = {},
): Promise<Program | undefined> {
  if (options.cached) {
    const hit = cache.get(programId);
    if (hit) return hit;
    const pending = reading.get(programId);
    if (pending) return pending;
  }
  const read = (async () => {
    const item = options.batched
      ? await readItemInBatch(programKey(programId))
      : (await db().send(new GetCommand({ TableName: tableName(), Key: programKey(programId) }))).Item;
    return item ? toProgram(item) : undefined;
  })();
  reading.set(programId, read);
  try {
    const program = await read;
    if (program && reading.get(programId) === read) cache.set(programId, program);
    return program;
  } finally {
    if (reading.get(programId) === read) reading.delete(programId);
  }
}

/** Programs a merchant's card change reads at most: more are not read ahead (they may not be needed). */
const WARM_AT_MOST = 4;

/**
 * Starts reading the programs a request will need, alongside its card read, when they are not cached:
 * a merchant's card belongs to one of its programs, so a cold instance reads the program in parallel
 * with the card instead of after it. Costs nothing when they are cached (the warm path); errors are left
 * to the read that needs the program.
 */
export function warmProgramCache(programIds: readonly string[]): void {
  if (programIds.length > WARM_AT_MOST) return;
  for (const id of programIds) {
    if (cache.get(id) || reading.has(id)) continue;
    findProgram(id, { cached: true }).catch(() => undefined);
  }
}

export async function getProgram(
  programId: string,
  options: { cached?: boolean; batched?: boolean } = {},
): Promise<Program> {
  const program = await findProgram(programId, options);
  if (!program) throw notFound('The program');
  return program;
}

export function listPrograms(limit: number, cursor?: string): Promise<Page<Program>> {
  return listByIndex('GSI1', PROGRAMS_INDEX_PK, { limit, cursor, newestFirst: true }, toProgram);
}

/** Read, merge, check the limits still nest, and write only if nobody changed the program meanwhile. */
export async function updateProgram(
  programId: string,
  patch: ProgramPatch,
  now = new Date(),
  audit?: AuditContext,
): Promise<Program> {
  const current = await getProgram(programId);
  const { fraudRules, checkLimits, ...rules } = patch;
  const updated: Program = {
    ...current,
    ...definedOnly(rules),
    fraudRules: mergeFraudRules(current.fraudRules, fraudRules),
    ...(checkLimits ? { checkLimits: { ...current.checkLimits, ...checkLimits } } : {}),
    updatedAt: now.toISOString(),
  };
  checkProgramRules(updated);
  // Checked on the merged program: a format and a maxCards changed by two requests must still fit.
  if (patch.codeFormat || patch.maxCards !== undefined)
    checkCodeFormat(updated.codeFormat, updated.maxCards, {
      blame: patch.codeFormat?.length !== undefined ? 'codeFormat.length' : 'maxCards',
    });
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: { ...programKey(programId), GSI1PK: PROGRAMS_INDEX_PK, GSI1SK: programId, ...updated },
          // Guarantees: no lost update between two concurrent PATCHes.
          ConditionExpression: 'updatedAt = :seen',
          ExpressionAttributeValues: { ':seen': current.updatedAt },
        },
      },
      ...(audit
        ? [
            auditInsert(
              auditOfChange(audit, {
                action: 'program.update',
                subjectType: 'program',
                subjectId: programId,
                programId,
                at: now,
                before: current,
                after: updated,
              }),
            ),
          ]
        : []),
    ],
    { claim: undefined, result: updated, now },
  );
  if (outcome.kind === 'cancelled') {
    throw new DomainError('CONFLICT', 'The program changed while it was being updated; retry.');
  }
  cache.delete(programId);
  reading.delete(programId);
  return updated;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function clearProgramCache(): void {
  cache.clear();
  reading.clear();
}

import { exportIdOf } from '../core/export-period';
import {
  type ExportSeal,
  type PreviousRoot,
  SEAL_ALGORITHM,
  SEAL_VERSION,
  type SealStatement,
  statementBytes,
} from '../core/export-seal';
import { rootOfParts } from '../core/merkle-root';
import type { ExportFile } from './export-files';
import { type ExportRun, findExportRun, type SegmentResult } from './export-runs';
import { exportSigner } from './export-signer';

/**
 * The export at this period's start (the month before's, for a monthly run), when it succeeded with a
 * root: the next statement names it, so the signed roots form a chain month to month.
 */
async function previousRoot(run: ExportRun): Promise<PreviousRoot | null> {
  const previous = await findExportRun(exportIdOf(run.region, run.periodStart));
  if (previous?.status !== 'SUCCEEDED' || !previous.chainRoot) return null;
  return { exportId: previous.id, cutoff: previous.cutoff, root: previous.chainRoot };
}

/** Signs the root over the segments' balances parts (in part order) with the region's export key. */
export async function sealExport(
  run: ExportRun,
  segments: readonly SegmentResult[],
  files: readonly ExportFile[],
): Promise<ExportSeal> {
  const parts = segments.map((segment) => {
    const name = segment.files.find((file) => file.name.startsWith('balances/'))?.name;
    if (!name || !segment.chain)
      throw new Error(`Export ${run.id} segment ${segment.segment} has no chain root`);
    return { name, cards: segment.chain.cards, root: segment.chain.root };
  });
  const statement: SealStatement = {
    version: SEAL_VERSION,
    exportId: run.id,
    region: run.region,
    month: run.month,
    cutoff: run.cutoff,
    cards: parts.reduce((sum, part) => sum + part.cards, 0),
    root: rootOfParts(parts.map((part) => part.root)),
    files: files.map((file) => ({ name: file.name, sha256: file.sha256 })),
    previous: await previousRoot(run),
  };
  const signer = exportSigner();
  const [publicKey, signature] = await Promise.all([
    signer.publicKey(),
    signer.sign(statementBytes(statement)),
  ]);
  return {
    statement,
    parts,
    signature: {
      algorithm: SEAL_ALGORITHM,
      keyId: signer.keyId,
      publicKey: publicKey.toString('base64'),
      value: signature.toString('base64'),
    },
  };
}

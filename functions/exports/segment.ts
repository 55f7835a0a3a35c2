import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { exportSegment, type SegmentInput } from '../store/exports';

/** Step 2, once per segment and in parallel: scan the segment into its part files. */
async function handle(event: SegmentInput) {
  const result = await exportSegment(event);
  const rows = Object.fromEntries(result.files.map((file) => [file.name, file.rows]));
  logger.info('Export segment done', { exportId: event.exportId, segment: event.segment, rows });
  // Small on purpose: Map state results are bounded; the segment's summary stays in its item.
  return { segment: result.segment, itemsScanned: result.itemsScanned, rows };
}

export const handler = observed(handle);

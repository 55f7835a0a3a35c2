import { logger } from '../logger';
import { finalizeExport } from '../store/exports';

/** Step 3: merge the segments' summaries, check the liability equation, write summary and manifest. */
export async function handler(event: { readonly exportId: string }) {
  const run = await finalizeExport(event);
  logger.info('Export finished', { exportId: run.id, month: run.month, files: run.files?.length ?? 0 });
  return { exportId: run.id, status: run.status };
}

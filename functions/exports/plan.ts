import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { type PlanInput, type PlanOutput, planExport } from '../store/exports';

/** Step 1 of a finance export (state machine or functions/exports/runner.ts): fix the segments. */
async function handle(event: PlanInput): Promise<PlanOutput> {
  const plan = await planExport(event);
  logger.info('Export planned', { exportId: plan.exportId, done: plan.done, segments: plan.totalSegments });
  return plan;
}

export const handler = observed(handle);

import * as z from 'zod';
import { apiHandler, type Operations, operation } from '../http/api-handler';
import { itemsSchema } from '../http/response-schemas/common';
import { jobRunSchema, queueDepthsSchema } from '../http/response-schemas/system';
import { MAX_JOB_RUNS_PAGE, recentJobRuns } from '../store/job-runs';
import { deadLetterDepths } from '../store/queue-depths';

/** Operations at a glance (the console's Ops page): dead-letter depths and the scheduled jobs' runs. */
export const operations: Operations = {
  'GET /v1/ops/queues': operation({
    summary: 'Dead-letter queue depths of this region (SQS in AWS; the local dead-letter files locally)',
    response: queueDepthsSchema,
    run: async () => deadLetterDepths(),
  }),
  'GET /v1/ops/job-runs': operation({
    summary: 'The most recent scheduled job runs, newest first',
    response: itemsSchema(jobRunSchema),
    query: z.object({ limit: z.coerce.number().int().min(1).max(MAX_JOB_RUNS_PAGE).default(50) }).strict(),
    run: async ({ query }) => ({ items: await recentJobRuns(query.limit) }),
  }),
};

export const handler = apiHandler('ops', operations);

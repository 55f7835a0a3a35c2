import * as z from 'zod';
import { isoTime } from './common';

/** The platform's own answers: liveness, its API reference, operations at a glance. */
export const healthSchema = z.object({ status: z.literal('ok') });

export const openApiDocumentSchema = z.object({
  openapi: z.string(),
  info: z.object({ title: z.string(), version: z.string(), description: z.string() }),
  jsonSchemaDialect: z.string(),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  components: z.record(z.string(), z.unknown()),
});

export const queueDepthsSchema = z.object({
  source: z.enum(['sqs', 'local-files', 'none']),
  queues: z.array(z.object({ name: z.string(), visible: z.number().int(), inFlight: z.number().int() })),
});

export const jobRunSchema = z.object({
  job: z.string(),
  startedAt: isoTime,
  finishedAt: isoTime,
  status: z.enum(['SUCCEEDED', 'FAILED']),
  examined: z.number().int().optional(),
  changed: z.number().int().optional(),
  failed: z.number().int().optional(),
  error: z.string().optional(),
});

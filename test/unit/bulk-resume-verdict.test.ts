import { describe, expect, it } from 'vitest';
import {
  BULK_STALL_MINUTES,
  MAX_STALLED_RESUMES,
  resumeVerdict,
} from '../../functions/core/bulk/bulk-batch-model';

/** When the bulk-resume job resumes a running batch, and when it gives up on one (issue #19). */
const at = '2026-12-03T08:00:00.000Z';
const minutesLater = (minutes: number) => new Date(Date.parse(at) + minutes * 60_000);
const running = { status: 'RUNNING' as const, updatedAt: at, chunksDone: 4 };

describe('resumeVerdict', () => {
  it('waits while progress is recent or the batch is not running', () => {
    expect(resumeVerdict(running, minutesLater(BULK_STALL_MINUTES - 1))).toEqual({ action: 'wait' });
    expect(resumeVerdict({ ...running, status: 'SUCCEEDED' }, minutesLater(600))).toEqual({ action: 'wait' });
  });

  it('resumes a stalled batch, counting resumes that found it at the same chunk, and fails it past the bound', () => {
    const later = minutesLater(BULK_STALL_MINUTES);
    expect(resumeVerdict(running, later)).toEqual({ action: 'resume', stalledResumes: 1 });
    // The last resume found it at another chunk: it moved since, the count starts again.
    expect(resumeVerdict({ ...running, resumedAtChunk: 2, stalledResumes: 3 }, later)).toEqual({
      action: 'resume',
      stalledResumes: 1,
    });
    expect(
      resumeVerdict({ ...running, resumedAtChunk: 4, stalledResumes: MAX_STALLED_RESUMES - 1 }, later),
    ).toEqual({ action: 'resume', stalledResumes: MAX_STALLED_RESUMES });
    expect(
      resumeVerdict({ ...running, resumedAtChunk: 4, stalledResumes: MAX_STALLED_RESUMES }, later),
    ).toEqual({ action: 'fail', stalledResumes: MAX_STALLED_RESUMES + 1 });
  });
});

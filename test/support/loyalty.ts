import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { newId } from '../../functions/core/ids';
import { signInCodeHash } from '../../functions/core/member-session';
import { putChallenge } from '../../functions/store/member-sessions';
import { sealingPepper } from '../../functions/store/secrets';
import { request } from './http';

/** Helpers for the loyalty tests: staff calls, members signed in, waiting for the stream consumers. */
export async function call(method: string, path: string, token: string | undefined, body: unknown = {}) {
  const withBody = method !== 'GET' && method !== 'DELETE' && method !== 'HEAD';
  const answer = await request(method, path, {
    ...(token ? { token } : {}),
    idempotencyKey: randomUUID(),
    ...(withBody ? { body } : {}),
  });
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body;
}

/** Retries `check` until it passes (the stream consumers are asynchronous), at most `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function registerMember(loyaltyProgramId: string, marketing = true): Promise<string> {
  const member = await call('POST', `/v1/loyalty/programs/${loyaltyProgramId}/members`, undefined, {
    channel: 'EMAIL',
    contact: `holder-${randomUUID()}@example.com`,
    consent: { termsVersion: '2026-01', accepted: true, marketing },
  });
  return member.id as string;
}

/**
 * A session for the member through the verify route, with a challenge the test writes itself (the code
 * as the delivery service would have sent it).
 */
export async function signInDirect(memberId: string, loyaltyProgramId: string): Promise<string> {
  const challengeId = newId('sgn');
  const code = '123456';
  await putChallenge({
    challengeId,
    loyaltyProgramId,
    memberId,
    codeHash: signInCodeHash(await sealingPepper(), challengeId, code),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  });
  const session = await call('POST', '/v1/loyalty/sign-in/verify', undefined, { challengeId, code });
  return session.token as string;
}

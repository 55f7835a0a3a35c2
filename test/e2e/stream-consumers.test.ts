import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '../../functions/logger';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.stop());

describe('ledger-integrity consumer, fed by the local stream poller', () => {
  it('passes sound entries and flags an entry whose arithmetic is wrong', async () => {
    const demo = stack.demo;
    if (!demo) throw new Error('the test stack did not seed');
    const errors = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const issued = await request('POST', '/v1/cards', {
        token: demo.apiKey,
        idempotencyKey: randomUUID(),
        body: { programId: demo.programId, type: 'DIGITAL', amount: 3000, activate: true },
      });
      const cardId = issued.body.card.id as string;
      await request('POST', `/v1/cards/${cardId}/redeem`, {
        token: demo.apiKey,
        idempotencyKey: randomUUID(),
        body: { amount: 1000 },
      });
      await stack.poller.drain();
      expect(errors).not.toHaveBeenCalled();

      // A tampered entry written behind the API's back: 2000 - 500 is not 9999.
      const client = dynamoDbClient(stack.dynamodbEndpoint);
      const forged = {
        PK: `CARD#${cardId}`,
        SK: 'TX#0000000004',
        id: `tx_${cardId.slice(3)}_4`,
        cardId,
        programId: demo.programId,
        seq: 4,
        type: 'REDEEM',
        amount: -500,
        currency: 'USD',
        balanceAfter: 9999,
        availableAfter: 9999,
        actor: { type: 'system', id: 'tamper' },
        channel: 'SYSTEM',
        createdAt: new Date().toISOString(),
      };
      await client.send(new PutItemCommand({ TableName: stack.tableName, Item: marshall(forged) }));
      await stack.poller.drain();
      expect(errors).toHaveBeenCalledWith(
        'Ledger integrity violation',
        expect.objectContaining({ metric: 'LedgerIntegrityViolation', transactionId: forged.id }),
      );
      client.destroy();
    } finally {
      errors.mockRestore();
    }
  });
});

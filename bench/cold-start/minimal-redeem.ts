/**
 * A second cold-start baseline: the DynamoDB calls a redemption cannot do without, and nothing else.
 * One client; a consistent GetItem of the card, then one TransactWriteItems of three items about the size
 * of a redemption's (the card's balance, a ledger entry, an idempotency record). No auth, no validation,
 * no ledger rules: what `cards` adds on top of this is the platform's own cold start (bench/cold-start.ts).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';

const client = new DynamoDBClient(
  process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {},
);
const TableName = process.env.TABLE_NAME;
const padding = { S: 'x'.repeat(400) };

export const handler = async () => {
  const card = await client.send(
    new GetItemCommand({
      TableName,
      Key: JSON.parse(process.env.BENCH_GET_KEY ?? '{}'),
      ConsistentRead: true,
    }),
  );
  const id = randomUUID();
  await client.send(
    new TransactWriteItemsCommand({
      TransactItems: [
        {
          Update: {
            TableName,
            Key: { PK: { S: 'BENCH#floor-card' }, SK: { S: 'CARD' } },
            UpdateExpression: 'SET balance = :b, padding = :p ADD seq :one',
            ExpressionAttributeValues: { ':b': { N: '100' }, ':p': padding, ':one': { N: '1' } },
          },
        },
        {
          Put: {
            TableName,
            Item: { PK: { S: 'BENCH#floor-card' }, SK: { S: `TX#${id}` }, padding },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        {
          Put: {
            TableName,
            Item: { PK: { S: `BENCH#idem#${id}` }, SK: { S: 'IDEM' }, padding },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
      ],
    }),
  );
  return { statusCode: card.Item ? 200 : 404, body: '{}' };
};

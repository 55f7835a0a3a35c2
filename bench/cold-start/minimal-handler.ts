/**
 * The cold-start baseline: a Lambda handler that creates one DynamoDB client and does one GetItem,
 * bundled exactly like the platform's functions (bench/cold-start.ts).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

const client = new DynamoDBClient(
  process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {},
);

export const handler = async () => {
  const out = await client.send(
    new GetItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: JSON.parse(process.env.BENCH_GET_KEY ?? '{}'),
    }),
  );
  return { statusCode: out.Item ? 200 : 404, body: JSON.stringify(out.Item ?? null) };
};

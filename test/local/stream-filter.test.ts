import { describe, expect, it } from 'vitest';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { matchesAnyFilter } from '../../local/stream-filter';

const record = (eventName: string, sk: string, newImage: Record<string, unknown> = {}) => ({
  eventName,
  dynamodb: {
    Keys: { PK: { S: 'CARD#c1' }, SK: { S: sk } },
    NewImage: { PK: { S: 'CARD#c1' }, SK: { S: sk }, ...newImage },
  },
});

describe('Lambda-style stream filters', () => {
  const ledgerOnly = [{ eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'TX#' }] } } } }];

  it('passes a record matching exact values and a prefix on nested keys', () => {
    expect(matchesAnyFilter(record('INSERT', 'TX#0000000001'), ledgerOnly)).toBe(true);
  });

  it('drops a record when any field of the pattern differs', () => {
    expect(matchesAnyFilter(record('MODIFY', 'TX#0000000001'), ledgerOnly)).toBe(false);
    expect(matchesAnyFilter(record('INSERT', 'CARD'), ledgerOnly)).toBe(false);
  });

  it('drops a record missing the filtered field', () => {
    expect(
      matchesAnyFilter({ eventName: 'INSERT', dynamodb: { Keys: { PK: { S: 'x' } } } }, ledgerOnly),
    ).toBe(false);
  });

  it('passes a record matching any of several patterns, or any value of a list', () => {
    const patterns = [
      { eventName: ['REMOVE'] },
      {
        eventName: ['INSERT', 'MODIFY'],
        dynamodb: { NewImage: { status: { S: ['BLOCKED', 'DEACTIVATED'] } } },
      },
    ];
    expect(matchesAnyFilter(record('REMOVE', 'CARD'), patterns)).toBe(true);
    expect(matchesAnyFilter(record('MODIFY', 'CARD', { status: { S: 'BLOCKED' } }), patterns)).toBe(true);
    expect(matchesAnyFilter(record('MODIFY', 'CARD', { status: { S: 'ACTIVE' } }), patterns)).toBe(false);
  });

  it('supports exists and anything-but', () => {
    const withHold = [{ dynamodb: { NewImage: { holdId: [{ exists: true }] } } }];
    expect(matchesAnyFilter(record('INSERT', 'CARD', { holdId: { S: 'h1' } }), withHold)).toBe(true);
    expect(matchesAnyFilter(record('INSERT', 'CARD'), withHold)).toBe(false);
    const notRemove = [{ eventName: [{ 'anything-but': ['REMOVE'] }] }];
    expect(matchesAnyFilter(record('INSERT', 'CARD'), notRemove)).toBe(true);
    expect(matchesAnyFilter(record('REMOVE', 'CARD'), notRemove)).toBe(false);
  });

  it('passes everything when a consumer has no filters', () => {
    expect(matchesAnyFilter(record('REMOVE', 'IDEM'), [])).toBe(true);
  });

  it('understands every filter in the stream registry', () => {
    for (const consumer of STREAM_CONSUMERS) {
      expect(() => matchesAnyFilter(record('INSERT', 'TX#1'), consumer.filters)).not.toThrow();
    }
  });
});

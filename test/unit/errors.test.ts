import { describe, expect, it } from 'vitest';
import {
  DomainError,
  ERROR_STATUS,
  type ErrorCode,
  notFound,
  validationFailed,
} from '../../functions/core/errors';

describe('ERROR_STATUS', () => {
  it.each([
    ['VALIDATION_FAILED', 400],
    ['UNAUTHENTICATED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['METHOD_NOT_ALLOWED', 405],
    ['CONFLICT', 409],
    ['IDEMPOTENCY_IN_PROGRESS', 409],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['INSUFFICIENT_FUNDS', 422],
    ['CARD_NOT_ACTIVE', 422],
    ['CARD_BLOCKED', 422],
    ['CARD_EXPIRED', 422],
    ['CURRENCY_MISMATCH', 422],
    ['LIMIT_EXCEEDED', 422],
    ['IDEMPOTENCY_KEY_REUSED', 422],
    ['PIN_REQUIRED', 401],
    ['PIN_INVALID', 401],
    ['PIN_LOCKED', 423],
    ['RATE_LIMITED', 429],
    ['INTERNAL', 500],
    ['TIMED_OUT', 503],
  ] as const)('maps %s to HTTP %i', (code, status) => {
    expect(ERROR_STATUS[code]).toBe(status);
    expect(new DomainError(code, 'x').status).toBe(status);
  });

  it('has a status for every code the design lists', () => {
    const designed = [
      'VALIDATION_FAILED',
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'NOT_FOUND',
      'INSUFFICIENT_FUNDS',
      'CARD_NOT_ACTIVE',
      'CARD_BLOCKED',
      'CARD_EXPIRED',
      'CURRENCY_MISMATCH',
      'PIN_REQUIRED',
      'PIN_INVALID',
      'PIN_LOCKED',
      'LIMIT_EXCEEDED',
      'IDEMPOTENCY_KEY_REUSED',
      'IDEMPOTENCY_IN_PROGRESS',
      'RATE_LIMITED',
      'CONFLICT',
    ];
    for (const code of designed) expect(Object.keys(ERROR_STATUS)).toContain(code);
  });

  it('keeps every status a client or server error, and only INTERNAL a 500', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status >= 400 && status <= 599, code).toBe(true);
      expect(status === 500).toBe(code === 'INTERNAL');
    }
  });
});

describe('DomainError', () => {
  it('is an Error with a stable code, its status, the message and the field errors', () => {
    const fieldErrors = [{ field: 'amount', message: 'must be positive' }];
    const error = new DomainError('VALIDATION_FAILED', 'Bad amount.', fieldErrors);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(DomainError);
    expect(error.name).toBe('DomainError');
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.message).toBe('Bad amount.');
    expect(error.fieldErrors).toEqual(fieldErrors);
    expect(typeof error.stack).toBe('string');
  });

  it('has no field errors unless given', () => {
    expect(new DomainError('CONFLICT', 'Busy.').fieldErrors).toBeUndefined();
  });

  it('is caught by its code', () => {
    const codes: ErrorCode[] = ['INSUFFICIENT_FUNDS', 'CARD_BLOCKED'];
    for (const code of codes) {
      try {
        throw new DomainError(code, 'refused');
      } catch (error) {
        expect(error instanceof DomainError && error.code).toBe(code);
      }
    }
  });
});

describe('helpers', () => {
  it('notFound names what was not found, with 404', () => {
    const error = notFound('The card');
    expect(error.code).toBe('NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.message).toBe('The card was not found.');
  });

  it('validationFailed lists each bad field, with 400', () => {
    const error = validationFailed([
      { field: 'amount', message: 'required' },
      { field: 'currency', message: 'unsupported' },
    ]);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.fieldErrors?.map((fieldError) => fieldError.field)).toEqual(['amount', 'currency']);
  });
});

import type { APIGatewayProxyResult } from 'aws-lambda';
import { DomainError, ERROR_STATUS, type ErrorCode, type FieldError, RetryLaterError } from '../core/errors';

const TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'The request is not valid',
  UNAUTHENTICATED: 'Authentication is required',
  FORBIDDEN: 'Not allowed',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  CONFLICT: 'Conflict',
  IDEMPOTENCY_IN_PROGRESS: 'A request with this key is in progress',
  PAYLOAD_TOO_LARGE: 'The request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  INSUFFICIENT_FUNDS: 'Insufficient funds',
  CARD_NOT_ACTIVE: 'The card is not active',
  CARD_BLOCKED: 'The card is blocked',
  CARD_EXPIRED: 'The card has expired',
  CURRENCY_MISMATCH: 'Currency mismatch',
  LIMIT_EXCEEDED: 'A limit would be exceeded',
  IDEMPOTENCY_KEY_REUSED: 'The idempotency key was used for another request',
  PIN_REQUIRED: 'A PIN is required',
  PIN_INVALID: 'The PIN is not valid',
  PIN_LOCKED: 'The PIN is locked',
  RATE_LIMITED: 'Too many requests',
  INTERNAL: 'Internal error',
  TIMED_OUT: 'The request timed out',
};

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance?: string;
  readonly requestId?: string;
  readonly errors?: readonly FieldError[];
}

export function problemOf(code: ErrorCode, detail: string, extras: Partial<Problem> = {}): Problem {
  return {
    type: `https://docs.giftcard.example/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[code],
    status: ERROR_STATUS[code],
    detail,
    code,
    ...extras,
  };
}

/** The one place errors become HTTP: domain errors keep their code; anything else is a bare 500. */
export function problemResponse(error: unknown, requestId: string): APIGatewayProxyResult {
  const problem =
    error instanceof DomainError
      ? problemOf(error.code, error.message, {
          requestId,
          ...(error.fieldErrors ? { errors: error.fieldErrors } : {}),
        })
      : problemOf(
          'INTERNAL',
          'Something went wrong on our side. Quote the request id when you contact support.',
          {
            requestId,
          },
        );
  return {
    statusCode: problem.status,
    headers: {
      'Content-Type': 'application/problem+json',
      'X-Request-Id': requestId,
      ...(error instanceof RetryLaterError ? { 'Retry-After': String(error.retryAfterSeconds) } : {}),
    },
    body: JSON.stringify(problem),
  };
}

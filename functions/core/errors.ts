/**
 * The one error hierarchy. Every refusal the domain makes is a DomainError with a stable machine code;
 * functions/http/problem.ts maps it to problem+json in one place.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INSUFFICIENT_FUNDS: 422,
  CARD_NOT_ACTIVE: 422,
  CARD_BLOCKED: 422,
  CARD_EXPIRED: 422,
  CURRENCY_MISMATCH: 422,
  LIMIT_EXCEEDED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  PIN_REQUIRED: 401,
  PIN_INVALID: 401,
  PIN_LOCKED: 423,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  TIMED_OUT: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fieldErrors: readonly FieldError[] | undefined;

  constructor(code: ErrorCode, message: string, fieldErrors?: readonly FieldError[]) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.fieldErrors = fieldErrors;
  }
}

export const notFound = (what: string): DomainError => new DomainError('NOT_FOUND', `${what} was not found.`);

export const validationFailed = (fieldErrors: readonly FieldError[]): DomainError =>
  new DomainError('VALIDATION_FAILED', 'The request is not valid; see `errors` for each field.', fieldErrors);

/** A refusal the caller should retry later; the HTTP answer carries `Retry-After: <retryAfterSeconds>`. */
export class RetryLaterError extends DomainError {
  readonly retryAfterSeconds: number;

  constructor(code: ErrorCode, message: (seconds: number) => string, retryAfterSeconds: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(code, message(seconds));
    this.retryAfterSeconds = seconds;
  }
}

/** 429 RATE_LIMITED. */
export class RateLimitedError extends RetryLaterError {
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', (seconds) => `Too many requests; try again in ${seconds} s.`, retryAfterSeconds);
  }
}

/**
 * 503 TIMED_OUT: the function answers this just before its time runs out. What the request started may
 * still complete; the same request with the same Idempotency-Key gets its result, never a second one.
 */
export class TimedOutError extends RetryLaterError {
  constructor() {
    super(
      'TIMED_OUT',
      () =>
        'The request did not finish in time. Send it again with the same Idempotency-Key: it takes effect at most once.',
      1,
    );
  }
}

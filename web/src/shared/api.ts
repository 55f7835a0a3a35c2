import { webConfig } from './config';

/** An API refusal as problem+json (RFC 9457) with the platform's stable `code`. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly fieldErrors: readonly { field: string; message: string }[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
  }
}

export interface ApiRequest {
  readonly method?: string;
  readonly body?: unknown;
  readonly token?: string;
  /** Sent on creating and money-moving POSTs, so a retry never applies twice. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export async function apiFetch(path: string, request: ApiRequest = {}): Promise<Response> {
  const { apiBaseUrl } = await webConfig();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  if (request.token) headers.Authorization = `Bearer ${request.token}`;
  if (request.idempotencyKey) headers['Idempotency-Key'] = request.idempotencyKey;
  const response = await fetch(`${apiBaseUrl}${path}`, {
    method: request.method ?? (request.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    ...(request.signal ? { signal: request.signal } : {}),
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) throw await problemOf(response);
  return response;
}

export async function apiJson<T>(path: string, request: ApiRequest = {}): Promise<T> {
  const response = await apiFetch(path, request);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

async function problemOf(response: Response): Promise<ApiProblem> {
  let body: {
    code?: string;
    detail?: string;
    title?: string;
    errors?: { field: string; message: string }[];
  } = {};
  try {
    body = await response.json();
  } catch {
    // Not problem+json (a proxy's error page): the status says enough.
  }
  const retry = Number(response.headers.get('Retry-After'));
  return new ApiProblem(
    response.status,
    body.code ?? `HTTP_${response.status}`,
    body.detail ?? body.title ?? response.statusText,
    body.errors ?? [],
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}

export const newIdempotencyKey = (): string => crypto.randomUUID();

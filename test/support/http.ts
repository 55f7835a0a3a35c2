/** A tiny HTTP client for end-to-end tests against the local server. */
export interface RequestOptions {
  /** API key or staff JWT, sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Sent as JSON (a string is sent as is). */
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  readonly headers?: Record<string, string>;
  /** Default: the base URL set by useBaseUrl (startTestStack sets it). */
  readonly baseUrl?: string;
}

export interface TestResponse<T = unknown> {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Record<string, string>;
  /** Parsed JSON for JSON and problem+json answers, the text otherwise (undefined when empty). */
  readonly body: T;
}

let defaultBaseUrl: string | undefined;

export function useBaseUrl(baseUrl: string): void {
  defaultBaseUrl = baseUrl;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field.
export async function request<T = any>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse<T>> {
  const baseUrl = options.baseUrl ?? defaultBaseUrl;
  if (!baseUrl) throw new Error('No base URL: call useBaseUrl() or startTestStack() first, or pass baseUrl.');
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const isJson = /[/+]json\b/.test(contentType);
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: (text.length === 0 ? undefined : isJson ? JSON.parse(text) : text) as T,
  };
}

/** The ids of every card of a program, through GET /v1/cards page by page (as staff or a merchant). */
export async function programCardIds(token: string, programId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const after: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page: TestResponse<{ items: { id: string }[]; nextCursor: string | null }> = await request(
      'GET',
      `/v1/cards?programId=${programId}&limit=200${after}`,
      { token },
    );
    if (page.status !== 200) throw new Error(`GET /v1/cards answered ${page.status}`);
    ids.push(...page.body.items.map((card) => card.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  return ids;
}

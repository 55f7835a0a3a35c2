import { useCallback, useEffect, useState } from 'react';
import { ApiProblem, type ApiRequest, apiJson, newIdempotencyKey } from '../shared/api';
import { useSession } from './session';

/** Calls the API as the signed-in staff member. */
export function useApi() {
  const session = useSession();
  return useCallback(
    <T>(path: string, request: Omit<ApiRequest, 'token'> = {}) =>
      apiJson<T>(path, { ...request, token: session.idToken }),
    [session.idToken],
  );
}

/** A POST that changes something: always with a fresh Idempotency-Key. */
export function useChange() {
  const api = useApi();
  return useCallback(
    <T>(path: string, body: unknown) => api<T>(path, { body, idempotencyKey: newIdempotencyKey() }),
    [api],
  );
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiProblem | Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

/** GETs a path (undefined: nothing yet) and reloads it on demand. */
export function useGet<T>(path: string | undefined): Loaded<T> {
  const api = useApi();
  const [state, setState] = useState<{ data?: T; error?: ApiProblem | Error; loading: boolean }>({
    loading: path !== undefined,
  });
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `round` is the reload trigger (reload() bumps it).
  useEffect(() => {
    if (path === undefined) return;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    api<T>(path, { signal: controller.signal }).then(
      (data) => setState({ data, loading: false }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false });
      },
    );
    return () => controller.abort();
  }, [api, path, round]);
  return { ...state, reload: () => setRound((value) => value + 1) } as Loaded<T>;
}

export const problemText = (error: unknown): string =>
  error instanceof ApiProblem
    ? `${error.detail}${error.fieldErrors.length ? ` (${error.fieldErrors.map((f) => `${f.field}: ${f.message}`).join('; ')})` : ''}`
    : error instanceof Error
      ? error.message
      : String(error);

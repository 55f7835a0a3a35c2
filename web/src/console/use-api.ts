import { useCallback, useEffect, useRef, useState } from 'react';
import { type Api, ApiProblem, call, idempotencyHeader, type Sent } from '../shared/api';
import { useSession } from './session';

/** Calls the API as the signed-in staff member: `api((client) => client.GET('/v1/...', {...}))`. */
export function useApi() {
  const session = useSession();
  return useCallback(<D>(send: (api: Api) => Sent<D>) => call(send, session.idToken), [session.idToken]);
}

/** A POST that changes something: always with a fresh Idempotency-Key (the second argument's headers). */
export function useChange() {
  const api = useApi();
  return useCallback(
    <D>(send: (api: Api, headers: ReturnType<typeof idempotencyHeader>) => Sent<D>) =>
      api((client) => send(client, idempotencyHeader())),
    [api],
  );
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiProblem | Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

/**
 * GETs with `load` whenever `key` changes (undefined: nothing yet) and reloads on demand. `key` names
 * what is loaded (the path and query it asks for); `load` is the typed request.
 */
export function useGet<T>(
  key: string | undefined,
  load: (api: Api, signal: AbortSignal) => Sent<T>,
): Loaded<T> {
  const api = useApi();
  const loader = useRef(load);
  loader.current = load;
  const [state, setState] = useState<{ data?: T; error?: ApiProblem | Error; loading: boolean }>({
    loading: key !== undefined,
  });
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `round` is the reload trigger (reload() bumps it).
  useEffect(() => {
    if (key === undefined) return;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    api((client) => loader.current(client, controller.signal)).then(
      (data) => setState({ data, loading: false }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false });
      },
    );
    return () => controller.abort();
  }, [api, key, round]);
  return { ...state, reload: () => setRound((value) => value + 1) } as Loaded<T>;
}

export const problemText = (error: unknown): string =>
  error instanceof ApiProblem
    ? `${error.detail}${error.fieldErrors.length ? ` (${error.fieldErrors.map((f) => `${f.field}: ${f.message}`).join('; ')})` : ''}`
    : error instanceof Error
      ? error.message
      : String(error);

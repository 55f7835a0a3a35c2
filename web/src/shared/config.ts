/** The settings the server gives the apps at /config.json (local/web/web-assets.ts, lib/web-stack.ts). */
export interface WebConfig {
  readonly apiBaseUrl: string;
  readonly auth: {
    readonly authorizeUrl: string;
    readonly tokenUrl: string;
    readonly logoutUrl: string;
    readonly clientId: string;
    readonly scopes: string;
    readonly provider: 'local' | 'cognito';
  };
}

let loading: Promise<WebConfig> | undefined;

export function webConfig(): Promise<WebConfig> {
  loading ??= fetch('/config.json', { cache: 'no-cache' }).then((response) => {
    if (!response.ok) throw new Error(`config.json: ${response.status}`);
    return response.json() as Promise<WebConfig>;
  });
  return loading;
}

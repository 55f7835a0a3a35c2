import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';

/**
 * A small keep-alive HTTP/1.1 JSON client, as a till would hold one connection open. Cheaper per call than
 * fetch (undici), so the client's own cost stays a small part of what the benchmarks measure.
 */
export interface JsonResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: benchmark code reads answers field by field.
  readonly body: any;
}

export interface JsonClient {
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; idempotencyKey?: string | false },
  ): Promise<JsonResponse>;
  close(): void;
}

export function jsonClient(baseUrl: string, maxSockets = 1): JsonClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  return {
    call(method, path, options = {}) {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(payload));
        if (options.idempotencyKey !== false)
          headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
      }
      return new Promise<JsonResponse>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, method, path, headers, agent },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let body: unknown = text;
              try {
                body = text ? JSON.parse(text) : undefined;
              } catch {
                // not JSON: keep the text
              }
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

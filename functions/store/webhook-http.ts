import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { ATTEMPT_TIMEOUT_MS } from '../core/webhook-retry';
import {
  checkWebhookUrl,
  isPrivateAddress,
  mayReachPrivate,
  type WebhookUrlPolicy,
} from '../core/webhook-url';

/**
 * One delivery attempt over HTTP(S): POST, 5 s for the whole exchange, no redirects (a 3xx is a
 * failure), answer body read and discarded (at most 64 KiB). The URL rules run again, and every
 * address the host name resolves to is checked inside the connection's own DNS lookup, so the address
 * that was checked is the address connected to: a DNS answer that changes between a check and the
 * connection (DNS rebinding) cannot reach a private address.
 *
 * node:http(s) rather than fetch: fetch cannot be given a lookup function without the undici package.
 */
export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface WebhookResponse {
  readonly ok: boolean;
  readonly statusCode?: number;
  readonly error?: string;
}

export type WebhookTransport = (
  request: WebhookRequest,
  policy: WebhookUrlPolicy,
) => Promise<WebhookResponse>;

const MAX_ANSWER_BYTES = 64 * 1024;

class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
}

/** A DNS lookup that refuses host names resolving to any private address (unless allowed). */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, '', 4);
        return;
      }
      const first = addresses[0];
      if (!first) {
        callback(new Error(`${hostname} has no address`), '', 4);
        return;
      }
      if (!allowPrivate && addresses.some((entry) => isPrivateAddress(entry.address))) {
        callback(new PrivateAddressError(`${hostname} resolves to a private address`), '', 4);
        return;
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

const describe = (error: unknown): string => {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      return `timed out after ${ATTEMPT_TIMEOUT_MS} ms`;
    }
    const code = (error as { code?: unknown }).code;
    return (typeof code === 'string' ? `${code}: ${error.message}` : error.message).slice(0, 300);
  }
  return String(error).slice(0, 300);
};

export const httpTransport: WebhookTransport = (request, policy) => {
  const check = checkWebhookUrl(request.url, policy);
  if (!check.ok) return Promise.resolve({ ok: false, error: `refused: the URL ${check.problem}` });
  const url = new URL(check.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<WebhookResponse>((resolve) => {
    let settled = false;
    const finish = (response: WebhookResponse) => {
      if (settled) return;
      settled = true;
      resolve(response);
    };
    const outgoing = send(
      url,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
        lookup: guardedLookup(mayReachPrivate(url, policy)),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        // A fresh connection each time: a pooled socket would skip the address check.
        agent: false,
      },
      (answer) => {
        const statusCode = answer.statusCode ?? 0;
        let bytes = 0;
        answer.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_ANSWER_BYTES) answer.destroy();
        });
        const done = () =>
          finish(
            statusCode >= 200 && statusCode < 300
              ? { ok: true, statusCode }
              : { ok: false, statusCode, error: `HTTP ${statusCode}` },
          );
        answer.on('end', done);
        answer.on('close', done);
        answer.on('error', done);
      },
    );
    outgoing.on('error', (error) => finish({ ok: false, error: describe(error) }));
    outgoing.end(request.body);
  });
};

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  signatureHeader,
  signWebhook,
  verifyWebhook,
} from '../../functions/core/webhook-signature';

describe('webhook signatures (Standard Webhooks)', () => {
  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it('signs HMAC-SHA256 over id.timestamp.body with the decoded key, base64', () => {
    const secret = generateWebhookSecret();
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update('evt_1.1700000000.{"a":1}').digest('base64');
    expect(signWebhook(secret, 'evt_1', 1_700_000_000, '{"a":1}')).toBe(expected);
  });

  it('a receiver verifies with its secret, and refuses another secret, a changed body or an old timestamp', () => {
    const secret = generateWebhookSecret();
    const now = new Date('2026-01-01T00:00:00Z');
    const timestamp = Math.floor(now.getTime() / 1000);
    const body = '{"id":"evt_1","type":"card.issued"}';
    const headers = {
      id: 'evt_1',
      timestamp: String(timestamp),
      signature: signatureHeader([secret], 'evt_1', timestamp, body),
    };
    expect(headers.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verifyWebhook(secret, headers, body, { now })).toBe(true);
    expect(verifyWebhook(generateWebhookSecret(), headers, body, { now })).toBe(false);
    expect(verifyWebhook(secret, headers, `${body} `, { now })).toBe(false);
    expect(verifyWebhook(secret, { ...headers, id: 'evt_2' }, body, { now })).toBe(false);
    expect(verifyWebhook(secret, headers, body, { now: new Date(now.getTime() + 301_000) })).toBe(false);
    expect(verifyWebhook(secret, { ...headers, signature: undefined }, body, { now })).toBe(false);
  });

  it('during a rotation both secrets sign: space-separated v1 entries, newest first', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const now = new Date();
    const timestamp = Math.floor(now.getTime() / 1000);
    const signature = signatureHeader([newSecret, oldSecret], 'evt_9', timestamp, 'x');
    const entries = signature.split(' ');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toBe(`v1,${signWebhook(newSecret, 'evt_9', timestamp, 'x')}`);
    expect(entries[1]).toBe(`v1,${signWebhook(oldSecret, 'evt_9', timestamp, 'x')}`);
    const headers = { id: 'evt_9', timestamp: String(timestamp), signature };
    expect(verifyWebhook(newSecret, headers, 'x', { now })).toBe(true);
    expect(verifyWebhook(oldSecret, headers, 'x', { now })).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPrivateAddress, MAX_WEBHOOK_URL_LENGTH } from '../../functions/core/webhook-url';

const aws = { allowHttpLocalhost: false };
const local = { allowHttpLocalhost: true };

describe('webhook URL rules', () => {
  it('accepts public https URLs, normalised', () => {
    expect(checkWebhookUrl('https://hooks.example.com/giftcard?x=1', aws)).toEqual({
      ok: true,
      url: 'https://hooks.example.com/giftcard?x=1',
    });
    expect(checkWebhookUrl('https://EXAMPLE.com:8443/a', aws)).toEqual({
      ok: true,
      url: 'https://example.com:8443/a',
    });
    expect(checkWebhookUrl('https://8.8.8.8/hook', aws).ok).toBe(true);
    expect(checkWebhookUrl('https://[2606:4700:4700::1111]/hook', aws).ok).toBe(true);
  });

  it.each([
    ['http://hooks.example.com/', 'https'],
    ['ftp://hooks.example.com/', 'https'],
    ['https://user:pass@hooks.example.com/', 'credentials'],
    ['https://user@hooks.example.com/', 'credentials'],
    ['https://hooks.example.com/#frag', 'fragment'],
    ['https://hooks.example.com/ a', 'printable'],
    ['https://hooks.exa\nmple.com/', 'printable'],
    ['not a url', 'printable'],
    ['/relative', 'absolute'],
    ['https://localhost/', 'local'],
    ['https://api.localhost/', 'local'],
    ['https://metadata.google.internal/', 'local'],
    ['https://printer.local/', 'local'],
    ['https://intranet/', 'fully qualified'],
    ['https://127.0.0.1/', 'private'],
    ['https://2130706433/', 'private'],
    ['https://0x7f.1/', 'private'],
    ['https://127.1/', 'private'],
    ['https://10.1.2.3/', 'private'],
    ['https://172.16.0.1/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'private'],
    ['https://100.64.0.1/', 'private'],
    ['https://0.0.0.0/', 'private'],
    ['https://[::1]/', 'private'],
    ['https://[::]/', 'private'],
    ['https://[::ffff:127.0.0.1]/', 'private'],
    ['https://[::ffff:169.254.169.254]/', 'private'],
    ['https://[fe80::1]/', 'private'],
    ['https://[fd00::1]/', 'private'],
    ['https://[64:ff9b::a9fe:a9fe]/', 'private'],
    ['https://[2002:a9fe:a9fe::1]/', 'private'],
    ['https://224.0.0.1/', 'private'],
    ['http://127.0.0.1:8080/', 'https'],
  ])('refuses %s (%s)', (url, why) => {
    const check = checkWebhookUrl(url, aws);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toContain(why);
  });

  it('refuses URLs longer than 2048 characters', () => {
    const long = `https://hooks.example.com/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH)}`;
    expect(checkWebhookUrl(long, aws).ok).toBe(false);
    expect(checkWebhookUrl(long.slice(0, MAX_WEBHOOK_URL_LENGTH), aws).ok).toBe(true);
  });

  it('locally allows http(s) to this machine by loopback name only', () => {
    expect(checkWebhookUrl('http://127.0.0.1:4000/hook', local).ok).toBe(true);
    expect(checkWebhookUrl('http://localhost:4000/hook', local).ok).toBe(true);
    expect(checkWebhookUrl('http://[::1]:4000/hook', local).ok).toBe(true);
    expect(checkWebhookUrl('https://127.0.0.1:4000/hook', local).ok).toBe(true);
    expect(checkWebhookUrl('http://10.0.0.1/hook', local).ok).toBe(false);
    expect(checkWebhookUrl('http://127.0.0.2/hook', local).ok).toBe(false);
    expect(checkWebhookUrl('https://169.254.169.254/', local).ok).toBe(false);
    expect(checkWebhookUrl('http://user:pw@127.0.0.1/hook', local).ok).toBe(false);
    expect(checkWebhookUrl('http://hooks.example.com/', local).ok).toBe(false);
  });

  it('classifies resolved addresses for the delivery-time check', () => {
    for (const address of [
      '10.0.0.1',
      '127.0.0.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      'fc00::1',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '93.184.216.34']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
    expect(isPrivateAddress('not-an-address')).toBe(true);
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCodePeppers } from '../../functions/store/code-peppers';
import { LocalRuntimeError } from '../../local/errors';
import { loadOrCreateLocalSecrets, rotateLocalPepper } from '../../local/secrets';

const dir = mkdtempSync(join(tmpdir(), 'giftcard-rotate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run rotate-pepper (local secrets)', () => {
  it('makes a new pepper current, keeps the old ones and the sealing pepper, and keeps the rest', async () => {
    const file = join(dir, 'secrets.json');
    const original = await loadOrCreateLocalSecrets(file);
    expect(original.codePepper).toMatch(/^[0-9a-f]{64}$/);

    expect(rotateLocalPepper(file)).toEqual({ previous: ['v1'], current: 'v2' });
    const once = await loadOrCreateLocalSecrets(file);
    expect(once.staffSigningKey).toEqual(original.staffSigningKey);
    const set = parseCodePeppers(once.codePepper);
    expect(set.current.id).toBe('v2');
    expect(set.current.value).toMatch(/^[0-9a-f]{64}$/);
    expect(set.lookupOrder.map((pepper) => pepper.id)).toEqual(['v2', 'v1']);
    expect(set.lookupOrder[1]?.value).toBe(original.codePepper);
    // What sealed idempotency results and webhook secrets before still opens them.
    expect(set.sealing).toBe(original.codePepper);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).codePepper).toMatchObject({ current: 'v2' });

    expect(rotateLocalPepper(file)).toEqual({ previous: ['v1', 'v2'], current: 'v3' });
    const twice = parseCodePeppers((await loadOrCreateLocalSecrets(file)).codePepper);
    expect(twice.lookupOrder.map((pepper) => pepper.id)).toEqual(['v3', 'v2', 'v1']);
    expect(twice.sealing).toBe(original.codePepper);
  });

  it('refuses a missing or broken secrets file rather than starting over', () => {
    expect(() => rotateLocalPepper(join(dir, 'none.json'))).toThrow(LocalRuntimeError);
    const broken = join(dir, 'broken.json');
    writeFileSync(
      broken,
      JSON.stringify({ codePepper: { current: 'v9', peppers: {} }, staffSigningKey: {} }),
    );
    expect(() => rotateLocalPepper(broken)).toThrow(LocalRuntimeError);
  });
});

import { describe, expect, it } from 'vitest';
import { base32, newId } from '../../functions/core/ids';
import { NOW } from './domain-fixtures';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_SHAPE = /^([a-z]+)_([0-9abcdefghjkmnpqrstvwxyz]{10})([0-9abcdefghjkmnpqrstvwxyz]{16})$/;

/** Reads the millisecond time back out of an id's first ten characters. */
function timeOf(id: string): number {
  const match = ID_SHAPE.exec(id);
  if (!match?.[2]) throw new Error(`not an id: ${id}`);
  return [...match[2]].reduce((time, char) => time * 32 + CROCKFORD.indexOf(char), 0);
}

describe('base32', () => {
  it('encodes known vectors in lower-case Crockford base32', () => {
    expect(base32(new Uint8Array())).toBe('');
    expect(base32(Uint8Array.from([0]))).toBe('00');
    expect(base32(Uint8Array.from([0xff]))).toBe('zw');
    expect(base32(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]))).toBe('zzzzzzzz');
    expect(base32(new TextEncoder().encode('foobar'))).toBe('csqpyrk1e8');
    expect(base32(new Uint8Array(10))).toBe('0'.repeat(16));
  });

  it('uses 8 characters per 5 bytes and never the ambiguous letters i, l, o, u', () => {
    const bytes = Uint8Array.from({ length: 255 }, (_, i) => (i * 97 + 13) & 255);
    const text = base32(bytes);
    expect(text).toHaveLength(408);
    expect(text).toMatch(/^[0-9abcdefghjkmnpqrstvwxyz]+$/);
  });
});

describe('newId', () => {
  it('has the prefix, 10 time characters and 16 random ones', () => {
    const id = newId('gc', NOW);
    expect(id).toMatch(ID_SHAPE);
    expect(id).toHaveLength(3 + 26);
    expect(id.startsWith('gc_01jpctssg0')).toBe(true);
    expect(newId('mer', NOW)).toMatch(/^mer_[0-9a-z]{26}$/);
  });

  it('carries the creation time to the millisecond', () => {
    for (const iso of ['1970-01-01T00:00:00.000Z', '2025-03-15T12:00:00.000Z', '2099-12-31T23:59:59.999Z']) {
      expect(timeOf(newId('gc', new Date(iso)))).toBe(Date.parse(iso));
    }
  });

  it('sorts by creation time, even across digit roll-overs and far-apart dates', () => {
    const times = [
      0,
      1,
      31,
      32,
      1023,
      1024,
      Date.parse('2001-09-09T01:46:40.000Z'),
      NOW.getTime() - 1,
      NOW.getTime(),
      NOW.getTime() + 1,
      NOW.getTime() + 32,
      Date.parse('2100-01-01T00:00:00.000Z'),
      Date.parse('9999-12-31T23:59:59.999Z'),
    ];
    const ids = times.map((time) => newId('tx', new Date(time)));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps sorting across a day of ids about 17 seconds apart', () => {
    let previous = '';
    for (let step = 0; step < 5000; step++) {
      const id = newId('gc', new Date(NOW.getTime() + step * 17_281));
      expect(id > previous, `${id} after ${previous}`).toBe(true);
      previous = id;
    }
  });

  it('gives different ids within the same millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newId('gc', NOW));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 13))).size).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { passImages } from '../../functions/wallet/pass-images';
import { drawPassImages } from '../../local/pass-image-drawing';

describe('the pass images', () => {
  it('kept in functions/wallet/pass-images.ts are the ones local/pass-image-drawing.ts draws', () => {
    // Stale: run `npx tsx local/pass-image-drawing.ts`.
    const drawn = drawPassImages();
    const kept = passImages();
    expect(Object.keys(kept).sort()).toEqual([
      'icon.png',
      'icon@2x.png',
      'icon@3x.png',
      'logo.png',
      'logo@2x.png',
    ]);
    for (const [name, bytes] of Object.entries(kept)) {
      expect(bytes.equals(drawn[name] ?? Buffer.alloc(0)), name).toBe(true);
      expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
    }
  });
});

import { deflateSync } from 'node:zlib';

/**
 * The images Wallet requires of every pass (icon.png, icon@2x.png, logo.png), drawn here as small PNGs
 * (a rounded card shape in the pass colours) so no binary assets are needed. A program's own artwork can
 * replace them later.
 */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

type Rgba = readonly [number, number, number, number];

/** An RGBA PNG of `width` x `height` whose pixels `paint` gives. */
function png(width: number, height: number, paint: (x: number, y: number) => Rgba): Buffer {
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 4);
    rows[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = paint(x, y);
      rows.set([r, g, b, a], row + 1 + x * 4);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter set, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const CARD: Rgba = [24, 37, 64, 255];
const STRIPE: Rgba = [180, 196, 224, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

/** A rounded gift card with a stripe, scaled to the square. */
const icon = (size: number) =>
  png(size, size, (x, y) => {
    const radius = size / 6;
    const cx = Math.min(Math.max(x + 0.5, radius), size - radius);
    const cy = Math.min(Math.max(y + 0.5, radius), size - radius);
    if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > radius ** 2) return CLEAR;
    return y > size * 0.3 && y < size * 0.45 ? STRIPE : CARD;
  });

/** A small mark at the left of the logo strip; logoText carries the program name beside it. */
const logo = (width: number, height: number) =>
  png(width, height, (x, y) => (x < height && y > height * 0.2 && y < height * 0.8 ? STRIPE : CLEAR));

let images: Record<string, Buffer> | undefined;

export function passImages(): Readonly<Record<string, Buffer>> {
  images ??= {
    'icon.png': icon(29),
    'icon@2x.png': icon(58),
    'icon@3x.png': icon(87),
    'logo.png': logo(160, 50),
    'logo@2x.png': logo(320, 100),
  };
  return images;
}

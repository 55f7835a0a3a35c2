import { crc32 } from 'node:zlib';

/**
 * A zip archive (a .pkpass) of a few small files, stored without compression: the PNGs are compressed
 * already, and deflating the rest (pass.json, manifest, signature: about 5 KB) would save about 1 KB while
 * costing a cold download a zlib stream per file (node:zlib gives the CRC-32; it is loaded anyway, by
 * store/idempotency.ts). Wallet reads stored entries: passkit-generator has
 * written uncompressed passes (do-not-zip) for years. No zip64, no data descriptors: every size is
 * known up front, and a pass stays far below 4 GB and 65,535 files.
 */
const MAX_FILES = 100;
/** Compression method 0: stored. */
const STORED = 0;

function dosDateTime(at: Date): { time: number; date: number } {
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | Math.floor(at.getUTCSeconds() / 2),
    date: ((at.getUTCFullYear() - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

/** One file, named and checksummed: ready for any number of archives (`zip`). */
export interface ZipEntry {
  readonly name: Buffer;
  readonly data: Buffer;
  readonly crc: number;
}

export function zipEntry(name: string, data: Buffer): ZipEntry {
  return { name: Buffer.from(name, 'utf8'), data, crc: crc32(data) };
}

export function zip(entries: readonly ZipEntry[], modifiedAt: Date): Buffer {
  if (entries.length > MAX_FILES) throw new RangeError(`a pass holds at most ${MAX_FILES} files`);
  const { time, date } = dosDateTime(modifiedAt);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name: nameBytes, data, crc } of entries) {
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(10, 4); // version needed: 1.0 (stored entries)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(STORED, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by: 2.0
    central.writeUInt16LE(10, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(STORED, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

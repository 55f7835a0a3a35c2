import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../functions/core/canonical-json';
import { checkCardChain } from '../../functions/core/chain-check';
import { CsvRowReader, readCsv } from '../../functions/core/csv-read';
import {
  type ExportSeal,
  SEAL_ALGORITHM,
  SEAL_VERSION,
  type SealStatement,
  sealSignatureValid,
  statementBytes,
} from '../../functions/core/export-seal';
import { HEAD_SET_BUCKETS, HeadSet, headBucket } from '../../functions/core/head-set';
import type { LedgerEntry } from '../../functions/core/ledger';
import { chainEntry, entryHash, genesisHash } from '../../functions/core/ledger-chain';
import { MerkleRoot } from '../../functions/core/merkle-root';
import { KmsExportSigner, LocalExportSigner } from '../../functions/store/export-signer';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('canonical encoding', () => {
  it('sorts keys, drops undefined, escapes as JSON, and refuses what money never is', () => {
    expect(canonicalJson({ b: 1, a: 'x"\n', c: undefined, d: [true, null, { z: 0, y: -2 }] })).toBe(
      '{"a":"x\\"\\n","b":1,"d":[true,null,{"y":-2,"z":0}]}',
    );
    expect(() => canonicalJson({ amount: 1.5 })).toThrow('not a safe integer');
    expect(() => canonicalJson({ amount: 2 ** 60 })).toThrow('not a safe integer');
  });

  it('writes the same bytes as JSON with sorted keys: nesting, code-unit order, escapes, -0, the largest safe integer', () => {
    const value = {
      reference: 'order "12" \u00e9 \u2603 \u2028 \u0001',
      actor: { type: 'merchant', id: 'mk_1' },
      amount: -1250,
      zero: -0,
      list: [1, null, false, { B: 1, a: 2, '\u00e9': 3, Z: 4 }],
      skip: undefined,
      seq: Number.MAX_SAFE_INTEGER,
    };
    expect(canonicalJson(value)).toBe(
      '{"actor":{"id":"mk_1","type":"merchant"},"amount":-1250,"list":[1,null,false,{"B":1,"Z":4,"a":2,"\u00e9":3}],' +
        '"reference":"order \\"12\\" \u00e9 \u2603 \u2028 \\u0001","seq":9007199254740991,"zero":0}',
    );
    expect(() => canonicalJson([undefined])).toThrow('no canonical form');
  });

  it('hashes an entry as documented (docs/ledger-chain.md): tag, canonical JSON without hash', () => {
    const entry = { id: 'tx_a_1', cardId: 'gc_a', seq: 1, amount: 0, prevHash: genesisHash('gc_a', 0) };
    expect(genesisHash('gc_a', 0)).toBe(sha('giftcard-ledger-genesis/v1\n{"cardId":"gc_a","seq":0}'));
    expect(entryHash(entry as unknown as LedgerEntry)).toBe(
      sha(
        `giftcard-ledger-entry/v1\n{"amount":0,"cardId":"gc_a","id":"tx_a_1","prevHash":"${entry.prevHash}","seq":1}`,
      ),
    );
  });
});

/** A card's entries: ISSUE 0, LOAD 500, REDEEM 200, chained from the genesis. */
function chain(cardId = 'gc_card'): LedgerEntry[] {
  const base = {
    cardId,
    programId: 'prg',
    currency: 'USD',
    channel: 'API',
    createdAt: '2026-09-01T00:00:00.000Z',
  };
  const rows = [
    { type: 'ISSUE', amount: 0, balanceAfter: 0 },
    { type: 'LOAD', amount: 500, balanceAfter: 500 },
    { type: 'REDEEM', amount: -200, balanceAfter: 300 },
  ] as const;
  const entries: LedgerEntry[] = [];
  for (const [index, row] of rows.entries()) {
    const seq = index + 1;
    const entry = {
      ...base,
      ...row,
      id: `tx_${seq}`,
      seq,
      availableAfter: row.balanceAfter,
      actor: { type: 'system', id: 't' },
    };
    entries.push(chainEntry(entry as LedgerEntry, entries.at(-1)?.hash));
  }
  return entries;
}
const keyed = (entries: LedgerEntry[]) => entries.map((entry) => ({ entry, keySeq: entry.seq }));

describe('chain check (pure)', () => {
  it('passes a whole chain with its head, and names the entry of each tampering', () => {
    const entries = chain();
    const head = { seq: 3, chainHash: entries[2]?.hash, balance: 300 };
    expect(checkCardChain('gc_card', keyed(entries), head).broken).toBeUndefined();

    const edited = chain().map((entry) => (entry.seq === 2 ? { ...entry, amount: 400 } : entry));
    expect(checkCardChain('gc_card', keyed(edited), head).broken?.seq).toBe(2);

    const deleted = keyed(chain()).filter(({ keySeq }) => keySeq !== 2);
    expect(checkCardChain('gc_card', deleted, head).broken).toMatchObject({
      seq: 2,
      problem: 'entry 2 is missing (deleted)',
    });

    const [one, two, three] = chain() as [LedgerEntry, LedgerEntry, LedgerEntry];
    const swapped = [
      { entry: one, keySeq: 1 },
      { entry: three, keySeq: 2 },
      { entry: two, keySeq: 3 },
    ];
    expect(checkCardChain('gc_card', swapped, head).broken).toMatchObject({ seq: 2 });

    const rewritten = chain().map((entry) => {
      if (entry.seq !== 2) return entry;
      const forged = { ...entry, amount: 600, balanceAfter: 600 };
      return { ...forged, hash: entryHash(forged) };
    });
    expect(checkCardChain('gc_card', keyed(rewritten), head).broken).toMatchObject({ seq: 2 });

    expect(checkCardChain('gc_card', keyed(chain()), { ...head, seq: 4 }).broken).toMatchObject({ seq: 4 });
    expect(checkCardChain('gc_card', keyed(chain()), { ...head, balance: 301 }).broken).toMatchObject({
      seq: 3,
    });
  });
});

/** RFC 6962 section 2.1, written as the RFC defines it: the reference for the streaming tree. */
function referenceRoot(leaves: Buffer[]): string {
  const hash = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const mth = (items: Buffer[]): Buffer => {
    if (items.length === 0) return hash();
    if (items.length === 1) return hash(Buffer.from([0]), items[0] as Buffer);
    let k = 1;
    while (k * 2 < items.length) k *= 2;
    return hash(Buffer.from([1]), mth(items.slice(0, k)), mth(items.slice(k)));
  };
  return mth(leaves).toString('hex');
}

describe('Merkle root', () => {
  it('is RFC 6962 for every size up to 40, and matches its published 8-leaf test vector', () => {
    const leaves = Array.from({ length: 40 }, (_, index) => Buffer.from(`leaf-${index}`));
    for (let size = 0; size <= leaves.length; size++) {
      const tree = new MerkleRoot();
      for (const leaf of leaves.slice(0, size)) tree.add(leaf);
      expect(tree.root(), `size ${size}`).toBe(referenceRoot(leaves.slice(0, size)));
    }
    const vector = [
      '',
      '00',
      '10',
      '2021',
      '3031',
      '40414243',
      '5051525354555657',
      '606162636465666768696a6b6c6d6e6f',
    ];
    const tree = new MerkleRoot();
    for (const hex of vector) tree.add(Buffer.from(hex, 'hex'));
    expect(tree.root()).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  });
});

const statement: SealStatement = {
  version: SEAL_VERSION,
  exportId: 'exp_1',
  region: 'eu-west-1',
  month: '2026-10',
  cutoff: '2026-11-01T00:00:00.000Z',
  cards: 2,
  root: 'ab'.repeat(32),
  files: [{ name: 'summary.csv.gz', sha256: 'cd'.repeat(32) }],
  previous: null,
};

async function sealWith(signer: {
  keyId: string;
  publicKey(): Promise<Buffer>;
  sign(m: Buffer): Promise<Buffer>;
}) {
  const signature = await signer.sign(statementBytes(statement));
  return {
    statement,
    parts: [],
    signature: {
      algorithm: SEAL_ALGORITHM,
      keyId: signer.keyId,
      publicKey: (await signer.publicKey()).toString('base64'),
      value: signature.toString('base64'),
    },
  } satisfies ExportSeal;
}

describe('streamed export reading', () => {
  it('reads CSV cut at every point into the same rows as the whole text', () => {
    const text = 'a,b,c\r\n1,"x, ""y""",\r\n"line\r\nbreak",,"q"""\r\nlast,"",z';
    const whole = readCsv(text);
    expect(whole).toEqual([
      { a: '1', b: 'x, "y"', c: '' },
      { a: 'line\r\nbreak', b: '', c: 'q"' },
      { a: 'last', b: '', c: 'z' },
    ]);
    for (let cut = 0; cut <= text.length; cut++) {
      for (let second = cut; second <= text.length; second++) {
        const reader = new CsvRowReader();
        const rows = [
          ...reader.push(text.slice(0, cut)),
          ...reader.push(text.slice(cut, second)),
          ...reader.push(text.slice(second)),
          ...reader.end(),
        ];
        expect(rows, `cut at ${cut} and ${second}`).toEqual(whole);
      }
    }
  });

  it('digests a set of heads whatever their order, and tells the bucket of the one that differs', () => {
    const heads = Array.from({ length: 300 }, (_, index) => ({
      cardId: `card_${index}`,
      seq: index + 1,
      hash: sha(`entry ${index}`),
      balance: index * 100,
    }));
    const [inOrder, reversed, changed, missing, twice] = [0, 1, 2, 3, 4].map(() => new HeadSet());
    for (const head of heads) inOrder?.add(head);
    for (const head of [...heads].reverse()) reversed?.add(head);
    for (const head of heads)
      changed?.add(head.cardId === 'card_7' ? { ...head, hash: sha('rewritten') } : head);
    for (const head of heads.slice(1)) missing?.add(head);
    for (const head of [...heads, heads[5] as (typeof heads)[number]]) twice?.add(head);
    const base = inOrder as HeadSet;
    expect(base.differingBuckets(reversed as HeadSet)).toEqual([]);
    expect(base.differingBuckets(changed as HeadSet)).toEqual([headBucket('card_7')]);
    expect(base.differingBuckets(missing as HeadSet)).toEqual([headBucket('card_0')]);
    expect(base.differingBuckets(twice as HeadSet)).toEqual([headBucket('card_5')]);
    expect(headBucket('card_7')).toBeLessThan(HEAD_SET_BUCKETS);
  });
});

describe('export signers', () => {
  it('the local key signs a statement that verifies, and a changed root does not', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const seal = await sealWith(
      new LocalExportSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    );
    expect(seal.signature.keyId).toMatch(/^local:[0-9a-f]{16}$/);
    expect(sealSignatureValid(seal)).toBe(true);
    expect(sealSignatureValid({ ...seal, statement: { ...statement, root: 'ef'.repeat(32) } })).toBe(false);
  });

  it('the KMS adapter signs the SHA-256 digest with ECDSA_SHA_256 and publishes the key KMS holds', async () => {
    // KMS cannot run here: the mock answers as KMS would, with a real P-256 key behind it.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kms = mockClient(KMSClient);
    kms.on(GetPublicKeyCommand).resolves({
      KeySpec: 'ECC_NIST_P256',
      PublicKey: publicKey.export({ type: 'spki', format: 'der' }),
    });
    // What KMS signs is the digest asserted below; the mock's signature is over the same statement.
    kms.on(SignCommand).resolves({
      Signature: sign('sha256', statementBytes(statement), { key: privateKey, dsaEncoding: 'der' }),
    });
    const seal = await sealWith(new KmsExportSigner('arn:aws:kms:eu-west-1:1:key/k', new KMSClient({})));
    expect(sealSignatureValid(seal)).toBe(true);
    const signed = kms.commandCalls(SignCommand)[0]?.args[0].input;
    expect(signed).toMatchObject({
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
      KeyId: 'arn:aws:kms:eu-west-1:1:key/k',
    });
    expect(Buffer.from(signed?.Message ?? []).toString('hex')).toBe(
      createHash('sha256').update(statementBytes(statement)).digest('hex'),
    );
    kms.on(GetPublicKeyCommand).resolves({ KeySpec: 'RSA_2048', PublicKey: new Uint8Array([1]) });
    await expect(new KmsExportSigner('k2', new KMSClient({})).publicKey()).rejects.toThrow(
      'not an ECC_NIST_P256',
    );
    kms.restore();
  });
});

import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApplePassJson,
  applePassToken,
  passTokenHash,
  planApplePass,
} from '../../functions/core/apple-pass';
import type { Program } from '../../functions/core/program';
import { parseAppleCertificates } from '../../functions/store/apple-certificates';
import {
  applePushTargets,
  findApplePass,
  programApplePushTargets,
  registerAppleDevice,
  rememberApplePass,
  removeAppleRegistration,
  stampApplePassVersion,
} from '../../functions/store/apple-passes';
import { deviceUpdateTags } from '../../functions/store/apple-update-tags';
import { db, tableName } from '../../functions/store/dynamo-client';
import {
  LATEST_WALLET_MESSAGE_SK,
  latestWalletMessage,
  noteLatestWalletMessage,
  recordWalletMessage,
  walletMessagePut,
} from '../../functions/store/wallet-messages';
import {
  buildApplePass,
  InvalidApplePassError,
  InvalidPassCertificatesError,
} from '../../functions/wallet/apple-pass-builder';
import { generateLocalAppleCertificates, type LocalAppleCertificates } from '../../local/apple-certificates';
import { issueCard } from '../support/cards';
import { claim, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { manifestMismatches, passJsonOf, verifyPassSignature } from '../support/pkpass';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Pass building with a generated test chain (verified with openssl), and the pass, registration and
 * message items against DynamoDB Local.
 */
let table: TestTable;
let chain: LocalAppleCertificates;
let program: Program;

beforeAll(async () => {
  table = await createTestTable('apple');
  await testEnv();
  chain = generateLocalAppleCertificates({
    passTypeIdentifier: 'pass.test.giftcard',
    teamIdentifier: 'TEST123456',
  });
  program = await makeProgram();
});
afterAll(async () => table.drop());

const newCard = async (amount = 2500) =>
  (
    await issueCard(
      program.id,
      { type: 'DIGITAL', amount, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    )
  ).card;

const deviceRegisteredCards = async (dlid: string, passType: string) =>
  (await deviceUpdateTags(dlid, passType)).registrations.map((registration) => registration.serialNumber);

const settings = (serial: string) => ({
  passTypeIdentifier: chain.certificates.passTypeIdentifier,
  teamIdentifier: chain.certificates.teamIdentifier,
  webServiceURL: 'https://api.example.com/live/wallet/apple',
  authenticationToken: applePassToken('x'.repeat(32), serial),
});

describe('building a pass', () => {
  it('signs a pass that openssl verifies against the CA, with every file in the manifest', async () => {
    const card = await newCard();
    const pkpass = buildApplePass(
      planApplePass(card, program, undefined, settings(card.id), new Date()),
      chain.certificates,
    );
    const verified = verifyPassSignature(pkpass, chain.ca, chain.certificates.wwdr);
    expect(verified.output).toContain('Verification successful');
    expect(manifestMismatches(pkpass)).toEqual([]);
    expect(passJsonOf(pkpass).storeCard.primaryFields[0].value).toBe(25);
  });

  it('does not verify against another CA', async () => {
    const card = await newCard();
    const pkpass = buildApplePass(
      planApplePass(card, program, undefined, settings(card.id), new Date()),
      chain.certificates,
    );
    const stranger = generateLocalAppleCertificates();
    expect(verifyPassSignature(pkpass, stranger.ca, chain.certificates.wwdr).ok).toBe(false);
  });

  it('refuses an invalid pass.json loudly, naming the fields, before signing anything', async () => {
    const card = await newCard();
    const pass = planApplePass(card, program, undefined, settings(card.id), new Date());
    const broken = { ...pass, teamIdentifier: 'nope', authenticationToken: 'short' } as ApplePassJson;
    expect(() => buildApplePass(broken, chain.certificates)).toThrow(InvalidApplePassError);
    expect(() => buildApplePass(broken, chain.certificates)).toThrow(/teamIdentifier.*authenticationToken/);
    const { storeCard: _storeCard, ...typeless } = pass;
    expect(() => buildApplePass(typeless as ApplePassJson, chain.certificates)).toThrow(/storeCard/);
  });

  it('refuses a colour Wallet cannot read (a channel above 255)', async () => {
    const card = await newCard();
    const pass = planApplePass(card, program, undefined, settings(card.id), new Date());
    expect(() => buildApplePass({ ...pass, backgroundColor: 'rgb(999, 0, 0)' }, chain.certificates)).toThrow(
      /backgroundColor/,
    );
  });

  it('refuses a key that does not belong to the signer certificate, without quoting either', async () => {
    const card = await newCard();
    const pass = planApplePass(card, program, undefined, settings(card.id), new Date());
    const other = generateLocalAppleCertificates();
    const mixed = { ...chain.certificates, signerKey: other.certificates.signerKey };
    expect(() => buildApplePass(pass, mixed)).toThrow(InvalidPassCertificatesError);
    expect(() => buildApplePass(pass, mixed)).not.toThrow(/PRIVATE KEY|CERTIFICATE/);
  });

  it('reads certificate secrets strictly, never quoting them', () => {
    expect(() => parseAppleCertificates('{"signerKey":"-----BEGIN PRIVATE KEY-----secret"}')).toThrow(
      /invalid signerCert, signerKey, wwdr, passTypeIdentifier, teamIdentifier/,
    );
    expect(() => parseAppleCertificates('{"signerKey":"-----BEGIN PRIVATE KEY-----secret"}')).not.toThrow(
      /secret/,
    );
    expect(parseAppleCertificates(JSON.stringify(chain.certificates)).passTypeIdentifier).toBe(
      'pass.test.giftcard',
    );
  });
});

describe('device registrations', () => {
  const register = (cardId: string, dlid: string, pushToken: string, tokenHash: string) =>
    registerAppleDevice(
      {
        cardId,
        programId: program.id,
        deviceLibraryIdentifier: dlid,
        passTypeIdentifier: 'pass.test.giftcard',
        pushToken,
      },
      tokenHash,
    );

  it('are created, then updated, and refused once the pass holds another token', async () => {
    const card = await newCard();
    const hash = passTokenHash('token-of-this-pass-0001');
    await rememberApplePass({
      cardId: card.id,
      tokenHash: hash,
      passTypeIdentifier: 'pass.test.giftcard',
      createdAt: new Date().toISOString(),
    });
    expect(await register(card.id, 'device-a', 'aa'.repeat(32), hash)).toBe('created');
    expect(await register(card.id, 'device-a', 'bb'.repeat(32), hash)).toBe('updated');
    expect(await applePushTargets(card.id)).toEqual([
      { deviceLibraryIdentifier: 'device-a', pushToken: 'bb'.repeat(32) },
    ]);
    expect(await register(card.id, 'device-b', 'cc'.repeat(32), passTokenHash('another-token-00001'))).toBe(
      'refused',
    );
    expect(await deviceRegisteredCards('device-b', 'pass.test.giftcard')).toEqual([]);
  });

  it('write the card, device and program items together and remove them together', async () => {
    const card = await newCard();
    const hash = passTokenHash('token-of-this-pass-0002');
    await rememberApplePass({
      cardId: card.id,
      tokenHash: hash,
      passTypeIdentifier: 'pass.test.giftcard',
      createdAt: new Date().toISOString(),
    });
    await register(card.id, 'device-c', 'dd'.repeat(32), hash);
    expect(await deviceRegisteredCards('device-c', 'pass.test.giftcard')).toEqual([card.id]);
    expect(await deviceRegisteredCards('device-c', 'pass.other')).toEqual([]);
    const inProgram = (await programApplePushTargets(program.id)).items;
    expect(inProgram).toContainEqual({
      cardId: card.id,
      deviceLibraryIdentifier: 'device-c',
      pushToken: 'dd'.repeat(32),
    });

    await removeAppleRegistration(card.id, 'device-c');
    await removeAppleRegistration(card.id, 'device-c'); // APNs 410 after an unregistration: nothing left, no error
    expect(await applePushTargets(card.id)).toEqual([]);
    expect(await deviceRegisteredCards('device-c', 'pass.test.giftcard')).toEqual([]);
    expect((await programApplePushTargets(program.id)).items.some((item) => item.cardId === card.id)).toBe(
      false,
    );
  });

  it('registered in parallel on one device (a phone restoring its passes) each take a distinct tag', async () => {
    const dlid = 'device-restore';
    const cards = await Promise.all(Array.from({ length: 8 }, () => newCard()));
    const hash = passTokenHash('token-of-this-pass-0009');
    await Promise.all(
      cards.map((card) =>
        rememberApplePass({
          cardId: card.id,
          tokenHash: hash,
          passTypeIdentifier: 'pass.test.giftcard',
          createdAt: new Date().toISOString(),
        }),
      ),
    );
    const outcomes = await Promise.all(
      cards.map((card, index) =>
        register(card.id, dlid, index.toString(16).padStart(2, '0').repeat(32), hash),
      ),
    );
    expect(outcomes).toEqual(cards.map(() => 'created'));
    const { counter, registrations } = await deviceUpdateTags(dlid, 'pass.test.giftcard');
    expect(counter).toBe(cards.length);
    expect(registrations.map((registration) => registration.updateTag).sort((a, b) => a - b)).toEqual(
      cards.map((_, index) => index + 1),
    );
  });

  it('page through a program with a cursor that only fits that program', async () => {
    const other = await makeProgram();
    const cards = await Promise.all(
      [1, 2, 3].map(() =>
        issueCard(
          other.id,
          { type: 'DIGITAL', amount: 1000, activate: true },
          staffContext(),
          undefined,
          everyProgram,
        ),
      ),
    );
    for (const { card } of cards) {
      const hash = passTokenHash(`token-${card.id}`);
      await rememberApplePass({
        cardId: card.id,
        tokenHash: hash,
        passTypeIdentifier: 'pass.test.giftcard',
        createdAt: new Date().toISOString(),
      });
      await registrationIn(other.id, card.id, hash);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await programApplePushTargets(other.id, cursor);
      seen.push(...page.items.map((item) => item.cardId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(cards.map(({ card }) => card.id).sort());
    const firstPage = await programApplePushTargets(other.id);
    expect(firstPage.items).toHaveLength(3);
    await expect(programApplePushTargets(program.id, 'eyJQSyI6IkFQUExFUFJPR1JBTSN4In0')).rejects.toThrow(
      /cursor/,
    );
  });

  const registrationIn = (programId: string, cardId: string, hash: string) =>
    registerAppleDevice(
      {
        cardId,
        programId,
        deviceLibraryIdentifier: 'device-p',
        passTypeIdentifier: 'pass.test.giftcard',
        pushToken: 'ee'.repeat(32),
      },
      hash,
    );

  it('keep only a hash of the pass token', async () => {
    const card = await newCard();
    const token = 'the-real-token-value-01';
    await rememberApplePass({
      cardId: card.id,
      tokenHash: passTokenHash(token),
      passTypeIdentifier: 'pass.test.giftcard',
      createdAt: new Date().toISOString(),
    });
    const item = await db().send(
      new GetCommand({ TableName: tableName(), Key: { PK: `CARD#${card.id}`, SK: 'APPLEPASS' } }),
    );
    expect(item.Item?.tokenHash).toBe(passTokenHash(token));
    expect(JSON.stringify(item.Item)).not.toContain(token);
  });

  it("record the card's program (a download reads its messages alongside the card), added once to an older pass, its version kept", async () => {
    const card = await newCard();
    const pass = {
      cardId: card.id,
      tokenHash: passTokenHash('token-of-this-pass-0003'),
      passTypeIdentifier: 'pass.test.giftcard',
      createdAt: new Date(Date.now() - 60_000).toISOString(),
    };
    // Written as before programId was recorded, then changed once (wallet-sync stamps a version).
    const older = await rememberApplePass(pass);
    expect(older.programId).toBeUndefined();
    const version = await stampApplePassVersion(card.id, new Date());
    const upgraded = await rememberApplePass(
      { ...pass, programId: card.programId, createdAt: new Date().toISOString() },
      { stored: await findApplePass(card.id) },
    );
    expect(upgraded).toMatchObject({ programId: card.programId, version, createdAt: pass.createdAt });
    expect(await findApplePass(card.id)).toEqual(upgraded);
  });
});

describe('wallet messages', () => {
  it('the newest of the card and its program applies; a retried key returns the first message', async () => {
    const card = await newCard();
    const actor = staffContext().actor;
    const first = await recordWalletMessage({ cardId: card.id }, { header: 'One', body: 'first' }, actor, {
      now: new Date(Date.now() - 2000),
    });
    expect((await latestWalletMessage(card.id, program.id))?.id).toBe(first.id);
    const programWide = await recordWalletMessage(
      { programId: program.id },
      { header: 'All', body: 'everyone' },
      actor,
    );
    expect((await latestWalletMessage(card.id, program.id))?.id).toBe(programWide.id);

    const key = claim('S:wallet-test', 'message');
    const once = await recordWalletMessage({ cardId: card.id }, { header: 'Two', body: 'second' }, actor, {
      idempotency: key,
    });
    const again = await recordWalletMessage({ cardId: card.id }, { header: 'Two', body: 'second' }, actor, {
      idempotency: key,
    });
    expect(again.id).toBe(once.id);
    expect((await latestWalletMessage(card.id, program.id))?.id).toBe(once.id);
  });
  const latestItem = async (pk: string) =>
    (
      await db().send(
        new GetCommand({
          TableName: tableName(),
          Key: { PK: pk, SK: LATEST_WALLET_MESSAGE_SK },
          ConsistentRead: true,
        }),
      )
    ).Item;

  it('an API message records itself as the latest in its own transaction; many at once to one card all land', async () => {
    const card = await newCard();
    const actor = staffContext().actor;
    const one = await recordWalletMessage({ cardId: card.id }, { header: 'One', body: 'first' }, actor);
    expect((await latestItem(`CARD#${card.id}`))?.message).toMatchObject({ id: one.id, header: 'One' });
    // Side by side, each transaction also writes the card's LATESTWALLETMSG item: the losers of a
    // conflict try again, and the item ends with one of them, the one the pass then shows.
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        recordWalletMessage({ cardId: card.id }, { header: `Burst ${n}`, body: 'at once' }, actor),
      ),
    );
    const latest = (await latestItem(`CARD#${card.id}`))?.message as { id: string };
    expect(sent.map((message) => message.id)).toContain(latest.id);
    expect((await latestWalletMessage(card.id, program.id))?.id).toBe(latest.id);
  });

  it('a partition without the item (messages from before it, or none) is queried once and recorded', async () => {
    const card = await newCard();
    const actor = staffContext().actor;
    // As an older version wrote it: the message item alone.
    const { put, stored } = walletMessagePut(
      { cardId: card.id },
      { header: 'Old', body: 'before' },
      actor,
      new Date(),
    );
    await db().send(new PutCommand(put));
    const otherProgram = await makeProgram();
    expect((await latestWalletMessage(card.id, otherProgram.id))?.id).toBe(stored.id);
    expect((await latestItem(`CARD#${card.id}`))?.message).toMatchObject({ id: stored.id });
    // A program with no message at all: recorded as none, and read as none.
    expect(await latestItem(`PROGRAM#${otherProgram.id}`)).toMatchObject({ messageSk: '' });
    expect((await latestItem(`PROGRAM#${otherProgram.id}`))?.message).toBeUndefined();
    const fresh = await newCard();
    expect(await latestWalletMessage(fresh.id, otherProgram.id)).toBeUndefined();
  });

  it('wallet-sync records a delivered message as the latest, keeping the newest and ignoring replays', async () => {
    const card = await newCard();
    const actor = staffContext().actor;
    // A promotion's message: its transaction writes the message item only.
    const later = walletMessagePut(
      { cardId: card.id },
      { header: 'Promo', body: 'later' },
      actor,
      new Date(),
    );
    const earlier = walletMessagePut(
      { cardId: card.id },
      { header: 'Promo', body: 'earlier' },
      actor,
      new Date(Date.now() - 60_000),
    );
    await db().send(new PutCommand(later.put));
    await db().send(new PutCommand(earlier.put));
    await noteLatestWalletMessage(later.stored);
    await noteLatestWalletMessage(earlier.stored);
    await noteLatestWalletMessage(later.stored);
    expect((await latestItem(`CARD#${card.id}`))?.message).toMatchObject({
      id: later.stored.id,
      body: 'later',
    });
    expect((await latestWalletMessage(card.id, program.id))?.id).toBe(later.stored.id);
  });
});

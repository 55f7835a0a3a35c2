import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { nextPassVersion } from '../core/apple-pass';
import { counterContentionPause, MAX_COUNTER_ATTEMPTS, raiseCounter, readCounter } from './apple-update-tags';
import { readItem, readItemInBatch } from './batched-reads';
import { db, tableName } from './dynamo-client';
import { decodeCursor, encodeCursor } from './pagination';

/**
 * Apple Wallet passes and the devices registered for them (layout in table-definition.ts):
 *
 *   CARD#<cardId>             / APPLEPASS           the card's pass: sha256 of its authentication token,
 *                                                   passTypeIdentifier, createdAt (written at first download),
 *                                                   programId (the card's, so a download reads the program's
 *                                                   messages alongside the card), version (its Last-Modified,
 *                                                   stamped by wallet-sync)
 *   CARD#<cardId>             / APPLEREG#<dlid>     one device's registration: pushToken, programId, ...
 *   APPLEDEVICE#<dlid>        / CARD#<cardId>       the same registration, listed by device, with the update
 *                                                   tag of the pass's last change (store/apple-update-tags.ts)
 *   APPLEPROGRAM#<programId>  / <cardId>#<dlid>     the same registration, listed by program (pushToken
 *                                                   included, so a program-wide push is one Query a page)
 *
 * The three registration items are written and deleted together in one transaction, conditioned on the
 * pass item still holding the token hash the device presented.
 */
const passKey = (cardId: string) => ({ PK: `CARD#${cardId}`, SK: 'APPLEPASS' });
const registrationKey = (cardId: string, dlid: string) => ({ PK: `CARD#${cardId}`, SK: `APPLEREG#${dlid}` });
const deviceKey = (dlid: string, cardId: string) => ({ PK: `APPLEDEVICE#${dlid}`, SK: `CARD#${cardId}` });
const programPk = (programId: string) => `APPLEPROGRAM#${programId}`;
const programKey = (programId: string, cardId: string, dlid: string) => ({
  PK: programPk(programId),
  SK: `${cardId}#${dlid}`,
});

export interface ApplePass {
  readonly cardId: string;
  /** Hex sha256 of the pass's authentication token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly passTypeIdentifier: string;
  readonly createdAt: string;
  /** The pass's current version (core/apple-pass.ts nextPassVersion); createdAt until its first change. */
  readonly version: string;
  /**
   * The card's program (a card never changes program), so the program's messages are read alongside the
   * card instead of after it. Absent on items written before it was recorded: the next download adds it.
   */
  readonly programId?: string;
}

export interface AppleRegistration {
  readonly cardId: string;
  readonly programId: string;
  readonly deviceLibraryIdentifier: string;
  readonly passTypeIdentifier: string;
  readonly pushToken: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The card's pass item, read strongly consistent. `batched`: the read opens a batch of reads
 * (store/batched-reads.ts) that the API key and merchant reads of the same request join: a cold download's
 * first wave is one BatchGetItem.
 */
export async function findApplePass(
  cardId: string,
  options: { batched?: boolean } = {},
): Promise<ApplePass | undefined> {
  const item = await (options.batched ? readItemInBatch(passKey(cardId)) : readItem(passKey(cardId)));
  if (!item) return undefined;
  return {
    cardId,
    tokenHash: String(item.tokenHash),
    passTypeIdentifier: String(item.passTypeIdentifier),
    createdAt: String(item.createdAt),
    version: String(item.version ?? item.createdAt),
    ...(typeof item.programId === 'string' ? { programId: item.programId } : {}),
  };
}

/** The stored pass is the one `pass` describes: nothing to write. */
const isRecorded = (stored: ApplePass | undefined, pass: PassToRemember): stored is ApplePass =>
  stored !== undefined &&
  stored.tokenHash === pass.tokenHash &&
  stored.passTypeIdentifier === pass.passTypeIdentifier &&
  (pass.programId === undefined || stored.programId === pass.programId);

type PassToRemember = Pick<
  ApplePass,
  'cardId' | 'tokenHash' | 'passTypeIdentifier' | 'createdAt' | 'programId'
>;

/**
 * Records the card's pass at its first download and answers it as stored. The token derives from the
 * serial number, so later downloads carry the same token and find the item current: then nothing is
 * written. The caller reads the card after this, so a change committed after that read finds the pass
 * item and gets a new version from wallet-sync. `read`: the item as the caller has just read it (its
 * first read is then skipped). An item written before programId was recorded gets it, once; its version
 * is kept.
 */
export async function rememberApplePass(
  pass: PassToRemember,
  read?: { readonly stored: ApplePass | undefined },
): Promise<ApplePass> {
  const withProgram = pass.programId !== undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = attempt === 0 && read ? read.stored : await findApplePass(pass.cardId);
    if (isRecorded(current, pass)) return current;
    try {
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: passKey(pass.cardId),
          UpdateExpression: `SET cardId = :card, tokenHash = :hash, passTypeIdentifier = :type, createdAt = if_not_exists(createdAt, :now)${withProgram ? ', programId = :program' : ''}`,
          // Guarantees: written only when new or changed (a changed pass type or token secret re-keys it).
          ConditionExpression: `attribute_not_exists(PK) OR tokenHash <> :hash OR passTypeIdentifier <> :type${withProgram ? ' OR attribute_not_exists(programId)' : ''}`,
          ExpressionAttributeValues: {
            ':card': pass.cardId,
            ':hash': pass.tokenHash,
            ':type': pass.passTypeIdentifier,
            ':now': pass.createdAt,
            ...(withProgram ? { ':program': pass.programId } : {}),
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  const recorded = await findApplePass(pass.cardId);
  if (!recorded) throw new Error('the Apple pass item could not be written');
  return recorded;
}

/**
 * Gives the card's pass a new version after a change it shows: a later second than the last version
 * (core/apple-pass.ts nextPassVersion). Versions are stamped one after another under a condition on the
 * previous one, in the order wallet-sync sees the card's changes. Undefined when the card has no pass.
 */
export async function stampApplePassVersion(cardId: string, now: Date): Promise<string | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const stored = await findApplePass(cardId);
    if (!stored) return undefined;
    const next = nextPassVersion(stored.version, now);
    try {
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: passKey(cardId),
          UpdateExpression: 'SET version = :next',
          // Guarantees: versions only move forward, each from the one it was computed from.
          ConditionExpression:
            'attribute_exists(PK) AND (version = :previous OR (attribute_not_exists(version) AND createdAt = :previous))',
          ExpressionAttributeValues: { ':next': next, ':previous': stored.version },
        }),
      );
      return next;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  throw new Error(`the Apple pass version of ${cardId} stayed contended`);
}

/**
 * Registers a device for a card's pass (Apple's "register a pass for update notifications"): `created`
 * for a new registration, `updated` when the device was registered already (its push token is replaced).
 * `refused` when the pass item no longer holds the token hash the caller was checked against. A new
 * registration takes the device's next update tag in the same transaction (store/apple-update-tags.ts).
 */
export async function registerAppleDevice(
  registration: Omit<AppleRegistration, 'createdAt' | 'updatedAt'>,
  checkedTokenHash: string,
  now: Date = new Date(),
): Promise<'created' | 'updated' | 'refused'> {
  const { cardId, programId, deviceLibraryIdentifier: dlid } = registration;
  const at = now.toISOString();
  const passCheck = {
    ConditionCheck: {
      TableName: tableName(),
      Key: passKey(cardId),
      // Guarantees: the token the device presented is still the pass's token when the registration lands.
      ConditionExpression: 'tokenHash = :hash',
      ExpressionAttributeValues: { ':hash': checkedTokenHash },
    },
  };
  /** `tag`: for a new registration, the device's counter as read; the registration takes the next tag. */
  const write = (createdAt: string, onlyIfNew: boolean, tag?: number) =>
    db().send(
      new TransactWriteCommand({
        TransactItems: [
          passCheck,
          {
            Put: {
              TableName: tableName(),
              Item: { ...registrationKey(cardId, dlid), ...registration, createdAt, updatedAt: at },
              ...(onlyIfNew
                ? { ConditionExpression: 'attribute_not_exists(PK)' }
                : { ConditionExpression: 'attribute_exists(PK)' }),
            },
          },
          {
            // An update, not a put: a new push token must not drop the tag of a change the device has not
            // fetched yet.
            Update: {
              TableName: tableName(),
              Key: deviceKey(dlid, cardId),
              UpdateExpression: `SET cardId = :card, programId = :program, deviceLibraryIdentifier = :dlid, passTypeIdentifier = :type, pushToken = :push, createdAt = :created, updatedAt = :at${tag === undefined ? '' : ', updateTag = :tag'}`,
              ExpressionAttributeValues: {
                ':card': cardId,
                ':program': programId,
                ':dlid': dlid,
                ':type': registration.passTypeIdentifier,
                ':push': registration.pushToken,
                ':created': createdAt,
                ':at': at,
                ...(tag === undefined ? {} : { ':tag': tag + 1 }),
              },
            },
          },
          {
            Put: {
              TableName: tableName(),
              Item: { ...programKey(programId, cardId, dlid), ...registration, createdAt, updatedAt: at },
            },
          },
          // A new registration is a change for the device (store/apple-update-tags.ts): listed for the
          // tag it holds, the pass is fetched again if it changed since the download.
          ...(tag === undefined ? [] : [raiseCounter(dlid, tag)]),
        ],
      }),
    );
  let contended = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (contended > 0) await counterContentionPause(contended);
    try {
      await write(at, true, await readCounter(dlid));
      return 'created';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [pass, reg, , , counter] = error.CancellationReasons ?? [];
      if (pass?.Code === 'ConditionalCheckFailed') return 'refused';
      if (
        reg?.Code !== 'ConditionalCheckFailed' &&
        (counter?.Code === 'ConditionalCheckFailed' || counter?.Code === 'TransactionConflict') &&
        ++contended < MAX_COUNTER_ATTEMPTS
      ) {
        // Another change of this device took the counter first: read it again.
        attempt -= 1;
        continue;
      }
      if (reg?.Code !== 'ConditionalCheckFailed') throw error;
    }
    const existing = await findRegistration(cardId, dlid);
    if (!existing) continue;
    try {
      await write(existing.createdAt, false);
      return 'updated';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [pass] = error.CancellationReasons ?? [];
      if (pass?.Code === 'ConditionalCheckFailed') return 'refused';
      // Unregistered in between: try as new again.
    }
  }
  throw new Error('Apple device registration kept racing an unregistration');
}

async function findRegistration(cardId: string, dlid: string): Promise<AppleRegistration | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: registrationKey(cardId, dlid), ConsistentRead: true }),
  );
  return out.Item ? toRegistration(out.Item) : undefined;
}

function toRegistration(item: Record<string, unknown>): AppleRegistration {
  return {
    cardId: String(item.cardId),
    programId: String(item.programId),
    deviceLibraryIdentifier: String(item.deviceLibraryIdentifier),
    passTypeIdentifier: String(item.passTypeIdentifier),
    pushToken: String(item.pushToken),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

/**
 * Removes a device's registration for a card (unregistration, or APNs says the device is gone).
 * Idempotent. `pushToken`: remove it only while it still holds this push token. APNs refused that token;
 * a device that registered again meanwhile with a new one (Wallet re-registers when its token changes)
 * keeps its registration, or it would never be pushed to again. Answers whether it is gone.
 */
export async function removeAppleRegistration(
  cardId: string,
  deviceLibraryIdentifier: string,
  pushToken?: string,
): Promise<'removed' | 'kept'> {
  const existing = await findRegistration(cardId, deviceLibraryIdentifier);
  if (!existing) {
    // Nothing to pair with: remove a device listing that may have outlived it (with that push token).
    try {
      await db().send(
        new DeleteCommand({
          TableName: tableName(),
          Key: deviceKey(deviceLibraryIdentifier, cardId),
          ...(pushToken === undefined
            ? {}
            : {
                // Guarantees: a listing renewed with another push token meanwhile stays.
                ConditionExpression: 'pushToken = :push',
                ExpressionAttributeValues: { ':push': pushToken },
              }),
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    return 'removed';
  }
  if (pushToken !== undefined && existing.pushToken !== pushToken) return 'kept';
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: tableName(),
              Key: registrationKey(cardId, deviceLibraryIdentifier),
              ...(pushToken === undefined
                ? {}
                : {
                    // Guarantees: a registration renewed with another push token meanwhile stays.
                    ConditionExpression: 'pushToken = :push',
                    ExpressionAttributeValues: { ':push': pushToken },
                  }),
            },
          },
          { Delete: { TableName: tableName(), Key: deviceKey(deviceLibraryIdentifier, cardId) } },
          {
            Delete: {
              TableName: tableName(),
              Key: programKey(existing.programId, cardId, deviceLibraryIdentifier),
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof TransactionCanceledException) || pushToken === undefined) throw error;
    const [registration] = error.CancellationReasons ?? [];
    if (registration?.Code !== 'ConditionalCheckFailed') throw error;
    return 'kept';
  }
  return 'removed';
}

/** The devices to push to when one card's pass changed. */
export async function applePushTargets(
  cardId: string,
): Promise<{ deviceLibraryIdentifier: string; pushToken: string }[]> {
  const targets: { deviceLibraryIdentifier: string; pushToken: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :reg)',
        ExpressionAttributeValues: { ':pk': `CARD#${cardId}`, ':reg': 'APPLEREG#' },
        // Right after the change: a device registered a moment ago must be told too.
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      targets.push({
        deviceLibraryIdentifier: String(item.deviceLibraryIdentifier),
        pushToken: String(item.pushToken),
      });
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return targets;
}

/** One page of the devices registered for any pass of the program (program-wide message pushes). */
export async function programApplePushTargets(
  programId: string,
  cursor?: string,
): Promise<{
  items: { cardId: string; deviceLibraryIdentifier: string; pushToken: string }[];
  nextCursor: string | null;
}> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': programPk(programId) },
      Limit: 500,
      ExclusiveStartKey: decodeCursor(cursor, { PK: programPk(programId) }),
    }),
  );
  return {
    items: (out.Items ?? []).map((item) => ({
      cardId: String(item.cardId),
      deviceLibraryIdentifier: String(item.deviceLibraryIdentifier),
      pushToken: String(item.pushToken),
    })),
    nextCursor: encodeCursor(out.LastEvaluatedKey),
  };
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ApplePassJson } from './apple-pass-json';
import { type Card, displayStatus } from './card';
import { formatAmount } from './money';
import type { Program } from './program';
import type { WalletMessage } from './wallet-message';

export type { ApplePassJson } from './apple-pass-json';

/**
 * An Apple Wallet pass (storeCard) for a gift card, planned as its pass.json. Pure: the signing and
 * zipping happen in functions/wallet/apple-pass-builder.ts.
 *
 * The barcode carries the card id, not the code: the code is never stored (only its HMAC, which is the
 * card id, and the last 4), so it cannot be put on a pass made later. The card id is what every merchant
 * route already takes (`/v1/cards/{cardId}/...`, tenant-scoped by the merchant's key), reveals nothing
 * of the code, and a till scanning it calls the API with it.
 */
export interface ApplePassSettings {
  readonly passTypeIdentifier: string;
  readonly teamIdentifier: string;
  /** `<public base>/wallet/apple`: Apple's devices call `<this>/v1/...`. */
  readonly webServiceURL: string;
  readonly authenticationToken: string;
}

const DEFAULT_COLOURS = {
  backgroundColor: 'rgb(24, 37, 64)',
  foregroundColor: 'rgb(255, 255, 255)',
  labelColor: 'rgb(180, 196, 224)',
} as const;

/** The balance as Wallet shows it: a number in major units that the device formats in the currency. */
export const balanceForDisplay = (amount: number, currency: string): number =>
  Number(formatAmount(amount, currency));

export function planApplePass(
  card: Card,
  program: Pick<Program, 'name'>,
  message: WalletMessage | undefined,
  settings: ApplePassSettings,
  now: Date,
): ApplePassJson {
  const status = displayStatus(card, now);
  return {
    formatVersion: 1,
    passTypeIdentifier: settings.passTypeIdentifier,
    teamIdentifier: settings.teamIdentifier,
    serialNumber: card.id,
    organizationName: program.name,
    description: `${program.name} gift card`,
    logoText: program.name.slice(0, 64),
    webServiceURL: settings.webServiceURL,
    authenticationToken: settings.authenticationToken,
    ...DEFAULT_COLOURS,
    sharingProhibited: true,
    ...(status === 'DEACTIVATED' ? { voided: true } : {}),
    ...(card.expiresAt ? { expirationDate: card.expiresAt } : {}),
    barcodes: [
      {
        format: 'PKBarcodeFormatQR',
        message: card.id,
        messageEncoding: 'iso-8859-1',
        altText: `•••• ${card.last4}`,
      },
    ],
    storeCard: {
      primaryFields: [
        {
          key: 'balance',
          label: 'BALANCE',
          value: balanceForDisplay(card.balance, card.currency),
          currencyCode: card.currency,
          changeMessage: 'Balance is now %@',
        },
      ],
      secondaryFields: [
        { key: 'card', label: 'CARD', value: `•••• ${card.last4}` },
        ...(status === 'ACTIVE' ? [] : [{ key: 'status', label: 'STATUS', value: status }]),
      ],
      auxiliaryFields: card.expiresAt
        ? [
            {
              key: 'expires',
              label: 'EXPIRES',
              value: card.expiresAt,
              dateStyle: 'PKDateStyleMedium' as const,
            },
          ]
        : [],
      backFields: [
        ...(message
          ? [{ key: 'message', label: message.header, value: message.body, changeMessage: '%@' }]
          : []),
        { key: 'program', label: 'PROGRAM', value: program.name },
      ],
    },
  };
}

/**
 * A pass's authentication token: HMAC of its serial number under a secret that never changes, so every
 * download of the pass carries the same token and installed passes keep working. Only its sha256 is
 * stored (passTokenHash); the token itself lives in the pass on the holder's device.
 */
export const applePassToken = (secret: string, serialNumber: string): string =>
  createHmac('sha256', secret).update(`apple-pass-token:${serialNumber}`).digest('base64url');

export const passTokenHash = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** Compares a presented token with the stored hash in constant time (both are hashed first). */
export function passTokenMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(passTokenHash(presented), 'hex');
  const b = Buffer.from(/^[0-9a-f]{64}$/.test(storedHash) ? storedHash : '0'.repeat(64), 'hex');
  return timingSafeEqual(a, b) && storedHash.length === 64;
}

/**
 * A pass's version, as its Last-Modified shows it. HTTP dates have whole seconds, so two versions in one
 * second would share a date and a device holding the first would get 304 for the second. Each new
 * version therefore takes a later second than the one before (the clock's time when that is later, else
 * the next second): a date names exactly one version, whatever the clocks of the instances involved,
 * because versions are stamped one after the other under a condition on the previous one
 * (store/apple-passes.ts). A burst of changes may run a few seconds ahead of the clock.
 */
export function nextPassVersion(previous: string | undefined, now: Date): string {
  const nextSecond = previous === undefined ? 0 : (Math.floor(Date.parse(previous) / 1000) + 1) * 1000;
  return new Date(Math.max(now.getTime(), nextSecond)).toISOString();
}

/** The Last-Modified of a version: its whole second. */
export const passLastModified = (version: string): string =>
  new Date(Math.floor(Date.parse(version) / 1000) * 1000).toUTCString();

/**
 * Whether a device holding `ifModifiedSince` (a Last-Modified we sent) has this version: only when the
 * version's second is not later. Versions take distinct seconds (nextPassVersion), so a later version
 * is always in a later second and is sent again.
 */
export const unchangedSince = (version: string, ifModifiedSince: Date): boolean =>
  Math.floor(Date.parse(version) / 1000) <= Math.floor(ifModifiedSince.getTime() / 1000);

/** One registration of a device, with the update tag of its pass's last change (0: none since registering). */
export interface DeviceRegistrationTag {
  readonly serialNumber: string;
  readonly updateTag: number;
}

/**
 * Apple's update list: the serials changed since `since` (every registered one without a tag) and the
 * tag to hand out. Tags come from one counter per device, raised in the same transaction that marks a
 * registration changed, so a change committed after the counter was read has a greater tag. A tag the
 * counter never reached (one from an older scheme, or another deployment) lists everything.
 */
export function updatedSerials(
  registrations: readonly DeviceRegistrationTag[],
  since: number | undefined,
  counter: number,
): { serialNumbers: string[]; lastUpdated: string } {
  const known = since !== undefined && since <= counter;
  return {
    serialNumbers: registrations
      .filter((registration) => !known || registration.updateTag > (since ?? 0))
      .map((registration) => registration.serialNumber)
      .sort(),
    lastUpdated: String(counter),
  };
}

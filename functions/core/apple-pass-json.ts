import { isIsoInstant } from './calendar';

/**
 * What Wallet needs of a storeCard pass.json, and the check made before a pass is signed
 * (functions/wallet/apple-pass-builder.ts): Wallet refuses a pass it cannot read and says little about
 * why. Written as a small rule table rather than a zod schema so the pass download's cold start never
 * evaluates zod (about 26 ms of CPU on the wallet function, the bundle's one cold path that checks
 * anything); test/unit/apple-pass-json.test.ts holds it to Apple's rules field by field.
 */
export interface ApplePassField {
  readonly key: string;
  readonly label?: string;
  readonly value: string | number;
  readonly changeMessage?: string;
  readonly currencyCode?: string;
  readonly dateStyle?: 'PKDateStyleShort' | 'PKDateStyleMedium' | 'PKDateStyleLong';
  readonly textAlignment?: 'PKTextAlignmentLeft' | 'PKTextAlignmentRight' | 'PKTextAlignmentNatural';
}

export interface ApplePassBarcode {
  readonly format: 'PKBarcodeFormatQR' | 'PKBarcodeFormatCode128';
  readonly message: string;
  readonly messageEncoding: 'iso-8859-1';
  readonly altText?: string;
}

export interface ApplePassJson {
  readonly formatVersion: 1;
  readonly passTypeIdentifier: string;
  readonly teamIdentifier: string;
  readonly serialNumber: string;
  readonly organizationName: string;
  readonly description: string;
  readonly logoText?: string;
  readonly webServiceURL: string;
  readonly authenticationToken: string;
  readonly backgroundColor: string;
  readonly foregroundColor: string;
  readonly labelColor: string;
  readonly sharingProhibited: boolean;
  readonly voided?: boolean;
  readonly expirationDate?: string;
  readonly barcodes: readonly ApplePassBarcode[];
  readonly storeCard: {
    readonly headerFields?: readonly ApplePassField[];
    readonly primaryFields: readonly ApplePassField[];
    readonly secondaryFields?: readonly ApplePassField[];
    readonly auxiliaryFields?: readonly ApplePassField[];
    readonly backFields?: readonly ApplePassField[];
  };
}

/** Checks a value found at `path`, adding the paths of what is wrong to `invalid`. */
type Rule = (value: unknown, path: string, invalid: string[]) => void;

const holds =
  (test: (value: unknown) => boolean): Rule =>
  (value, path, invalid) => {
    if (!test(value)) invalid.push(path);
  };
const matches = (pattern: RegExp) => holds((value) => typeof value === 'string' && pattern.test(value));
const text = (max: number, min = 1) =>
  holds((value) => typeof value === 'string' && value.length >= min && value.length <= max);
const oneOf = (...allowed: readonly unknown[]) => holds((value) => allowed.includes(value));
const optional =
  (rule: Rule): Rule =>
  (value, path, invalid) => {
    if (value !== undefined) rule(value, path, invalid);
  };
const either =
  (...rules: readonly Rule[]): Rule =>
  (value, path, invalid) => {
    if (!rules.some((rule) => checkOne(rule, value, path).length === 0)) invalid.push(path);
  };
const at = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);

/** An object with exactly these keys (an unknown key is refused: Wallet may not ignore it). */
const exactly =
  (shape: Readonly<Record<string, Rule>>): Rule =>
  (value, path, invalid) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      invalid.push(path || '(root)');
      return;
    }
    const fields = value as Readonly<Record<string, unknown>>;
    for (const [key, rule] of Object.entries(shape)) rule(fields[key], at(path, key), invalid);
    for (const key of Object.keys(fields)) if (!Object.hasOwn(shape, key)) invalid.push(at(path, key));
  };

const list =
  (item: Rule, min: number, max: number): Rule =>
  (value, path, invalid) => {
    if (!Array.isArray(value) || value.length < min || value.length > max) {
      invalid.push(path);
      return;
    }
    value.forEach((entry, index) => {
      item(entry, at(path, index), invalid);
    });
  };

function checkOne(rule: Rule, value: unknown, path: string): string[] {
  const invalid: string[] = [];
  rule(value, path, invalid);
  return invalid;
}

const CHANNEL = '\\s*(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\s*';
const rgb = matches(new RegExp(`^rgb\\(${CHANNEL},${CHANNEL},${CHANNEL}\\)$`));

const field = exactly({
  key: matches(/^[A-Za-z][A-Za-z0-9_]{0,39}$/),
  label: optional(text(64)),
  value: either(text(2000), holds(Number.isFinite)),
  changeMessage: optional(
    holds((value) => typeof value === 'string' && value.includes('%@') && value.length <= 200),
  ),
  currencyCode: optional(matches(/^[A-Z]{3}$/)),
  dateStyle: optional(oneOf('PKDateStyleShort', 'PKDateStyleMedium', 'PKDateStyleLong')),
  textAlignment: optional(oneOf('PKTextAlignmentLeft', 'PKTextAlignmentRight', 'PKTextAlignmentNatural')),
});

const passJson = exactly({
  formatVersion: oneOf(1),
  passTypeIdentifier: matches(/^pass\.[A-Za-z0-9.-]{1,200}$/),
  teamIdentifier: matches(/^[A-Z0-9]{10}$/),
  serialNumber: matches(/^[A-Za-z0-9_-]{1,64}$/),
  organizationName: text(128),
  description: text(256),
  logoText: optional(text(64)),
  webServiceURL: matches(/^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/),
  authenticationToken: text(256, 16),
  backgroundColor: rgb,
  foregroundColor: rgb,
  labelColor: rgb,
  sharingProhibited: holds((value) => typeof value === 'boolean'),
  voided: optional(holds((value) => typeof value === 'boolean')),
  expirationDate: optional(holds((value) => typeof value === 'string' && isIsoInstant(value))),
  barcodes: list(
    exactly({
      format: oneOf('PKBarcodeFormatQR', 'PKBarcodeFormatCode128'),
      message: text(512),
      messageEncoding: oneOf('iso-8859-1'),
      altText: optional(text(64)),
    }),
    1,
    Number.POSITIVE_INFINITY,
  ),
  storeCard: exactly({
    headerFields: optional(list(field, 0, 3)),
    primaryFields: list(field, 1, 1),
    secondaryFields: optional(list(field, 0, 4)),
    auxiliaryFields: optional(list(field, 0, 4)),
    backFields: optional(list(field, 0, 20)),
  }),
});

/** The paths of what Wallet could not read in a pass.json (`(root)` for the whole); empty when it is fine. */
export const applePassJsonProblems = (pass: unknown): string[] => checkOne(passJson, pass, '');

import { passTokenMatches } from '../core/apple-pass';
import { DomainError } from '../core/errors';
import { findApplePass } from '../store/apple-passes';
import type { Principal } from './auth';

const APPLE_PASS_AUTHORIZATION = /^ApplePass ([A-Za-z0-9_-]{16,256})$/;
const SERIAL_NUMBER = /^gc_[0-9a-z]{26}$/;
const PASS_TYPE_IDENTIFIER = /^pass\.[A-Za-z0-9.-]{1,200}$/;

const unauthorized = () =>
  new DomainError('UNAUTHENTICATED', 'Send the pass as `Authorization: ApplePass <authenticationToken>`.');

/**
 * Apple's PassKit web service: the device presents the authentication token of the pass the path names
 * (`{passTypeIdentifier}/{serialNumber}`). Its sha256 is compared in constant time with the hash stored
 * when the pass was made. A malformed header, an unknown pass, another pass type or a wrong token all
 * answer the same 401, as Apple expects.
 */
export async function authenticatePass(
  authorization: string | undefined,
  params: Readonly<Record<string, string>>,
): Promise<Principal> {
  const token = APPLE_PASS_AUTHORIZATION.exec(authorization?.trim() ?? '')?.[1];
  const serialNumber = params.serialNumber ?? '';
  const passTypeIdentifier = params.passTypeIdentifier ?? '';
  if (!token || !SERIAL_NUMBER.test(serialNumber) || !PASS_TYPE_IDENTIFIER.test(passTypeIdentifier)) {
    throw unauthorized();
  }
  const pass = await findApplePass(serialNumber);
  const matches = passTokenMatches(token, pass?.tokenHash ?? '');
  if (!pass || !matches || pass.passTypeIdentifier !== passTypeIdentifier) throw unauthorized();
  return {
    type: 'pass',
    cardId: serialNumber,
    passTypeIdentifier,
    tokenHash: pass.tokenHash,
    version: pass.version,
    ...(pass.programId ? { programId: pass.programId } : {}),
  };
}

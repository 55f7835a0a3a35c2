import { DomainError } from '../core/errors';
import { newId } from '../core/ids';
import { type ContactChannel, contactHash, normaliseContact } from '../core/member';
import {
  newSessionToken,
  newSignInCode,
  SESSION_TTL_SECONDS,
  SIGN_IN_CODE_TTL_SECONDS,
  sameHash,
  signInCodeHash,
  signInWindow,
} from '../core/member-session';
import { getLoyaltyProgram } from '../store/loyalty-programs';
import { countCodeRequest, openSession, putChallenge, spendAttempt } from '../store/member-sessions';
import { findMember, findMemberIdByContact } from '../store/members';
import { sealingPepper } from '../store/secrets';

/**
 * Passwordless sign-in. Primary course: the holder gives their contact; a one-time code goes to it
 * (through the delivery service) under a new challenge id, which is the whole answer, known contact or
 * not (an unknown contact gets a challenge no code can open, and no message). The holder sends the code
 * back with the challenge id and gets a session token. A wrong, expired, used or exhausted code, and an
 * unknown challenge, all answer the same 401.
 */
export interface SignInMessage {
  readonly channel: ContactChannel;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly purpose: string;
  readonly reference: string;
}

export type SendSignInMessage = (message: SignInMessage) => Promise<unknown>;

export interface SignInStarted {
  readonly challengeId: string;
  readonly expiresAt: string;
}

export async function startSignIn(
  loyaltyProgramId: string,
  channel: ContactChannel,
  rawContact: string,
  send: SendSignInMessage,
  now: Date,
): Promise<SignInStarted> {
  const program = await getLoyaltyProgram(loyaltyProgramId, { cached: true });
  const contact = normaliseContact(channel, rawContact);
  const pepper = await sealingPepper();
  await countCodeRequest(contactHash(pepper, program.id, channel, contact), signInWindow(now));
  const memberId = await findMemberIdByContact(program.id, channel, contact);
  const challengeId = newId('sgn', now);
  const code = newSignInCode();
  const expiresAt = new Date(now.getTime() + SIGN_IN_CODE_TTL_SECONDS * 1000).toISOString();
  await putChallenge({
    challengeId,
    loyaltyProgramId: program.id,
    ...(memberId ? { memberId } : {}),
    codeHash: signInCodeHash(pepper, challengeId, code),
    expiresAt,
  });
  if (memberId) {
    await send({
      channel,
      to: contact,
      subject: `Your ${program.name} sign-in code`,
      text: `Your sign-in code is ${code}. It expires in ${SIGN_IN_CODE_TTL_SECONDS / 60} minutes. If you did not ask for it, ignore this message.`,
      purpose: 'loyalty-sign-in',
      reference: challengeId,
    });
  }
  return { challengeId, expiresAt };
}

export interface SignedIn {
  readonly token: string;
  readonly expiresAt: string;
  readonly memberId: string;
}

const refused = () => new DomainError('UNAUTHENTICATED', 'The code is not valid. Ask for a new one.');

export async function verifySignIn(challengeId: string, code: string, now: Date): Promise<SignedIn> {
  const challenge = /^sgn_[0-9a-z]{26}$/.test(challengeId) ? await spendAttempt(challengeId, now) : undefined;
  const pepper = await sealingPepper();
  const expected = signInCodeHash(pepper, challengeId, code);
  // The comparison runs for unknown challenges too, against a hash no code matches.
  const matches = sameHash(challenge?.codeHash ?? `x${expected.slice(1)}`, expected);
  if (!challenge?.memberId || !matches) throw refused();
  const member = await findMember(challenge.memberId);
  if (member?.status !== 'ACTIVE') throw refused();
  const token = newSessionToken();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_SECONDS * 1000).toISOString();
  const opened = await openSession(
    challengeId,
    {
      sessionId: newId('ses', now),
      memberId: member.id,
      loyaltyProgramId: member.loyaltyProgramId,
      createdAt: now.toISOString(),
      expiresAt,
    },
    token,
    now,
  );
  if (!opened) throw refused();
  return { token, expiresAt, memberId: member.id };
}

import { DomainError, notFound } from '../core/errors';
import { DEFAULT_TIERS } from '../core/loyalty-program';
import { type ContactChannel, type Member, normaliseContact } from '../core/member';
import type { PointsAccount, PointsEntry } from '../core/points';
import { type CardLink, linkCard, linkedCards, MAX_LINKED_CARDS, unlinkCard } from '../store/card-links';
import type { IdempotencyClaim } from '../store/idempotency';
import { getLoyaltyProgram } from '../store/loyalty-programs';
import { memberSessionRefs, revokeSession } from '../store/member-sessions';
import {
  contactKeyOf,
  createMember,
  deleteMemberSideItems,
  getMember,
  memberSideKeys,
  pseudonymiseItems,
} from '../store/members';
import { allPointsEntries, findPointsAccount } from '../store/points-ledger';
import { writeAtomically } from '../store/transact';
import { lookupCard } from './card-lookup';

/**
 * Members' own use cases: registration with consent, linking a gift card by proving possession (code,
 * and PIN where the card has one, through the lookup without oracle), the member's data (see, export,
 * delete). Every one acts on the member the session names, never on an id the caller gives.
 */
export interface Registration {
  readonly channel: ContactChannel;
  readonly contact: string;
  readonly termsVersion: string;
  readonly marketing: boolean;
}

export async function registerMember(
  loyaltyProgramId: string,
  registration: Registration,
  claim: IdempotencyClaim | undefined,
  now: Date,
): Promise<Member> {
  const program = await getLoyaltyProgram(loyaltyProgramId, { cached: true });
  const contact = normaliseContact(registration.channel, registration.contact);
  return createMember(
    {
      loyaltyProgramId: program.id,
      channel: registration.channel,
      contact,
      consent: {
        termsVersion: registration.termsVersion,
        acceptedAt: now.toISOString(),
        marketing: registration.marketing,
      },
      tier: (program.tiers[0] ?? DEFAULT_TIERS[0])?.name ?? 'BASE',
    },
    claim,
    now,
  );
}

/**
 * Primary course: the card named by its code (and PIN) through the merchants' lookup (every miss alike,
 * failed checks counted by the route's rate limit), in a gift card program of the member's loyalty
 * program (else the same miss), linked to this member (a card earns for one member).
 */
export async function linkMemberCard(
  memberId: string,
  code: string,
  pin: string | undefined,
  now: Date,
): Promise<CardLink> {
  const member = await getMember(memberId);
  const program = await getLoyaltyProgram(member.loyaltyProgramId, { cached: true });
  const card = await lookupCard(code, () => true, {
    ...(pin === undefined ? {} : { pin }),
    channel: 'ONLINE',
    revealPinErrors: false,
  });
  if (!program.cardProgramIds.includes(card.programId)) throw notFound('The card');
  const linked = await linkedCards(memberId);
  const existing = linked.find((link) => link.cardId === card.id);
  if (existing) return existing;
  if (linked.length >= MAX_LINKED_CARDS) {
    throw new DomainError('LIMIT_EXCEEDED', `A member links at most ${MAX_LINKED_CARDS} cards.`);
  }
  return linkCard({
    cardId: card.id,
    memberId,
    loyaltyProgramId: program.id,
    last4: card.last4,
    linkedAt: now.toISOString(),
  });
}

export async function unlinkMemberCard(memberId: string, cardId: string): Promise<void> {
  if (!(await unlinkCard(memberId, cardId))) throw notFound('The card');
}

export interface MemberOverview {
  readonly member: Member;
  readonly points: PointsAccount | undefined;
}

export async function memberOverview(memberId: string): Promise<MemberOverview> {
  const [member, points] = await Promise.all([getMember(memberId), findPointsAccount(memberId)]);
  return { member, points };
}

export interface MemberExport {
  readonly member: Member;
  readonly points: { readonly balance: number; readonly entries: readonly PointsEntry[] };
  readonly cards: readonly CardLink[];
  readonly exportedAt: string;
}

/** Everything kept about the member: profile and consent, linked cards, the whole points ledger. */
export async function exportMemberData(memberId: string, now: Date): Promise<MemberExport> {
  const [member, account, entries, cards] = await Promise.all([
    getMember(memberId),
    findPointsAccount(memberId),
    allPointsEntries(memberId),
    linkedCards(memberId),
  ]);
  return {
    member,
    points: { balance: account?.balance ?? 0, entries },
    cards,
    exportedAt: now.toISOString(),
  };
}

/**
 * Primary course: pseudonymise the member (contact and consent removed, the contact free to register
 * again), unlink their cards (they earn for nobody), revoke every session. The points ledger stays under
 * the member id, which names no one any more: finance keeps the liability's history.
 */
export async function deleteMemberData(memberId: string, now: Date): Promise<void> {
  const member = await getMember(memberId);
  if (!member.contact) throw new Error(`Active member ${memberId} has no contact`);
  const contactKey = await contactKeyOf(member.loyaltyProgramId, member.channel, member.contact);
  const outcome = await writeAtomically(pseudonymiseItems(member, now, contactKey), {
    claim: undefined,
    result: undefined,
    now,
  });
  if (outcome.kind !== 'committed') throw notFound('The member');
  for (const link of await linkedCards(memberId)) await unlinkCard(memberId, link.cardId);
  await revokeAllSessions(memberId, now);
  await deleteMemberSideItems(await memberSideKeys(memberId));
}

export async function revokeAllSessions(memberId: string, now: Date): Promise<number> {
  const refs = await memberSessionRefs(memberId);
  for (const ref of refs) await revokeSession(ref.tokenHash, now);
  return refs.length;
}

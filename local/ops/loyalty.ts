import { checkLoyaltyProgram, DEFAULT_TIERS } from '../../functions/core/loyalty-program';
import { CONTACT_CHANNELS, type ContactChannel, normaliseContact } from '../../functions/core/member';
import { minorUnits } from '../../functions/core/money';
import { useLocalStackEnvironment } from '../cli-environment';
import { integerOption, type OpsArgs, type OpsCommand, option, requiredOption, UsageError } from './command';

/**
 * `npm run ops -- loyalty --programs | --create-program --name <n> ... | --member --program <lp> --contact <c>`:
 * lists loyalty programs, creates one, or finds a member by e-mail or phone (the contact is looked up by its
 * HMAC, as sign-in does; the answer shows the member's id, status, tier and points, never the contact).
 * Against npm start's stack by default; with `--aws`, against the deployment the environment names
 * (TABLE_NAME, AWS_REGION, the operator's credentials and the deployment's CODE_PEPPER secret access).
 */
async function useEnvironment(args: OpsArgs): Promise<void> {
  if (args.get('aws') === true) return;
  await useLocalStackEnvironment({
    dataDir: option(args, 'data-dir'),
    dynamoPort: option(args, 'dynamo-port'),
    issuerName: 'ops-loyalty',
  });
}

async function createProgram(args: OpsArgs) {
  const currency = requiredOption(args, 'currency').toUpperCase();
  const expireAfterMonths = option(args, 'expire-after-months');
  const input = checkLoyaltyProgram({
    name: requiredOption(args, 'name'),
    cardProgramIds: requiredOption(args, 'card-programs')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
    currency,
    minorPerUnit: 10 ** minorUnits(currency),
    earn: {
      pointsPerUnitRedeemed: integerOption(args, 'points-per-unit', 1, 0, 10_000),
      pointsPerUnitLoaded: integerOption(args, 'points-per-unit-loaded', 0, 0, 10_000),
      activationBonus: 0,
      firstUseBonus: 0,
      campaigns: [],
      dailyCapPoints: integerOption(args, 'daily-cap', 0, 0, 1_000_000_000),
    },
    tiers: DEFAULT_TIERS,
    tierWindowDays: integerOption(args, 'tier-window-days', 365, 1, 3660),
    ...(expireAfterMonths === undefined
      ? {}
      : { expireAfterMonths: integerOption(args, 'expire-after-months', 12, 1, 1200) }),
    pointValueMilliMinor: integerOption(args, 'point-value-milli-minor', 1_000, 0, 1_000_000_000),
  });
  const { createLoyaltyProgram } = await import('../../functions/store/loyalty-programs');
  return createLoyaltyProgram(input, undefined);
}

async function findMemberByContact(args: OpsArgs) {
  const loyaltyProgramId = requiredOption(args, 'program');
  const channel = (option(args, 'channel') ?? 'EMAIL').toUpperCase() as ContactChannel;
  if (!CONTACT_CHANNELS.includes(channel)) throw new UsageError('--channel must be EMAIL or SMS');
  const contact = normaliseContact(channel, requiredOption(args, 'contact'));
  const { findMember, findMemberIdByContact } = await import('../../functions/store/members');
  const { findPointsAccount } = await import('../../functions/store/points-ledger');
  const memberId = await findMemberIdByContact(loyaltyProgramId, channel, contact);
  const member = memberId ? await findMember(memberId) : undefined;
  if (!member) return { found: false };
  const account = await findPointsAccount(member.id);
  return {
    found: true,
    member: {
      id: member.id,
      loyaltyProgramId: member.loyaltyProgramId,
      status: member.status,
      tier: member.tier,
      pointsBalance: account?.balance ?? 0,
      createdAt: member.createdAt,
    },
  };
}

export const loyaltyCommand: OpsCommand = {
  name: 'loyalty',
  summary: 'Loyalty programs (list, create) and a member found by e-mail or phone.',
  usage: [
    '--programs                                   list the loyalty programs',
    '--create-program --name <n> --currency <c> --card-programs <id,id> [--points-per-unit <n>]',
    '   [--points-per-unit-loaded <n>] [--daily-cap <n>] [--expire-after-months <n>] [--point-value-milli-minor <n>]',
    '--member --program <lp> --contact <e-mail or +phone> [--channel EMAIL|SMS]',
    '--aws                                        the deployment of the environment (TABLE_NAME, ...)',
    '--data-dir <dir> --dynamo-port <n>           npm start stack (default .local, 8000)',
  ].join('\n'),
  run: async (args, io) => {
    const actions = ['programs', 'create-program', 'member'].filter((name) => args.get(name) === true);
    if (actions.length !== 1)
      throw new UsageError('give exactly one of --programs, --create-program, --member');
    await useEnvironment(args);
    if (actions[0] === 'programs') {
      const { allLoyaltyPrograms } = await import('../../functions/store/loyalty-programs');
      const programs = await allLoyaltyPrograms();
      io.out(JSON.stringify({ programs }, null, 2));
      return 0;
    }
    if (actions[0] === 'create-program') {
      io.out(JSON.stringify({ program: await createProgram(args) }, null, 2));
      return 0;
    }
    const found = await findMemberByContact(args);
    io.out(JSON.stringify(found, null, 2));
    return found.found ? 0 : 1;
  },
};

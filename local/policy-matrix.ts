import { fileURLToPath } from 'node:url';
import { CARD_POLICY, CARD_STATES, CARD_VERBS, type CardState } from '../functions/core/card-policy';

/**
 * The README's access matrix, generated from the card-verb policy (functions/core/card-policy.ts):
 * `npm run policy-matrix` prints it; test/unit/card-policy.test.ts checks that the README holds it.
 */
const states = (list: readonly CardState[]) =>
  list.length === 0 ? '—' : list.length === CARD_STATES.length ? 'any' : list.join(', ');

export function policyMatrixMarkdown(): string {
  const header = [
    '| verb | what it does | merchant key | staff | jobs | card holder (portal) | card states (merchant / staff / jobs / holder) | expired card | PIN | own entry or hold only | program limits | reason |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const rows = CARD_VERBS.map((verb) => {
    const rule = CARD_POLICY[verb];
    const cells = [
      `\`${verb}\``,
      rule.summary,
      rule.merchant ? `\`${rule.merchant}\`` : '—',
      rule.staff.length > 0 ? rule.staff.join(', ') : '—',
      rule.system ? 'yes' : '—',
      rule.holder ? 'yes' : '—',
      `${states(rule.states.merchant)} / ${states(rule.states.staff)} / ${states(rule.states.system)} / ${states(rule.states.holder ?? [])}`,
      rule.expiry === 'REFUSE' ? 'refused' : 'as its state',
      {
        SPEND: "merchants, by the program's PIN policy",
        CURRENT: 'merchants give the current PIN',
        NONE: '—',
      }[rule.pin],
      rule.ownEntry ? 'merchants' : '—',
      rule.limits.length > 0 ? rule.limits.join(', ') : '—',
      { STAFF: 'staff', ALWAYS: 'always', NO: '—' }[rule.reason],
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [...header, ...rows].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${policyMatrixMarkdown()}\n`);

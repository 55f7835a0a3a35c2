import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CARD_POLICY, CARD_VERBS, mayActInState, stateRefusal } from '../../functions/core/card-policy';
import { ROUTES } from '../../functions/http/route-table';
import { policyMatrixMarkdown } from '../../local/policy-matrix';

describe('the card-verb policy', () => {
  it('is what the README shows (npm run policy-matrix)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = /<!-- policy-matrix:start -->\n([\s\S]*?)\n<!-- policy-matrix:end -->/.exec(readme)?.[1];
    // The formatter pads the table's cells; the cells themselves must be the generated ones.
    const cells = (table: string | undefined) =>
      (table ?? '').split('\n').map((row) => row.split('|').map((cell) => cell.trim().replace(/^-+$/, '-')));
    expect(cells(shown)).toEqual(cells(policyMatrixMarkdown()));
  });

  it('gives every card route of a verb exactly the callers of its row', () => {
    const routeOf = (path: string) => ROUTES.find((route) => route.method === 'POST' && route.path === path);
    expect(routeOf('/v1/cards/{cardId}/transfer')?.access).toEqual({
      merchant: CARD_POLICY.TRANSFER.merchant,
      staff: CARD_POLICY.TRANSFER.staff,
    });
    expect(routeOf('/v1/cards/{cardId}/adjust')?.access).toEqual({ staff: CARD_POLICY.ADJUST.staff });
  });

  it('never lets anyone spend from a card that is not active, nor anyone but a job expire one', () => {
    for (const verb of ['REDEEM', 'HOLD', 'CASH_OUT', 'LOAD'] as const) {
      for (const state of ['PENDING', 'BLOCKED', 'DEACTIVATED', 'EXPIRED'] as const) {
        expect(mayActInState(verb, { type: 'merchant', id: 'm' }, state), `${verb} ${state}`).toBe(false);
        expect(mayActInState(verb, { type: 'staff', id: 's' }, state), `${verb} ${state}`).toBe(false);
      }
    }
    expect(
      CARD_VERBS.filter((verb) => CARD_POLICY[verb].system && CARD_POLICY[verb].staff.length === 0),
    ).toEqual(['EXPIRE']);
  });

  it('lets a holder only transfer: rewards load and reverse as the system, never as the holder', () => {
    expect(CARD_VERBS.filter((verb) => CARD_POLICY[verb].holder)).toEqual(['TRANSFER']);
    const holder = { type: 'holder', id: 'mem_1' } as const;
    for (const verb of ['LOAD', 'REVERSE'] as const) {
      expect(mayActInState(verb, holder, 'ACTIVE'), verb).toBe(false);
      expect(mayActInState(verb, { type: 'system', id: 'loyalty-rewards' }, 'ACTIVE'), verb).toBe(true);
    }
  });

  it('answers a refused state with the code a till can act on', () => {
    expect(stateRefusal('REDEEM', 'BLOCKED').code).toBe('CARD_BLOCKED');
    expect(stateRefusal('REDEEM', 'EXPIRED').code).toBe('CARD_EXPIRED');
    expect(stateRefusal('REDEEM', 'PENDING').code).toBe('CARD_NOT_ACTIVE');
    expect(stateRefusal('BLOCK', 'DEACTIVATED').code).toBe('CONFLICT');
    expect(stateRefusal('ACTIVATE', 'EXPIRED').code).toBe('CARD_EXPIRED');
  });
});

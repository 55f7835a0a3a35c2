import { planIssue, planOperation } from '../../functions/core/card';
import type { ExportPeriod } from '../../functions/core/export-period';
import { newId } from '../../functions/core/ids';
import type { Program } from '../../functions/core/program';
import { cardItem } from '../../functions/store/card-items';
import { entryKey } from '../../functions/store/keys';
import { createProgram } from '../../functions/store/programs';

/** The program the export benchmarks issue their cards under (USD, no PIN, no expiry, 10 M cards). */
export function createExportProgram(name: string): Promise<Program> {
  return createProgram(
    {
      name,
      currency: 'USD',
      codeFormat: { alphabet: 'NUMERIC_LUHN', length: 16, prefix: '' },
      maxCards: 10_000_000,
      pinPolicy: 'NEVER',
      minLoad: 100,
      maxLoad: 100_000,
      maxBalance: 1_000_000,
      expiryPolicy: { type: 'NONE' },
      cashOut: { enabled: false },
      deactivation: 'ALLOW_WITH_BALANCE',
    },
    [],
    undefined,
  );
}

/**
 * Card number `n`'s items, as the card store would have written them: ISSUE + ACTIVATE five days before
 * the period (opening liability), a REDEEM in the period, and every third card a LOAD in the period; the
 * card as it ends, then each entry.
 */
export function exportCardItems(
  program: Program,
  period: Pick<ExportPeriod, 'periodStart'>,
): (n: number) => Record<string, unknown>[] {
  const before = new Date(Date.parse(period.periodStart) - 5 * 86_400_000);
  const during = new Date(Date.parse(period.periodStart) + 10 * 86_400_000);
  const actor = { type: 'system', id: 'bench' } as const;
  return (n) => {
    const issued = planIssue(
      program,
      {
        cardId: newId('gc', before),
        last4: String(n % 10_000).padStart(4, '0'),
        type: 'DIGITAL',
        amount: 5_000,
        activate: true,
      },
      { actor, request: {}, now: before },
    );
    let card = issued.card;
    const entries = [...issued.entries];
    const redeem = planOperation(
      card,
      program,
      { type: 'REDEEM', amount: 100 + (n % 900) },
      { actor, request: { channel: 'POS', locationId: `store-${n % 50}` }, now: during },
    );
    card = redeem.card;
    entries.push(redeem.entry);
    if (n % 3 === 0) {
      const load = planOperation(
        card,
        program,
        { type: 'LOAD', amount: 1_000 },
        { actor, request: {}, now: new Date(during.getTime() + 3_600_000) },
      );
      card = load.card;
      entries.push(load.entry);
    }
    return [cardItem(card), ...entries.map((entry) => ({ ...entryKey(entry.cardId, entry.seq), ...entry }))];
  };
}

import { describe, expect, it } from 'vitest';
import { cardIdForCode } from '../../functions/core/card-code';
import { newId } from '../../functions/core/ids';
import {
  CHANNELS,
  ENTRY_TYPES,
  type LedgerEntry,
  parseTransactionId,
  sumOfAmounts,
  transactionId,
} from '../../functions/core/ledger';
import { ledgerContinuityProblems } from '../../functions/core/ledger-integrity';
import { CARD_ID, NOW, NOW_ISO } from './domain-fixtures';

const BODY = CARD_ID.slice(3);

describe('entry types and channels', () => {
  it('cover every type the design names', () => {
    expect([...ENTRY_TYPES].sort()).toEqual(
      [
        'ISSUE',
        'ACTIVATE',
        'LOAD',
        'REDEEM',
        'REFUND',
        'HOLD',
        'CAPTURE',
        'VOID',
        'REVERSAL',
        'TRANSFER_OUT',
        'TRANSFER_IN',
        'ADJUST_INCREMENT',
        'ADJUST_DECREMENT',
        'CLEAR_BALANCE',
        'EXPIRE',
        'BLOCK',
        'UNBLOCK',
        'DEACTIVATE',
        'PIN_SET',
        'PIN_RESET',
      ].sort(),
    );
    expect(new Set(ENTRY_TYPES).size).toBe(ENTRY_TYPES.length);
  });

  it('cover every channel the design names', () => {
    for (const channel of ['POS', 'ONLINE', 'CONSOLE', 'PORTAL', 'SYSTEM']) {
      expect(CHANNELS).toContain(channel);
    }
  });
});

describe('transactionId and parseTransactionId', () => {
  it('names the card and the sequence', () => {
    expect(transactionId(CARD_ID, 1)).toBe(`tx_${BODY}_1`);
    expect(transactionId(CARD_ID, 42)).toBe('tx_0123456789abcdefghjkmnpqrs_42');
  });

  it.each([1, 2, 9, 10, 99, 1000, 123_456_789, 9_999_999_999])('round-trips sequence %i', (seq) => {
    expect(parseTransactionId(transactionId(CARD_ID, seq))).toEqual({ cardId: CARD_ID, seq });
  });

  it('round-trips ids of real cards', () => {
    for (const code of ['4539578763621486', '4111111111111111', '79927398713']) {
      const cardId = cardIdForCode(code, 'pepper');
      expect(parseTransactionId(transactionId(cardId, 7))).toEqual({ cardId, seq: 7 });
    }
    const sortable = newId('gc', NOW);
    expect(parseTransactionId(transactionId(sortable, 3))).toEqual({ cardId: sortable, seq: 3 });
  });

  it('gives different ids to different entries', () => {
    const ids = new Set<string>();
    for (const cardId of [CARD_ID, cardIdForCode('4111111111111111', 'pepper')]) {
      for (let seq = 1; seq <= 200; seq++) ids.add(transactionId(cardId, seq));
    }
    expect(ids.size).toBe(400);
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'tx_'],
    ['no sequence', `tx_${BODY}`],
    ['empty sequence', `tx_${BODY}_`],
    ['sequence zero', `tx_${BODY}_0`],
    ['leading zero', `tx_${BODY}_01`],
    ['negative sequence', `tx_${BODY}_-1`],
    ['fractional sequence', `tx_${BODY}_1.5`],
    ['exponent', `tx_${BODY}_1e3`],
    ['hex sequence', `tx_${BODY}_0x10`],
    ['eleven-digit sequence', `tx_${BODY}_12345678901`],
    ['short card part', `tx_${BODY.slice(1)}_1`],
    ['long card part', `tx_${BODY}a_1`],
    ['upper-case prefix', `TX_${BODY}_1`],
    ['upper-case card part', `tx_${BODY.toUpperCase()}_1`],
    ['card prefix instead', `gc_${BODY}`],
    ['card id kept in', `tx_gc_${BODY}_1`],
    ['trailing newline', `tx_${BODY}_1\n`],
    ['leading space', ` tx_${BODY}_1`],
    ['trailing space', `tx_${BODY}_1 `],
    ['extra segment', `tx_${BODY}_1_2`],
    ['double underscore', `tx_${BODY}__1`],
    ['path traversal', 'tx_../../../../etc/passwd_1'],
    ['path traversal of the right length', 'tx_..%2F..%2F..%2Fetc%2Fpasswd_1'],
    ['query injection', `tx_${BODY}_1' OR '1'='1`],
    ['expression injection', `tx_${BODY}_1#status`],
    ['Arabic-Indic digit', `tx_${BODY}_\u0661`],
    ['full-width digit', `tx_${BODY}_\uff11`],
    ['zero-width space', `tx_${BODY}\u200b_1`],
    ['NUL byte', `tx_${BODY}_1\u0000`],
    ['huge input', `tx_${'a'.repeat(100_000)}_1`],
  ])('rejects a hostile id: %s', (_label, id) => {
    expect(parseTransactionId(id)).toBeUndefined();
  });

  it('accepts exactly the shape it writes', () => {
    expect(parseTransactionId(`tx_${'0'.repeat(26)}_1`)).toEqual({ cardId: `gc_${'0'.repeat(26)}`, seq: 1 });
    expect(parseTransactionId(`tx_${'z'.repeat(26)}_9999999999`)).toEqual({
      cardId: `gc_${'z'.repeat(26)}`,
      seq: 9_999_999_999,
    });
  });
});

describe('sumOfAmounts', () => {
  it('adds signed amounts', () => {
    expect(sumOfAmounts([])).toBe(0);
    expect(sumOfAmounts([{ amount: 2500 }, { amount: -1000 }, { amount: 0 }, { amount: 300 }])).toBe(1800);
  });
});

function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const seq = overrides.seq ?? 2;
  return {
    id: transactionId(CARD_ID, seq),
    cardId: CARD_ID,
    programId: 'prg_test',
    seq,
    type: 'REDEEM',
    amount: -500,
    currency: 'USD',
    balanceAfter: 2000,
    availableAfter: 2000,
    actor: { type: 'merchant', id: 'mer_1' },
    channel: 'POS',
    createdAt: NOW_ISO,
    ...overrides,
  };
}

const first = entry({ seq: 1, type: 'ISSUE', amount: 2500, balanceAfter: 2500, availableAfter: 2500 });

describe('ledgerContinuityProblems', () => {
  it('finds nothing wrong with a sound first entry and a sound follower', () => {
    expect(ledgerContinuityProblems(first, undefined)).toEqual([]);
    expect(ledgerContinuityProblems(entry(), first)).toEqual([]);
    expect(
      ledgerContinuityProblems(
        entry({ type: 'HOLD', amount: 0, balanceAfter: 2500, availableAfter: 500 }),
        first,
      ),
    ).toEqual([]);
  });

  it('finds a first entry whose balance is not its amount', () => {
    expect(ledgerContinuityProblems({ ...first, balanceAfter: 2600 }, undefined)).toEqual([
      'first entry balance differs from its amount',
    ]);
  });

  it('finds broken balance arithmetic', () => {
    expect(ledgerContinuityProblems(entry({ balanceAfter: 2100, availableAfter: 2100 }), first)).toEqual([
      'balance 2500 + -500 != 2100',
    ]);
  });

  it('finds a missing previous entry', () => {
    expect(ledgerContinuityProblems(entry({ seq: 5 }), undefined)).toEqual(['entry 4 is missing']);
  });

  it('finds a change of currency', () => {
    expect(ledgerContinuityProblems(entry({ currency: 'EUR' }), first)).toEqual(['currency changed']);
  });

  it('finds available below zero or above the balance', () => {
    expect(ledgerContinuityProblems(entry({ availableAfter: -1 }), first)).toEqual(['available below zero']);
    expect(ledgerContinuityProblems(entry({ availableAfter: 2001 }), first)).toEqual([
      'available above balance',
    ]);
  });

  it('finds amounts that are not safe integers', () => {
    expect(
      ledgerContinuityProblems(
        entry({ amount: -500.5, balanceAfter: 1999.5, availableAfter: 1999.5 }),
        first,
      ),
    ).toEqual(['non-integer amount']);
    expect(ledgerContinuityProblems(entry({ balanceAfter: Number.NaN }), first)).toContain(
      'non-integer amount',
    );
  });

  it('lists every problem at once', () => {
    const broken = entry({ seq: 3, currency: 'EUR', amount: 10.5, balanceAfter: 5, availableAfter: 6 });
    expect(ledgerContinuityProblems(broken, undefined)).toEqual([
      'non-integer amount',
      'available above balance',
      'entry 2 is missing',
    ]);
    expect(ledgerContinuityProblems(broken, first)).toEqual([
      'non-integer amount',
      'available above balance',
      'currency changed',
      'balance 2500 + 10.5 != 5',
    ]);
  });
});

import type { OpsCommand } from './command';
import { createStaffCommand } from './create-staff';
import { loyaltyCommand } from './loyalty';
import { productionCommand } from './production';
import { replayDlqCommand } from './replay-dlq';
import { restoreDrill } from './restore-drill';
import { verifyLedgerCommand } from './verify-ledger';

/**
 * The commands of `npm run ops -- <command>`: one module each under local/ops/. A new command (create-staff,
 * verify-ledger, ...) is a module exporting an OpsCommand, added here.
 */
export const OPS_COMMANDS: readonly OpsCommand[] = [
  createStaffCommand,
  restoreDrill,
  replayDlqCommand,
  verifyLedgerCommand,
  loyaltyCommand,
  productionCommand,
];

import { PrinterDataError } from '../../../functions/core/production/printer-data-error';

/** The stable reason a printer-data check refused `action` with, or 'NONE' when it passed. */
export function reasonOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof PrinterDataError) return error.reason;
    throw error;
  }
  return 'NONE';
}

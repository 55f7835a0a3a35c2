/**
 * What Apple's devices send to the PassKit web service's `/log` is caller text: anyone can POST there.
 * Before it reaches our logs it is bounded (at most DEVICE_LOG_LIMITS.lines lines, each cut to
 * DEVICE_LOG_LIMITS.lineChars characters), stripped of control, bidi and zero-width characters (no forged
 * log lines, no terminal escapes) and redacted: long digit runs (card codes, PINs are shorter but sit in
 * them), and long token-like runs (pass authentication tokens, push tokens, device ids, keys) become
 * placeholders. Card, program and message ids stay: they are not secrets, and they are what the log is for.
 */
export const DEVICE_LOG_LIMITS = { lines: 20, lineChars: 300 } as const;

const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const DIGITS = /(?<![\w-])\d{6,}(?![\w-])/g;
const TOKEN = /(?<![\w-])(?!(?:gc|prg|wmsg)_[0-9a-z]{20,30}(?![\w-]))[\w+/=-]{16,}/g;

export function sanitizeDeviceLogLine(line: string): string {
  const cleaned = line.replace(UNSAFE, ' ').replace(TOKEN, '[redacted]').replace(DIGITS, '[digits]').trim();
  return cleaned.length > DEVICE_LOG_LIMITS.lineChars
    ? `${cleaned.slice(0, DEVICE_LOG_LIMITS.lineChars)}…`
    : cleaned;
}

/** The lines worth logging and how many were left out. */
export function deviceLogLines(lines: readonly string[]): { lines: string[]; omitted: number } {
  const kept = lines.slice(0, DEVICE_LOG_LIMITS.lines).map(sanitizeDeviceLogLine);
  return { lines: kept, omitted: Math.max(0, lines.length - kept.length) };
}

import { describe, expect, it } from 'vitest';
import { DEVICE_LOG_LIMITS, deviceLogLines, sanitizeDeviceLogLine } from '../../functions/core/device-log';

describe("what Apple's devices POST to /log", () => {
  it('is bounded: at most 20 lines of at most 300 characters, the rest counted', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'x '.repeat(1000)}`);
    const logged = deviceLogLines(lines);
    expect(logged.lines).toHaveLength(DEVICE_LOG_LIMITS.lines);
    expect(logged.omitted).toBe(80);
    for (const line of logged.lines) expect(line.length).toBeLessThanOrEqual(DEVICE_LOG_LIMITS.lineChars + 1);
  });

  it('redacts tokens, push tokens, device ids and digit runs, and keeps card ids', () => {
    const line = sanitizeDeviceLogLine(
      `Web service error for pass.local.giftcard (gc_0123456789abcdefghjkmnpqrs): Authorization ApplePass ` +
        `${'Ab3_'.repeat(11)} push ${'ab'.repeat(32)} code 6011000990139424 pin 482193`,
    );
    expect(line).toContain('gc_0123456789abcdefghjkmnpqrs');
    expect(line).not.toMatch(/Ab3_Ab3_|abab|6011000990139424|482193/);
    expect(line).toContain('[redacted]');
  });

  it('cannot forge log lines or send terminal escapes', () => {
    const line = sanitizeDeviceLogLine('ok\n{"level":"ERROR","message":"forged"}\u001b[2J\u202eevil');
    for (const unsafe of ['\n', '\u001b', '\u202e']) expect(line.includes(unsafe)).toBe(false);
  });
});

/**
 * One `npm run ops -- <command>` command: its module under local/ops/, listed in local/ops/registry.ts.
 * Commands print their result (a JSON report) on stdout and their progress on stderr.
 */
export interface OpsIo {
  /** The result, one JSON document (stdout). */
  readonly out: (text: string) => void;
  /** Progress and notes for the operator (stderr). */
  readonly progress: (text: string) => void;
}

export interface OpsCommand {
  readonly name: string;
  readonly summary: string;
  /** Options, one per line, shown by `npm run ops -- help <command>`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code (0 when everything checked out). */
  readonly run: (args: OpsArgs, io: OpsIo) => Promise<number>;
}

/** `--name value` and `--flag` options; anything else is a usage error. */
export type OpsArgs = ReadonlyMap<string, string | true>;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseOpsArgs(argv: readonly string[]): OpsArgs {
  const args = new Map<string, string | true>();
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    if (!token.startsWith('--') || token.length < 3) throw new UsageError(`unexpected argument "${token}"`);
    const [name, inline] = token.slice(2).split('=', 2) as [string, string | undefined];
    const next = argv[index + 1];
    if (inline !== undefined) args.set(name, inline);
    else if (next !== undefined && !next.startsWith('--')) {
      args.set(name, next);
      index += 1;
    } else args.set(name, true);
  }
  return args;
}

export function option(args: OpsArgs, name: string): string | undefined {
  const value = args.get(name);
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value;
}

export function requiredOption(args: OpsArgs, name: string): string {
  const value = option(args, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

export function integerOption(
  args: OpsArgs,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = option(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

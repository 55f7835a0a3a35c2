/**
 * `npm run ops -- <command> [--option value ...]`: operations against a deployed region (AWS credentials of
 * the operator, as for `npm run deploy`). `npm run ops -- help` lists the commands (local/ops/registry.ts).
 */
import { type OpsCommand, type OpsIo, parseOpsArgs, UsageError } from './ops/command';
import { OPS_COMMANDS } from './ops/registry';

function help(command?: OpsCommand): string {
  if (command) return `npm run ops -- ${command.name} [options]\n${command.summary}\n\n${command.usage}\n`;
  const width = Math.max(...OPS_COMMANDS.map((entry) => entry.name.length));
  return [
    'npm run ops -- <command> [options]   (npm run ops -- help <command> for its options)',
    '',
    ...OPS_COMMANDS.map((entry) => `  ${entry.name.padEnd(width)}  ${entry.summary}`),
    '',
  ].join('\n');
}

export async function runOps(argv: readonly string[], io: OpsIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help') {
    const about = OPS_COMMANDS.find((entry) => entry.name === rest[0]);
    io.out(help(about));
    return 0;
  }
  const command = OPS_COMMANDS.find((entry) => entry.name === name);
  if (!command) {
    io.progress(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(parseOpsArgs(rest), io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.progress(`${error.message}\n\n${help(command)}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const io: OpsIo = {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    // A progress bar (\r...) redraws its line; anything else is a line of its own.
    progress: (text) =>
      process.stderr.write(text.startsWith('\r') || text.endsWith('\n') ? text : `${text}\n`),
  };
  runOps(process.argv.slice(2), io).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`ops: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}

/**
 * `npm run ops -- <command> [options]`: operator commands against a deployed region (AWS credentials of
 * the retailer's account, as for `cdk deploy`). One module per command under local/ops/, each exporting
 * `summary` and `run(args)`.
 */
import { LocalRuntimeError } from './errors';

interface OpsCommand {
  readonly summary: string;
  run(args: readonly string[]): Promise<void>;
}

const COMMANDS: Record<string, () => Promise<OpsCommand>> = {
  'create-staff': () => import('./ops/create-staff'),
};

async function main(argv: readonly string[]): Promise<void> {
  const [name, ...args] = argv;
  const load = name ? COMMANDS[name] : undefined;
  if (!load) {
    const lines = await Promise.all(
      Object.entries(COMMANDS).map(
        async ([command, loader]) => `  ${command.padEnd(16)}${(await loader()).summary}`,
      ),
    );
    process.stderr.write(`Usage: npm run ops -- <command> [options]\n\nCommands:\n${lines.join('\n')}\n`);
    process.exit(name ? 1 : 0);
  }
  await (await load()).run(args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`npm run ops: ${error instanceof LocalRuntimeError ? error.message : String(error)}`);
  process.exit(1);
});

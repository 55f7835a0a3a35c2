/**
 * `npm start`: the whole platform on this machine, no AWS account needed.
 * See DESIGN.md "Local runtime" and `npm start -- --help`.
 */
import { parseArgs } from 'node:util';
import { LocalRuntimeError } from './errors';
import { consoleLog } from './log';
import { describeDemo } from './seed';
import { type LocalStack, startLocalStack } from './stack';
import { ensureWebBuild } from './web/build';

const HELP = `Usage: npm start -- [options]

Runs the gift card platform locally: DynamoDB Local, an S3 server, the HTTP API on the real Lambda
handlers, the stream consumers, and demo data (written to .local/demo.json).

Options:
  --port <port>         HTTP API port (default 3000, or $PORT)
  --dynamo-port <port>  DynamoDB Local port (default 8000)
  --s3-port <port>      S3 (s3rver) port (default 4569)
  --mail-port <port>    mail catcher (MailDev) SMTP port (default 1025)
  --mail-web-port <port>  mail catcher web UI port (default 1080)
  --fresh               forget all local data first and seed the demo again
  --in-memory           keep DynamoDB data in memory only (nothing persists)
  --data-dir <dir>      where data, secrets and demo.json live (default .local)
  --log-level <level>   handlers' log level: DEBUG, INFO, WARN (default), ERROR
  --help                show this help
`;

function portOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new LocalRuntimeError(`${name} must be a port number (0-65535), got "${value}".`);
  }
  return port;
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'dynamo-port': { type: 'string' },
        's3-port': { type: 'string' },
        'mail-port': { type: 'string' },
        'mail-web-port': { type: 'string' },
        fresh: { type: 'boolean', default: false },
        'in-memory': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new LocalRuntimeError(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
  }
}

function banner(stack: LocalStack): string {
  const lines = [
    '',
    'Gift card platform running locally',
    `  HTTP API        ${stack.baseUrl}   (try ${stack.baseUrl}/health)`,
    `  Portal          ${stack.baseUrl}/   (card holders: balance by code and PIN)`,
    `  Staff console   ${stack.baseUrl}/console   (sign in with a demo role)`,
    `  DynamoDB Local  ${stack.dynamodbEndpoint}   table ${stack.tableName}`,
    `  S3 (s3rver)     ${stack.s3Endpoint}   bucket ${stack.s3Bucket}`,
    `  Stream poller   consumers of functions/streams/registry.ts; failures in ${stack.dataDir}/dlq/`,
    `  Mail catcher    ${stack.mailCatcher ? `${stack.mailCatcher.webUrl}   (every e-mail and text message sent, SMTP ${stack.mailCatcher.smtpPort})` : 'off'}`,
    `  Staff issuer    ${stack.issuer.issuer} (ES256, tokens valid 12 h)`,
    `  Metrics (EMF)   ${stack.metricsFile}   (what CloudWatch would receive; tail -f it)`,
    `  Data            ${stack.dataDir}`,
    '',
  ];
  if (stack.demo) {
    lines.push(stack.demoSeeded ? 'Seeded the demo data.' : 'Reusing the demo data; staff tokens re-minted.');
    lines.push(describeDemo(stack.demo, stack.demoFile), '');
  }
  lines.push('Press Ctrl-C to stop.');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  const log = consoleLog();
  await ensureWebBuild((line) => log.info(line));
  const logLevel = args['log-level'] ?? process.env.LOG_LEVEL;
  const stack = await startLocalStack({
    port: portOption(args.port ?? process.env.PORT, '--port', 3000),
    dynamoPort: portOption(args['dynamo-port'], '--dynamo-port', 8000),
    s3Port: portOption(args['s3-port'], '--s3-port', 4569),
    mailCatcher: {
      smtpPort: portOption(args['mail-port'], '--mail-port', 1025),
      webPort: portOption(args['mail-web-port'], '--mail-web-port', 1080),
    },
    fresh: args.fresh,
    inMemory: args['in-memory'],
    ...(args['data-dir'] ? { dataDir: args['data-dir'] } : {}),
    ...(logLevel ? { logLevel } : {}),
    log,
    requestLog: log,
  });
  log.info(banner(stack));

  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // A terminal's Ctrl-C reaches us twice (directly and relayed by tsx): only a later one forces.
      if (Date.now() - stoppingSince < 1_000) return;
      log.warn(`${signal} again: exiting now.`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info(`\n${signal}: stopping...`);
    setTimeout(() => {
      log.warn('Stopping takes too long: exiting now.');
      process.exit(1);
    }, 15_000).unref();
    stack.stop().then(
      () => {
        log.info('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        log.error(`Stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
main().catch((error: unknown) => {
  if (error instanceof LocalRuntimeError) console.error(`\nnpm start: ${error.message}`);
  else console.error('\nnpm start failed:', error);
  // Children (java) are killed by their process 'exit' hooks.
  process.exit(1);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LocalRuntimeError } from './errors';
import { assertPortFree, findFreePort } from './ports';

/**
 * The local mail catcher: MailDev (npm `maildev`), in a child process like DynamoDB Local, so its own
 * signal handling and module-level state stay out of the stack's process. It takes mail by SMTP and shows
 * it in a browser (the web UI, also a REST API: `GET /email`). Every e-mail and text message the platform
 * sends under `npm start` ends there (through local/ses-stand-in.ts), nothing leaves the machine.
 */
export interface MailCatcherOptions {
  /** SMTP port, default 1025; 0 picks a free one. */
  readonly smtpPort?: number;
  /** Web UI port, default 1080; 0 picks a free one. */
  readonly webPort?: number;
  /** Where received mail is kept between runs; in memory (a temp dir of MailDev's) when absent. */
  readonly directory?: string;
}

export interface MailCatcher {
  readonly smtpPort: number;
  /** The web UI (and REST API) of the catcher, e.g. http://127.0.0.1:1080. */
  readonly webUrl: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const STARTUP_TIMEOUT_MS = 30_000;

export async function startMailCatcher(options: MailCatcherOptions = {}): Promise<MailCatcher> {
  const smtpPort = await chosenPort(options.smtpPort ?? 1025, 'SMTP', '--mail-port <port>');
  const webPort = await chosenPort(options.webPort ?? 1080, 'web UI', '--mail-web-port <port>');
  if (options.directory) mkdirSync(options.directory, { recursive: true });
  const bin = createRequire(import.meta.url).resolve('maildev/bin/maildev');
  const args = [bin, '--smtp', String(smtpPort), '--web', String(webPort), '--ip', HOST, '--silent'];
  if (options.directory) args.push('--mail-directory', options.directory);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2_000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const webUrl = `http://${HOST}:${webPort}`;
  try {
    await waitUntilHealthy(child, webUrl, () => stderr);
  } catch (error) {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    throw error;
  }
  return {
    smtpPort,
    webUrl,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
    },
  };
}

async function chosenPort(port: number, what: string, option: string): Promise<number> {
  if (port === 0) return findFreePort(HOST);
  await assertPortFree(port, HOST, { service: `the mail catcher's ${what} (MailDev)`, option });
  return port;
}

async function waitUntilHealthy(child: ChildProcess, webUrl: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new LocalRuntimeError(
        `The mail catcher (MailDev) exited while starting: ${stderr().trim() || 'no output'}`,
      );
    }
    try {
      const answer = await fetch(`${webUrl}/healthz`);
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new LocalRuntimeError(`The mail catcher (MailDev) did not answer on ${webUrl} within 30 s`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

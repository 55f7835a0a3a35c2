import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkJava, parseJavaMajorVersion, startDynamoDbLocal } from '../../local/dynamodb';
import { startHttpServer } from '../../local/http-server';
import { startS3Local } from '../../local/s3';

const JAVA_HINT = 'Java 17+ is required for DynamoDB Local: apt-get install -y openjdk-17-jre-headless';

const tmp = mkdtempSync(join(tmpdir(), 'giftcard-startup-'));
/** A PATH with node and nothing else: no java. */
const noJavaBin = join(tmp, 'bin');
let blocker: Server;
let takenPort: number;

beforeAll(async () => {
  spawnSync('mkdir', ['-p', noJavaBin]);
  symlinkSync(process.execPath, join(noJavaBin, 'node'));
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen({ port: 0, host: '0.0.0.0' }, resolve));
  const address = blocker.address();
  takenPort = typeof address === 'object' && address ? address.port : 0;
});
afterAll(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('Java for DynamoDB Local', () => {
  it('reads old and new version strings', () => {
    expect(parseJavaMajorVersion('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajorVersion('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajorVersion('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajorVersion('nothing here')).toBeUndefined();
  });

  it('is found on this machine', () => {
    expect(checkJava().major).toBeGreaterThanOrEqual(17);
  });

  it('missing: the check names what to install', () => {
    expect(() => checkJava({ ...process.env, PATH: noJavaBin })).toThrow(JAVA_HINT);
  });

  it('missing: npm start prints the hint and exits with code 1', () => {
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/start.ts',
        '--data-dir',
        join(tmp, 'data'),
        '--port',
        '0',
        '--dynamo-port',
        '0',
      ],
      { cwd: process.cwd(), env: { PATH: noJavaBin, HOME: tmp }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(JAVA_HINT);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('a port that is already taken', () => {
  it('DynamoDB Local: a clear error naming the port and --dynamo-port, before java starts', async () => {
    await expect(startDynamoDbLocal({ port: takenPort })).rejects.toThrow(
      `Port ${takenPort} (DynamoDB Local) is already in use. Stop whatever is listening on it, or choose another port with --dynamo-port <port>.`,
    );
  });

  it('S3: names the port and --s3-port', async () => {
    await expect(startS3Local({ port: takenPort, directory: join(tmp, 's3') })).rejects.toThrow(
      `Port ${takenPort} (S3 (s3rver)) is already in use`,
    );
    await expect(startS3Local({ port: takenPort, directory: join(tmp, 's3') })).rejects.toThrow(
      '--s3-port <port>',
    );
  });

  it('HTTP API: names the port and --port', async () => {
    await expect(
      startHttpServer({
        port: takenPort,
        loadHandler: async () => async () => ({ statusCode: 200, body: '' }),
      }),
    ).rejects.toThrow(
      `Port ${takenPort} (HTTP API) is already in use. Stop whatever is listening on it, or choose another port with --port <port>.`,
    );
  });

  it('npm start exits with code 1 and the message', () => {
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/start.ts',
        '--data-dir',
        join(tmp, 'data2'),
        '--dynamo-port',
        String(takenPort),
      ],
      { cwd: process.cwd(), env: { ...process.env }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Port ${takenPort} (DynamoDB Local) is already in use`);
  });
});

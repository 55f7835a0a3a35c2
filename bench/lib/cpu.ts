import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds used by processes, to say where a throughput limit sits: this process, DynamoDB Local
 * (java, found by its port), the load client. Linux /proc only; elsewhere the figures are absent.
 */
const TICKS_PER_SECOND = 100;

function cpuSecondsOfPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pid of the DynamoDB Local java process listening on `port`. */
export function dynamoDbLocalPid(port: number): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        continue;
      }
      if (cmdline.includes('DynamoDBLocal') && new RegExp(`-port ${port}\\b`).test(cmdline))
        return Number(entry);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export interface CpuMark {
  readonly self: number;
  readonly dynamodb: number | undefined;
  readonly at: number;
}

export function cpuMark(dynamodbPid: number | undefined): CpuMark {
  const usage = process.cpuUsage();
  return {
    self: (usage.user + usage.system) / 1e6,
    dynamodb: dynamodbPid === undefined ? undefined : cpuSecondsOfPid(dynamodbPid),
    at: performance.now(),
  };
}

/** CPU milliseconds per request of this process and of DynamoDB Local between two marks. */
export function cpuPerRequest(from: CpuMark, to: CpuMark, requests: number, clientCpuMs?: number) {
  const per = (seconds: number | undefined) =>
    seconds === undefined ? undefined : Math.round(((seconds * 1000) / Math.max(1, requests)) * 100) / 100;
  const wallSeconds = (to.at - from.at) / 1000;
  return {
    serverProcessMs: per(to.self - from.self),
    dynamodbLocalMs: per(
      to.dynamodb !== undefined && from.dynamodb !== undefined ? to.dynamodb - from.dynamodb : undefined,
    ),
    ...(clientCpuMs === undefined ? {} : { loadClientMs: per(clientCpuMs / 1000) }),
    coresBusy:
      Math.round(
        ((to.self - from.self + ((to.dynamodb ?? 0) - (from.dynamodb ?? 0)) + (clientCpuMs ?? 0) / 1000) /
          wallSeconds) *
          100,
      ) / 100,
  };
}

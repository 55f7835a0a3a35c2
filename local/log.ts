/** The local runtime's own console output (handlers log through Powertools on their own). */
export interface LocalLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLog = (prefix = ''): LocalLog => ({
  info: (message) => console.log(`${prefix}${message}`),
  warn: (message) => console.warn(`${prefix}${message}`),
  error: (message) => console.error(`${prefix}${message}`),
});

export const silentLog: LocalLog = { info: () => {}, warn: () => {}, error: () => {} };

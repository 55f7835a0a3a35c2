/**
 * An error whose message is meant for the person running `npm start`: the CLI prints it as is
 * (no stack trace) and exits with code 1.
 */
export class LocalRuntimeError extends Error {
  override readonly name = 'LocalRuntimeError';
}

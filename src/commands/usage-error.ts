/** A command line the CLI does not understand: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(usage: string) {
    super(`usage: ${usage}`);
    this.name = 'UsageError';
  }
}

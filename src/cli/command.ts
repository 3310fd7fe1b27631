/** One `sss` subcommand: its help text and what it does. */
export interface Command {
  /** Printed for `--help` and after a usage error. */
  readonly usage: string;
  /** Runs the command; resolves to its exit code. */
  run(args: readonly string[]): Promise<number>;
}

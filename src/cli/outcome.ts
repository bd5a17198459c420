/** How a subcommand ended; the CLI entry turns it into its exit code (0, 1, 2). */
export type CommandOutcome = 'ok' | 'failed' | 'usage';

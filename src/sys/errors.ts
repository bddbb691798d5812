// Errors that carry the documented exit code (docs/cli.md, DESIGN.md "Exit codes").
export const EXIT = {
  ok: 0,
  findings: 1,
  usage: 2,
  environment: 3,
  applyRolledBack: 4,
  rollbackFailed: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class NettuneError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'NettuneError';
  }
}

/** Bad usage or bad input (exit 2). */
export const usageError = (message: string, hint?: string): NettuneError => new NettuneError(message, EXIT.usage, hint);

/** The environment cannot do it: not root, tool missing, kernel lacks a feature (exit 3). */
export const environmentError = (message: string, hint?: string): NettuneError =>
  new NettuneError(message, EXIT.environment, hint);

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

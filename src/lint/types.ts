// The shapes `lint` reports: files in application order, assignments, messages and the summary.
import type { SysctlAssignment, SysctlExclusion } from './parse.js';

export const SYSTEM_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'] as const;
export const SYSTEM_TAIL_FILE = '/etc/sysctl.conf';

export type LintSeverity = 'error' | 'warning' | 'info';
export const LINT_SEVERITIES: readonly LintSeverity[] = ['info', 'warning', 'error'];

export type LintCode =
  | 'parse-error'
  | 'read-error'
  | 'unknown-key'
  | 'invalid-value'
  | 'removed-knob'
  | 'absent-key'
  | 'not-checked'
  | 'overridden'
  | 'duplicate'
  | 'drift'
  | 'kernel-default'
  | 'global-in-netns'
  | 'implausible-value'
  | 'not-available'
  | 'exclusion'
  | 'masked-file'
  | 'duplicate-file'
  | 'disabled-file'
  | 'rule-finding';

export interface LintMessage {
  /** null for messages about the configuration as a whole. */
  file: string | null;
  /** null for messages about a whole file. */
  line: number | null;
  severity: LintSeverity;
  code: LintCode;
  message: string;
  key: string | null;
  suggestions?: string[];
  /** For rule-finding: the audit rule id. */
  rule?: string;
}

export type FileStatus = 'read' | 'masked' | 'duplicate' | 'disabled' | 'unreadable';

export interface LintFile {
  path: string;
  /** The search-path directory it was found in (null when named directly). */
  dir: string | null;
  name: string;
  status: FileStatus;
  /** Position in the application order (0 first), null when not read. */
  order: number | null;
  /** masked: the same-named file in an earlier directory that wins. */
  masked_by: string | null;
  /** duplicate: the path under which the same file (same real path) is read. */
  same_as: string | null;
  realpath: string | null;
  error?: string;
}

export interface SearchDir {
  dir: string;
  exists: boolean;
  /** Skipped: same real path as this earlier directory. */
  same_as: string | null;
}

export interface LintAssignment extends SysctlAssignment {
  /** Decides the final value of at least one key. */
  winner: boolean;
  /** The keys whose final value it decides (for a glob: the matching keys it wins). */
  applies_to: string[];
}

export interface LintSummary {
  files_read: number;
  files_masked: number;
  files_skipped: number;
  assignments: number;
  keys: number;
  errors: number;
  warnings: number;
  infos: number;
  by_code: Partial<Record<LintCode, number>>;
}

export interface LintResult {
  search_path: SearchDir[];
  files: LintFile[];
  assignments: LintAssignment[];
  exclusions: SysctlExclusion[];
  /** Final value per key as the configuration sets it, and which line decides it. */
  effective: Record<string, { value: string; file: string; line: number }>;
  messages: LintMessage[];
  summary: LintSummary;
}

// ---------------------------------------------------------------------------------------------
// Collecting files

export interface Sources {
  dirs: string[];
  files: string[];
  /** Files that may be missing without complaint (the default /etc/sysctl.conf). */
  optionalFiles?: boolean;
}


// The export formats, by name. Each renders an ExportDoc (source.ts) into files and notes.
import { renderAnsible } from './ansible.js';
import { renderSysctlD } from './sysctld.js';
import { renderTuned } from './tuned.js';
import type { FormatSpec } from './types.js';

export const FORMATS: Readonly<Record<string, FormatSpec>> = {
  'sysctl.d': { render: renderSysctlD, describe: 'one /etc/sysctl.d file, each setting with why, evidence and scope', dir: false, stdout: true },
  tuned: { render: renderTuned, describe: 'a tuned profile directory: [main] summary/include, [sysctl], [net] per device, [sysfs]', dir: true, stdout: true },
  ansible: { render: renderAnsible, describe: 'a role (ansible.posix.sysctl, NIC unit + handlers) and an example playbook', dir: true, stdout: false },
};

export const formatNames = (): string[] => Object.keys(FORMATS);

export { docFromCurrent, docFromPlan, docFromTransaction, loadPlanFile } from './source.js';
export type { ExportDoc, FormatSpec, Rendered, RenderedFile, RenderOptions } from './types.js';

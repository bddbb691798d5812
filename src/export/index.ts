// The export formats, by name. Each renders an ExportDoc (source.ts) into files and notes.
import { renderAnsible } from './ansible.js';
import { renderK8s } from './k8s.js';
import { renderReport } from './report.js';
import { renderShell } from './shell.js';
import { renderSysctlD } from './sysctld.js';
import { renderSystemd } from './systemd.js';
import { renderTuned } from './tuned.js';
import type { FormatSpec } from './types.js';

export const FORMATS: Readonly<Record<string, FormatSpec>> = {
  'sysctl.d': { render: renderSysctlD, describe: 'one /etc/sysctl.d file, each setting with why, evidence and scope', dir: false, stdout: true },
  shell: { render: renderShell, describe: 'a POSIX sh script: checks each value, writes what differs, prints what it changed; --revert from a transaction', dir: false, stdout: true },
  tuned: { render: renderTuned, describe: 'a tuned profile directory: [main] summary/include, [sysctl], [net] per device, [sysfs]', dir: true, stdout: true },
  k8s: { render: renderK8s, describe: 'Kubernetes: safe and unsafe pod sysctls, a Node Tuning Operator Tuned and a DaemonSet for node-level ones', dir: false, stdout: true },
  systemd: { render: renderSystemd, describe: 'the units apply --persist writes (NIC settings, MPTCP, routes and rules, nft tables with their batch file) and a systemd .link file per device for what udev can set', dir: true, stdout: true },
  report: { render: renderReport, describe: 'a Markdown and an HTML document for change review: what changes, why, the evidence, the experiments that test it', dir: true, stdout: true },
  ansible: { render: renderAnsible, describe: 'a role (ansible.posix.sysctl, NIC unit + handlers) and an example playbook', dir: true, stdout: false },
};

export const formatNames = (): string[] => Object.keys(FORMATS);

export { docFromCurrent, docFromPlan, docFromTransaction, loadPlanFile } from './source.js';
export type { ExportDoc, FormatSpec, Rendered, RenderedFile, RenderOptions } from './types.js';

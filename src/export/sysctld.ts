// sysctl.d: one file for /etc/sysctl.d (systemd-sysctl at boot, `sysctl --system` now), each
// setting under comments saying why, the evidence and its scope. NIC settings cannot live here:
// they are listed as notes (the systemd format carries them).
import { routingNotes } from './routing.js';
import { changeId } from './source.js';
import { evidenceOf, generatedBy, mptcpNotExpressed, nftNotExpressed, nicChanges, routingChanges, oneLine, SCOPE_TEXT, scopeOf, sysctlChanges } from './describe.js';
import type { ExportDoc, Rendered, RenderOptions } from './types.js';

export function renderSysctlD(doc: ExportDoc, opts: RenderOptions): Rendered {
  const file = `90-${opts.name}.conf`;
  const sysctls = sysctlChanges(doc);
  const lines = [
    `# ${generatedBy(doc)}`,
    `# Install: cp ${file} /etc/sysctl.d/ && sysctl --system   (systemd-sysctl applies it at every boot)`,
    '# Scope: [global] keys hold one value for the whole machine and only the initial network namespace',
    '# can set them; [netns] keys exist once per namespace (load this file in one with',
    `# ip netns exec NAME sysctl -p ${file}).`,
    '',
  ];
  for (const c of sysctls) {
    const scope = scopeOf(c.key);
    lines.push(`# why: ${oneLine(c.reason)}`, `# evidence: ${evidenceOf(c)}`, `# scope: [${scope}] ${SCOPE_TEXT[scope]}`, `${c.key} = ${c.to}`, '');
  }
  if (sysctls.length === 0) lines.push('# (no sysctl changes)', '');
  const notes = nicChanges(doc).map((c) => `${changeId(c)} = ${c.to}: a NIC setting, which sysctl.d cannot hold (use --format systemd, tuned or ansible)`);
  notes.push(...mptcpNotExpressed(doc, 'sysctl.d'));
  notes.push(...routingNotes(routingChanges(doc), 'sysctl.d', 'use --format shell, systemd or ansible, or apply --persist'));
  notes.push(...nftNotExpressed(doc, 'sysctl.d'));
  return { files: [{ path: file, content: lines.join('\n') }], notes };
}

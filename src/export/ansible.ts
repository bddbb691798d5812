// ansible: a role (tasks, defaults, handlers, meta, README) and an example playbook. The values
// are data in defaults/main.yml; the tasks are fixed: ansible.posix.sysctl sets each key now
// (sysctl -w, only when the live value differs) and persists it in the file a variable names; NIC
// settings are the persisted NIC unit nettune's apply stage writes (same renderer), installed by
// a copy task whose change notifies the handlers that run the same writes now and enable the
// unit at boot. Everything is idempotent and supports --check and --diff.
import { stringify } from 'yaml';
import { ansibleKinds } from './ansible-kinds.js';
import { revertChanges } from './revert.js';
import { nicLine, renderNicUnit } from '../apply/persist.js';
import { renderExec } from '../apply/systemd-exec.js';
import { usageError } from '../sys/errors.js';
import { changeId } from './source.js';
import { generatedBy, nicChanges, oneLine, scopeOf, sysctlChanges } from './describe.js';
import type { ExportDoc, Rendered, RenderOptions } from './types.js';

/** ansible-lint's role-name rule: ^[a-z][a-z0-9_]*$. */
const ROLE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** Free text in variables: Ansible templates every string it reads, so no Jinja delimiter may
 *  reach it from a plan's reason ("{{ lookup('pipe', …) }}" would run on the controller). */
const inert = (text: string): string => oneLine(text).replace(/[{]/g, '(').replace(/[}]/g, ')');

const yaml = (doc: unknown): string => stringify(doc, { lineWidth: 150, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });

/** A comment block of at most ~150 columns a line (yamllint's line-length is 160). */
const comment = (text: string): string[] => {
  const words = oneLine(text).split(' ');
  const lines: string[] = [];
  let cur = '#';
  for (const w of words) {
    if (cur.length + w.length + 1 > 150 && cur !== '#') {
      lines.push(cur);
      cur = '#';
    }
    cur += ` ${w}`;
  }
  lines.push(cur);
  return lines;
};

const tasks = (role: string): string => `---
# ${role}: the sysctls nettune planned, set now and persisted; NIC settings as a boot unit; nft tables,
# routes and rules, MPTCP limits and endpoints set now (the nft table files kept under ${role}_nft_dir).
# Values are in defaults/main.yml. Idempotent: a second run reports changed=0.
- name: Check whether this host is the initial network namespace (global knobs exist only there)
  ansible.builtin.stat:
    path: /proc/sys/net/core/netdev_max_backlog
  register: ${role}_init_netns

- name: Make sure the directory of the sysctl file exists
  ansible.builtin.file:
    path: "{{ ${role}_sysctl_file | dirname }}"
    state: directory
    owner: root
    group: root
    mode: "0755"
  when: ${role}_sysctls | length > 0

- name: Set and persist the planned sysctls
  ansible.posix.sysctl:
    name: "{{ item.key }}"
    value: "{{ item.value }}"
    sysctl_file: "{{ ${role}_sysctl_file }}"
    sysctl_set: true
    reload: false
    ignoreerrors: "{{ ${role}_sysctl_ignore_missing }}"
    state: present
  loop: "{{ ${role}_sysctls }}"
  loop_control:
    label: "{{ item.key }} = {{ item.value }}"
  # a global knob cannot be set from a child network namespace: such hosts show it as skipped
  when: item.scope != 'global' or ${role}_init_netns.stat.exists

- name: Make sure the directory of the NIC unit exists
  ansible.builtin.file:
    path: "{{ ${role}_nic_unit_path | dirname }}"
    state: directory
    owner: root
    group: root
    mode: "0755"
  when: ${role}_nic_settings | length > 0

- name: Install the NIC settings unit
  ansible.builtin.template:
    src: ${role}-nic.service.j2
    dest: "{{ ${role}_nic_unit_path }}"
    owner: root
    group: root
    mode: "0644"
  when: ${role}_nic_settings | length > 0
  notify: ${role} nic settings changed
`;

const handlers = (role: string): string => `---
# Run when the NIC unit changed: the same writes now, then the unit enabled for boot.
- name: Apply the NIC settings now
  ansible.builtin.command:
    argv: "{{ item.argv }}"
  loop: "{{ ${role}_nic_settings }}"
  loop_control:
    label: "{{ item.id }}"
  changed_when: true
  listen: ${role} nic settings changed

- name: Enable the NIC settings unit at boot
  ansible.builtin.systemd:
    name: "{{ ${role}_nic_unit_path | basename }}"
    enabled: true
    daemon_reload: true
  when: ${role}_nic_boot_unit | bool
  listen: ${role} nic settings changed
`;

const meta = (role: string, doc: ExportDoc): string =>
  yaml({
    galaxy_info: {
      role_name: role,
      namespace: 'nettune',
      author: 'nettune',
      description: oneLine(`Network tuning exported by nettune from ${doc.kind === 'plan' ? `plan ${doc.label}` : doc.label}`).slice(0, 200),
      license: 'MIT',
      min_ansible_version: '2.14',
      platforms: [
        { name: 'Debian', versions: ['bookworm', 'bullseye'] },
        { name: 'Ubuntu', versions: ['focal', 'jammy'] },
        { name: 'EL', versions: ['8', '9'] },
      ],
      galaxy_tags: ['sysctl', 'network', 'tuning', 'nettune'],
    },
    dependencies: [],
  }).replace(/^/, '---\n');

const playbook = (role: string): string => `---
# Example: ansible-playbook -i INVENTORY playbook.yml [--check] [--diff] [-e ${role}_become=false]
- name: Apply the network tuning nettune exported
  hosts: "{{ ${role}_hosts | default('all') }}"
  gather_facts: false
  become: "{{ ${role}_become | default(true) }}"
  roles:
    - role: ${role}
`;

export function renderAnsible(source: ExportDoc, opts: RenderOptions): Rendered {
  let doc = source;
  const role = opts.name;
  if (!ROLE_NAME.test(role)) throw usageError(`--name ${role}: an Ansible role name is lower-case letters, digits and "_", starting with a letter (ansible-lint role-name)`);
  const notes: string[] = [];
  if (opts.revert) doc = { ...doc, changes: revertChanges(doc, notes) };
  const kinds = ansibleKinds(role, doc, yaml);
  const sysctls = sysctlChanges(doc).map((c) => ({ key: c.key, value: c.to, scope: scopeOf(c.key), reason: inert(c.reason), source: inert(c.source) }));
  const nics = nicChanges(doc).map((c) => {
    const id = changeId(c);
    if (/[{}%#]/.test(id)) throw usageError(`${id}: a device name with {, }, % or # cannot be passed through Ansible's templating safely`);
    const line = nicLine(c.kind === 'ethtool' ? { kind: 'ethtool', device: c.device, group: c.group, setting: c.setting } : { kind: 'sysfs', path: c.path }, c.to, null, '');
    return { id, argv: line.argv, exec: renderExec(line.argv), reason: inert(`${c.reason} (${c.source})`) };
  });
  const defaults = [
    '---',
    ...comment(generatedBy(doc)),
    '# Override any of these in the inventory or with -e.',
    '',
    '# Where the sysctls are persisted (systemd-sysctl applies it at boot).',
    yaml({ [`${role}_sysctl_file`]: '/etc/sysctl.d/90-nettune.conf' }).trimEnd(),
    '# true: a key this kernel does not have is skipped instead of failing the play.',
    yaml({ [`${role}_sysctl_ignore_missing`]: false }).trimEnd(),
    '# Each planned sysctl with why (scope global: set only where the host is the initial network namespace).',
    yaml({ [`${role}_sysctls`]: sysctls }).trimEnd(),
    '',
    '# NIC settings: the unit holding them, whether the handler enables it for boot, and the writes it runs now.',
    yaml({ [`${role}_nic_unit_path`]: `/etc/systemd/system/${role}-nic.service` }).trimEnd(),
    yaml({ [`${role}_nic_boot_unit`]: true }).trimEnd(),
    yaml({ [`${role}_nic_settings`]: nics }).trimEnd(),
    '',
    ...kinds.defaults,
    '',
  ].join('\n');
  const files = [
    { path: 'playbook.yml', content: playbook(role) },
    { path: `roles/${role}/tasks/main.yml`, content: tasks(role) + kinds.tasks },
    { path: `roles/${role}/handlers/main.yml`, content: handlers(role) },
    { path: `roles/${role}/defaults/main.yml`, content: defaults },
    { path: `roles/${role}/meta/main.yml`, content: meta(role, doc) },
    { path: `roles/${role}/templates/${role}-nic.service.j2`, content: nicTemplate(role, doc) },
    { path: `roles/${role}/README.md`, content: readme(role, doc, sysctls.length, nics.length) },
    ...kinds.files.map((f) => ({ ...f, path: `roles/${role}/${f.path}` })),
  ];
  if (doc.host?.netns) notes.push(`the source was made in network namespace ${doc.host.netns}; the role sets the values in whatever namespace each inventory host's sshd runs in`);
  notes.push('ansible.posix.sysctl persists bare key=value lines: the reasons live in defaults/main.yml and the README, not in the sysctl file');
  if (nics.length) notes.push('NIC settings are written when the NIC unit changes (handler): a NIC setting changed by hand later is not corrected by a re-run; the unit restores it at boot');
  if (kinds.counts.routing) notes.push('routes and rules: ip has no dry run, so --check skips their writes; they are set now, not at boot (--format systemd or nettune apply --persist carries them at boot)');
  if (kinds.counts.mptcp) notes.push('MPTCP limits and endpoints are set now, not at boot (--format systemd: nettune-mptcp.service)');
  if (kinds.counts.nft) notes.push('nft tables: the files under the nft directory are what the role loads; at boot include them from /etc/nftables.conf or use --format systemd (nettune-nft.service)');
  return { files, notes };
}

/** The apply stage's NIC unit with its ExecStart lines drawn from the variable (so an inventory
 *  override of the settings changes the unit, and with it the handler run). */
function nicTemplate(role: string, doc: ExportDoc): string {
  const unit = renderNicUnit([], [], doc.transaction?.id ?? 0, doc.created_at)
    .split('\n')
    .filter((l) => !l.startsWith('# Undo with:'))
    .filter((l) => !l.startsWith('#   systemctl enable'))
    .map((l) =>
      l.startsWith('# nettune: written by')
        ? `# ${generatedBy(doc).replace(/[{}%#]/g, '_')}`
        : l.startsWith('# NIC settings that sysctl.d cannot hold')
          ? `# NIC settings that sysctl.d cannot hold; installed by the Ansible role ${role}, enabled by its handler when ${role}_nic_boot_unit is true.`
          : l,
    );
  const at = unit.indexOf('RemainAfterExit=yes');
  if (at < 0) throw new Error('the NIC unit renderer changed: no RemainAfterExit line');
  unit.splice(at + 1, 0, `{% for s in ${role}_nic_settings %}`, '# {{ s.reason }}', 'ExecStart={{ s.exec }}', '{% endfor %}');
  return unit.join('\n');
}

function readme(role: string, doc: ExportDoc, nSysctl: number, nNic: number): string {
  return `# Ansible role \`${role}\`

${generatedBy(doc)}

It sets ${nSysctl} sysctl${nSysctl === 1 ? '' : 's'} now (\`ansible.posix.sysctl\` with \`sysctl_set\`: \`sysctl -w\` only where the
live value differs) and persists them in \`${role}_sysctl_file\` (default \`/etc/sysctl.d/90-nettune.conf\`, applied by
systemd-sysctl at boot), and installs ${nNic} NIC setting${nNic === 1 ? '' : 's'} (offloads, rings, channels, coalescing, RPS/XPS)
as the oneshot unit \`${role}-nic.service\`; when that unit changes, the handlers run the same writes now and enable the
unit for boot (\`${role}_nic_boot_unit: false\` leaves it disabled).

Requires the \`ansible.posix\` collection (Debian's \`ansible\` package ships it), root on the host (\`become\`), and
\`ethtool\` where NIC settings are listed.

## Use

\`\`\`sh
ansible-playbook -i inventory playbook.yml --check --diff   # what would change
ansible-playbook -i inventory playbook.yml                  # apply; a second run reports changed=0
\`\`\`

## Variables (defaults/main.yml)

| variable | meaning |
|---|---|
| \`${role}_sysctl_file\` | where the sysctls are persisted |
| \`${role}_sysctl_ignore_missing\` | \`true\`: a key the host's kernel lacks is skipped instead of failing |
| \`${role}_sysctls\` | \`key\`, \`value\`, \`scope\` (\`netns\`, \`global\` or \`unknown\`), \`reason\`, \`source\` of each setting |
| \`${role}_nic_unit_path\` | where the NIC unit goes |
| \`${role}_nic_boot_unit\` | whether the handler enables the unit |
| \`${role}_nic_settings\` | \`id\`, \`argv\` (the write, as the unit runs it), \`reason\` |

## What it does not do

- A \`global\` knob (one value per machine) is skipped on hosts that are not the initial network namespace (containers,
  \`ip netns\`): the kernel does not offer it there.
- The persisted sysctl file holds bare \`key=value\` lines (that is what \`ansible.posix.sysctl\` writes); the reasons
  are here and in \`defaults/main.yml\`.
- NIC settings are written when the unit changes. A setting changed by hand afterwards is not corrected by a re-run
  (\`nettune fleet drift\` finds it); the unit restores it at boot.
- Removing a key from \`${role}_sysctls\` does not restore the kernel default: undo with \`nettune rollback\` on the
  host, or set the value explicitly.
`;
}

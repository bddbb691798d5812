// The Ansible role's tasks for the kinds beyond sysctls and NIC settings: nft tables, routes and
// policy rules, MPTCP limits and endpoints. Values are data in defaults/main.yml (nft tables as
// files under the role's files/, never templated); the tasks are fixed and idempotent:
// - nft: the table's batch file (the one apply --persist writes) is installed under
//   R_nft_dir; the live table (`nft list table`) is compared with the planned text (SHA-1 of the
//   text with blanks squeezed, as the shell format compares) and loaded with one `nft -f -` only
//   when it differs (`nft -c` under --check); an absent table is deleted when it is there.
// - routes and rules: read with `ip -j` (src/export/routing.ts, the commands every export shares),
//   written with one `ip -batch -` (route replace; the rules at a priority deleted, then added; a
//   removal only when present), and read back: the read-back task is `changed` exactly when the
//   kernel's state differs from before. ip has no dry run, so --check skips the writes.
// - MPTCP: `ip mptcp limits|endpoint show` (text: iproute2 6.1 has no JSON limits; an endpoint's
//   value is what it prints after the address) compared with the planned value; written only
//   when it differs (an endpoint: the one on that address deleted, then added; empty: absent).
import { createHash } from 'node:crypto';
import { nftFileStem, renderNftFile } from '../apply/kind-nft.js';
import { ENDPOINT_ABSENT, limitsFromRow, parseLimitsValue } from '../plan/mptcp-change.js';
import { exportHeader, mptcpChanges, nftChanges, routingChanges } from './describe.js';
import { routingCommands } from './routing.js';
import type { ExportDoc, RenderedFile } from './types.js';

export interface AnsibleKinds {
  tasks: string;
  /** defaults/main.yml lines (variables with their comments). */
  defaults: string[];
  /** Files under roles/ROLE/. */
  files: RenderedFile[];
  counts: { nft: number; routing: number; mptcp: number };
}

/** The text nft lists, as the role compares it: blanks squeezed to one space, trimmed, SHA-1. */
export const nftTextHash = (text: string): string => createHash('sha1').update(text.replace(/\s+/g, ' ').trim()).digest('hex');

export function ansibleKinds(role: string, doc: ExportDoc, yaml: (v: unknown) => string): AnsibleKinds {
  const nft = nftChanges(doc).map((c) => ({ family: c.family, table: c.table, file: `${nftFileStem(c)}.nft`, present: c.to !== '', sha1: c.to === '' ? '' : nftTextHash(c.to), text: c.to }));
  const routing = routingChanges(doc).map((c) => {
    const r = routingCommands(c);
    return { id: r.label, kind: c.kind, family: c.family === 'inet' ? '-4' : '-6', show: r.show, remove: r.remove.slice(1), add: r.add.map((a) => a.slice(1)) };
  });
  // routes before rules: a rule's table holds its routes when traffic starts to match it
  routing.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'route' ? -1 : 1));
  const mptcp = mptcpChanges(doc);
  const limitsChange = mptcp.find((c) => c.object === 'limits');
  const parsedLimits = limitsChange ? parseLimitsValue(limitsChange.to) : null;
  const limits = parsedLimits && typeof parsedLimits !== 'string' ? limitsFromRow(parsedLimits) : null;
  // value as `ip mptcp endpoint show` prints it after the address; "" (absent) removes it
  const endpoints = mptcp.filter((c) => c.object === 'endpoint').map((c) => ({ address: c.address ?? '', value: c.to === ENDPOINT_ABSENT ? '' : c.to }));
  const files: RenderedFile[] = nft
    .filter((t) => t.present)
    .map((t) => ({ path: `files/nft/${t.file}`, content: exportHeader(doc, renderNftFile({ kind: 'nft', family: t.family, table: t.table }, t.text, doc.transaction?.id ?? 0, doc.created_at)) }));
  const defaults = [
    '# The programs the tasks run.',
    yaml({ [`${role}_ip`]: '/usr/sbin/ip', [`${role}_nft`]: '/usr/sbin/nft' }).trimEnd(),
    '',
    '# nft tables: where their batch files go (files/nft/ in this role), and each table (present: false deletes it).',
    yaml({ [`${role}_nft_dir`]: '/etc/nftables.d' }).trimEnd(),
    yaml({ [`${role}_nft_tables`]: nft.map(({ text: _text, ...t }) => t) }).trimEnd(),
    '',
    '# Routes and the policy rules at each priority: ip arguments that read them (JSON), remove one, and add them (add empty: to be absent).',
    yaml({ [`${role}_routing`]: routing }).trimEnd(),
    '',
    '# MPTCP limits ({} leaves them) and endpoints (value as `ip mptcp endpoint show` prints it after the address; "" removes it).',
    yaml({ [`${role}_mptcp_limits`]: limits ?? {} }).trimEnd(),
    yaml({ [`${role}_mptcp_endpoints`]: endpoints }).trimEnd(),
  ];
  return { tasks: tasks(role), defaults, files, counts: { nft: nft.length, routing: routing.length, mptcp: mptcp.length } };
}

const tasks = (r: string): string => String.raw`
- name: Make sure the directory of the nft table files exists
  ansible.builtin.file:
    path: "{{ ${r}_nft_dir }}"
    state: directory
    owner: root
    group: root
    mode: "0755"
  when: ${r}_nft_tables | selectattr('present') | list | length > 0

- name: Install the nft table files (each replaces its table in one nft transaction)
  ansible.builtin.copy:
    src: "nft/{{ item.file }}"
    dest: "{{ ${r}_nft_dir }}/{{ item.file }}"
    owner: root
    group: root
    mode: "0644"
  loop: "{{ ${r}_nft_tables | selectattr('present') | list }}"
  loop_control:
    label: "{{ item.family }} {{ item.table }}"

- name: Remove the files of nft tables that are to be absent
  ansible.builtin.file:
    path: "{{ ${r}_nft_dir }}/{{ item.file }}"
    state: absent
  loop: "{{ ${r}_nft_tables | rejectattr('present') | list }}"
  loop_control:
    label: "{{ item.family }} {{ item.table }}"

- name: Read the live nft tables
  ansible.builtin.command:
    argv: ["{{ ${r}_nft }}", "list", "table", "{{ item.family }}", "{{ item.table }}"]
  loop: "{{ ${r}_nft_tables }}"
  loop_control:
    label: "{{ item.family }} {{ item.table }}"
  register: ${r}_nft_live
  changed_when: false
  failed_when: ${r}_nft_live.rc != 0 and 'No such file or directory' not in ${r}_nft_live.stderr
  check_mode: false

- name: Load the nft tables whose live text differs (nft -f; nft -c -f under --check)
  ansible.builtin.command:
    argv: "{{ [${r}_nft] + (['-c'] if ansible_check_mode else []) + ['-f', '-'] }}"
    stdin: "{{ lookup('ansible.builtin.file', 'nft/' ~ item.0.file) }}"
  loop: "{{ ${r}_nft_tables | zip(${r}_nft_live.results) | list }}"
  loop_control:
    label: "{{ item.0.family }} {{ item.0.table }}"
  when: 'item.0.present and (item.1.stdout | regex_replace("\s+", " ") | trim | hash("sha1")) != item.0.sha1'
  changed_when: true
  check_mode: false

- name: Delete the nft tables that are to be absent
  ansible.builtin.command:
    argv: "{{ [${r}_nft] + (['-c'] if ansible_check_mode else []) + ['delete', 'table', item.0.family, item.0.table] }}"
  loop: "{{ ${r}_nft_tables | zip(${r}_nft_live.results) | list }}"
  loop_control:
    label: "{{ item.0.family }} {{ item.0.table }}"
  when: not item.0.present and item.1.rc == 0
  changed_when: true
  check_mode: false

- name: Read the routes and policy rules
  ansible.builtin.command:
    argv: "{{ [${r}_ip] + item.show }}"
  loop: "{{ ${r}_routing }}"
  loop_control:
    label: "{{ item.id }}"
  register: ${r}_routing_before
  changed_when: false
  failed_when: ${r}_routing_before.rc != 0 and 'FIB table does not exist' not in ${r}_routing_before.stderr
  check_mode: false

- name: Write the routes and rules (ip route replace; the rules at a priority deleted, then added; a removal only when present)
  ansible.builtin.command:
    argv: ["{{ ${r}_ip }}", "{{ item.0.family }}", "-batch", "-"]
    stdin: "{{ ((item.0.remove | join(' ') ~ '\n') * ${r}_n_remove | int) ~ (item.0.add | map('join', ' ') | join('\n')) }}"
  vars:
    ${r}_n_remove: '{{ (item.1.stdout | from_json | length) if item.0.kind == "rule" else (0 if item.0.add else 1) }}'
  loop: "{{ ${r}_routing | zip(${r}_routing_before.results) | list }}"
  loop_control:
    label: "{{ item.0.id }}"
  when: item.0.add | length > 0 or '{' in item.1.stdout
  # the read-back below says whether the kernel's state changed
  changed_when: false

- name: Read the routes and policy rules back (changed where the kernel's state differs from before)
  ansible.builtin.command:
    argv: "{{ [${r}_ip] + item.0.show }}"
  loop: "{{ ${r}_routing | zip(${r}_routing_before.results) | list }}"
  loop_control:
    label: "{{ item.0.id }}"
  register: ${r}_routing_after
  changed_when: ${r}_routing_after.stdout != item.1.stdout
  failed_when: >-
    (${r}_routing_after.rc != 0 and 'FIB table does not exist' not in ${r}_routing_after.stderr)
    or (not ansible_check_mode and (('{' in ${r}_routing_after.stdout) != (item.0.add | length > 0)))
  check_mode: false

- name: Read the MPTCP limits and endpoints
  ansible.builtin.command:
    argv: ["{{ ${r}_ip }}", "mptcp", "{{ item }}", "show"]
  loop: ["limits", "endpoint"]
  register: ${r}_mptcp_live
  changed_when: false
  check_mode: false
  when: ${r}_mptcp_limits | length > 0 or ${r}_mptcp_endpoints | length > 0

- name: Set the MPTCP limits
  ansible.builtin.command:
    argv:
      - "{{ ${r}_ip }}"
      - mptcp
      - limits
      - set
      - subflows
      - "{{ ${r}_mptcp_limits.subflows }}"
      - add_addr_accepted
      - "{{ ${r}_mptcp_limits.add_addr_accepted }}"
  vars:
    ${r}_limits_now: '{{ ${r}_mptcp_live.results[0].stdout | regex_findall("\S+") }}'
  when: >-
    ${r}_mptcp_limits | length > 0 and
    (dict(${r}_limits_now[::2] | zip(${r}_limits_now[1::2])).subflows | default('') != ${r}_mptcp_limits.subflows | string
     or dict(${r}_limits_now[::2] | zip(${r}_limits_now[1::2])).add_addr_accepted | default('') != ${r}_mptcp_limits.add_addr_accepted | string)
  changed_when: true

- name: Make the MPTCP endpoints (the one on the address deleted first; an empty value removes it)
  ansible.builtin.command:
    argv: ["{{ ${r}_ip }}", "-batch", "-"]
    stdin: "{{ (${r}_endpoint_delete + ${r}_endpoint_add) | join('\n') }}"
  vars:
    ${r}_endpoint_delete: '{{ ["mptcp endpoint delete id " ~ ${r}_endpoint_id] if ${r}_endpoint_line else [] }}'
    ${r}_endpoint_add: '{{ ["mptcp endpoint add " ~ item.address ~ " " ~ item.value] if item.value else [] }}'
    ${r}_endpoint_line: '{{ ${r}_mptcp_live.results[1].stdout_lines | select("match", (item.address | regex_escape) ~ " ") | first | default("") }}'
    ${r}_endpoint_id: '{{ ${r}_endpoint_line | regex_findall(" id (\d+)") | first | default("") }}'
  loop: "{{ ${r}_mptcp_endpoints }}"
  loop_control:
    label: "{{ item.address }}"
  when: '(${r}_endpoint_line | regex_replace("^\S+", "") | regex_replace("\s+", " ") | trim) != item.value'
  changed_when: true
`;

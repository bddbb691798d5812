// shell: one POSIX sh script (set -eu) that checks each value before writing it, writes only what
// differs, reads it back and prints what it changed; `--check` as its first argument only says
// what it would change. With --revert (a transaction's before-values, src/export/revert.ts) it
// restores instead, newest write first, whatever the host holds now: what the transaction created
// (a route, rules, an MPTCP endpoint, an nft table) is removed if it is there, and a replaced
// route is put back with `ip route replace` even when it is gone. Every device, key, path and value is a single-quoted literal: no data is ever
// part of the script's code.
import { FEATURE_NAMES } from '../apply/io.js';
import { FLOW_HASH_FIELDS, isNicGroup, nicArgs } from '../apply/kind-nic.js';
import { usageError } from '../sys/errors.js';
import { renderNotrackIptables } from '../plan/notrack.js';
import { ENDPOINT_ABSENT } from '../plan/mptcp-change.js';
import { changeId } from './source.js';
import { revertChanges } from './revert.js';
import { routingShell } from './routing.js';
import { generatedBy, oneLine, SCOPE_TEXT, scopeOf } from './describe.js';
import type { ExportChange, ExportDoc, Rendered, RenderOptions } from './types.js';

import { shQuote } from '../sys/sh-quote.js';

export { shQuote };

/** What `ethtool -g`/`-l` print for a setting (after "Current hardware settings:"). */
const RING_LABEL: Readonly<Record<string, string>> = { rx: 'RX', 'rx-mini': 'RX Mini', 'rx-jumbo': 'RX Jumbo', tx: 'TX', other: 'Other', combined: 'Combined' };

/** `ethtool -n IF rx-flow-hash FLOW` → letters in ethtool's order (src/apply/kind-nic.ts FLOW_HASH_FIELDS). */
const FLOW_HASH_AWK = `NR > 1 { ${FLOW_HASH_FIELDS.map((f) => `if (index($0, "${f.field.replace(/ \[.*$/, '')}") == 1) s = s "${f.letter}"`).join('; ')} } END { print s }`;

const PRELUDE = String.raw`set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C
check=0
[ "$\{1:-}" = --check ] && check=1
changed=0
unchanged=0

nt_fail() { printf 'nettune: %s\n' "$*" >&2; exit 1; }

# nt_set LABEL CURRENT WANTED WRITER...: write only when CURRENT differs, then say so.
nt_set() {
  label=$1 cur=$2 want=$3
  shift 3
  if [ "$cur" = "$want" ]; then
    unchanged=$((unchanged + 1))
    return 0
  fi
  if [ "$check" = 1 ]; then
    printf 'would change %s: %s -> %s\n' "$label" "$\{cur:-(absent)}" "$\{want:-(absent)}"
  else
    "$@" || nt_fail "$label: writing $\{want:-(absent)} failed"
    printf 'changed %s: %s -> %s\n' "$label" "$\{cur:-(absent)}" "$\{want:-(absent)}"
  fi
  changed=$((changed + 1))
}

nt_sysctl_get() { v=$(sysctl -n -- "$1" 2>/dev/null) || nt_fail "$1: no such sysctl here"; printf '%s' "$v" | tr -s '[:blank:]' ' '; }
nt_sysctl_put() { sysctl -q -w -- "$1=$2" >/dev/null; }
nt_sysctl() {
  nt_set "$1" "$(nt_sysctl_get "$1")" "$2" nt_sysctl_put "$1" "$2"
  [ "$check" = 1 ] || [ "$(nt_sysctl_get "$1")" = "$2" ] || printf 'nettune: note: %s: the kernel holds %s (asked %s)\n' "$1" "$(nt_sysctl_get "$1")" "$2" >&2
}

# ethtool -k: "LONG-NAME: on [fixed]" -> on
nt_feature_get() { ethtool -k "$1" | awk -v k="$2:" 'index($0, k) == 1 { print $2; exit }'; }
# ethtool -g / -l: the value under "Current hardware settings:"
nt_current_get() { ethtool "$1" "$2" | awk -v k="$3:" '/^Current hardware settings/ { f = 1; next } f && index($0, k) == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit }'; }
# ethtool -c: "rx-usecs: 50", or "Adaptive RX: on  TX: off"
nt_coalesce_get() {
  case $2 in
    adaptive-rx) ethtool -c "$1" | awk '/^Adaptive RX:/ { print $3; exit }' ;;
    adaptive-tx) ethtool -c "$1" | awk '/^Adaptive RX:/ { print $5; exit }' ;;
    *) ethtool -c "$1" | awk -v k="$2:" 'index($0, k) == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit }' ;;
  esac
}
# nt_nft FAMILY TABLE LINE...: create-or-replace the table in one nft transaction (nft -f -)
# unless it already holds LINE... (compared with blanks squeezed); no LINE: delete the table.
# Without nft, nt_ipt_* add the iptables/ip6tables raw rules that do the same (see the plan).
nt_sq() { tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'; }
nt_nft() {
  fam=$1 tab=$2
  shift 2
  cur=$(nft list table "$fam" "$tab" 2>/dev/null | nt_sq)
  want=$(printf '%s\n' "$@" | nt_sq)
  if [ "$cur" = "$want" ]; then
    unchanged=$((unchanged + 1))
    return 0
  fi
  if [ "$check" = 1 ]; then
    printf 'would %s nft table %s %s\n' "$([ $# -gt 0 ] && echo replace || echo delete)" "$fam" "$tab"
  else
    { printf 'table %s %s {}\ndelete table %s %s\n' "$fam" "$tab" "$fam" "$tab"; [ $# -eq 0 ] || printf '%s\n' "$@"; } | nft -f - || nt_fail "nft table $fam $tab: nft -f failed"
    printf 'changed nft table %s %s\n' "$fam" "$tab"
  fi
  changed=$((changed + 1))
}
# nt_ipt TOOL CHAIN ARGS...: append the raw-table rule unless it is there (-C)
nt_ipt() {
  tool=$1 chain=$2
  shift 2
  if "$tool" -t raw -C "$chain" "$@" 2>/dev/null; then
    unchanged=$((unchanged + 1))
    return 0
  fi
  if [ "$check" = 1 ]; then printf 'would add %s -t raw -A %s %s\n' "$tool" "$chain" "$*"
  else
    "$tool" -t raw -A "$chain" "$@" || nt_fail "$tool -t raw -A $chain $*: failed"
    printf 'changed %s raw %s: added %s\n' "$tool" "$chain" "$*"
  fi
  changed=$((changed + 1))
}
# sysfs: masks and numbers compared without commas and leading zeros
nt_norm() { printf '%s' "$1" | tr -d ',\n' | sed 's/^0*//; s/^$/0/'; }
# ip mptcp: an endpoint's value is what "ip mptcp endpoint show" prints after its address
# (one word per field, nothing a shell expands: the unquoted $2 below is split on blanks only, globbing off)
nt_mptcp_endpoint_get() { ip mptcp endpoint show | awk -v a="$1" '$1 == a { $1 = ""; sub(/^ +/, ""); sub(/ +$/, ""); print; exit }'; }
nt_mptcp_endpoint_put() {
  id=$(ip mptcp endpoint show | awk -v a="$1" '$1 == a { for (i = 2; i < NF; i++) if ($i == "id") { print $(i + 1); exit } }')
  [ -z "$id" ] || ip mptcp endpoint delete id "$id"
  # an empty value: the endpoint is to be absent (a revert of one the transaction created)
  [ -z "$2" ] || { set -f; ip mptcp endpoint add "$1" $2; set +f; }
}
nt_mptcp_endpoint() { nt_set "mptcp endpoint $1" "$(nt_mptcp_endpoint_get "$1")" "$2" nt_mptcp_endpoint_put "$1" "$2"; }
nt_mptcp_limits_get() { ip mptcp limits show | awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) } END { printf "subflows %s add_addr_accepted %s", v["subflows"], v["add_addr_accepted"] }'; }
nt_mptcp_limits_put() { set -f; ip mptcp limits set $1; set +f; }
nt_mptcp_limits() { nt_set 'mptcp limits' "$(nt_mptcp_limits_get)" "$1" nt_mptcp_limits_put "$1"; }
nt_sysfs_put() { printf '%s\n' "$2" > "$1"; }
# routes and rules (the commands of src/export/routing.ts): SHOW, DEL and each ADD are one word of
# ip arguments each, split on blanks with globbing off (validated tokens: no blank, no pattern
# character). SHOW prints the live state as JSON ("[]"; a table without routes: nothing, exit 2).
nt_ip_json() { set -f; ip $1 2>/dev/null || :; set +f; }
nt_ip_run() { set -f; ip $2 || { set +f; nt_fail "$1: ip $2 failed"; }; set +f; }
nt_present() { case $1 in *'{'*) return 0 ;; esac; return 1; }
# nt_route LABEL SHOW DEL [ADD]: ADD (ip route replace) makes the route hold; without ADD the route
# is deleted when it is there (a route already gone is left so: a revert restores whatever is there)
nt_route() {
  label=$1 show=$2 del=$3 add=$\{4:-}
  cur=$(nt_ip_json "$show")
  if [ -z "$add" ] && ! nt_present "$cur"; then
    unchanged=$((unchanged + 1))
    return 0
  fi
  if [ "$check" = 1 ]; then
    if [ -z "$add" ]; then printf 'would delete %s\n' "$label"
    elif nt_present "$cur"; then printf 'would replace %s (if it differs): ip %s\n' "$label" "$add"
    else printf 'would add %s: ip %s\n' "$label" "$add"; fi
    changed=$((changed + 1))
    return 0
  fi
  if [ -z "$add" ]; then
    nt_ip_run "$label" "$del"
    printf 'changed %s: deleted\n' "$label"
    changed=$((changed + 1))
    return 0
  fi
  nt_ip_run "$label" "$add"
  now=$(nt_ip_json "$show")
  nt_present "$now" || nt_fail "$label: not there after ip $add"
  if [ "$now" = "$cur" ]; then unchanged=$((unchanged + 1)); else printf 'changed %s: ip %s\n' "$label" "$add"; changed=$((changed + 1)); fi
}
# nt_rule LABEL SHOW DEL [ADD...]: the rules at the priority become exactly ADD...: those there
# are deleted (DEL, one rule a time), then each ADD is added; no ADD: the priority is left empty
nt_rule() {
  label=$1 show=$2 del=$3
  shift 3
  cur=$(nt_ip_json "$show")
  if [ $# -eq 0 ] && ! nt_present "$cur"; then
    unchanged=$((unchanged + 1))
    return 0
  fi
  if [ "$check" = 1 ]; then
    if [ $# -eq 0 ]; then printf 'would delete the rules at %s\n' "$label"; else printf 'would set %s (if it differs): %s\n' "$label" "$*"; fi
    changed=$((changed + 1))
    return 0
  fi
  n=0
  set -f
  while [ "$n" -lt 1000 ] && ip $del 2>/dev/null; do n=$((n + 1)); done
  set +f
  for a in "$@"; do nt_ip_run "$label" "$a"; done
  now=$(nt_ip_json "$show")
  if [ "$now" = "$cur" ]; then unchanged=$((unchanged + 1)); else printf 'changed %s: %s\n' "$label" "$([ $# -eq 0 ] && echo deleted || echo "$*")"; changed=$((changed + 1)); fi
}
nt_sysfs() {
  [ -e "$1" ] || nt_fail "$1: no such attribute here"
  nt_set "$1" "$(nt_norm "$(cat "$1")")" "$(nt_norm "$2")" nt_sysfs_put "$1" "$2"
}
`.replace(/\$\\\{/g, '${');

function line(c: ExportChange): string {
  switch (c.kind) {
    case 'route':
    case 'rule':
      return routingShell(c, shQuote);
    case 'sysctl':
      return `nt_sysctl ${shQuote(c.key)} ${shQuote(c.to)}`;
    case 'sysfs':
      return `nt_sysfs ${shQuote(c.path)} ${shQuote(c.to)}`;
    case 'mptcp':
      return c.object === 'limits' ? `nt_mptcp_limits ${shQuote(c.to)}` : `nt_mptcp_endpoint ${shQuote(c.address ?? '')} ${shQuote(c.to === ENDPOINT_ABSENT ? '' : c.to)}`;
    case 'ethtool': {
      const label = shQuote(changeId(c));
      const [dev, set, to] = [shQuote(c.device), shQuote(c.setting), shQuote(c.to)];
      if (isNicGroup(c.group)) {
        // flow hash: ethtool -n's field lines as nettune's letters; the indirection table is not
        // compared in sh (the script writes it), so it always counts as changed
        const args = nicArgs({ device: c.device, group: c.group, setting: c.setting }, c.to).map(shQuote).join(' ');
        const cur = c.group === 'flow-hash' ? `"$(ethtool -n ${dev} rx-flow-hash ${set} | awk ${shQuote(FLOW_HASH_AWK)})"` : shQuote('(not compared)');
        return `nt_set ${label} ${cur} ${to} ethtool ${args}`;
      }
      if (c.group === 'features') return `nt_set ${label} "$(nt_feature_get ${dev} ${shQuote(FEATURE_NAMES[c.setting] ?? c.setting)})" ${to} ethtool -K ${dev} ${set} ${to}`;
      if (c.group === 'coalesce') return `nt_set ${label} "$(nt_coalesce_get ${dev} ${set})" ${to} ethtool -C ${dev} ${set} ${to}`;
      const ring = RING_LABEL[c.setting];
      if (!ring) throw usageError(`${changeId(c)}: ethtool ${c.group} has no setting ${c.setting}`);
      return `nt_set ${label} "$(nt_current_get ${dev} ${c.group === 'rings' ? '-g' : '-l'} ${shQuote(ring)})" ${to} ethtool ${c.group === 'rings' ? '-G' : '-L'} ${dev} ${set} ${to}`;
    }
    case 'nft':
      return nftLines(c);
  }
}

/** The nft table (one transaction); with a notrack spec, the iptables rules where nft is missing. */
function nftLines(c: Extract<ExportChange, { kind: 'nft' }>): string {
  const lines = c.to === '' ? [] : c.to.replace(/\n+$/, '').split('\n');
  const nft = ['nt_nft', c.family, c.table, ...lines].map((w, i) => (i === 0 ? w : shQuote(w))).join(' ');
  if (!c.notrack || c.to === '') return nft;
  const ipt = renderNotrackIptables(c.notrack).map((r) => `  nt_ipt ${r.tool} ${[r.args[3] ?? '', ...r.args.slice(4)].map(shQuote).join(' ')}`);
  return ['if command -v nft >/dev/null 2>&1; then', `  ${nft}`, 'else', ...ipt, 'fi'].join('\n');
}

export function renderShell(doc: ExportDoc, opts: RenderOptions): Rendered {
  const notes: string[] = [];
  const changes = opts.revert ? revertChanges(doc, notes) : doc.changes;
  const body: string[] = [];
  for (const c of changes) {
    body.push(`# ${oneLine(c.reason)} (${oneLine(c.source)})${c.kind === 'sysctl' ? `; ${SCOPE_TEXT[scopeOf(c.key)]}` : ''}`, line(c), '');
  }
  const ns = doc.host?.netns;
  const script = [
    '#!/bin/sh',
    `# ${generatedBy(doc)}`,
    `# ${opts.revert ? 'Restores the values this transaction replaced' : 'Applies these settings'}: each one is read first and written only when it differs.`,
    `# Run as root${ns ? ` inside the namespace it was made for: ip netns exec ${ns} sh ${opts.name}.sh` : `: sh ${opts.name}.sh`}   (--check: only say what would change)`,
    '# Not persistent: the values last until reboot (export --format sysctl.d / systemd for boot).',
    PRELUDE,
    ...body,
    `printf 'nettune: %s changed, %s already set\\n' "$changed" "$unchanged"`,
    '',
  ].join('\n');
  if (changes.some((c) => c.kind === 'nft'))
    notes.push('nft tables are replaced whole, each in one nft transaction (nft -f -); on a host without nft the script adds the equivalent iptables/ip6tables raw rules instead (NOTRACK tables nettune planned)');
  if (changes.some((c) => c.kind === 'ethtool')) notes.push('ethtool settings need ethtool on the host; the script stops at the first write that fails (set -e), leaving earlier writes in place');
  return { files: [{ path: `${opts.name}${opts.revert ? '-revert' : ''}.sh`, content: script, mode: 0o755 }], notes };
}

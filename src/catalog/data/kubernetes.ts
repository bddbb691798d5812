// What Kubernetes lets a pod set: the safe sysctls (allowed by default, with the release that made
// each one safe and the kernel it needs), the prefixes the kubelet treats as namespaced, and the
// net.* keys that a network namespace shows but that are not namespaced. Everything else is
// node-level. Checked against the catalog by test/unit/export-k8s.test.ts.
import type { KubernetesFactsInput } from '../kubernetes.js';

const DOC = 'Kubernetes documentation, "Using sysctls in a Kubernetes Cluster" (kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/), Safe and Unsafe Sysctls';

export const kubernetesFacts: KubernetesFactsInput = {
  safe: [
    { key: 'kernel.shm_rmid_forced', since: null, source: DOC },
    { key: 'net.ipv4.ip_local_port_range', since: null, source: DOC },
    { key: 'net.ipv4.tcp_syncookies', since: null, min_kernel: '4.6', note: 'not namespaced on Linux 4.5 or lower', source: DOC },
    { key: 'net.ipv4.ping_group_range', since: '1.18', source: DOC },
    { key: 'net.ipv4.ip_unprivileged_port_start', since: '1.22', source: DOC },
    { key: 'net.ipv4.ip_local_reserved_ports', since: '1.27', min_kernel: '3.16', source: DOC },
    { key: 'net.ipv4.tcp_keepalive_time', since: '1.29', min_kernel: '4.5', source: DOC },
    { key: 'net.ipv4.tcp_fin_timeout', since: '1.29', min_kernel: '4.6', source: DOC },
    { key: 'net.ipv4.tcp_keepalive_intvl', since: '1.29', min_kernel: '4.5', source: DOC },
    { key: 'net.ipv4.tcp_keepalive_probes', since: '1.29', min_kernel: '4.5', source: DOC },
    { key: 'net.ipv4.tcp_rmem', since: '1.32', min_kernel: '4.15', source: DOC },
    { key: 'net.ipv4.tcp_wmem', since: '1.32', min_kernel: '4.15', source: DOC },
  ],
  namespaced_prefixes: ['kernel.shm', 'kernel.msg', 'kernel.sem', 'fs.mqueue.', 'net.'],
  unnamespaced: ['net.netfilter.nf_conntrack_max', 'net.netfilter.nf_conntrack_expect_max'],
  source: `${DOC}; the kubelet's namespaced list (pkg/kubelet/sysctl/namespace.go)`,
  /** kubelet sysctl name validation (IsValidSysctlName, k8s.io/api validation): dotted or slashed segments of [a-z0-9_-]. */
  name_pattern: '^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$',
};

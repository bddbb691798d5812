// Kubernetes facts about sysctls (data/kubernetes.ts), checked with zod once, and the class of a
// key for a pod: safe (allowed by default), unsafe (namespaced, needs the kubelet's
// --allowed-unsafe-sysctls), node (not namespaced: a node-level tool must set it) or unknown.
import { z } from 'zod';
import { kubernetesFacts } from './data/kubernetes.js';
import { findEntry } from './defaults.js';

const version = z.string().regex(/^\d+\.\d+$/);

export const kubernetesFactsSchema = z
  .object({
    safe: z.array(z.object({ key: z.string(), since: version.nullable(), min_kernel: version.optional(), note: z.string().optional(), source: z.string().min(5) }).strict()),
    namespaced_prefixes: z.array(z.string().min(2)),
    unnamespaced: z.array(z.string()),
    source: z.string().min(5),
    name_pattern: z.string(),
  })
  .strict();

export type KubernetesFacts = z.infer<typeof kubernetesFactsSchema>;
export type KubernetesFactsInput = z.input<typeof kubernetesFactsSchema>;

let facts: KubernetesFacts | null = null;
export const kubernetes = (): KubernetesFacts => (facts ??= kubernetesFactsSchema.parse(kubernetesFacts));

export type KubernetesClass =
  | { class: 'safe'; since: string | null; min_kernel: string | null; note: string | null }
  | { class: 'unsafe' | 'node' | 'unknown'; why: string };

/** Per-interface keys (net.ipv4.conf.eth0.*) name a device of the namespace they are set in: in a
 *  pod that is the pod's own interface, not the node's that the plan was made for. */
const PER_DEVICE = /^net\.(ipv4|ipv6)\.(conf|neigh)\.([^.]+)\./;

export function kubernetesClass(key: string): KubernetesClass {
  const k = kubernetes();
  const entry = findEntry(key);
  if (!entry) return { class: 'unknown', why: 'not in nettune’s catalog, so whether the kernel namespaces it is not known' };
  const safe = k.safe.find((s) => s.key === key);
  if (safe && entry.scope === 'netns') return { class: 'safe', since: safe.since, min_kernel: safe.min_kernel ?? null, note: safe.note ?? null };
  if (entry.scope === 'global' || k.unnamespaced.includes(key)) return { class: 'node', why: 'one value for the whole machine (not namespaced)' };
  const dev = PER_DEVICE.exec(key)?.[3];
  if (dev !== undefined && !['all', 'default', 'lo'].includes(dev)) return { class: 'node', why: `names the node's interface ${dev}, which a pod does not have` };
  if (!k.namespaced_prefixes.some((p) => key.startsWith(p))) return { class: 'node', why: 'the kubelet accepts only namespaced prefixes in a pod' };
  if (!new RegExp(k.name_pattern).test(key)) return { class: 'node', why: 'Kubernetes does not accept this name in a pod spec' };
  return { class: 'unsafe', why: 'namespaced, but not in Kubernetes’ safe set' };
}

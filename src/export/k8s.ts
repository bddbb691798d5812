// k8s: one multi-document YAML. Each sysctl goes where Kubernetes can set it (src/catalog/
// kubernetes.ts): safe ones in a pod's securityContext.sysctls; other namespaced ones there too,
// with the kubelet --allowed-unsafe-sysctls they need; node-level ones (and NIC settings) in a
// Node Tuning Operator Tuned (tuned.openshift.io/v1, the profile embedded, recommended to nodes
// by a label) and, as the plain alternative, a privileged host-network DaemonSet running the
// shell export. Core kinds are validated with kubernetes-models, Tuned with tunedSchema.
import { routingNotes } from './routing.js';
import { ConfigMap, Pod } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { stringify } from 'yaml';
import { z } from 'zod';
import { kubernetesClass } from '../catalog/kubernetes.js';
import { generatedBy, mptcpNotExpressed, nftNotExpressed, nicChanges, routingChanges, oneLine, sysctlChanges } from './describe.js';
import { renderShell } from './shell.js';
import { renderTuned } from './tuned.js';
import type { ExportChange, ExportDoc, Rendered, RenderOptions } from './types.js';

/** The Tuned custom resource as the Node Tuning Operator documents it (OpenShift "Using the Node
 *  Tuning Operator": spec.profile[] {name, data}, spec.recommend[] {profile, priority, match[]
 *  {label, value?, type? node|pod, match? nested}, machineConfigLabels?, operand?}). */
const tunedMatch: z.ZodType<unknown> = z.lazy(() =>
  z.object({ label: z.string().min(1), value: z.string().optional(), type: z.enum(['node', 'pod']).optional(), match: z.array(tunedMatch).optional() }).strict(),
);
export const tunedSchema = z
  .object({
    apiVersion: z.literal('tuned.openshift.io/v1'),
    kind: z.literal('Tuned'),
    metadata: z.object({ name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).max(253), namespace: z.string().min(1) }).passthrough(),
    spec: z
      .object({
        managementState: z.enum(['Managed', 'Unmanaged', 'Removed']).optional(),
        profile: z.array(z.object({ name: z.string().min(1), data: z.string().min(1) }).strict()).min(1),
        recommend: z
          .array(
            z
              .object({
                profile: z.string().min(1),
                priority: z.number().int().min(0),
                match: z.array(tunedMatch).optional(),
                machineConfigLabels: z.record(z.string()).optional(),
                operand: z.object({ debug: z.boolean().optional(), tunedConfig: z.object({ reapply_sysctl: z.boolean().optional() }).strict().optional() }).strict().optional(),
              })
              .strict(),
          )
          .min(1),
      })
      .strict(),
  })
  .strict();

const NTO_NAMESPACE = 'openshift-cluster-node-tuning-operator';
const LABEL = 'nettune.io/profile';

const yaml = (doc: unknown): string => stringify(doc, { version: '1.1', lineWidth: 0, blockQuote: 'literal' });
const subDoc = (doc: ExportDoc, changes: ExportChange[]): ExportDoc => ({ ...doc, changes });

function examplePod(name: string, sysctls: { name: string; value: string }[]): Pod {
  return new Pod({
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'nettune' } },
    spec: {
      securityContext: { sysctls },
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }],
    },
  });
}

export function renderK8s(doc: ExportDoc, opts: RenderOptions): Rendered {
  const notes: string[] = [];
  const safe: { name: string; value: string; why: string }[] = [];
  const unsafe: { name: string; value: string; why: string }[] = [];
  const node: ExportChange[] = [...nicChanges(doc)];
  for (const c of sysctlChanges(doc)) {
    const k = kubernetesClass(c.key);
    const why = `${c.key}: ${oneLine(c.reason)}`;
    if (k.class === 'safe') {
      safe.push({ name: c.key, value: c.to, why: `${why} [safe${k.since ? ` since Kubernetes ${k.since}` : ''}${k.min_kernel ? `, kernel ${k.min_kernel}+` : ''}]` });
      if (k.note) notes.push(`${c.key}: ${k.note}`);
    } else if (k.class === 'unsafe') unsafe.push({ name: c.key, value: c.to, why: `${why} [unsafe: ${k.why}]` });
    else if (k.class === 'node') {
      node.push(c);
      notes.push(`${c.key}: node-level (${k.why}): in the Tuned profile and the DaemonSet, not in a pod`);
    }
    else notes.push(`${c.key} = ${c.to}: not exported: Kubernetes cannot set it from a pod, and ${k.why}; set it on the nodes yourself if it is node-level`);
  }
  const docs: string[] = [];
  const head = (lines: string[]): string => lines.map((l) => `# ${oneLine(l)}`).join('\n');
  if (safe.length) {
    const pod = examplePod(`${opts.name}-safe-sysctls`, safe.map(({ name, value }) => ({ name, value })));
    pod.validate();
    docs.push(`${head(['(a) Safe sysctls: allowed by every kubelet. Copy spec.securityContext.sysctls into your pod templates.', ...safe.map((s) => s.why)])}\n${yaml(pod.toJSON())}`);
  }
  if (unsafe.length) {
    const flag = `--allowed-unsafe-sysctls=${unsafe.map((s) => s.name).join(',')}`;
    const pod = examplePod(`${opts.name}-unsafe-sysctls`, unsafe.map(({ name, value }) => ({ name, value })));
    pod.validate();
    docs.push(`${head([`(b) Namespaced but unsafe: each node's kubelet must allow them first: kubelet ${flag}`, '(KubeletConfiguration: allowedUnsafeSysctls). A pod asking for one its node does not allow fails to start.', ...unsafe.map((s) => s.why)])}\n${yaml(pod.toJSON())}`);
    notes.push(`kubelet ${flag}`);
  }
  if (node.length) {
    const profile = renderTuned(subDoc(doc, node), { ...opts, include: 'openshift-node' }).files[0]?.content ?? '';
    const tuned = {
      apiVersion: 'tuned.openshift.io/v1',
      kind: 'Tuned',
      metadata: { name: opts.name, namespace: NTO_NAMESPACE },
      spec: { profile: [{ name: opts.name, data: profile }], recommend: [{ profile: opts.name, priority: 20, match: [{ label: LABEL, value: opts.name }] }] },
    };
    tunedSchema.parse(tuned);
    docs.push(`${head([`(c) Node-level settings through the Node Tuning Operator: nodes labelled ${LABEL}=${opts.name} get this profile.`, `kubectl label node NODE ${LABEL}=${opts.name}`])}\n${yaml(tuned)}`);
    const script = renderShell(subDoc(doc, node), { ...opts, revert: false }).files[0]?.content ?? '';
    const cm = new ConfigMap({ metadata: { name: `${opts.name}-node-tuning`, namespace: 'kube-system' }, data: { 'nettune.sh': script } });
    cm.validate();
    const hasNic = node.some((c) => c.kind !== 'sysctl');
    const ds = new DaemonSet({
      metadata: { name: `${opts.name}-node-tuning`, namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'nettune' } },
      spec: {
        selector: { matchLabels: { app: `${opts.name}-node-tuning` } },
        template: {
          metadata: { labels: { app: `${opts.name}-node-tuning` } },
          spec: {
            hostNetwork: true,
            nodeSelector: { [LABEL]: opts.name },
            tolerations: [{ operator: 'Exists' }],
            initContainers: [
              {
                name: 'tune',
                image: 'busybox:1.36',
                command: ['/bin/sh', '/nettune/nettune.sh'],
                securityContext: { privileged: true },
                volumeMounts: [{ name: 'script', mountPath: '/nettune', readOnly: true }],
              },
            ],
            containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '1m', memory: '8Mi' } } }],
            volumes: [{ name: 'script', configMap: { name: `${opts.name}-node-tuning` } }],
          },
        },
      },
    });
    ds.validate();
    docs.push(`${head(['(c, alternative) Without the operator: a privileged host-network DaemonSet runs the shell export once per node (it checks before each write).', hasNic ? 'Its NIC settings need ethtool, which busybox lacks: use an image with ethtool for them.' : 'busybox has the sysctl, awk, sed and tr the script uses.'])}\n${yaml(cm.toJSON())}---\n${yaml(ds.toJSON())}`);
    if (hasNic) notes.push('the DaemonSet image (busybox) has no ethtool: its NIC settings fail until you give it an image that has one; the Tuned profile applies them through tuned');
  }
  notes.push(...mptcpNotExpressed(doc, 'Kubernetes (no pod or Tuned setting)'));
  notes.push(...routingNotes(routingChanges(doc), 'Kubernetes', 'a node\'s routing tables and rules are the CNI\'s and the node\'s network configuration, not something a pod or the Node Tuning Operator sets; use --format ansible or systemd on the nodes'));
  notes.push(...nftNotExpressed(doc, 'Kubernetes (pod sysctls, Tuned, the DaemonSet)'));
  if (!docs.length) notes.push('nothing Kubernetes can set in this source');
  const content = [`# ${generatedBy(doc)}`, docs.join('---\n') || '# (nothing to set)\n'].join('\n');
  return { files: [{ path: `${opts.name}-k8s.yaml`, content }], notes };
}

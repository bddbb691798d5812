// export --format k8s: every key lands where Kubernetes can set it (catalog data), each manifest
// validates (kubernetes-models for core kinds, the Tuned schema for the operator's kind), and a key
// Kubernetes cannot set is reported by name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigMap, Pod } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../../src/catalog/index.js';
import { kubernetes, kubernetesClass } from '../../src/catalog/kubernetes.js';
import { renderK8s, tunedSchema } from '../../src/export/k8s.js';
import { docFromPlan } from '../../src/export/source.js';
import { planSchema } from '../../src/plan/schema.js';
import { FIXTURES } from '../helpers.js';

const plan = () => planSchema.parse(JSON.parse(readFileSync(join(FIXTURES, 'export', 'plan.json'), 'utf8')));
const opts = { revert: false, name: 'nettune', include: null };
const docsOf = (text: string): Record<string, unknown>[] => parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);

describe('Kubernetes facts (catalog data)', () => {
  it('every safe key is a catalogued per-namespace key; classes follow scope, prefix and device', () => {
    for (const s of kubernetes().safe.filter((x) => x.key.startsWith('net.'))) expect(findEntry(s.key)?.scope, s.key).toBe('netns');
    expect(kubernetesClass('net.ipv4.tcp_keepalive_time')).toMatchObject({ class: 'safe', since: '1.29', min_kernel: '4.5' });
    expect(kubernetesClass('net.ipv4.tcp_rmem')).toMatchObject({ class: 'safe', since: '1.32' });
    expect(kubernetesClass('net.core.somaxconn').class).toBe('unsafe');
    expect(kubernetesClass('net.core.rmem_max').class).toBe('node');
    expect(kubernetesClass('net.netfilter.nf_conntrack_max').class).toBe('node');
    expect(kubernetesClass('net.ipv4.conf.eth0.rp_filter')).toMatchObject({ class: 'node', why: expect.stringMatching(/interface eth0/) as unknown });
    expect(kubernetesClass('net.ipv4.conf.all.rp_filter').class).toBe('unsafe');
    expect(kubernetesClass('net.ipv4.no_such_knob').class).toBe('unknown');
  });
});

describe('export --format k8s', () => {
  it('safe and unsafe pod sysctls, a Tuned with the node-level ones embedded, a DaemonSet alternative: all valid', () => {
    const r = renderK8s(docFromPlan(plan(), 'plan.json'), opts);
    const docs = docsOf(r.files[0]?.content ?? '');
    expect(docs.map((d) => d.kind)).toEqual(['Pod', 'Pod', 'Tuned', 'ConfigMap', 'DaemonSet']);
    const [safe, unsafe, tuned, cm, ds] = docs;
    new Pod(safe).validate();
    new Pod(unsafe).validate();
    new ConfigMap(cm).validate();
    new DaemonSet(ds).validate();
    const t = tunedSchema.parse(tuned);
    expect((safe as { spec: { securityContext: { sysctls: unknown[] } } }).spec.securityContext.sysctls).toEqual([{ name: 'net.ipv4.tcp_wmem', value: '4096 16384 33554432' }]);
    expect((unsafe as { spec: { securityContext: { sysctls: unknown[] } } }).spec.securityContext.sysctls).toEqual([{ name: 'net.ipv4.tcp_slow_start_after_idle', value: '0' }]);
    expect(r.notes).toContain('kubelet --allowed-unsafe-sysctls=net.ipv4.tcp_slow_start_after_idle');
    const data = t.spec.profile[0]?.data ?? '';
    expect(data).toMatch(/^include=openshift-node$/m);
    expect(data).toMatch(/^net\.core\.rmem_max=33554432$/m);
    expect(data).not.toMatch(/tcp_wmem/);
    expect(data).toMatch(/^\[net_eth0\]\ntype=net\ndevices=eth0\n/m);
    expect(t.spec.recommend[0]).toEqual({ profile: 'nettune', priority: 20, match: [{ label: 'nettune.io/profile', value: 'nettune' }] });
    const spec = (ds as { spec: { template: { spec: { hostNetwork: boolean; initContainers: { securityContext: { privileged: boolean } }[] } } } }).spec.template.spec;
    expect(spec.hostNetwork).toBe(true);
    expect(spec.initContainers[0]?.securityContext.privileged).toBe(true);
    expect((cm as { data: Record<string, string> }).data['nettune.sh']).toMatch(/^nt_sysctl 'net\.core\.rmem_max' '33554432'$/m);
  });

  it('a key Kubernetes cannot set is named in a note, not silently dropped; the Tuned schema refuses what the operator would', () => {
    const p = plan();
    const key = 'net.ipv4.tcp_no_such_catalogued_knob';
    expect(findEntry(key)).toBeUndefined();
    p.changes = [{ kind: 'sysctl', key, from: '0', to: '1', reason: 'r', source: 's' }];
    const r = renderK8s(docFromPlan(p, 'plan.json'), opts);
    expect(r.notes.find((n) => n.startsWith(`${key} = 1: not exported: Kubernetes cannot set it from a pod`))).toBeDefined();
    expect(r.files[0]?.content).not.toContain(key);
    expect(tunedSchema.safeParse({ apiVersion: 'tuned.openshift.io/v1', kind: 'Tuned', metadata: { name: 'x', namespace: 'n' }, spec: { profile: [], recommend: [] } }).success).toBe(false);
    expect(
      tunedSchema.safeParse({ apiVersion: 'tuned.openshift.io/v1', kind: 'Tuned', metadata: { name: 'x', namespace: 'n' }, spec: { profile: [{ name: 'x', data: 'y' }], recommend: [{ profile: 'x', priority: -1 }] } }).success,
    ).toBe(false);
  });
});

// RSS flow hashing that leaves the ports out: the state a host is left in when a script's
// "ethtool -N eth0 rx-vlan hash 0x3FFFFFFF" (not ethtool syntax: it changes nothing) was meant to
// spread flows. Read from the Snapshot's `ethtool -n IF rx-flow-hash FLOW`; the fix is the
// per-flow-type command with the field letters (src/apply/kind-nic.ts), as the NIC planner uses.
import { flowHashLetters } from '../apply/kind-nic.js';
import type { Hit, Rule } from './types.js';

const FLOWS = ['tcp4', 'tcp6'] as const;

export const nicFlowHashRules: Rule[] = [
  {
    id: 'nic.flow-hash-without-ports',
    domain: 'nic',
    title: 'RSS hashes TCP flows on addresses only: connections between two hosts share one queue',
    severity: 'info',
    workloads: { throughput: 'warn', connections: 'warn' },
    needs: ['ethtool'],
    why: 'With RSS the NIC picks a receive queue (and so a CPU) from a hash of the fields set per flow type with `ethtool -N IF rx-flow-hash FLOW FIELDS`. Without the L4 bytes (letters f and n: the ports) every connection between the same two addresses hashes alike, so a busy client, a load balancer or a proxy in front of this host lands on one queue and one CPU however many queues there are. There is no other syntax: `ethtool -N IF rx-vlan hash MASK`, seen in tuning scripts, is not an ethtool command and leaves the hashing as it was.',
    sources: ['ethtool(8) (-n/-N rx-flow-hash, field letters m v t s d f n r)', 'Documentation/networking/scaling.rst (RSS)', 'include/uapi/linux/ethtool.h (RXH_L4_B_0_1, RXH_L4_B_2_3)'],
    risk: 'Hashing on ports is the usual default for TCP; some drivers accept only certain field sets per flow type (the write then fails and apply rolls back). Only TCP is proposed: UDP hashed on ports splits fragmented datagrams across queues.',
    check: (ctx) => {
      const hits: Hit[] = [];
      for (const link of ctx.snap.links) {
        const fh = link.ethtool?.flow_hash;
        if (!fh || link.rx_queues < 2) continue;
        for (const ft of FLOWS) {
          const now = flowHashLetters(fh[ft]);
          if (now === null || (now.includes('f') && now.includes('n'))) continue;
          const fix = `ethtool -N ${link.name} rx-flow-hash ${ft} sdfn`;
          hits.push({
            subject: `${link.name} ${ft}`,
            message: `${link.name} hashes ${ft} on ${now} (${(fh[ft] ?? []).join(', ')}) over ${link.rx_queues} receive queues: connections between the same two hosts all use one queue; \`${fix}\` adds the ports`,
            evidence: [
              { what: `${link.name} ethtool -n rx-flow-hash ${ft}`, value: now },
              { what: `${link.name} rx_queues`, value: link.rx_queues },
            ],
            changes: [{ kind: 'ethtool', device: link.name, group: 'flow-hash', setting: ft, from: now, to: 'sdfn' }],
            commands: [`# not "ethtool -N ${link.name} rx-vlan hash …" (no such syntax): one command per flow type`],
            confidence: 'high',
          });
        }
      }
      return hits;
    },
  },
];

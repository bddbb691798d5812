// Every audit rule, in one list. Add a domain file here when you add one.
import { backlogRules } from './backlog.js';
import { bufferRules } from './buffers.js';
import { conntrackRules } from './conntrack.js';
import { mptcpRules } from './mptcp.js';
import { nicRules } from './nic.js';
import { nicFlowHashRules } from './nic-flowhash.js';
import { queueRules } from './queues.js';
import { portRules } from './ports.js';
import { routingRules } from './routing.js';
import { tcpRules } from './tcp.js';
import type { Rule } from './types.js';

export const allRules: Rule[] = [...tcpRules, ...bufferRules, ...backlogRules, ...conntrackRules, ...portRules, ...routingRules, ...mptcpRules, ...nicRules, ...nicFlowHashRules, ...queueRules];

export function findRule(id: string): Rule | undefined {
  return allRules.find((r) => r.id === id);
}

// Every audit rule, in one list. Add a domain file here when you add one.
import type { Rule } from './types.js';
import { tcpRules } from './tcp.js';

export const allRules: Rule[] = [...tcpRules];

export function findRule(id: string): Rule | undefined {
  return allRules.find((r) => r.id === id);
}

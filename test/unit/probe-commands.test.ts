// The probe's batched ip commands: splitting `ip -batch` output into one document per command,
// and which devices are not asked for channels.
import { describe, expect, it } from 'vitest';
import { splitDocuments } from '../../src/probe/commands.js';
import { hasChannels, type SysfsReader, sysfsKind } from '../../src/probe/links.js';

describe('splitDocuments', () => {
  it('splits concatenated ip -j output and keeps the text after the documents', () => {
    const text = '[{"dst":"default","dev":"eth0"}]\n[{"priority":0,"table":"local"}]\n[]\nadd_addr_accepted 0 subflows 2 \n';
    expect(splitDocuments(text, 3)).toEqual({ docs: ['[{"dst":"default","dev":"eth0"}]', '[{"priority":0,"table":"local"}]', '[]'], rest: '\nadd_addr_accepted 0 subflows 2 \n' });
  });

  it('brackets and escaped quotes inside strings do not end a document', () => {
    const text = '[{"ifname":"a]\\"[b","x":{"y":[1]}}][]';
    expect(splitDocuments(text, 2)?.docs).toEqual(['[{"ifname":"a]\\"[b","x":{"y":[1]}}]', '[]']);
  });

  it('fewer documents than commands, or a truncated one, is null (the caller runs each command alone)', () => {
    expect(splitDocuments('[1]\nError: something\n', 2)).toBeNull();
    expect(splitDocuments('[{"a":1}', 1)).toBeNull();
    expect(splitDocuments('', 1)).toBeNull();
  });
});

describe('sysfsKind / hasChannels', () => {
  it('loopback by its IFF_LOOPBACK flag, bridge by its bridge directory; only those are not asked for channels', () => {
    const files: Record<string, string> = {
      '/sys/class/net/lo/flags': '0x9',
      '/sys/class/net/br0/flags': '0x1003',
      '/sys/class/net/eth0/flags': '0x1003',
      '/sys/class/net/ifb0/flags': '0x82',
      '/sys/class/net/odd/flags': 'junk',
    };
    const fs: SysfsReader = { text: (p) => files[p] ?? null, list: () => [], link: () => null, exists: (p) => p === '/sys/class/net/br0/bridge' };
    const kinds = ['lo', 'br0', 'eth0', 'ifb0', 'odd', 'gone'].map((d) => sysfsKind(d, fs));
    expect(kinds).toEqual(['loopback', 'bridge', undefined, undefined, undefined, undefined]);
    expect(kinds.map(hasChannels)).toEqual([false, false, true, true, true, true]);
  });
});

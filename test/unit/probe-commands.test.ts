// The probe's batched ip commands: splitting `ip -batch` output into one document per command,
// and which devices are not asked for channels.
import { describe, expect, it } from 'vitest';
import { splitDocuments } from '../../src/probe/commands.js';
import { hasChannels, linkKinds } from '../../src/probe/links.js';

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

describe('linkKinds / hasChannels', () => {
  it('loopback by its flag, others by linkinfo; only kinds without get_channels are skipped', () => {
    const kinds = linkKinds([
      { ifname: 'lo', flags: ['LOOPBACK', 'UP'] },
      { ifname: 'ifb0', linkinfo: { info_kind: 'ifb' } },
      { ifname: 'veth0', linkinfo: { info_kind: 'veth' } },
      { ifname: 'eth0', flags: ['UP'] },
      'junk',
    ]);
    expect([...kinds]).toEqual([['lo', 'loopback'], ['ifb0', 'ifb'], ['veth0', 'veth']]);
    expect(['lo', 'ifb0', 'veth0', 'eth0'].map((d) => hasChannels(kinds.get(d)))).toEqual([false, false, true, true]);
  });
});

// Counter files kept open and read again from offset 0: the kernel generates the text afresh on
// every such read (a loopback UDP datagram shows in the next read of the same descriptor), a
// missing file throws as readFileSync does, and a sweep closes what was not read since the last.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { keptFiles } from '../../src/probe/kept-files.js';
import { parseHeaderValuePairs } from '../../src/probe/parse-proc.js';

const outDatagrams = (text: string): number => parseHeaderValuePairs(text).data.Udp?.OutDatagrams ?? Number.NaN;

async function sendLoopback(n: number): Promise<void> {
  const s = createSocket('udp4');
  for (let i = 0; i < n; i++) await new Promise<void>((resolve, reject) => s.send('x', 9, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  s.close();
}

describe('kept counter files', () => {
  it('a second read of the same descriptor sees counters that moved', async () => {
    const files = keptFiles();
    try {
      const before = outDatagrams(files.read('/proc/self/net/snmp'));
      await sendLoopback(3);
      const after = outDatagrams(files.read('/proc/self/net/snmp'));
      expect(files.size()).toBe(1);
      expect(after - before).toBeGreaterThanOrEqual(3);
    } finally {
      files.close();
    }
  });

  it('a missing file throws with its code; a sweep closes files not read since the last one', () => {
    const files = keptFiles();
    try {
      expect(() => files.read('/proc/self/net/no-such-file')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      files.read('/proc/self/net/snmp');
      files.read('/proc/self/net/netstat');
      expect(files.list('/sys/class/net/lo/statistics')).toContain('rx_packets');
      files.sweep();
      expect(files.size()).toBe(2);
      files.read('/proc/self/net/snmp');
      files.sweep();
      expect(files.size()).toBe(1);
    } finally {
      files.close();
    }
    expect(files.size()).toBe(0);
  });

  it('past the limit a file is read and closed at once', () => {
    const files = keptFiles(1);
    try {
      files.read('/proc/self/net/snmp');
      expect(files.read('/proc/self/net/netstat')).toContain('TcpExt:');
      expect(files.size()).toBe(1);
    } finally {
      files.close();
    }
  });
});

// What limits each socket, on ss output captured from this kernel in the lab (test/fixtures/ss).
import { describe, expect, it } from 'vitest';
import { classifySockets, limitsFromSysctl, vectorMax } from '../../src/monitor/sockets.js';
import { parseSs, type SsSocket } from '../../src/probe/parse-ss.js';
import { fixture } from '../helpers.js';

const MiB = 1024 * 1024;
const read = (name: string, at = 0) => ({ ...parseSs(fixture('ss', name)).data, at_ms: at });
const limits = (wmem: number, rmem: number) => ({ wmem_max: wmem, rmem_max: rmem });

describe('classifySockets since the socket opened', () => {
  it('sender with tcp_wmem max 4 MiB on a 100 ms link: sndbuf (queues), the fix names tcp_wmem', () => {
    const [ctl, bulk] = classifySockets(read('6.1-sndbuf.txt'), limits(4 * MiB, 32 * MiB));
    expect(ctl?.limited_by).toBe('app');
    expect(bulk?.limited_by).toBe('sndbuf');
    expect(bulk?.basis).toBe('queues');
    expect(bulk?.since_open?.shares).toEqual({ sndbuf: 0.123, rwnd: 0, cwnd: 0.877, app: null });
    expect(bulk?.now).toMatchObject({ send_buffer_full: true, sndbuf_at_limit: true, cwnd_full: false, peer_window_full: false });
    expect(bulk?.send).toMatchObject({ queued_bytes: 3985968, sndbuf_bytes: 4194304, limit_bytes: 4 * MiB, of_limit_pct: 100 });
    expect(bulk?.reason).toMatch(/send buffer full .*tcp_wmem\[2\] = 4 MiB; raise net.ipv4.tcp_wmem's max/);
  });

  it('the same sender read while its queue is refilling (73 % of sndbuf, above the kernel\'s 2/3 wake-up mark): still sndbuf', () => {
    // the fresh-clone CI read such a stream at w3061800 of tb4194304, and the old 90 % mark left it on the network
    const text = fixture('ss', '6.1-sndbuf.txt').replace('w3985968', 'w3061800');
    const bulk = classifySockets({ ...parseSs(text).data, at_ms: 0 }, limits(4 * MiB, 32 * MiB))[1];
    expect(bulk?.now.send_buffer_full).toBe(true);
    expect(bulk?.limited_by).toBe('sndbuf');
    // below 2/3 the writer has been woken: the queue alone no longer says the buffer is the limit
    const low = classifySockets({ ...parseSs(fixture('ss', '6.1-sndbuf.txt').replace('w3985968', 'w2700000')).data, at_ms: 0 }, limits(4 * MiB, 32 * MiB))[1];
    expect(low?.now.send_buffer_full).toBe(false);
    expect(low?.limited_by).toBe('cwnd');
  });

  it('receiver with tcp_rmem max 256 KiB: rwnd (the peer window is full of bytes in flight)', () => {
    const bulk = classifySockets(read('6.1-rwnd.txt'), limits(32 * MiB, 32 * MiB))[1];
    expect(bulk?.limited_by).toBe('rwnd');
    expect(bulk?.since_open?.shares.rwnd).toBeCloseTo(1976 / 5544, 3);
    expect(bulk?.now.peer_window_full).toBe(true);
    expect(bulk?.reason).toMatch(/receiver's window .*tcp_rmem/);
  });

  it('big buffers behind a 20 Mbit/s TBF: cwnd (the network)', () => {
    const bulk = classifySockets(read('6.1-cwnd.txt'), limits(32 * MiB, 32 * MiB))[1];
    expect(bulk?.limited_by).toBe('cwnd');
    expect(bulk?.basis).toBe('since-open');
    expect(bulk?.since_open?.shares).toEqual({ sndbuf: 0, rwnd: 0, cwnd: 1, app: null });
    expect(bulk?.reason).toMatch(/the network 100% of busy time .*bbr cwnd 366/);
  });

  it('the same sndbuf capture with a larger limit: sndbuf below the cap is the network, not sndbuf', () => {
    const bulk = classifySockets(read('6.1-sndbuf.txt'), limits(32 * MiB, 32 * MiB))[1];
    expect(bulk?.limited_by).toBe('cwnd');
    expect(bulk?.now.sndbuf_at_limit).toBe(false);
  });

  it('listeners and TIME-WAIT are not judged; idle connections are app-limited', () => {
    const v = classifySockets(read('6.1-server-mixed.txt'), limits(4 * MiB, 6 * MiB));
    expect(v.map((s) => s.limited_by)).toEqual([null, null, 'app', null, 'app', 'app']);
    expect(v[5]?.recv).toMatchObject({ rcvbuf_bytes: 1972154, limit_bytes: 6 * MiB, of_limit_pct: 31.3 });
  });

  it('older ss without chronographs: judged from the queues, shares unknown', () => {
    const [ctl, bulk] = classifySockets(read('4.9-no-chronographs.txt'), limits(4 * MiB, 6 * MiB));
    expect(ctl?.limited_by).toBe('app');
    expect(bulk).toMatchObject({ limited_by: 'sndbuf', basis: 'queues', since_open: null, interval: null });
  });
});

describe('classifySockets over an interval (two reads)', () => {
  const base = parseSs(fixture('ss', '6.1-cwnd.txt')).data;
  const later = (f: (s: SsSocket) => Partial<SsSocket>) => ({ chronographs: true, at_ms: 2000, sockets: base.sockets.map((s) => ({ ...s, ...f(s) })) });
  const first = { ...base, at_ms: 1000 };

  it('shares are of wall time: rwnd, sndbuf, the rest of busy, and app = not busy', () => {
    const v = classifySockets(later((s) => ({ busy_ms: (s.busy_ms ?? 0) + 800, rwnd_limited_ms: (s.rwnd_limited_ms ?? 0) + 500, sndbuf_limited_ms: (s.sndbuf_limited_ms ?? 0) + 100 })), limits(32 * MiB, 32 * MiB), first)[1];
    expect(v?.interval).toEqual({ seconds: 1, busy_ms: 800, shares: { sndbuf: 0.1, rwnd: 0.5, cwnd: 0.2, app: 0.2 } });
    expect(v?.limited_by).toBe('rwnd');
    expect(v?.basis).toBe('interval');
  });

  it('a socket that was not busy in the interval is app-limited even if it was busy before', () => {
    const v = classifySockets(later(() => ({})), limits(32 * MiB, 32 * MiB), first)[1];
    expect(v?.interval?.shares).toEqual({ sndbuf: 0, rwnd: 0, cwnd: 0, app: 1 });
    expect(v?.limited_by).toBe('app');
  });

  it('a reused 4-tuple (busy went down) counts from zero, never negative', () => {
    const v = classifySockets(later(() => ({ busy_ms: 300, rwnd_limited_ms: 0, sndbuf_limited_ms: 0 })), limits(32 * MiB, 32 * MiB), first)[1];
    expect(v?.interval?.busy_ms).toBe(300);
    expect(Object.values(v?.interval?.shares ?? {}).every((x) => x !== null && x >= 0)).toBe(true);
  });
});

describe('limits from the Snapshot', () => {
  it('takes the third field of tcp_wmem / tcp_rmem', () => {
    expect(limitsFromSysctl({ 'net.ipv4.tcp_wmem': '4096 16384 4194304', 'net.ipv4.tcp_rmem': '4096 131072 6291456' })).toEqual({ wmem_max: 4194304, rmem_max: 6291456 });
    expect(vectorMax('4096 16384')).toBeNull();
    expect(vectorMax(undefined)).toBeNull();
  });
});

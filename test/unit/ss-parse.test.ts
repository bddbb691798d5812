// The ss parser on output captured from this kernel (iproute2 6.1) and on a constructed older
// format without the sender chronographs (see test/fixtures/README.md).
import { describe, expect, it } from 'vitest';
import { parseSs, parseSsRate } from '../../src/probe/parse-ss.js';
import { fixture } from '../helpers.js';

const ss = (name: string) => parseSs(fixture('ss', name));

describe('parseSs on iproute2 6.1 output', () => {
  it('reads every socket of a mixed capture: listener, TIME-WAIT, idle, control and bulk connections', () => {
    const { data, problems } = ss('6.1-server-mixed.txt');
    expect(problems).toEqual([]);
    expect(data.sockets.map((s) => s.state)).toEqual(['LISTEN', 'TIME-WAIT', 'ESTAB', 'LISTEN', 'ESTAB', 'ESTAB']);
    const [listen, tw, idle, listen6, , bulkRx] = data.sockets;
    expect(listen).toMatchObject({ local: '198.18.0.2:7000', peer: '0.0.0.0:*', recv_q: 0, send_q: 8, cwnd: 10, congestion: 'bbr' });
    expect(listen6?.local).toBe('*:5201');
    expect(tw).toMatchObject({ local: '198.18.0.2:7001', peer: '198.18.0.1:35976', skmem: null, rtt_ms: null, busy_ms: null });
    expect(idle).toMatchObject({ recv_q: 100, bytes_received: 100, app_limited: true, busy_ms: 0 });
    expect(idle?.skmem).toEqual({ rmem_alloc: 832, rcvbuf: 131072, wmem_alloc: 0, sndbuf: 69120, fwd_alloc: 3264, wmem_queued: 0, optmem: 0, backlog: 0, drops: 0 });
    expect(bulkRx).toMatchObject({ local: '[::ffff:198.18.0.2]:5201', peer: '[::ffff:198.18.0.1]:48804', bytes_received: 22310821, rcv_space: 318560 });
    expect(bulkRx?.skmem?.rcvbuf).toBe(1972154);
    expect(bulkRx?.other).toMatchObject({ rcv_rtt: '41.375', rcv_ssthresh: '1303641', wscale: '10,10', bbr: '(bw:0bps,mrtt:40.229)' });
    expect(data.chronographs).toBe(true);
  });

  it('reads the tcp_info of a bulk sender: rtt, cwnd, rates, notsent, unacked, chronographs', () => {
    const bulk = ss('6.1-client-mixed.txt').data.sockets[2];
    expect(bulk).toMatchObject({
      state: 'ESTAB',
      send_q: 3873152,
      rtt_ms: 46.514,
      rttvar_ms: 3.122,
      min_rtt_ms: 40.022,
      rto_ms: 248,
      mss: 1448,
      cwnd: 400,
      ssthresh: 240,
      bytes_sent: 22339781,
      bytes_acked: 22079142,
      unacked: 180,
      notsent: 3612512,
      snd_wnd: 1304576,
      send_bps: 99617320,
      pacing_rate_bps: 61900232,
      delivery_rate_bps: 47194944,
      app_limited: false,
      busy_ms: 3872,
      rwnd_limited_ms: 0,
      sndbuf_limited_ms: 0,
      last_recv_ms: 3872,
    });
    expect(bulk?.skmem).toMatchObject({ sndbuf: 4194304, wmem_queued: 3951360 });
  });

  it('reads rwnd_limited and sndbuf_limited with their ms and share', () => {
    const rwnd = ss('6.1-rwnd.txt').data.sockets[1];
    expect(rwnd).toMatchObject({ busy_ms: 5544, rwnd_limited_ms: 1976, sndbuf_limited_ms: 0, snd_wnd: 171264, unacked: 118 });
    const snd = ss('6.1-sndbuf.txt').data.sockets[1];
    expect(snd).toMatchObject({ busy_ms: 5584, rwnd_limited_ms: 0, sndbuf_limited_ms: 688 });
  });
});

describe('parseSs on an older ss without busy:/rwnd_limited:/sndbuf_limited:', () => {
  it('reads the two-line layout and human rates; the chronographs are unknown, not 0', () => {
    const { data, problems } = ss('4.9-no-chronographs.txt');
    expect(problems).toEqual([]);
    expect(data.chronographs).toBe(false);
    expect(data.sockets).toHaveLength(2);
    const bulk = data.sockets[1];
    expect(bulk).toMatchObject({ congestion: 'cubic', cwnd: 8112, send_bps: 938800000, pacing_rate_bps: 898100000, delivery_rate_bps: 314300000, busy_ms: null, rwnd_limited_ms: null, sndbuf_limited_ms: null, snd_wnd: null, bytes_sent: null });
    expect(data.sockets[0]?.delivery_rate_bps).toBe(223200);
  });
});

describe('parseSs edge cases', () => {
  it('an empty table (header only) is no sockets and no problem', () => {
    expect(parseSs('State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n')).toEqual({ data: { sockets: [], chronographs: false }, problems: [] });
  });

  it('a line that is not a socket is a problem, the rest is still read', () => {
    const text = `${fixture('ss', '6.1-cwnd.txt')}garbage here\n`;
    const r = parseSs(text);
    expect(r.data.sockets).toHaveLength(2);
    expect(r.problems).toEqual([expect.stringMatching(/line 4: not a socket line/)]);
  });

  it('a malformed value is reported, not guessed', () => {
    const r = parseSs('State Recv-Q Send-Q Local Address:Port Peer Address:Port\nESTAB 0 0 10.0.0.1:1 10.0.0.2:2 cwnd:x skmem:(r1) rtt:1/2\n');
    expect(r.data.sockets[0]?.cwnd).toBeNull();
    expect(r.data.sockets[0]?.rtt_ms).toBe(1);
    expect(r.problems).toEqual([expect.stringMatching(/cwnd: not a number/), expect.stringMatching(/skmem: cannot read/)]);
  });

  it('-p (users:) and a Netid column are understood', () => {
    const r = parseSs('Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\ntcp ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000 users:(("sshd: root",pid=1,fd=3)) cubic cwnd:10\n');
    expect(r.problems).toEqual([]);
    expect(r.data.sockets[0]).toMatchObject({ state: 'ESTAB', local: '10.0.0.1:22', congestion: 'cubic', cwnd: 10 });
    expect(r.data.sockets[0]?.other.users).toBe('(("sshd: root",pid=1,fd=3))');
  });

  it('a filter that selects one state makes ss leave the State column out: the state given is recorded', () => {
    const text = 'Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n0      128          0.0.0.0:2024      0.0.0.0:*     skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) cubic cwnd:10\n';
    const r = parseSs(text, { state: 'LISTEN' });
    expect(r.problems).toEqual([]);
    expect(r.data.sockets[0]).toMatchObject({ state: 'LISTEN', recv_q: 0, send_q: 128, local: '0.0.0.0:2024', peer: '0.0.0.0:*', cwnd: 10 });
    expect(parseSs(text).data.sockets[0]?.state).toBe('UNKNOWN');
  });

  it('ss rates: bps with decimal multipliers', () => {
    expect(parseSsRate('287224bps')).toBe(287224);
    expect(parseSsRate('47.2Mbps')).toBe(47200000);
    expect(parseSsRate('1.5Gbps')).toBe(1500000000);
    expect(parseSsRate('12kbit')).toBeNull();
  });
});

// `nettune dashboard` at the HTTP level, the real CLI on loopback: the token (401 without it,
// Bearer, ?token= → cookie), read-only (405), unknown paths (404), traversal and oversized headers
// refused, the event stream, DNS-rebinding Host refused; and the start-up errors: port in use
// (exit 3 naming the port), bad --listen / --token / --interval / --reports (exit 2).
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/sys/process.js';
import { BUNDLE, runCli } from '../helpers.js';
import { type RunningDashboard, startDashboard, stopAllDashboards } from './dashboard-helpers.js';

const TOKEN = 'h6-test-token-0123456789abcdef';

/** One request over a fresh connection, raw, so the path reaches the server exactly as written. */
function raw(port: number, text: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    const done = (): void => {
      const i = out.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0), head: i < 0 ? out : out.slice(0, i), body: i < 0 ? '' : out.slice(i + 4) });
    };
    sock.on('end', done);
    sock.on('error', reject);
    sock.write(text);
    setTimeout(() => sock.destroy(), 5000).unref();
  });
}

const get = (port: number, path: string, headers: Record<string, string> = {}, method = 'GET') =>
  raw(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}${method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`);

afterAll(stopAllDashboards);

describe('dashboard with a token (loopback, --token)', () => {
  let d: RunningDashboard;
  let port = 0;
  beforeAll(async () => {
    d = await startDashboard(['--listen', '127.0.0.1:0', '--token', TOKEN, '--interval', '500ms']);
    port = d.doc.listen.port;
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('says where it listens and that a token is required (and never prints a given token)', () => {
    expect(d.doc).toMatchObject({ url: `http://127.0.0.1:${port}/`, loopback: true, token_required: true, interval_s: 0.5 });
    expect(d.doc.token).toBeUndefined();
    expect(d.stderr()).not.toContain(TOKEN);
  });

  it('refuses every path without the token, the event stream included (401)', async () => {
    for (const p of ['/', '/assets/app.js', '/api/state', '/api/events', '/api/rules/tcp.sack-off', '/nope']) {
      const r = await get(port, p);
      expect(r.status, p).toBe(401);
      expect(r.head).toMatch(/www-authenticate: Bearer/i);
    }
    expect((await get(port, '/', { Authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await get(port, `/?token=${TOKEN}x`)).status).toBe(401);
    expect((await get(port, '/', { Cookie: `nettune_dashboard=${TOKEN}` })).status).toBe(401); // the cookie is not the token
  });

  it('takes the token as a Bearer header', async () => {
    const r = await get(port, '/api/state', { Authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(r.head).toMatch(/cache-control: no-store/i);
    const state = JSON.parse(r.body) as { host: { interval_s: number }; charts: { id: string }[]; series: unknown[] };
    expect(state.host.interval_s).toBe(0.5);
    expect(state.charts.map((c) => c.id)).toEqual(['links', 'retrans', 'softnet', 'conntrack', 'listen']);
    expect(state.series.length).toBeGreaterThanOrEqual(1);
  });

  it('?token= once sets an HttpOnly SameSite=Strict cookie and drops the token from the URL', async () => {
    const r = await get(port, `/?token=${TOKEN}`);
    expect(r.status).toBe(303);
    expect(r.head).toMatch(/^location: \/$/im);
    const cookie = /^set-cookie: ([^;\r\n]+);(.*)$/im.exec(r.head);
    expect(cookie?.[2]).toMatch(/HttpOnly/);
    expect(cookie?.[2]).toMatch(/SameSite=Strict/);
    expect(cookie?.[1]).not.toContain(TOKEN);
    const page = await get(port, '/', { Cookie: cookie?.[1] ?? '' });
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<script src="\/assets\/app\.js" defer><\/script>/);
    expect(page.body).not.toMatch(/<script>|<style>|style="/); // nothing inline: the CSP forbids it
    expect(page.head).toMatch(/content-security-policy: default-src 'none'; script-src 'self'/i);
  });

  it('redirects ?token= to this origin only: no //host (open redirect), no 500 for a path outside Latin-1', async () => {
    const other = await get(port, `//evil.example/?token=${TOKEN}`);
    expect(other.status).toBe(303);
    expect(other.head).toMatch(/^location: \/evil\.example\/$/im);
    const wide = await get(port, `/%E2%80%A8x?token=${TOKEN}`);
    expect(wide.status).toBe(303);
    expect(wide.head).toMatch(/^location: \/%E2%80%A8x$/im);
    expect(d.stderr()).not.toContain(TOKEN);
  });

  it('a token with + / = (base64, which --token allows) works in ?token= as typed', async () => {
    const plus = await startDashboard(['--listen', '127.0.0.1:0', '--interval', '500ms'], { env: { NETTUNE_DASHBOARD_TOKEN: 'h13+token/abc=defghij' } });
    try {
      const at = plus.doc.listen.port;
      expect((await get(at, '/?token=h13+token/abc=defghij')).status).toBe(303); // was 401: '+' read as a space
      expect((await get(at, '/?token=h13%2Btoken%2Fabc%3Ddefghij')).status).toBe(303);
      expect((await get(at, '/?token=h13+token/abc=defghiJ')).status).toBe(401);
    } finally {
      await plus.stop();
    }
  });

  it('streams events: init, then a sample each interval', async () => {
    const chunks = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let out = '';
      sock.setEncoding('utf8');
      sock.on('data', (x: string) => {
        out += x;
        if ((out.match(/^event: sample$/gm) ?? []).length >= 2) {
          sock.destroy();
          resolve(out);
        }
      });
      sock.on('error', reject);
      sock.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
      setTimeout(() => {
        sock.destroy();
        reject(new Error(`no two samples in 10 s: ${out.slice(0, 500)}`));
      }, 10_000).unref();
    });
    expect(chunks).toMatch(/content-type: text\/event-stream/i);
    expect(chunks).toMatch(/^event: init$/m);
    const sample = /^event: sample\ndata: (.*)$/m.exec(chunks.replace(/\r/g, ''));
    const p = JSON.parse(sample?.[1] ?? '{}') as { seq: number; charts: Record<string, unknown> };
    expect(p.seq).toBeGreaterThan(1);
    expect(Object.keys(p.charts)).toEqual(['links', 'retrans', 'softnet', 'conntrack', 'listen']);
  });

  it('is read-only: every method but GET and HEAD is 405', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await get(port, '/api/state', { Authorization: `Bearer ${TOKEN}` }, m);
      expect(r.status, m).toBe(405);
      expect(r.head).toMatch(/allow: GET, HEAD/i);
    }
    expect((await get(port, '/', { Authorization: `Bearer ${TOKEN}` }, 'HEAD')).status).toBe(200);
  });

  it('answers 404 for unknown paths, rules and report files', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect((await get(port, '/nope', auth)).status).toBe(404);
    expect((await get(port, '/api/nope', auth)).status).toBe(404);
    expect((await get(port, '/api/rules/no.such-rule', auth)).status).toBe(404);
    expect((await get(port, '/reports/x/result.json', auth)).status).toBe(404);
    const rule = await get(port, '/api/rules/tcp.sack-off', auth);
    expect(rule.status).toBe(200);
    const meta = JSON.parse(rule.body) as { id: string; why: string };
    const cli = JSON.parse(runCli(['rules', 'explain', 'tcp.sack-off', '--json']).stdout) as { id: string; why: string };
    expect(meta).toEqual(cli); // the same explanation the CLI gives
  });

  it('refuses path traversal, plain or encoded (400), before the token check', async () => {
    for (const p of ['/../../etc/passwd', '/assets/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/reports/..%2f..%2fetc/passwd', '/reports/x/..%5c..%5cetc', '/a%00b']) {
      const r = await get(port, p, { Authorization: `Bearer ${TOKEN}` });
      expect(r.status, p).toBe(400);
      expect(r.body).not.toMatch(/root:/);
    }
  });

  it('refuses oversized headers (431) and stays up', async () => {
    const r = await get(port, '/', { Authorization: `Bearer ${TOKEN}`, 'X-Big': 'a'.repeat(20_000) });
    expect(r.status).toBe(431);
    expect((await get(port, '/api/host', { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('dashboard on loopback without a token', () => {
  let d: RunningDashboard;
  beforeAll(async () => {
    d = await startDashboard(['--listen', '127.0.0.1:0']);
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('serves loopback clients without a token', async () => {
    expect(d.doc.token_required).toBe(false);
    expect((await get(d.doc.listen.port, '/')).status).toBe(200);
  });
  it('refuses a Host that is not loopback (DNS rebinding) with 421', async () => {
    const r = await raw(d.doc.listen.port, 'GET /api/state HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(421);
    expect(r.body).not.toMatch(/"series"/);
  });
  it('stops on SIGTERM (exit 143), closing the port', async () => {
    const port = d.doc.listen.port;
    expect(await d.stop()).toBe(143);
    await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('dashboard --json stopped by a signal', () => {
  /** Starts `dashboard --json` on `port`, sends SIGTERM as soon as the port accepts (it binds
   *  before it probes, so that is before its start document) or after `afterMs`; exit code, stdout. */
  async function stopped(port: number, afterMs: number | null): Promise<{ code: number | null; stdout: string }> {
    const child = spawn(process.execPath, [BUNDLE, 'dashboard', '--json', '--listen', `127.0.0.1:${port}`], { env: { ...process.env, NETTUNE_NO_INSTALL: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    if (afterMs !== null) await sleep(afterMs);
    else
      for (let i = 0; i < 2000; i++) {
        const up = await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
          s.on('error', () => resolve(false));
        });
        if (up) break;
        await sleep(5);
      }
    child.kill('SIGTERM');
    const code = await exited;
    clearTimeout(kill);
    return { code, stdout: out };
  }
  const freePort = (): Promise<number> =>
    new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });

  it('before it serves: exactly one JSON document, the interruption (it printed none)', async () => {
    const r = await stopped(await freePort(), null);
    expect(r.code).toBe(143);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ error: { exit_code: 143 } });
  });
  it('once it serves: the start document stays the only one', async () => {
    const r = await stopped(await freePort(), 3000);
    expect(r.code).toBe(143);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ loopback: true, token_required: false });
  });
});

describe('dashboard start-up errors', () => {
  it('a port in use is exit 3, naming the port, before anything starts', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as AddressInfo).port;
    try {
      const r = runCli(['dashboard', '--listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`port ${port} is already in use`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      const j = runCli(['dashboard', '--listen', `127.0.0.1:${port}`, '--json']);
      expect(j.code).toBe(3);
      expect(JSON.parse(j.stdout)).toMatchObject({ error: { exit_code: 3, message: `--listen 127.0.0.1:${port}: port ${port} is already in use` } });
    } finally {
      holder.close();
    }
  });
  it.each([
    [['--listen', '127.0.0.1'], /--listen: "127\.0\.0\.1" is not HOST:PORT/],
    [['--listen', '127.0.0.1:99999'], /--listen: port "99999"/],
    [['--listen', 'example.com:80'], /host names are not resolved/],
    [['--listen', '[::1'], /not HOST:PORT/],
    [['--token', 'short'], /--token: at least 16/],
    [['--interval', '10ms'], /--interval 10ms: expected between 200ms and 60s/],
    [['--interval', '5'], /needs a unit/],
    [['--reports', '/nonexistent/dir'], /--reports \/nonexistent\/dir: no such directory/],
    [['--netns', 'no-such-ns-h6'], /does not exist/],
  ])('%j is bad usage (exit 2) with one line', (args, msg) => {
    const r = runCli(['dashboard', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2); // message and hint
  });
  it.skipIf(process.getuid?.() !== 0)('a failure after the bind (a /run/netns entry that is no namespace) ends the command: exit 3, one document, the port closed', () => {
    const name = `nt-h13fake${process.pid}`;
    writeFileSync(`/run/netns/${name}`, '');
    try {
      const r = runCli(['dashboard', '--netns', name, '--listen', '127.0.0.1:0', '--json'], {}, 15_000);
      expect(r.code, r.stderr).toBe(3); // was: the error printed, then the server kept the process alive (503 "starting")
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { exit_code: 3 } });
      expect(r.stderr).toMatch(/a network namespace\? \(ip netns list\)/);
    } finally {
      rmSync(`/run/netns/${name}`, { force: true });
    }
  });
  it('a bad NETTUNE_DASHBOARD_TOKEN is named as the variable (not --token), without its value', () => {
    const r = runCli(['dashboard', '--json'], { NETTUNE_DASHBOARD_TOKEN: 'too short secret' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^nettune: NETTUNE_DASHBOARD_TOKEN: at least 16/);
    expect(r.stderr + r.stdout).not.toContain('too short secret');
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { exit_code: 2 } });
  });
});

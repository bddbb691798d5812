// The shared HTTP plumbing (src/monitor/http.ts) against real sockets on loopback: --listen
// parsing, port-in-use and address errors (exit 3 naming the port), the limits Node enforces,
// path checks, the Host check, the token comparison and the security headers.
import { request } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { NettuneError } from '../../src/sys/errors.js';
import {
  bearerToken,
  checkPath,
  closeServer,
  cookieValue,
  createHttpServer,
  generateToken,
  hostAllowed,
  isLoopbackAddress,
  listenFlag,
  methodNotAllowed,
  notFound,
  parseListen,
  parseListenText,
  securityHeaders,
  sendJson,
  startListening,
  tokenMatches,
} from '../../src/monitor/http.js';

const errorOf = (f: () => unknown): NettuneError => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(NettuneError);
    return err as NettuneError;
  }
  throw new Error('expected an error');
};

describe('parseListen', () => {
  it('accepts IPv4, bracketed IPv6 and localhost, and says which are loopback', () => {
    expect(parseListen('127.0.0.1:9878')).toEqual({ host: '127.0.0.1', port: 9878, loopback: true });
    expect(parseListen('127.3.4.5:1')).toEqual({ host: '127.3.4.5', port: 1, loopback: true });
    expect(parseListen('0.0.0.0:9877')).toEqual({ host: '0.0.0.0', port: 9877, loopback: false });
    expect(parseListen('198.18.0.1:80')).toEqual({ host: '198.18.0.1', port: 80, loopback: false });
    expect(parseListen('[::1]:9878')).toEqual({ host: '::1', port: 9878, loopback: true });
    expect(parseListen('[::]:9878')).toEqual({ host: '::', port: 9878, loopback: false });
    expect(parseListen('[::ffff:127.0.0.1]:9')).toEqual({ host: '::ffff:127.0.0.1', port: 9, loopback: true });
    expect(parseListen('localhost:0')).toEqual({ host: '127.0.0.1', port: 0, loopback: true });
    expect(parseListen('LOCALHOST:65535').port).toBe(65535);
  });
  it.each([
    ['', /not HOST:PORT/],
    ['9878', /not HOST:PORT/],
    [':9878', /no host/],
    ['127.0.0.1', /not HOST:PORT/],
    ['127.0.0.1:', /port "" is not/],
    ['127.0.0.1:65536', /port "65536"/],
    ['127.0.0.1:-1', /port "-1"/],
    ['127.0.0.1:08', /port "08"/],
    ['127.0.0.1:0x50', /port "0x50"/],
    ['127.0.0.1:80 80', /port/],
    ['256.0.0.1:80', /not an IPv4 address/],
    ['example.com:80', /host names are not resolved/],
    ['::1:9878', /without a port|not HOST:PORT/],
    ['::1', /IPv6 address without a port/],
    ['[::1]', /not HOST:PORT/],
    ['[fe80::1%eth0]:80', /zone ids/],
    ['[1.2.3.4]:80', /not an IPv6 address/],
    ['a:b:c', /not HOST:PORT/],
  ])('refuses %j as bad usage (exit 2) with one line', (text, msg) => {
    const e = errorOf(() => parseListen(text));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^--listen: /);
    expect(e.message).toMatch(msg);
    expect(e.message).not.toContain('\n');
    expect(e.hint).toMatch(/HOST:PORT/);
  });
  it('is usable as a zod field', () => {
    expect(listenFlag.parse('[::1]:1')).toEqual({ host: '::1', port: 1, loopback: true });
    expect(listenFlag.safeParse('nope').success).toBe(false);
    expect(typeof parseListenText('x:1')).toBe('string');
  });
  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.2']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['0.0.0.0', '::', '198.18.0.1', '128.0.0.1', '::ffff:10.0.0.1', '::2']) expect(isLoopbackAddress(a)).toBe(false);
  });
});

describe('startListening', () => {
  const holders: ReturnType<typeof createTcpServer>[] = [];
  afterAll(async () => {
    for (const s of holders) await new Promise((r) => s.close(r));
  });

  it('binds port 0 and reports the port the kernel chose', async () => {
    const server = createHttpServer((_req, res) => sendJson(res, 200, { ok: true }));
    const bound = await startListening(server, parseListen('127.0.0.1:0'));
    expect(bound.host).toBe('127.0.0.1');
    expect(bound.port).toBeGreaterThan(0);
    await closeServer(server);
    expect(server.listening).toBe(false);
  });
  it('a port in use is an environment error (exit 3) that names the port', async () => {
    const holder = createTcpServer();
    holders.push(holder);
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as AddressInfo).port;
    const server = createHttpServer(() => undefined);
    const err = await startListening(server, parseListen(`127.0.0.1:${port}`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NettuneError);
    expect((err as NettuneError).exitCode).toBe(3);
    expect((err as NettuneError).message).toBe(`--listen 127.0.0.1:${port}: port ${port} is already in use`);
    expect(server.listening).toBe(false);
  });
  it('an address this host does not have is exit 3 too', async () => {
    const server = createHttpServer(() => undefined);
    const err = await startListening(server, parseListen('198.19.254.254:0')).catch((e: unknown) => e);
    expect((err as NettuneError).exitCode).toBe(3);
    expect((err as NettuneError).message).toMatch(/198\.19\.254\.254 is not an address of this host/);
  });
});

/** Sends raw bytes to the server and returns what it answered (the connection is closed by it). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
    sock.write(text);
    setTimeout(() => sock.destroy(), 3000).unref();
  });
}

describe('createHttpServer', () => {
  it('answers oversized headers 431 and garbage 400 without calling the handler; handler errors are 500', async () => {
    let calls = 0;
    const logged: string[] = [];
    const server = createHttpServer(
      (req, res) => {
        calls++;
        if (req.url?.startsWith('/boom')) throw new Error('boom');
        if (req.method !== 'GET') return methodNotAllowed(res);
        notFound(res);
      },
      { limits: { maxHeaderBytes: 4096 }, log: (l) => logged.push(l) },
    );
    const { port } = await startListening(server, parseListen('127.0.0.1:0'));
    try {
      const big = await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
      expect(big).toMatch(/^HTTP\/1\.1 431 /);
      const bad = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
      expect(bad).toMatch(/^HTTP\/1\.1 400 /);
      expect(calls).toBe(0);
      const missing = await rawRequest(port, 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(missing).toMatch(/^HTTP\/1\.1 404 /);
      expect(missing).toMatch(/content-security-policy: default-src 'none'/i);
      expect(missing).toMatch(/x-content-type-options: nosniff/i);
      const post = await rawRequest(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      expect(post).toMatch(/^HTTP\/1\.1 405 /);
      expect(post).toMatch(/allow: GET, HEAD/i);
      // CONNECT is answered too (Node closed the connection without a word)
      const tunnel = await rawRequest(port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
      expect(tunnel).toMatch(/^HTTP\/1\.1 405 /);
      expect(tunnel).toMatch(/allow: GET, HEAD/i);
      const boom = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/boom?token=secret-0123456789abcdef' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(boom).toBe(500);
      // The error is logged with its path, never its query (the dashboard's ?token= is a secret).
      expect(logged.join('\n')).toMatch(/GET \/boom: boom/);
      expect(logged.join('\n')).not.toContain('secret');
    } finally {
      await closeServer(server);
    }
  });
});

describe('connection limits', () => {
  const open = (port: number, localAddress: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
      s.on('error', reject);
    });
  const closedWithin = (s: Socket, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (s.destroyed || s.readyState === 'closed') return resolve(true);
      const t = setTimeout(() => resolve(false), ms);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.resume();
    });

  it('one client address that holds connections open without a request cannot shut others out', async () => {
    const server = createHttpServer((_req, res) => sendJson(res, 200, { ok: true }), { limits: { maxConnectionsPerAddress: 4 } });
    const { port } = await startListening(server, parseListen('127.0.0.1:0'));
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) idle.push(await open(port, '127.0.0.1'));
      const fifth = await open(port, '127.0.0.1');
      expect(await closedWithin(fifth, 2000)).toBe(true); // over the per-address limit: closed at once
      // another address (Prometheus elsewhere) is still served
      const other = await open(port, '127.0.0.2');
      other.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const answer = await new Promise<string>((resolve) => {
        let out = '';
        other.on('data', (d: Buffer) => (out += d.toString()));
        other.on('close', () => resolve(out));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      // a slot freed is a slot again
      idle.pop()?.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const again = await open(port, '127.0.0.1');
      expect(await closedWithin(again, 300)).toBe(false);
      again.destroy();
    } finally {
      for (const s of idle) s.destroy();
      await closeServer(server);
    }
  });

  it('a connection that never sends its headers is closed soon after the headers timeout, not ~30 s later', async () => {
    const server = createHttpServer((_req, res) => notFound(res), { limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000 } });
    const { port } = await startListening(server, parseListen('127.0.0.1:0'));
    try {
      const s = await open(port, '127.0.0.1');
      expect(await closedWithin(s, 4000)).toBe(true);
    } finally {
      await closeServer(server);
    }
  });
});

describe('checkPath', () => {
  it('returns the decoded path and the query', () => {
    const r = checkPath('/api/reports/a%20b.json?token=x');
    expect(r.ok && r.path).toBe('/api/reports/a b.json');
    expect(r.ok && r.query.get('token')).toBe('x');
  });
  it.each(['/../etc/passwd', '/a/../../b', '/%2e%2e/etc/passwd', '/.%2E/x', '/a/./b', '/a%2f..%2fb', '/a%5c..', '/a\\b', '/a%00b', '/%zz'])('refuses %j (400)', (p) => {
    const r = checkPath(p);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.status).toBe(400);
  });
  it('refuses a target that is not a path, and a very long one (414)', () => {
    expect(checkPath('http://evil/').ok).toBe(false);
    expect(checkPath('*').ok).toBe(false);
    const long = checkPath(`/${'a'.repeat(3000)}`);
    expect(!long.ok && long.status).toBe(414);
  });
});

describe('hostAllowed', () => {
  const bound = { host: '127.0.0.1', port: 9878 };
  it('accepts loopback names with the bound port', () => {
    for (const h of ['127.0.0.1:9878', 'localhost:9878', 'LOCALHOST', '[::1]:9878', '127.0.0.1']) expect(hostAllowed(h, bound)).toBe(true);
  });
  it('refuses other names (DNS rebinding), other ports and no Host', () => {
    for (const h of ['evil.example:9878', 'evil.example', '127.0.0.1:80', '10.0.0.1:9878', '', 'a:b:c']) expect(hostAllowed(h, bound)).toBe(false);
    expect(hostAllowed(undefined, bound)).toBe(false);
    expect(hostAllowed('198.18.0.1:9878', { host: '198.18.0.1', port: 9878 })).toBe(true);
  });
});

describe('tokens', () => {
  it('compares in constant time on digests: equal only when identical and non-empty', () => {
    const t = generateToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateToken()).not.toBe(t);
    expect(tokenMatches(t, t)).toBe(true);
    expect(tokenMatches(`${t}x`, t)).toBe(false);
    expect(tokenMatches(t.slice(0, -1), t)).toBe(false);
    expect(tokenMatches('', t)).toBe(false);
    expect(tokenMatches(undefined, t)).toBe(false);
    expect(tokenMatches(null, t)).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
  it('reads a bearer token and cookies', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as never;
    expect(bearerToken(req({ authorization: 'Bearer abc' }))).toBe('abc');
    expect(bearerToken(req({ authorization: 'bearer  abc ' }))).toBe('abc');
    expect(bearerToken(req({ authorization: 'Basic abc' }))).toBeUndefined();
    expect(bearerToken(req({}))).toBeUndefined();
    expect(cookieValue(req({ cookie: 'a=1; nettune_token=xyz; b=2' }), 'nettune_token')).toBe('xyz');
    expect(cookieValue(req({ cookie: 'xnettune_token=1' }), 'nettune_token')).toBeUndefined();
  });
});

describe('securityHeaders', () => {
  it('forbid inline script and framing, sniffing and referrers; API is never cached', () => {
    const h = securityHeaders('api');
    expect(h['Content-Security-Policy']).toMatch(/default-src 'none'/);
    expect(h['Content-Security-Policy']).toMatch(/script-src 'self';/);
    expect(h['Content-Security-Policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(h['Content-Security-Policy']).toMatch(/frame-ancestors 'none'/);
    expect(h['X-Content-Type-Options']).toBe('nosniff');
    expect(h['Referrer-Policy']).toBe('no-referrer');
    expect(h['Cache-Control']).toBe('no-store');
    expect(securityHeaders('asset')['Cache-Control']).toMatch(/max-age/);
  });
});

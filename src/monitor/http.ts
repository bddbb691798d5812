// The HTTP plumbing the exporter and the dashboard share (Node's http only): parsing --listen,
// listening with environment errors that name the port, request limits, a refusal for odd paths,
// the constant-time token check, the Host check against DNS rebinding, and the security headers.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type Socket } from 'node:net';
import { z } from 'zod';
import { environmentError, usageError } from '../sys/errors.js';

export interface ListenAddress {
  /** What listen() gets: an IPv4 or IPv6 literal (localhost is 127.0.0.1). */
  host: string;
  /** 0 asks the kernel for a free port (the bound one is reported after listening). */
  port: number;
  /** Loopback only (127.0.0.0/8, ::1, ::ffff:127.x, localhost): reachable from this host alone. */
  loopback: boolean;
}

const shown = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 59)}…` : s);

const LISTEN_HINT = 'HOST:PORT with HOST an IPv4 address, [IPv6] in brackets or localhost, PORT 0–65535 (e.g. 127.0.0.1:9878, [::1]:9878, 0.0.0.0:9878)';

/** Returns the address or an error message (without the flag name). */
export function parseListenText(text: string): ListenAddress | string {
  const t = text.trim();
  const m = /^(?:\[([^\]]*)\]|([^[\]:]*)):([^:]*)$/.exec(t);
  if (!m) {
    if (isIPv6(t)) return `${shown(text)} is an IPv6 address without a port: write it as [${t}]:PORT`;
    return `${shown(text)} is not HOST:PORT`;
  }
  const [, v6, plain, portText = ''] = m;
  if (!/^(0|[1-9]\d{0,4})$/.test(portText) || Number(portText) > 65535) return `port ${shown(portText)} is not a whole number from 0 to 65535`;
  const port = Number(portText);
  if (v6 !== undefined) {
    if (!isIPv6(v6) || v6.includes('%')) return `${shown(v6)} is not an IPv6 address (zone ids are not supported)`;
    return { host: v6, port, loopback: isLoopbackAddress(v6) };
  }
  const host = plain ?? '';
  if (host === '') return `no host in ${shown(text)}: say which address to bind (127.0.0.1 for this host only, 0.0.0.0 or [::] for all)`;
  if (host.toLowerCase() === 'localhost') return { host: '127.0.0.1', port, loopback: true };
  if (!isIPv4(host)) return `${shown(host)} is not an IPv4 address or localhost (host names are not resolved: give the address)`;
  return { host, port, loopback: isLoopbackAddress(host) };
}

/** --listen: a bad value is bad usage (exit 2) before anything starts. */
export function parseListen(text: string, flag = '--listen'): ListenAddress {
  const r = parseListenText(text);
  if (typeof r === 'string') throw usageError(`${flag}: ${r}`, LISTEN_HINT);
  return r;
}

/** The zod field for a --listen flag (commander hands it over as a string). */
export const listenFlag = z.string().transform((s, ctx) => {
  const r = parseListenText(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: `${r} (${LISTEN_HINT})` });
    return z.NEVER;
  }
  return r;
});

export function isLoopbackAddress(addr: string): boolean {
  const a = addr.toLowerCase();
  if (isIPv4(a)) return a.startsWith('127.');
  if (a === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(a)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped !== null && mapped[1] !== undefined && mapped[1].startsWith('127.');
}

/** host:port as a user writes it ([v6]:port). */
export const formatHostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export interface Limits {
  /** Bytes of request line plus headers (Node answers 431 past it). */
  maxHeaderBytes: number;
  /** Milliseconds to receive the headers, and the whole request. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections at once; more are refused by the server. */
  maxConnections: number;
  /** Connections at once from one client address; more are closed at once, so one client that
   *  opens connections and sends nothing cannot take every slot from the others (Prometheus). */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 128,
};

/** How often Node checks the header and request timeouts (its default, 30 s, let a connection
 *  that never sent a byte live ~40 s with a 10 s headers timeout). */
const TIMEOUT_CHECK_MS = 1000;

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** An http.Server with the limits set, malformed requests answered without reaching `handler`
 *  (431 for oversized headers, 408 for a timeout, 400 otherwise), and a handler error answered
 *  500 with one line on `log` (never a stack trace to the client). */
export function createHttpServer(handler: Handler, opts: { limits?: Partial<Limits>; log?: (line: string) => void } = {}): Server {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.log ?? (() => undefined);
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      joinDuplicateHeaders: false,
    },
    (req, res) => {
      Promise.resolve()
        .then(() => handler(req, res))
        .catch((err: unknown) => {
          // The path only: a query may hold the dashboard's ?token=, which must not reach a log.
          log(`http: ${req.method ?? '?'} ${(req.url ?? '').split('?')[0]?.slice(0, 100) ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
          if (!res.headersSent) sendText(res, 500, 'internal error\n');
          else res.destroy();
        });
    },
  );
  server.maxConnections = limits.maxConnections;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '';
    const n = (perAddress.get(addr) ?? 0) + 1;
    if (n > limits.maxConnectionsPerAddress) return void socket.destroy();
    perAddress.set(addr, n);
    socket.once('close', () => {
      const left = (perAddress.get(addr) ?? 1) - 1;
      if (left > 0) perAddress.set(addr, left);
      else perAddress.delete(addr);
    });
  });
  // CONNECT never reaches the handler (Node emits 'connect', and closes the socket unanswered
  // when nobody listens): it is another method these read-only servers do not serve.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}

/** Listens on `addr`; a port in use or not permitted, or an address this host does not have, is
 *  an environment error (exit 3) naming the address. Resolves with the bound address. */
export function startListening(server: Server, addr: ListenAddress, flag = '--listen'): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const where = formatHostPort(addr.host, addr.port);
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(environmentError(`${flag} ${where}: port ${addr.port} is already in use`, `stop what listens there (ss -ltnp 'sport = :${addr.port}') or choose another port`));
      else if (err.code === 'EACCES') reject(environmentError(`${flag} ${where}: not permitted to bind port ${addr.port}`, 'ports below 1024 need root (or CAP_NET_BIND_SERVICE); choose a port ≥ 1024'));
      else if (err.code === 'EADDRNOTAVAIL') reject(environmentError(`${flag} ${where}: ${addr.host} is not an address of this host (port ${addr.port})`, 'see ip -br addr'));
      else if (err.code === 'EAFNOSUPPORT') reject(environmentError(`${flag} ${where}: this host has no ${addr.host.includes(':') ? 'IPv6' : 'IPv4'} (port ${addr.port})`));
      else reject(environmentError(`${flag} ${where}: cannot listen on port ${addr.port}: ${err.message}`));
    };
    const onListening = (): void => {
      server.off('error', onError);
      const a = server.address();
      resolve(a !== null && typeof a === 'object' ? { host: a.address, port: a.port } : { host: addr.host, port: addr.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: addr.host, port: addr.port, ipv6Only: false, exclusive: true });
  });
}

/** Stops accepting, ends open connections (event streams included), resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// ---- requests ----------------------------------------------------------------------------------

export type PathCheck = { ok: true; path: string; query: URLSearchParams } | { ok: false; status: 400 | 414; reason: string };

/** The request's path, checked on the raw text before any normalisation: no `.`/`..` segments
 *  (plain or percent-encoded), no backslash, NUL or control characters, no encoded `/`, at most
 *  2048 characters. The path is returned decoded, for exact-match routing. */
export function checkPath(rawUrl: string | undefined): PathCheck {
  const raw = rawUrl ?? '';
  if (raw.length > 2048) return { ok: false, status: 414, reason: 'URI too long' };
  if (!raw.startsWith('/')) return { ok: false, status: 400, reason: 'the request target must be a path' };
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  let decoded: string[];
  try {
    decoded = rawPath.split('/').map((seg) => decodeURIComponent(seg));
  } catch {
    return { ok: false, status: 400, reason: 'bad percent-encoding' };
  }
  for (const seg of decoded) {
    if (seg === '.' || seg === '..') return { ok: false, status: 400, reason: 'path traversal refused' };
    // eslint-disable-next-line no-control-regex
    if (/[\\/\x00-\x1f\x7f]/.test(seg)) return { ok: false, status: 400, reason: 'bad character in path' };
  }
  return { ok: true, path: decoded.join('/'), query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** For a server bound to loopback without a token, the Host header must name loopback (or be
 *  the bound address): a web page that rebinds its own DNS name to 127.0.0.1 is refused. */
export function hostAllowed(hostHeader: string | undefined, bound: { host: string; port: number }): boolean {
  if (hostHeader === undefined) return false;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const host = m[1] ?? m[2] ?? '';
  if (m[3] !== undefined && Number(m[3]) !== bound.port) return false;
  return host === 'localhost' || host === bound.host.toLowerCase() || ((isIPv4(host) || isIPv6(host)) && isLoopbackAddress(host));
}

// ---- tokens ------------------------------------------------------------------------------------

/** 32 random bytes, base64url (43 characters). */
export const generateToken = (): string => randomBytes(32).toString('base64url');

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: both sides are hashed first, so the compared buffers always have
 *  equal length and neither the length nor a common prefix of the token leaks through timing. */
export function tokenMatches(given: string | undefined | null, expected: string): boolean {
  const ok = timingSafeEqual(digest(given ?? ''), digest(expected));
  return ok && given !== undefined && given !== null && expected !== '';
}

/** The bearer token of an `Authorization: Bearer T` header, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = h === undefined ? null : /^Bearer[ \t]+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** A cookie's value from the Cookie header, or undefined. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

// ---- responses ---------------------------------------------------------------------------------

/** The strict policy: scripts, styles, images and connections from this origin only; no inline
 *  script or style elements, no eval, no framing, no plugins, no forms. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export type Kind = 'page' | 'asset' | 'api';

/** Headers every response gets; API responses (and pages, which carry live state) are never
 *  cached, bundled assets may be cached briefly. */
export function securityHeaders(kind: Kind): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
    'Cache-Control': kind === 'asset' ? 'private, max-age=300' : 'no-store',
  };
}

const NO_EXTRA: Record<string, string> = Object.freeze({});

/** The headers answered with a Buffer body (no extra headers), kept while the body lives: the
 *  exporter answers every scrape that shares a sample with one Buffer, and under 50 concurrent
 *  scrapers a fresh header object per response was most of what outlived V8's young generation
 *  (Node reads the object passed to writeHead, it does not change or keep it). */
const headersOf = new WeakMap<Buffer, { kind: Kind; contentType: string; headers: Record<string, string> }>();

export function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string, kind: Kind = 'api', extra: Record<string, string> = NO_EXTRA): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let headers: Record<string, string>;
  const kept = extra === NO_EXTRA && buf === body ? headersOf.get(buf) : undefined;
  if (kept && kept.kind === kind && kept.contentType === contentType) headers = kept.headers;
  else {
    headers = { ...securityHeaders(kind), 'Content-Type': contentType, 'Content-Length': String(buf.length), ...extra };
    if (extra === NO_EXTRA && buf === body) headersOf.set(buf, { kind, contentType, headers });
  }
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

export const sendText = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = NO_EXTRA): void =>
  send(res, status, text, 'text/plain; charset=utf-8', 'api', extra);

export const sendJson = (res: ServerResponse, status: number, doc: unknown): void => send(res, status, `${JSON.stringify(doc)}\n`, 'application/json; charset=utf-8', 'api');

export const notFound = (res: ServerResponse): void => sendText(res, 404, 'not found\n');

/** Read-only servers answer every other method 405 with the methods they allow. */
export const methodNotAllowed = (res: ServerResponse, allow = 'GET, HEAD'): void => sendText(res, 405, 'method not allowed: this server is read-only\n', { Allow: allow });

export const unauthorized = (res: ServerResponse): void =>
  sendText(res, 401, 'unauthorized: give the token as "Authorization: Bearer TOKEN" (or ?token=TOKEN once, in a browser)\n', { 'WWW-Authenticate': 'Bearer realm="nettune"' });

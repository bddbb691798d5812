// The dashboard's HTTP side: routes, the token (header, or ?token= once → cookie), the Host check
// on loopback, server-sent events. Read-only: GET and HEAD only, nothing here changes the host.
// What it shows comes from a DashboardSource (src/monitor/dashboard-live.ts), the page and its
// assets from a fixed map built into the bundle (scripts/build.mjs), so no request path ever
// reaches the file system except a report file named by (listed id, known file name).
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, checkPath, cookieValue, type Handler, hostAllowed, methodNotAllowed, notFound, send, sendJson, sendText, securityHeaders, tokenMatches, unauthorized } from './http.js';

export interface Asset {
  body: string;
  type: string;
}

/** URL path → asset ('/' is the page). */
export type Assets = Readonly<Record<string, Asset>>;

export type DashboardEvent = { event: 'sample' | 'findings' | 'drift' | 'transactions' | 'reports'; data: unknown };

export interface DashboardSource {
  /** Everything the page shows now (also what a new event stream starts with). */
  state(): unknown;
  /** The parts of state() by name, for /api/NAME. */
  part(name: string): unknown;
  rule(id: string): unknown;
  reportFile(id: string, file: string): { body: Buffer; type: string } | null;
  subscribe(fn: (e: DashboardEvent) => void): () => void;
}

export interface DashboardServerOptions {
  assets: Assets;
  /** null while the sampler starts (answered 503). */
  source: () => DashboardSource | null;
  /** Required on every request when set; null only on a loopback bind. */
  token: string | null;
  /** The bound address (for the Host check); read per request, known once listening. */
  bound: () => { host: string; port: number } | null;
  /** Event streams at once; more get 503. */
  maxStreams?: number;
  log?: (line: string) => void;
}

export const COOKIE = 'nettune_dashboard';
const SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'";
export const API_PARTS = ['findings', 'drift', 'transactions', 'reports', 'series', 'host'] as const;

/** The cookie holds an HMAC of the token, not the token itself. */
export const cookieSecret = (token: string): string => createHmac('sha256', token).update('nettune-dashboard-cookie/1').digest('base64url');

/** The path to redirect to after ?token=, on this origin: re-encoded (a decoded character outside
 *  Latin-1 cannot be a header value: it was a 500 that logged the token) and with one leading
 *  slash (`//host/` in Location is another site: an open redirect). */
export const sameOriginLocation = (path: string): string => `/${path.split('/').filter((seg) => seg !== '').map(encodeURIComponent).join('/')}${path.length > 1 && path.endsWith('/') ? '/' : ''}`;

function authorised(req: IncomingMessage, token: string | null): boolean {
  if (token === null) return true;
  const bearer = bearerToken(req);
  if (bearer !== undefined) return tokenMatches(bearer, token);
  return tokenMatches(cookieValue(req, COOKIE), cookieSecret(token));
}

/** Bytes a stream may have queued for a client that does not read; past it the stream is closed
 *  (the page's EventSource reconnects and starts again from `init`). */
export const MAX_STREAM_BACKLOG = 1024 * 1024;

function sse(res: ServerResponse, e: DashboardEvent | { event: 'init'; data: unknown }): void {
  if (res.writableLength > MAX_STREAM_BACKLOG) return void res.destroy();
  res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
}

export function createDashboardHandler(o: DashboardServerOptions): Handler {
  const maxStreams = o.maxStreams ?? 32;
  let streams = 0;
  return (req, res) => {
    const p = checkPath(req.url);
    if (!p.ok) return sendText(res, p.status, `${p.reason}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res);
    const bound = o.bound();
    // Without a token the only guard is "loopback": refuse a Host that is not (DNS rebinding).
    if (o.token === null && (bound === null || !hostAllowed(req.headers.host, bound))) return sendText(res, 421, 'misdirected request: this dashboard answers to a loopback Host only\n');
    // A token may hold '+' (base64), which form decoding turns into a space; a token never holds
    // a space, so every space was a '+' (?token=a+b and ?token=a%2Bb are the same token).
    const queryToken = p.query.get('token')?.replaceAll(' ', '+') ?? null;
    if (o.token !== null && queryToken !== null) {
      // First page load with ?token=: set the cookie and drop the token from the address bar.
      if (!tokenMatches(queryToken, o.token)) return unauthorized(res);
      res.writeHead(303, {
        ...securityHeaders('page'),
        Location: sameOriginLocation(p.path),
        'Set-Cookie': `${COOKIE}=${cookieSecret(o.token)}; HttpOnly; SameSite=Strict; Path=/`,
        'Content-Length': '0',
      });
      return void res.end();
    }
    if (!authorised(req, o.token)) return unauthorized(res);

    const asset = o.assets[p.path];
    if (asset) return send(res, 200, asset.body, asset.type, p.path === '/' ? 'page' : 'asset');
    const source = o.source();
    if (source === null) return sendText(res, 503, 'starting: the first samples are being taken\n', { 'Retry-After': '2' });
    if (p.path === '/api/state') return sendJson(res, 200, source.state());
    if (p.path === '/api/events') {
      if (streams >= maxStreams) return sendText(res, 503, `too many event streams (at most ${maxStreams})\n`, { 'Retry-After': '10' });
      streams++;
      res.writeHead(200, { ...securityHeaders('api'), 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      if (req.method === 'HEAD') {
        streams--;
        return void res.end();
      }
      res.write('retry: 3000\n\n');
      sse(res, { event: 'init', data: source.state() });
      const unsubscribe = source.subscribe((e) => sse(res, e));
      const done = (): void => {
        unsubscribe();
        streams--;
      };
      res.once('close', done);
      return;
    }
    const rule = /^\/api\/rules\/([A-Za-z0-9._-]{1,100})$/.exec(p.path);
    if (rule?.[1] !== undefined) {
      const r = source.rule(rule[1]);
      return r === undefined ? sendJson(res, 404, { error: `unknown rule ${rule[1]}` }) : sendJson(res, 200, r);
    }
    const part = /^\/api\/([a-z]+)$/.exec(p.path)?.[1];
    if (part !== undefined && (API_PARTS as readonly string[]).includes(part)) return sendJson(res, 200, source.part(part));
    const report = /^\/reports\/([^/]+)\/([^/]+)$/.exec(p.path);
    if (report?.[1] !== undefined && report[2] !== undefined) {
      const f = source.reportFile(report[1], report[2]);
      // The report's own figures: inline styles allowed there, scripts never.
      return f ? send(res, 200, f.body, f.type, 'api', f.type === 'image/svg+xml' ? { 'Content-Security-Policy': SVG_POLICY } : {}) : notFound(res);
    }
    notFound(res);
  };
}

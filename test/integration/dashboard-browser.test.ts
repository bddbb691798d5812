// The dashboard in a real browser: playwright-core driving Debian's /usr/bin/chromium (never a
// downloaded browser). Two namespaces of the test's own joined by a veth (198.18.0.1 ⇄ .2):
//  - the dashboard watches namespace A (--netns) from loopback, with a transaction applied there
//    (history), one of its values changed behind its back (drift), a report directory written by
//    the lab's own report writer, and bounded ping traffic over the veth: the page loads with no
//    CSP violation, the charts gain points within seconds, a finding's explanation opens by
//    keyboard and shows `rules explain`'s text, focus is visible, colours have AA contrast, and a
//    screenshot is saved under .test-results/;
//  - a second dashboard inside A binds its lab address 198.18.0.1 (not loopback) and a browser
//    inside B (a different network stack, a real link) is refused without the token (401, page
//    and event stream), and gets in with the generated token, which then lives in a cookie.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport, type ExperimentResult } from '../../src/lab/report.js';
import { REPO, runCli } from '../helpers.js';
import { type RunningDashboard, startDashboard, stopAllDashboards } from './dashboard-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const isRoot = process.getuid?.() === 0;
const tag = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const NS_A = `nt-h6${tag}-dash`;
const NS_B = `nt-h6${tag}-peer`;
const ARTEFACTS = join(REPO, '.test-results');

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const tmp = mkdtempSync(join(tmpdir(), 'nettune-h6-dash-'));
const stateDir = join(tmp, 'state');
const reportsDir = join(tmp, 'reports');

/** A result as `experiment run` records it, written by the lab's own report writer. */
function writeExampleReport(): void {
  const series = (base: number): { t: number; v: number }[] => Array.from({ length: 10 }, (_, i) => ({ t: i + 1, v: base + ((i * 7) % 5) * 1e6 }));
  const result: ExperimentResult = {
    name: 'bbr-vs-cubic',
    claim: 'BBR gets more throughput than CUBIC on a lossy path',
    lab: { link: '100mbit', rtt_ms: 40, loss_pct: 0.5, kernel: 'test', qdisc: null },
    metric: { name: 'throughput', unit: 'bit/s', higher_is_better: true },
    a: { label: 'cubic', settings: { 'net.ipv4.tcp_congestion_control': 'cubic' }, samples: [4.1e7, 3.9e7, 4.0e7], median: 4.0e7, series: [series(4e7), series(3.9e7), series(4.1e7)] },
    b: { label: 'bbr', settings: { 'net.ipv4.tcp_congestion_control': 'bbr' }, samples: [9.0e7, 9.2e7, 9.1e7], median: 9.1e7, series: [series(9e7), series(9.1e7), series(9.2e7)] },
    ratio: 2.275,
    ci95: [2.19, 2.36],
    verdict: 'better',
    reps: 3,
    order: ['A', 'B', 'B', 'A', 'A', 'B'],
    started_at: '2026-11-30T10:00:00Z',
    duration_s: 95,
    notes: [],
    link_bps: 1e8,
  };
  writeReport(join(reportsDir, 'bbr-vs-cubic'), result);
}

/** WCAG relative-luminance contrast of two CSS colours (rgb()/rgba() as computed styles give). */
function contrast(fg: string, bg: string): number {
  const lum = (c: string): number => {
    const [r, g, b] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x) as [number, number];
  return (a + 0.05) / (b + 0.05);
}

const launch = (executablePath = CHROMIUM): Promise<Browser> => chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 60_000 });

describe.skipIf(!isRoot || !existsSync(CHROMIUM))('dashboard in Chromium (root, namespaces)', () => {
  let browser: Browser;
  let dash: RunningDashboard;
  let ping: ReturnType<typeof spawn> | null = null;

  beforeAll(async () => {
    sh('ip', 'netns', 'add', NS_A);
    sh('ip', 'netns', 'add', NS_B);
    sh('ip', '-n', NS_A, 'link', 'add', 'ntdA', 'type', 'veth', 'peer', 'name', 'ntdB', 'netns', NS_B);
    sh('ip', '-n', NS_A, 'addr', 'add', '198.18.0.1/30', 'dev', 'ntdA');
    sh('ip', '-n', NS_B, 'addr', 'add', '198.18.0.2/30', 'dev', 'ntdB');
    for (const [ns, dev] of [[NS_A, 'ntdA'], [NS_B, 'ntdB'], [NS_A, 'lo'], [NS_B, 'lo']] as const) sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    mkdirSync(stateDir);
    mkdirSync(reportsDir);
    writeExampleReport();
    // A transaction in A (history), then one of its values changed behind its back (drift).
    const applied = runCli(['apply', '--netns', NS_A, '--set', 'net.ipv4.tcp_sack=0', '--set', 'net.ipv4.tcp_slow_start_after_idle=0', '--yes', '--json'], { NETTUNE_STATE_DIR: stateDir });
    expect(applied.code, applied.stderr).toBe(0);
    sh('ip', 'netns', 'exec', NS_A, 'sysctl', '-q', '-w', 'net.ipv4.tcp_slow_start_after_idle=1');
    dash = await startDashboard(['--netns', NS_A, '--listen', '127.0.0.1:0', '--interval', '500ms', '--reports', reportsDir], { env: { NETTUNE_STATE_DIR: stateDir } });
    // Bounded traffic over the veth for the link chart: 60 pings of 1200 bytes, 12 s at most.
    ping = spawn('ip', ['netns', 'exec', NS_B, 'ping', '-q', '-c', '60', '-i', '0.2', '-s', '1200', '-w', '12', '198.18.0.1'], { stdio: 'ignore' });
    browser = await launch();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    ping?.kill('SIGKILL');
    await stopAllDashboards();
    spawnSync('ip', ['netns', 'del', NS_A]);
    spawnSync('ip', ['netns', 'del', NS_B]);
  });

  let page: Page;
  const violations: string[] = [];

  it('loads the page with no CSP violation and no script error', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    page.on('console', (m) => {
      if (m.type() === 'error') violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(e.message));
    const res = await page.goto(dash.doc.url);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await expect.poll(() => page.textContent('#host')).toContain(`netns ${NS_A}`);
    expect(await page.locator('.chart').count()).toBe(5);
    expect(await page.locator('.chart canvas').count()).toBe(5); // uPlot drew every chart
    expect(violations).toEqual([]);
  });

  it('the charts gain data points from the event stream within a few seconds', async () => {
    const points = async (): Promise<number> => Number(await page.getAttribute('#chart-links', 'data-points'));
    const before = await points();
    await expect.poll(points, { timeout: 5000, interval: 250 }).toBeGreaterThanOrEqual(before + 3);
    for (const id of ['retrans', 'softnet', 'conntrack', 'listen']) expect(Number(await page.getAttribute(`#chart-${id}`, 'data-points')), id).toBeGreaterThan(before);
    // the veth carries the ping traffic: its receive rate shows up in the link chart
    await expect.poll(() => page.textContent('#chart-links .meta:last-child'), { timeout: 8000 }).toMatch(/ntdA rx: [1-9][\d.]* kbit\/s/);
  });

  it('shows the transaction, the drift it has, and the report', async () => {
    await expect.poll(() => page.textContent('#tx-table')).toContain('net.ipv4.tcp_sack');
    expect(await page.textContent('#drift-summary')).toMatch(/transaction 1 .*1 drifted, 1 holding/);
    expect(await page.textContent('#drift-table')).toContain('net.ipv4.tcp_slow_start_after_idle');
    expect(await page.textContent('#reports-list')).toMatch(/bbr-vs-cubic — better · B\/A 2\.275/);
    const img = page.locator('#reports-list img').first();
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0); // the SVG figure rendered
  });

  it("opens a finding's explanation from the keyboard, with the text `rules explain` gives", async () => {
    const link = page.locator('#findings-list li[data-rule="tcp.sack-off"] a.explain');
    await expect.poll(() => link.count()).toBe(1);
    await link.focus();
    // focus is visible: a 3 px outline in the focus colour
    const outline = await link.evaluate((el) => {
      const s = getComputedStyle(el);
      return { style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor };
    });
    expect(outline.style).toBe('solid');
    expect(outline.width).toBe('3px');
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog#explain');
    await expect.poll(() => dialog.evaluate((d) => (d as HTMLDialogElement).open)).toBe(true);
    const meta = JSON.parse(runCli(['rules', 'explain', 'tcp.sack-off', '--json']).stdout) as { title: string; why: string; risk: string };
    await expect.poll(() => page.textContent('#explain-body')).toContain(meta.why);
    expect(await page.textContent('#explain-title')).toBe(`tcp.sack-off — ${meta.title}`);
    expect(await page.textContent('#explain-body')).toContain(meta.risk);
    await page.screenshot({ path: join(ARTEFACTS, 'dashboard-explain.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.evaluate((d) => (d as HTMLDialogElement).open)).toBe(false);
    // focus goes back to the link it came from
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('tcp.sack-off');
  });

  it('keyboard: Tab reaches the skip link first, and it jumps to the findings', async () => {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip');
    expect(await page.locator('a.skip').evaluate((el) => el.getBoundingClientRect().left >= 0)).toBe(true); // shown when focused
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => location.hash)).toBe('#findings');
  });

  it('colours have at least AA contrast (4.5:1) for text, badges and links', async () => {
    const pairs = await page.evaluate(() => {
      const bgOf = (el: Element | null): string => {
        for (let e = el; e; e = e.parentElement) {
          const c = getComputedStyle(e).backgroundColor;
          if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
        }
        return 'rgb(255, 255, 255)';
      };
      const sel = ['body', 'header h1', '.host', '.status', '.muted', 'a', '.badge.critical', '.badge.warn', '.badge.info', '.badge.drift', '.badge.same', 'th', 'td'];
      return sel.flatMap((s) => [...document.querySelectorAll(s)].slice(0, 3).map((el) => ({ s, fg: getComputedStyle(el).color, bg: bgOf(el) })));
    });
    expect(pairs.length).toBeGreaterThan(10);
    for (const p of pairs) expect(contrast(p.fg, p.bg), `${p.s}: ${p.fg} on ${p.bg}`).toBeGreaterThanOrEqual(4.5);
  });

  it('saves a screenshot of the whole page as a test artefact', async () => {
    mkdirSync(ARTEFACTS, { recursive: true });
    const path = join(ARTEFACTS, 'dashboard.png');
    await page.screenshot({ path, fullPage: true });
    expect(existsSync(path)).toBe(true);
    expect(violations).toEqual([]);
  });

  it('on a non-loopback bind, a browser in another namespace is refused without the token and let in with it', async () => {
    // The dashboard inside A on its lab address; the browser inside B, over the veth.
    const remote = await startDashboard(['--listen', '198.18.0.1:0', '--interval', '500ms'], { netns: NS_A, env: { NETTUNE_STATE_DIR: stateDir } });
    expect(remote.doc.loopback).toBe(false);
    expect(remote.doc.token_required).toBe(true);
    const token = remote.doc.token ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const wrapper = join(tmp, 'chromium-in-peer');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${NS_B} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const peer = await launch(wrapper);
    try {
      const p = await peer.newPage();
      const url = remote.doc.url; // http://198.18.0.1:PORT/
      const refused = await p.goto(url);
      expect(refused?.status()).toBe(401);
      expect(await p.textContent('body')).toMatch(/unauthorized/);
      expect((await p.goto(`${url}api/events`))?.status()).toBe(401);
      expect((await p.goto(`${url}assets/app.js`))?.status()).toBe(401);
      expect((await p.goto(`${url}?token=${token.slice(0, -1)}x`))?.status()).toBe(401);
      const ok = await p.goto(`${url}?token=${token}`);
      expect(ok?.status()).toBe(200);
      expect(p.url()).toBe(url); // the token left the address bar
      await p.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      const before = Number(await p.getAttribute('#chart-links', 'data-points'));
      await expect.poll(async () => Number(await p.getAttribute('#chart-links', 'data-points')), { timeout: 5000 }).toBeGreaterThan(before); // the event stream got through with the cookie
      const cookies = await p.context().cookies();
      expect(cookies).toContainEqual(expect.objectContaining({ name: 'nettune_dashboard', httpOnly: true, sameSite: 'Strict' }));
      expect(await p.evaluate(() => document.cookie)).toBe(''); // HttpOnly: the page's script cannot read it
      await p.screenshot({ path: join(ARTEFACTS, 'dashboard-remote.png') });
    } finally {
      await peer.close();
      await remote.stop();
    }
  });
});

// `nettune top --netns` in a real terminal: tmux (own server socket, 100×30) runs a shell, the
// test types the command, a bounded connect burst against a listener that never accepts runs in
// the test's own namespace, and the test reads the screen with capture-pane. Then: a resize
// redraws at the new size, `q` leaves the alternate screen and shows the cursor again, and
// SIGTERM does the same and leaves no helper process behind. Needs root (namespace) and tmux.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendants } from '../../src/sys/signals.js';
import { sleep } from '../../src/sys/process.js';
import { BUNDLE } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const tag = `${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const NS = `nt-h3top${tag}`;
const SOCK = `nettune-h3top-${tag}`;

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const tmux = (...args: string[]): string => sh('tmux', '-L', SOCK, ...args);
const screen = (): string => tmux('capture-pane', '-p', '-t', 'top');
const flag = (f: string): string => tmux('display-message', '-p', '-t', 'top', `#{${f}}`).trim();

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
    await sleep(200);
  }
}

/** The nettune process running in the pane (the shell's child), by its command line. */
function topPid(): number | null {
  const pane = Number(flag('pane_pid'));
  for (const { pid } of descendants(pane)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('top')) return pid;
    } catch {
      // gone
    }
  }
  return null;
}

// Listener with backlog 1 that never accepts; non-blocking connects in rounds: every SYN that
// finds the accept queue full is a ListenOverflows. Bounded: at most `secs` s and 4000 connects.
const BURST = `
import socket, sys, time
secs = float(sys.argv[1])
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
port = srv.getsockname()[1]
end = time.time() + secs; n = 0; socks = []
while time.time() < end and n < 4000:
    for _ in range(25):
        c = socket.socket(); c.setblocking(False); c.connect_ex(('127.0.0.1', port)); socks.append(c); n += 1
    while len(socks) > 300: socks.pop(0).close()
    time.sleep(0.1)
print(n)
`;

describe.skipIf(!isRoot || !hasTmux)('top in tmux with load in a namespace (root)', () => {
  let load: ChildProcess | null = null;

  beforeAll(() => {
    sh('ip', 'netns', 'add', NS);
    sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', NS, 'link', 'add', 'ntt0', 'type', 'veth', 'peer', 'name', 'ntt1');
    tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'top', '-x', '100', '-y', '30', '--', 'env', 'PS1=$ ', 'NETTUNE_NO_INSTALL=1', 'sh');
  });

  afterAll(() => {
    load?.kill('SIGKILL');
    spawnSync('tmux', ['-L', SOCK, 'kill-server']);
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('shows the namespace’s listen overflows as rates and as a live finding, redraws on resize, q restores', async () => {
    tmux('send-keys', '-t', 'top', '-l', `echo BEFORE-TOP; ${process.execPath} ${BUNDLE} top --netns ${NS} --interval 500ms`);
    tmux('send-keys', '-t', 'top', 'Enter');
    await waitFor('the first frame', () => screen().includes('nettune top'));
    expect(flag('alternate_on')).toBe('1');
    expect(flag('cursor_flag')).toBe('0');
    load = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', BURST, '12'], { stdio: 'ignore' });
    await waitFor('ListenOverflows as a rate', () => /ListenOverflows [1-9][\d.]*k?\/s/.test(screen()));
    await waitFor('the live finding', () => /backlog\.listen-overflows: [\d.]+k?\/s — ip netns exec \S+ sysctl -w net\.core\.somaxconn=\d+/.test(screen()));
    const s = screen();
    expect(s).toContain(`netns ${NS}`);
    expect(s).toMatch(/^ntt0\s/m);
    expect(s).toMatch(/^lo\s+\S+/m);
    expect(s).toMatch(/pas-opens|act-opens/);
    const lines = s.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(100);
    expect(lines.some((l) => l.includes('rxdrop/s'))).toBe(true); // 100 columns: per-direction columns

    tmux('resize-window', '-t', 'top', '-x', '80', '-y', '24');
    await waitFor('a redraw at 80×24', () => {
      const l = screen().split('\n');
      return l.some((x) => x.startsWith('LINK') && x.includes('drop/s') && !x.includes('rxdrop/s'));
    });
    expect(Math.max(...screen().split('\n').map((l) => [...l.trimEnd()].length))).toBeLessThanOrEqual(80);

    tmux('send-keys', '-t', 'top', 'q');
    await waitFor('the shell again', () => topPid() === null && flag('alternate_on') === '0');
    expect(flag('cursor_flag')).toBe('1');
    const after = screen();
    expect(after).toContain('BEFORE-TOP');
    expect(after).not.toContain('LIVE FINDINGS');
    expect(descendants(Number(flag('pane_pid')))).toEqual([]); // the tc helper went with it
  }, 60_000);

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s restores the terminal too and leaves no helper behind', async (signal, code) => {
    tmux('send-keys', '-t', 'top', '-l', `clear; ${process.execPath} ${BUNDLE} top --netns ${NS} --interval 500ms; echo EXIT=$?`);
    tmux('send-keys', '-t', 'top', 'Enter');
    await waitFor('the first frame', () => screen().includes('nettune top') && flag('alternate_on') === '1');
    const pid = topPid();
    expect(pid).not.toBeNull();
    process.kill(pid as number, signal);
    await waitFor('the exit', () => screen().includes(`EXIT=${code}`));
    expect(flag('alternate_on')).toBe('0');
    expect(flag('cursor_flag')).toBe('1');
    expect(descendants(Number(flag('pane_pid')))).toEqual([]);
  }, 60_000);
});

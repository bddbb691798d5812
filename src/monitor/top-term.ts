// The full-screen terminal for `top`, in a handful of standard escape sequences (ECMA-48 / xterm
// private modes, which every terminal emulator and tmux understands): the alternate screen
// (?1049), cursor hidden (?25), home + erase to end of line / screen per frame, and stdin in
// raw mode for single keys. restore() puts all of it back; it is idempotent and synchronous, so
// every exit path (q, Ctrl-C, SIGTERM, an error, process exit) can call it.
import { writeSync } from 'node:fs';

export const ESC = {
  altScreenOn: '\x1b[?1049h',
  altScreenOff: '\x1b[?1049l',
  cursorHide: '\x1b[?25l',
  cursorShow: '\x1b[?25h',
  home: '\x1b[H',
  eraseLine: '\x1b[K',
  eraseDown: '\x1b[J',
} as const;

/** One frame as terminal output: from the top-left corner, each line erased to its end, the
 *  rest of the screen erased; no newline after the last line (no scrolling at full height). */
export const frameOutput = (lines: readonly string[]): string => `${ESC.home}${lines.map((l) => `${l}${ESC.eraseLine}`).join('\r\n')}${ESC.eraseDown}`;

export type Key = 'quit' | 'redraw' | 'other';

/** Raw-mode keystrokes → what top does: q/Q, Ctrl-C (raw mode turns it into a byte, not a
 *  SIGINT) and Ctrl-D quit; Ctrl-L and space redraw. */
export function keyOf(data: Buffer | string): Key {
  const s = typeof data === 'string' ? data : data.toString('latin1');
  if ([...s].some((ch) => ch === 'q' || ch === 'Q' || ch === '\x03' || ch === '\x04')) return 'quit';
  if (s === '\x0c' || s === ' ') return 'redraw';
  return 'other';
}

export interface Screen {
  size(): { cols: number; rows: number };
  draw(lines: readonly string[]): void;
  restore(): void;
}

interface TtyIn {
  isTTY?: boolean;
  setRawMode?: (on: boolean) => unknown;
  on(ev: 'data', fn: (d: Buffer) => void): unknown;
  removeAllListeners(ev: 'data'): unknown;
  resume(): unknown;
  pause(): unknown;
}
interface TtyOut {
  columns?: number;
  rows?: number;
  on(ev: 'resize', fn: () => void): unknown;
  removeAllListeners(ev: 'resize'): unknown;
}

/** Takes over the terminal on fd 1. `onKey` gets keys, `onResize` a new size. */
export function openScreen(stdin: TtyIn, stdout: TtyOut, onKey: (k: Key) => void, onResize: () => void, fd = 1): Screen {
  let open = true;
  const write = (s: string): void => {
    try {
      writeSync(fd, s);
    } catch {
      // the terminal went away (hang-up): nothing left to draw on
    }
  };
  write(`${ESC.altScreenOn}${ESC.cursorHide}`);
  if (stdin.isTTY && stdin.setRawMode) stdin.setRawMode(true);
  stdin.on('data', (d) => onKey(keyOf(d)));
  stdin.resume();
  stdout.on('resize', onResize);
  const restore = (): void => {
    if (!open) return;
    open = false;
    stdout.removeAllListeners('resize');
    stdin.removeAllListeners('data');
    if (stdin.isTTY && stdin.setRawMode) stdin.setRawMode(false);
    stdin.pause();
    write(`${ESC.cursorShow}${ESC.altScreenOff}`);
  };
  process.once('exit', restore);
  return {
    size: () => ({ cols: stdout.columns ?? 80, rows: stdout.rows ?? 24 }),
    draw: (lines) => {
      if (open) write(frameOutput(lines));
    },
    restore,
  };
}

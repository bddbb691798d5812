// `nettune top`: samples every interval, computes the interval's rates, lets the audit rule
// engine judge them (live findings), and shows the frame: full screen on a terminal, one plain
// frame (or --count N of them) otherwise, one JSON object per interval with --json.
import { evaluate } from '../rules/engine.js';
import { allRules } from '../rules/index.js';
import { onStop } from '../sys/signals.js';
import { sleep } from '../sys/process.js';
import { openSampler, type Sampler, toSnapshot } from './sampler.js';
import { buildFrame, type TopFrame } from './top-model.js';
import { renderFrame } from './top-render.js';
import { type Key, openScreen, type Screen } from './top-term.js';

export interface TopOptions {
  netns: string | null;
  interval_s: number;
  /** How many intervals to show; null: until q / Ctrl-C. */
  count: number | null;
  json: boolean;
  /** Full screen (stdin and stdout are terminals and neither --once nor --json was given). */
  fullScreen: boolean;
  /** Width for plain frames (non-TTY). */
  plainWidth: number;
}

export interface TopOutput {
  /** One NDJSON line, written now (not held until the command ends). */
  jsonLine(doc: unknown): void;
  text(s: string): void;
}

/** The frame for the sampler's newest interval, findings included. */
export function currentFrame(s: Sampler): TopFrame | null {
  const cur = s.ring.latest();
  if (!cur) return null;
  const prev = s.ring.latest(1);
  const rates = s.rates();
  const base = s.base();
  const findings = base && prev && rates ? evaluate(allRules, { snap: toSnapshot(base, cur), prev: toSnapshot(base, prev), interval_s: rates.interval_s }).findings : [];
  return buildFrame({ base, sample: cur, rates, findings });
}

export async function runTop(o: TopOptions, out: TopOutput): Promise<void> {
  const sampler = await openSampler({ netns: o.netns, ring: 4 });
  const unregister = onStop('top: sampler helper', () => sampler.close());
  let screen: Screen | null = null;
  let last: TopFrame | null = null;
  let quit: () => void = () => undefined;
  const quitting = new Promise<'quit'>((r) => (quit = () => r('quit')));
  const draw = (): void => {
    if (!screen || !last) return;
    const { cols, rows } = screen.size();
    screen.draw(renderFrame(last, cols, rows, o.interval_s));
  };
  try {
    if (o.fullScreen) {
      screen = openScreen(process.stdin, process.stdout, (k: Key) => (k === 'quit' ? quit() : k === 'redraw' ? draw() : undefined), draw);
      const s = screen;
      onStop('top: terminal', () => s.restore());
    }
    await sampler.sample();
    last = currentFrame(sampler);
    draw();
    const t0 = performance.now();
    for (let k = 1; o.count === null || k <= o.count; k++) {
      const wait = t0 + k * o.interval_s * 1000 - performance.now();
      if ((await Promise.race([sleep(Math.max(0, wait)).then(() => 'tick' as const), quitting])) === 'quit') break;
      await sampler.sample();
      last = currentFrame(sampler);
      if (!last) continue;
      if (o.json) out.jsonLine(last);
      else if (screen) draw();
      else out.text(`${k > 1 ? '\n' : ''}${renderFrame(last, o.plainWidth, 10_000, o.interval_s, false).join('\n')}\n`);
    }
  } finally {
    screen?.restore();
    sampler.close();
    unregister();
  }
}

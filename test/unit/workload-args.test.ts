// The workload command splitter: a POSIX shell's word splitting and quoting, nothing expanded —
// every metacharacter a shell would act on is a literal character of its word.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NettuneError } from '../../src/sys/errors.js';
import { fillPlaceholders, splitCommand, unknownPlaceholders } from '../../src/lab/workload-args.js';

const split = (s: string): string[] => splitCommand(s, '--client');

function usage(fn: () => unknown): NettuneError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NettuneError);
    expect((err as NettuneError).exitCode).toBe(2);
    return err as NettuneError;
  }
  throw new Error('expected a usage error');
}

describe('splitCommand', () => {
  it('splits on blanks and keeps quoted text together', () => {
    expect(split('iperf3 -c {server} -t 2 -J')).toEqual(['iperf3', '-c', '{server}', '-t', '2', '-J']);
    expect(split("  wrk  -t2\t-c 'a b'  \"c d\" ")).toEqual(['wrk', '-t2', '-c', 'a b', 'c d']);
    expect(split("a''b \"\" ''")).toEqual(['ab', '', '']);
    expect(split('a\\ b c')).toEqual(['a b', 'c']);
    expect(split("say 'it'\\''s'")).toEqual(['say', "it's"]);
  });

  it('double quotes escape only $ ` " \\ and newline, as in a shell', () => {
    expect(split('x "a\\"b" "c\\\\d" "\\$HOME" "\\n\\t" "\\`"')).toEqual(['x', 'a"b', 'c\\d', '$HOME', '\\n\\t', '`']);
    expect(split('x "line\\\njoined"')).toEqual(['x', 'linejoined']);
    expect(split('x a\\\nb')).toEqual(['x', 'ab']);
  });

  it('takes shell metacharacters literally: no command lists, substitution, pipes or redirections', () => {
    expect(split('echo a;rm -rf /')).toEqual(['echo', 'a;rm', '-rf', '/']);
    expect(split('echo $(id) `id` ${HOME} $HOME')).toEqual(['echo', '$(id)', '`id`', '${HOME}', '$HOME']);
    expect(split('cat /etc/passwd | nc x 1 > out 2>&1 &')).toEqual(['cat', '/etc/passwd', '|', 'nc', 'x', '1', '>', 'out', '2>&1', '&']);
    expect(split('ls *.json ~ {a,b} # not a comment')).toEqual(['ls', '*.json', '~', '{a,b}', '#', 'not', 'a', 'comment']);
    expect(split("echo '$(id)' \"`id`; $(id)\"")).toEqual(['echo', '$(id)', '`id`; $(id)']);
  });

  it('an unquoted newline separates words, never commands; a quoted one is kept', () => {
    expect(split('echo a\nrm -rf /')).toEqual(['echo', 'a', 'rm', '-rf', '/']);
    expect(split("echo 'a\nb'")).toEqual(['echo', 'a\nb']);
  });

  it('refuses unbalanced quotes, a trailing backslash, NUL and empty commands with exit 2', () => {
    expect(usage(() => split("iperf3 -c 'x")).message).toMatch(/--client: an unbalanced single quote at character 11/);
    expect(usage(() => split('iperf3 "-c x')).message).toMatch(/unbalanced double quote/);
    expect(usage(() => split('iperf3 "a\\"')).message).toMatch(/unbalanced double quote/);
    expect(usage(() => split('iperf3 x\\')).message).toMatch(/backslash at the end/);
    expect(usage(() => split('a\0b')).message).toMatch(/NUL/);
    for (const empty of ['', '   ', '\n\t', "'' x"]) expect(usage(() => split(empty)).message).toMatch(/no command to run/);
    usage(() => split('x '.repeat(600)));
    usage(() => split('x'.repeat(20_000)));
  });

  it('round-trips any words quoted the POSIX way (property)', () => {
    const quote = (w: string): string => `'${w.replace(/'/g, "'\\''")}'`;
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/\0/g, '')), { minLength: 1, maxLength: 8 }).filter((ws) => ws[0] !== ''), (words) => {
        expect(split(words.map(quote).join(' '))).toEqual(words);
        expect(split(words.map((w) => (w === '' ? "''" : w.replace(/[^A-Za-z0-9_]/g, (c) => (c === '\n' ? "'\n'" : `\\${c}`)))).join(' \t'))).toEqual(words);
      }),
      { numRuns: 300 },
    );
  });
});

describe('placeholders', () => {
  it('fills {server} {client} {duration} inside arguments and leaves other braces alone', () => {
    const v = { server: '198.18.0.2', client: '198.18.0.1', duration: '5' };
    expect(fillPlaceholders(['wrk', 'http://{server}:8080/', '-d{duration}s', '{x}', '{"a":{server}}', '{Server}'], v)).toEqual(['wrk', 'http://198.18.0.2:8080/', '-d5s', '{x}', '{"a":198.18.0.2}', '{Server}']);
    expect(unknownPlaceholders(['-c', '{sever}', '{server}', '{1:2}', '{port}'])).toEqual(['{sever}', '{port}']);
  });

  it('a filled-in value is never split or interpreted', () => {
    expect(fillPlaceholders(['{server}'], { server: 'a b;$(id)', client: '', duration: '1' })).toEqual(['a b;$(id)']);
  });
});

/**
 * replay's inputs: gzip'd files (made by the real `gzip`, single and multi-member), a FIFO
 * written by a child process, stdin piped from a child, in a mix with plain files; truncated and
 * corrupt gzip. Each compares the report with the plain file's report.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replay, type ReplayResult } from '../src/replay.js';
import { ROOT } from './helpers.js';

const CLI = path.join(ROOT, 'dist/cli.js');
const STALLS = path.join(ROOT, 'test/real-relay/fixtures/stalls.env-micros.log');
const SAMPLE = path.join(ROOT, 'samples/relay-stall.log');

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-inputs-'));
const children: Array<{ pid?: number; exitCode: number | null; kill(): boolean }> = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill();
  rmSync(tmp, { recursive: true, force: true });
});

/** The report without what depends on timing or on the inputs' names and sizes on disk. */
function comparable(r: ReplayResult, paths: string[]): unknown {
  let json = JSON.stringify({ ...r, run: undefined, files: undefined, inputErrors: undefined });
  for (const p of paths) json = json.split(JSON.stringify(p).slice(1, -1)).join('INPUT');
  const out = JSON.parse(json) as { warnings: string[] };
  out.warnings = out.warnings.filter((w) => !w.startsWith('INPUT: '));
  return out;
}

function gzipFile(src: string, dest: string): string {
  writeFileSync(dest, execFileSync('gzip', ['-c', src], { maxBuffer: 1 << 28 }));
  return dest;
}

/** Splits a file's lines into `parts` plain files (at line boundaries). */
function splitLines(src: string, parts: number, prefix: string): string[] {
  const lines = readFileSync(src, 'utf8').split(/(?<=\n)/);
  const per = Math.ceil(lines.length / parts);
  const out: string[] = [];
  for (let i = 0; i < parts; i++) {
    const p = path.join(tmp, `${prefix}.${i}.log`);
    writeFileSync(p, lines.slice(i * per, (i + 1) * per).join(''));
    out.push(p);
  }
  return out;
}

function firstLines(src: string, n: number, dest: string): string {
  const lines = readFileSync(src, 'utf8').split(/(?<=\n)/);
  writeFileSync(dest, lines.slice(0, n).join(''));
  return dest;
}

/** Runs the CLI with its stdin a real pipe from a child process: `cat FILE | node cli.js ARGS`. */
function cliWithStdinFrom(
  stdinFile: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const sh = spawn(
      'sh',
      ['-c', 'f=$1; shift; cat "$f" | exec "$@"', 'sh', stdinFile, process.execPath, CLI, ...args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(sh);
    let stdout = '';
    let stderr = '';
    sh.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    sh.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    sh.on('error', reject);
    sh.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('replay reads gzip, pipes and stdin like the plain file', () => {
  it('a .gz made by gzip (detected by its bytes, not its name) gives the plain report', async () => {
    const plain = await replay([STALLS]);
    expect(plain.stalls.counts.blocked_poll + plain.stalls.counts.starved).toBeGreaterThan(0);
    const gz = gzipFile(STALLS, path.join(tmp, 'no-suffix'));
    const r = await replay([gz]);
    expect(comparable(r, [gz])).toEqual(comparable(plain, [STALLS]));
    expect(r.files[0]).toMatchObject({ lines: plain.files[0].lines, bytes: plain.files[0].bytes });
    expect(r.inputErrors).toEqual([]);
    // A plain file named .gz is read as plain.
    const fake = path.join(tmp, 'plain.log.gz');
    writeFileSync(fake, readFileSync(STALLS));
    expect(comparable(await replay([fake]), [fake])).toEqual(comparable(plain, [STALLS]));
  });

  it('concatenated gzip members (cat a.gz b.gz c.gz) read as gzip -d does', async () => {
    const parts = splitLines(STALLS, 3, 'members');
    const members = parts.map((p) => execFileSync('gzip', ['-c', p]));
    const multi = path.join(tmp, 'multi.gz');
    writeFileSync(multi, Buffer.concat(members));
    expect(execFileSync('gzip', ['-dc', multi], { maxBuffer: 1 << 28 }).equals(readFileSync(STALLS))).toBe(true);
    const r = await replay([multi]);
    expect(comparable(r, [multi])).toEqual(comparable(await replay([STALLS]), [STALLS]));
    // Offsets in `file:line` are those of the decompressed stream: the same as the plain file's.
    expect(r.files[0].lines).toBe(7175);
  });

  it('a FIFO written by a child process, in a mix with a plain file and a .gz, in the order given', async () => {
    const [a, b, c] = splitLines(SAMPLE, 3, 'mix');
    const fifo = path.join(tmp, 'relay.fifo');
    execFileSync('mkfifo', [fifo]);
    const gzB = gzipFile(b, path.join(tmp, 'mix.1.log.gz'));
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', c, fifo], { stdio: 'ignore' });
    children.push(writer);
    const r = await replay([a, gzB, fifo]);
    const whole = await replay([SAMPLE]);
    expect(whole.stalls.counts).toEqual({ slow_poll: 1, blocked_poll: 1, starved: 1, silent: 1 });
    // Same stalls and line counts; file:line differs (three files), so compare without places.
    expect(r.stalls.counts).toEqual(whole.stalls.counts);
    expect(r.lines).toEqual(whole.lines);
    expect(r.waits.count).toBe(whole.waits.count);
    expect(r.files.map((f) => f.path)).toEqual([a, gzB, fifo]);
    expect(r.files.reduce((n, f) => n + f.lines, 0)).toBe(3000);
    // The FIFO alone gives the plain report of its part.
    const writer2 = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', SAMPLE, fifo], { stdio: 'ignore' });
    children.push(writer2);
    expect(comparable(await replay([fifo]), [fifo])).toEqual(comparable(whole, [SAMPLE]));
  });

  it('`-` reads stdin piped from a child process; a gzip stream on stdin is decompressed', async () => {
    const plain = JSON.parse(
      (await cliWithStdinFrom('/dev/null', ['replay', '--json', SAMPLE])).stdout,
    ) as ReplayResult;
    const fromStdin = await cliWithStdinFrom(SAMPLE, ['replay', '--json', '-']);
    expect(fromStdin.code).toBe(0);
    const r = JSON.parse(fromStdin.stdout) as ReplayResult;
    expect(r.files[0].path).toBe('<stdin>');
    expect(comparable(r, ['<stdin>'])).toEqual(comparable(plain, [SAMPLE]));
    const gz = gzipFile(SAMPLE, path.join(tmp, 'stdin.gz'));
    const gzStdin = await cliWithStdinFrom(gz, ['replay', '--json', '-']);
    expect(gzStdin.code).toBe(0);
    expect(comparable(JSON.parse(gzStdin.stdout) as ReplayResult, ['<stdin>'])).toEqual(comparable(plain, [SAMPLE]));
    // /dev/stdin (what a process substitution or `< file` redirection looks like) works too.
    const devStdin = await cliWithStdinFrom(SAMPLE, ['replay', '--json', '/dev/stdin']);
    expect(comparable(JSON.parse(devStdin.stdout) as ReplayResult, ['/dev/stdin'])).toEqual(
      comparable(plain, [SAMPLE]),
    );
  });
});

describe('a damaged .gz: the lines before the damage count, the report is printed, exit 1', () => {
  it('truncated: names the file and how far it got; the report equals the plain report of those lines', async () => {
    const gz = readFileSync(gzipFile(STALLS, path.join(tmp, 'full.gz')));
    const truncated = path.join(tmp, 'truncated.log.gz');
    writeFileSync(truncated, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const r = await replay([truncated]);
    const n = r.files[0].lines;
    expect(n).toBeGreaterThan(1000);
    expect(n).toBeLessThan(7175);
    expect(r.inputErrors).toEqual([
      {
        path: truncated,
        error: expect.stringMatching(
          new RegExp(
            `^truncated gzip data \\(unexpected end of file\\) after ${n} complete lines \\(\\d+ bytes of decompressed output\\)$`,
          ),
        ) as unknown,
      },
    ]);
    expect(r.warnings[0]).toContain(`${truncated}: truncated gzip data`);
    // gzip -d itself recovers the same complete lines.
    let recovered: Buffer;
    try {
      recovered = execFileSync('gzip', ['-dc', truncated], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      recovered = (err as { stdout: Buffer }).stdout;
    }
    expect(recovered.toString('latin1').split('\n').length - 1).toBe(n);
    const prefix = firstLines(STALLS, n, path.join(tmp, 'prefix.log'));
    expect(comparable(r, [truncated])).toEqual(comparable(await replay([prefix]), [prefix]));

    // The CLI prints the report, says what happened on stderr and exits 1.
    const cli = await cliWithStdinFrom('/dev/null', ['replay', truncated, SAMPLE]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`Warning: ${truncated}: truncated gzip data`);
    expect(cli.stderr).toContain(
      `pollscope: ${truncated}: truncated gzip data (unexpected end of file) after ${n} complete lines`,
    );
  });

  it('corrupt (bad CRC in the first member): error named, later members and files still read', async () => {
    const parts = splitLines(STALLS, 2, 'corrupt');
    const m1 = execFileSync('gzip', ['-c', parts[0]]);
    const m2 = execFileSync('gzip', ['-c', parts[1]]);
    m1[m1.length - 8] ^= 0xff; // the member's CRC32
    const corrupt = path.join(tmp, 'corrupt.gz');
    writeFileSync(corrupt, Buffer.concat([m1, m2]));
    const r = await replay([corrupt, SAMPLE]);
    expect(r.inputErrors).toHaveLength(1);
    expect(r.inputErrors[0].error).toMatch(/^corrupt gzip data \(incorrect data check\) after \d+ complete lines/);
    const n = r.files[0].lines;
    // Whatever was decompressed before the check failed is real data: the first n lines of the file.
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(readFileSync(parts[0], 'utf8').split('\n').length - 1);
    expect(r.files[1]).toMatchObject({ path: SAMPLE, lines: 3000 });
    const prefix = firstLines(STALLS, n, path.join(tmp, 'corrupt-prefix.log'));
    const alone = await replay([corrupt]);
    expect(comparable(alone, [corrupt])).toEqual(comparable(await replay([prefix]), [prefix]));
  });

  it('not gzip at all after the magic bytes: an error at 0 lines, not a crash', async () => {
    const bad = path.join(tmp, 'bad.gz');
    writeFileSync(bad, Buffer.from([0x1f, 0x8b, 0x00, 0x00, 0x41, 0x42, 0x43]));
    const r = await replay([bad]);
    expect(r.files[0].lines).toBe(0);
    expect(r.inputErrors[0].error).toMatch(/gzip data .* after 0 complete lines \(0 bytes of decompressed output\)$/);
  });
});

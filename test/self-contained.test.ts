/**
 * The suite runs on a fresh clone with nothing beside it: no test (nor the code it runs) reads a
 * file outside the repository, and comments and docs cite only documents inside it. Static checks
 * over the source text, plus the fixture helpers' own guard.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, fixture, fixtureLines } from './helpers.js';

/** Directories never scanned: installed or generated content, not the project's own text. */
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'target', 'bench-data', 'test-results']);

function walk(dir: string, keep: (file: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full, keep, out);
    else if (keep(full)) out.push(full);
  }
  return out;
}

const rel = (file: string): string => path.relative(ROOT, file);
const isInside = (p: string): boolean => p === ROOT || p.startsWith(ROOT + path.sep);

/** Code that tests run or import: every script and module under test/ and src/, and the runner config. */
const CODE_FILES = [
  ...walk(path.join(ROOT, 'test'), (f) => /\.(ts|mts|js|mjs|cjs)$/.test(f) && !f.startsWith(FIXTURES + path.sep)),
  ...walk(path.join(ROOT, 'src'), (f) => /\.(ts|mts|js|mjs|cjs)$/.test(f)),
  path.join(ROOT, 'vitest.config.ts'),
];
/** Prose that cites documents: README, docs/ and every other Markdown file of the project. */
const DOC_FILES = walk(ROOT, (f) => f.endsWith('.md'));

// Built from pieces so that this file does not match its own patterns. The workspace directory named
// here is where the project was developed, with the shared folder inside it; other absolute paths
// (a home directory, say) appear legitimately inside generated log lines (backtraces), so they are not listed.
const SIBLING_SHARED = ['..', 'shared'].join('/');
const WORKSPACE_PREFIXES = ['work'].map((d) => `/${d}/`);

/** Lines of `file` that mention a path outside the repository by name, as `file:line: text`. */
function outsideMentions(file: string): string[] {
  const hits: string[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const absolute = WORKSPACE_PREFIXES.some((p) => line.includes(p));
      if (line.includes(SIBLING_SHARED) || absolute) hits.push(`${rel(file)}:${i + 1}: ${line.trim()}`);
    });
  return hits;
}

/**
 * Relative paths that code resolves against a known directory, each with where it lands:
 * `path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')`, `new URL('../x', import.meta.url)`
 * and `path.join/resolve(ROOT, '..', …)`.
 */
function resolvedPaths(file: string): { at: string; target: string }[] {
  const text = readFileSync(file, 'utf8');
  const dir = path.dirname(file);
  const out: { at: string; target: string }[] = [];
  const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
  const ownDir = /path\.dirname\(\s*fileURLToPath\(\s*import\.meta\.url\s*\)\s*\)\s*,\s*(['"`])([^'"`]+)\1/g;
  for (const m of text.matchAll(ownDir)) {
    out.push({ at: `${rel(file)}:${lineOf(m.index)}`, target: path.resolve(dir, m[2]) });
  }
  const url = /new URL\(\s*(['"`])([^'"`]+)\1\s*,\s*import\.meta\.url\s*\)/g;
  for (const m of text.matchAll(url)) {
    const resolved = new URL(m[2], pathToFileURL(file));
    if (resolved.protocol === 'file:') {
      out.push({
        at: `${rel(file)}:${lineOf(m.index)}`,
        target: path.normalize(decodeURIComponent(resolved.pathname)),
      });
    }
  }
  // ROOT followed by literal segments of which one climbs (a `..` segment): join or resolve from ROOT.
  const fromRoot = /\bROOT\s*((?:,\s*(['"`])[^'"`]*\2\s*)+)\)/g;
  for (const m of text.matchAll(fromRoot)) {
    const segments = [...m[1].matchAll(/(['"`])([^'"`]*)\1/g)].map((s) => s[2]);
    if (segments.some((s) => s.split('/').includes('..'))) {
      out.push({ at: `${rel(file)}:${lineOf(m.index)}`, target: path.resolve(ROOT, ...segments) });
    }
  }
  return out;
}

describe('tests read nothing outside the repository', () => {
  it('scans a real tree (the checks below cannot pass by finding nothing)', () => {
    expect(CODE_FILES.map(rel)).toEqual(
      expect.arrayContaining(['test/helpers.ts', 'test/replay.test.ts', 'test/decode/support.ts', 'src/cli.ts']),
    );
    expect(CODE_FILES.length).toBeGreaterThan(50);
    expect(DOC_FILES.map(rel)).toEqual(expect.arrayContaining(['README.md', 'docs/log-formats.md']));
    // The detectors do fire on the shapes they are meant for: helpers.ts climbs from test/ to ROOT,
    // src/cli.ts reads ../package.json relative to itself.
    expect(resolvedPaths(path.join(ROOT, 'test', 'helpers.ts')).map((r) => r.target)).toContain(ROOT);
    expect(resolvedPaths(path.join(ROOT, 'src', 'cli.ts')).map((r) => r.target)).toContain(
      path.join(ROOT, 'package.json'),
    );
  });

  it('no test, helper or source file names the folder beside the repository or an absolute workspace path', () => {
    expect(CODE_FILES.flatMap(outsideMentions)).toEqual([]);
  });

  it('every path resolved from a file’s own location or from ROOT stays inside the repository', () => {
    const all = CODE_FILES.flatMap(resolvedPaths);
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((r) => !isInside(r.target)).map((r) => `${r.at} → ${r.target}`)).toEqual([]);
  });

  it('every fixture a test names exists under test/fixtures', () => {
    const named = /\b(?:fixture|fixturePath|fixtureLines)\(\s*(['"`])([^'"`$]+)\1/g;
    const names = new Set<string>();
    for (const file of CODE_FILES.filter((f) => f.includes(`${path.sep}test${path.sep}`))) {
      for (const m of readFileSync(file, 'utf8').matchAll(named)) names.add(m[2]);
    }
    // The decoder, envelope and replay tests all read fixtures; an empty set means the pattern broke.
    expect([...names]).toEqual(
      expect.arrayContaining(['seed/relay_v2-excerpt.log', 'real/wezterm-4304.log', 'real/quilkin-660.jsonl']),
    );
    expect([...names].filter((n) => !existsSync(fixture(n)))).toEqual([]);
  });

  it('the fixture helpers resolve inside test/fixtures and refuse names that leave it', () => {
    expect(isInside(FIXTURES)).toBe(true);
    expect(fixture('real/lapin-392.log')).toBe(path.join(ROOT, 'test', 'fixtures', 'real', 'lapin-392.log'));
    const besideTheRepository = `../../${SIBLING_SHARED}/fixtures/real/lapin-392.log`;
    const absolute = path.join(path.parse(ROOT).root, 'etc', 'hostname');
    expect(() => fixture(besideTheRepository)).toThrow(/outside/);
    expect(() => fixture(absolute)).toThrow(/outside/);
    // The real excerpts keep their provenance line on disk; the helper drops it.
    expect(readFileSync(fixture('real/lapin-392.log'), 'utf8')).toMatch(/^# source: https:\/\/github\.com\//);
    expect(fixtureLines('real/lapin-392.log')).toHaveLength(18);
    expect(fixtureLines('real/lapin-392.log').some((l) => l.startsWith('# source:'))).toBe(false);
  });
});

describe('comments and docs cite only documents inside the repository', () => {
  it('no Markdown file names the folder beside the repository or an absolute workspace path', () => {
    expect(DOC_FILES.flatMap(outsideMentions)).toEqual([]);
  });

  it('every relative link in the Markdown files points at a file of the repository', () => {
    const broken: string[] = [];
    for (const file of DOC_FILES) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = m[1];
        if (/^[a-z]+:/i.test(href) || href.startsWith('#')) continue;
        const target = path.resolve(path.dirname(file), decodeURIComponent(href.split('#')[0]));
        if (!isInside(target) || !existsSync(target)) broken.push(`${rel(file)}: ${href}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every Markdown document a comment cites by name exists in the repository', () => {
    const docs = new Set(DOC_FILES.map((f) => path.basename(f)));
    const missing: string[] = [];
    for (const file of CODE_FILES) {
      for (const m of readFileSync(file, 'utf8').matchAll(/[\w./-]*?([\w-]+\.md)\b/g)) {
        if (!docs.has(m[1])) missing.push(`${rel(file)}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Real log excerpts copied into the repository (provenance: test/fixtures/README.md). */
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/**
 * The path of a fixture under test/fixtures (e.g. `real/lapin-392.log`). A name that would leave that
 * folder is refused: tests read nothing outside the repository (test/self-contained.test.ts).
 */
export function fixture(rel: string): string {
  const full = path.resolve(FIXTURES, rel);
  if (full !== FIXTURES && !full.startsWith(FIXTURES + path.sep)) {
    throw new Error(`fixture ${JSON.stringify(rel)} is outside ${FIXTURES}`);
  }
  return full;
}

/** A real fixture's log lines, without the `# source:` comment line. */
export function fixtureLines(rel: string): string[] {
  return readFileSync(fixture(rel), 'utf8')
    .split('\n')
    .filter((l, i, a) => !l.startsWith('# source:') && !(l === '' && i === a.length - 1));
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers a test starts). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

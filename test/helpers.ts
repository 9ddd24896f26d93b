import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The shared folder beside the project (tests may read it; the project never needs it to run). */
export const SHARED = path.resolve(ROOT, '../shared');
export const fixture = (rel: string): string => path.join(SHARED, 'fixtures', rel);

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

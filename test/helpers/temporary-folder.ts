// A folder of its own for one test (a data folder kept across restarts, a journal, a sessions
// file), removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function temporaryFolder(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parley-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

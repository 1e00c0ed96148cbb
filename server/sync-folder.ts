// A new file or a rename is durable only once the folder holding it is synced as well: the file's
// own fsync covers its bytes, not the directory entry that names it (fsync(2), "NOTES").
import { open } from 'node:fs/promises';

export async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

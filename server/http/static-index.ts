// The files of the built web client (config.webRoot, normally dist/web), indexed by URL path.
//
// Requests are answered from this index only: a URL path is looked up as a Map key and is
// never joined onto a file system path, so no spelling of `..` (encoded once, twice, with
// backslashes or NUL bytes) can reach a file outside the folder. Each file carries its
// pre-compressed copies (`app-X.js.br`, `.gz`, made by scripts/build-web.mjs) as alternative
// representations, each with its own strong ETag. Small files are held in memory: the web
// client is a few hundred kilobytes, and a disk read per request would cost more than the answer.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { contentType } from 'mime-types';

/** Files larger than this are streamed from disk instead of held in memory. */
export const MAX_CACHED_BYTES = 1024 * 1024;

// Content-hashed build output: a changed file gets a new name, so a copy never goes stale.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// Everything else (index.html, favicon.svg) keeps its name across builds: revalidate each time.
const REVALIDATE = 'no-cache';
/** Where the build puts content-hashed files (scripts/build-web.mjs). */
export const HASHED_FOLDER = '/assets/';

export type Encoding = 'br' | 'gzip';
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz' };

export interface Representation {
  fsPath: string;
  size: number;
  mtimeMs: number;
  etag: string;
  /** The bytes, or null for a file streamed from disk. */
  body: Buffer | null;
  encoding: Encoding | null;
}

export interface StaticFile {
  contentType: string;
  cacheControl: string;
  lastModified: string;
  mtimeMs: number;
  identity: Representation;
  br: Representation | null;
  gzip: Representation | null;
}

export type StaticIndex = Map<string, StaticFile>;

/** Builds the index synchronously, at startup before the server listens. */
export function indexSync(root: string): StaticIndex {
  const found = new Map<string, Stats>();
  for (const fsPath of listFiles(root)) found.set(fsPath, statSync(fsPath));
  return buildIndex(root, found, new Map(), (fsPath) => readFileSync(fsPath));
}

/** Rebuilds the index after the client was rebuilt, reading only files that changed. */
export async function indexAsync(root: string, previous: StaticIndex): Promise<StaticIndex> {
  const found = new Map<string, Stats>();
  for (const fsPath of listFiles(root)) {
    try {
      found.set(fsPath, await stat(fsPath));
    } catch {
      // removed since it was listed
    }
  }
  const known = representationsOf(previous);
  const bodies = new Map<string, Buffer>();
  for (const [fsPath, stats] of found) {
    if (stats.size > MAX_CACHED_BYTES || isCurrent(known.get(fsPath), stats)) continue;
    try {
      bodies.set(fsPath, await readFile(fsPath));
    } catch {
      found.delete(fsPath);
    }
  }
  return buildIndex(root, found, known, (fsPath) => bodies.get(fsPath));
}

/**
 * The files under `root`, skipping any name that starts with a dot at any depth. One walk for
 * both indexes, joining each entry onto the folder it was read from: `Dirent.parentPath`, which
 * a recursive readdir needs, only came in Node 20.12 and package.json allows 20.10. Listing is
 * synchronous even for the background rescan: the web client is a few folders, far less work
 * than the stats and reads that follow, which are not.
 */
function listFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // not built yet, or removed while a rebuild runs
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const fsPath = join(dir, entry.name);
      if (entry.isDirectory()) walk(fsPath);
      else if (entry.isFile()) files.push(fsPath);
    }
  };
  walk(root);
  return files;
}

function buildIndex(
  root: string,
  found: Map<string, Stats>,
  known: Map<string, Representation>,
  read: (fsPath: string) => Buffer | undefined,
): StaticIndex {
  const represent = (fsPath: string, encoding: Encoding | null): Representation | null => {
    const stats = found.get(fsPath);
    if (stats === undefined) return null;
    const previous = known.get(fsPath);
    if (previous !== undefined && isCurrent(previous, stats)) return previous;
    const { size, mtimeMs } = stats;
    if (size > MAX_CACHED_BYTES) {
      const etag = `"${size.toString(36)}-${Math.floor(mtimeMs).toString(36)}"`;
      return { fsPath, size, mtimeMs, etag, body: null, encoding };
    }
    const body = read(fsPath);
    if (body === undefined) return null;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    return { fsPath, size: body.length, mtimeMs, etag, body, encoding };
  };

  const index: StaticIndex = new Map();
  for (const [fsPath, stats] of found) {
    const original = fsPath.endsWith('.br') || fsPath.endsWith('.gz') ? fsPath.slice(0, -3) : null;
    if (original !== null && found.has(original)) continue; // a variant, attached below
    const identity = represent(fsPath, null);
    if (identity === null) continue;
    const key = `/${relative(root, fsPath).split(sep).join('/')}`;
    index.set(key, {
      contentType: contentType(basename(fsPath)) || 'application/octet-stream',
      cacheControl: key.startsWith(HASHED_FOLDER) ? IMMUTABLE : REVALIDATE,
      lastModified: stats.mtime.toUTCString(),
      mtimeMs: stats.mtimeMs,
      identity,
      br: represent(fsPath + SUFFIX.br, 'br'),
      gzip: represent(fsPath + SUFFIX.gzip, 'gzip'),
    });
  }
  return index;
}

function representationsOf(index: StaticIndex): Map<string, Representation> {
  const all = new Map<string, Representation>();
  for (const file of index.values()) {
    for (const representation of [file.identity, file.br, file.gzip]) {
      if (representation !== null) all.set(representation.fsPath, representation);
    }
  }
  return all;
}

function isCurrent(representation: Representation | undefined, stats: Stats): boolean {
  return representation !== undefined && representation.size === stats.size && representation.mtimeMs === stats.mtimeMs;
}

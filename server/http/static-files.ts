// GET and HEAD for everything outside /api: the web client's files from the static index,
// the pre-compressed copy the client accepts, 304 for a copy it already has, and index.html
// for page addresses the single-page app handles itself.
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Exchange } from './exchange.js';
import { shownPath } from './request.js';
import { SECURITY_HEADERS } from './respond.js';
import { HASHED_FOLDER, indexAsync, indexSync, type Representation, type StaticFile, type StaticIndex } from './static-index.js';

// A rebuild of the client while the server runs shows up without a restart: a path that is
// not in the index triggers a rescan (at most this often), and any request to an index older
// than STALE_MS refreshes it in the background.
const RESCAN_ON_MISS_MS = 250;
const STALE_MS = 2000;
const INDEX_PAGE = '/index.html';

export class StaticFiles {
  readonly #root: string;
  readonly #logger: Logger;
  #index: StaticIndex;
  #indexedAt = Date.now();
  #rescan: Promise<void> | null = null;

  constructor(root: string, logger: Logger) {
    this.#root = root;
    this.#logger = logger;
    this.#index = indexSync(root);
  }

  async serve(exchange: Exchange): Promise<void> {
    const key = toIndexKey(exchange.path);
    if (key === null) throw notFound(exchange.path);
    let file = this.#index.get(key);
    const age = Date.now() - this.#indexedAt;
    if (file === undefined && age > RESCAN_ON_MISS_MS) {
      await this.#refresh();
      file = this.#index.get(key);
    } else if (age > STALE_MS) {
      void this.#refresh();
    }
    if (file === undefined && isPageAddress(key, exchange.req.headers.accept)) file = this.#index.get(INDEX_PAGE);
    if (file === undefined) {
      if (this.#index.size === 0) {
        throw new ApiError('NOT_FOUND', 'the web client is not built; run `npm run build` (the API under /api works without it)');
      }
      throw notFound(exchange.path);
    }
    await this.#send(exchange, file);
  }

  async #send(exchange: Exchange, file: StaticFile): Promise<void> {
    const { req, res } = exchange;
    const chosen = chooseRepresentation(file, req.headers['accept-encoding']);
    const headers = ['Cache-Control', file.cacheControl, 'ETag', chosen.etag, 'Last-Modified', file.lastModified];
    if (file.br !== null || file.gzip !== null) headers.push('Vary', 'Accept-Encoding');
    headers.push(...SECURITY_HEADERS);
    if (isNotModified(req.headers['if-none-match'], req.headers['if-modified-since'], chosen, file)) {
      res.writeHead(304, headers);
      res.end();
      exchange.recordAnswer(304);
      return;
    }
    headers.push('Content-Type', file.contentType, 'Content-Length', String(chosen.size));
    if (chosen.encoding !== null) headers.push('Content-Encoding', chosen.encoding);
    if (chosen.body !== null || exchange.method === 'HEAD') {
      res.writeHead(200, headers);
      res.end(exchange.method === 'HEAD' ? undefined : chosen.body);
      exchange.recordAnswer(200);
      return;
    }
    await this.#stream(exchange, chosen, headers);
  }

  async #stream(exchange: Exchange, chosen: Representation, headers: string[]): Promise<void> {
    let handle;
    try {
      handle = await open(chosen.fsPath);
    } catch {
      void this.#refresh();
      throw notFound(exchange.path);
    }
    exchange.res.writeHead(200, headers);
    exchange.recordAnswer(200);
    try {
      await pipeline(handle.createReadStream(), exchange.res);
    } catch (error) {
      // Mostly a client that left mid-download; anything else is worth a line.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.#logger.warn('static-stream', { path: exchange.path, error });
      }
    }
  }

  /** Never rejects: a rescan that fails leaves the index as it was and says why in the log. */
  #refresh(): Promise<void> {
    this.#rescan ??= indexAsync(this.#root, this.#index)
      .then((index) => {
        this.#index = index;
        this.#indexedAt = Date.now();
      })
      .catch((error: unknown) => {
        // Retried after RESCAN_ON_MISS_MS at the next miss, not on every request in between.
        this.#indexedAt = Date.now();
        this.#logger.warn('static-rescan-failed', { root: this.#root, error });
      })
      .finally(() => {
        this.#rescan = null;
      });
    return this.#rescan;
  }
}

/**
 * The index key of a request path, or null for a path that can only be an attack or a mistake:
 * invalid percent-encoding, an encoded `%` (double encoding), NUL, backslash, or a `.` or `..`
 * segment. Those get a 404 and never the single-page-app fallback.
 */
export function toIndexKey(path: string): string | null {
  if (path === '/') return INDEX_PAGE;
  if (path.charCodeAt(0) !== 47 /* '/' */) return null;
  let decoded = path;
  if (path.includes('%')) {
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return null;
    }
    if (decoded.includes('%')) return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  for (const segment of decoded.split('/')) {
    if (segment === '..' || segment === '.') return null;
  }
  return decoded;
}

// Browsers navigating to /some/page ask for HTML; a missing script or image does not, and a
// missing hashed asset is a stale page that must see a 404, not HTML served as JavaScript.
function isPageAddress(key: string, accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html') && !key.startsWith(HASHED_FOLDER);
}

/** Brotli when accepted, else gzip, else the file itself (RFC 9110 section 12.5.3). */
export function chooseRepresentation(file: StaticFile, acceptEncoding: string | undefined): Representation {
  if (acceptEncoding === undefined || (file.br === null && file.gzip === null)) return file.identity;
  let br = -1;
  let gzip = -1;
  let any = -1;
  for (const part of acceptEncoding.split(',')) {
    const semicolon = part.indexOf(';');
    const name = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    const quality = semicolon === -1 ? 1 : parseQuality(part.slice(semicolon + 1));
    if (name === 'br') br = quality;
    else if (name === 'gzip' || name === 'x-gzip') gzip = quality;
    else if (name === '*') any = quality;
  }
  if (br === -1) br = any;
  if (gzip === -1) gzip = any;
  if (file.br !== null && br > 0 && br >= gzip) return file.br;
  if (file.gzip !== null && gzip > 0) return file.gzip;
  if (file.br !== null && br > 0) return file.br;
  return file.identity;
}

function parseQuality(params: string): number {
  const match = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(params);
  if (match === null) return 1;
  const quality = Number(match[1]);
  return Number.isNaN(quality) ? 0 : quality;
}

// If-None-Match wins over If-Modified-Since (RFC 9110 section 13.1.3); tags compare weakly.
function isNotModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  chosen: Representation,
  file: StaticFile,
): boolean {
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true;
    return ifNoneMatch.split(',').some((tag) => {
      const trimmed = tag.trim();
      return (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === chosen.etag;
    });
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(file.mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}

function notFound(path: string): ApiError {
  return new ApiError('NOT_FOUND', `there is no file at ${shownPath(path)}`);
}

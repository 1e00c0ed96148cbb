// Session tokens, the same for both stores: 32 random bytes (256 bits) in base64url, handed to
// the client once. Stores keep only the SHA-256, so a copied data folder or Redis dump holds no
// usable token; the hash is also how a store tells the edges which session ended.
import { createHash, randomBytes } from 'node:crypto';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

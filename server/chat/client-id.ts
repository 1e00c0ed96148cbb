// The clientId a send may carry, checked alike by every store: a retry with the same user and
// clientId is answered with the original message instead of storing a second copy.
import { MAX_CLIENT_ID_LENGTH } from '../../protocol/limits.js';
import { ApiError } from '../errors.js';

/** The send's clientId, or null when it has none; BAD_REQUEST when it is not a usable one. */
export function checkClientId(clientId: unknown): string | null {
  if (clientId === undefined || clientId === null) return null;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new ApiError('BAD_REQUEST', `clientId must be a string of 1 to ${MAX_CLIENT_ID_LENGTH} characters`);
  }
  return clientId;
}

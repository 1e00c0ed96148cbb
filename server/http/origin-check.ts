// Cross-site request refusal (issue 3). A browser names the page's origin in `Origin` on every
// state-changing fetch or form post; the server compares it with its own address (the Host the
// browser connected to) and with config.allowedOrigins. Together with SameSite=Strict and
// JSON-only bodies, no other site can act for a logged-in user. Clients that are not browsers
// (curl, the benchmarks) send no Origin and are not affected.
//
// Behind a reverse proxy, the proxy must pass the Host the browser used, port included when it is
// not the scheme's default (nginx: `proxy_set_header Host $host:$server_port`, as docs/deploy.md
// shows: `$host` alone drops the port, and a site on :8443 would be refused), or the site's
// origin must be listed with --allow-origin.

export type OriginVerdict = 'absent' | 'same' | 'allowed' | 'foreign';

export function checkOrigin(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): OriginVerdict {
  if (origin === undefined) return 'absent';
  if (host !== undefined && isSameOrigin(origin, host)) return 'same';
  if (allowedOrigins.includes(origin)) return 'allowed';
  return 'foreign';
}

// Compares scheme-less host:port, with the scheme's default port dropped on both sides. The
// scheme itself cannot be checked: TLS usually ends at a proxy in front of Parley.
function isSameOrigin(origin: string, host: string): boolean {
  const lower = origin.toLowerCase();
  let authority: string;
  if (lower.startsWith('http://')) authority = dropPort(lower.slice(7), ':80');
  else if (lower.startsWith('https://')) authority = dropPort(lower.slice(8), ':443');
  else return false; // "null" (sandboxed frames, file: pages) and anything else
  const hostLower = host.toLowerCase();
  return authority === hostLower || authority === dropPort(dropPort(hostLower, ':80'), ':443');
}

function dropPort(authority: string, port: string): string {
  return authority.endsWith(port) ? authority.slice(0, -port.length) : authority;
}

// The route table: a switch on the exact path (no pattern matching per request), then a
// lookup by method. The one parameterised route, /api/messages/:id, is a prefix test. Each
// route carries its pattern, the label metrics count it under.
import type { Handler } from './edge.js';
import { getEvents, headEvents } from './routes/events.js';
import { getHealth } from './routes/health.js';
import { deleteLogin, getLogin, postLogin } from './routes/login.js';
import { deleteMessage, getMessages, postMessage } from './routes/messages.js';
import { getMetrics } from './routes/metrics.js';

export interface Route {
  pattern: string;
  methods: Readonly<Partial<Record<string, Handler>>>;
  /** For 405 answers and CORS preflights. */
  allow: readonly string[];
  isApi: boolean;
}

function route(pattern: string, methods: Partial<Record<string, Handler>>, isApi = true): Route {
  return { pattern, methods, allow: Object.keys(methods), isApi };
}

const serveFile: Handler = (exchange, edge) => edge.files.serve(exchange);

// HEAD wherever GET is (RFC 9110 section 9.1); node:http leaves the body out of its answer.
// Load balancers and uptime checkers often probe with it.
const LOGIN = route('/api/login', { GET: getLogin, HEAD: getLogin, POST: postLogin, DELETE: deleteLogin });
const MESSAGES = route('/api/messages', { GET: getMessages, HEAD: getMessages, POST: postMessage });
const MESSAGE = route('/api/messages/:id', { DELETE: deleteMessage });
const EVENTS = route('/api/events', { GET: getEvents, HEAD: headEvents });
const HEALTH = route('/api/health', { GET: getHealth, HEAD: getHealth });
const METRICS = route('/metrics', { GET: getMetrics, HEAD: getMetrics }, false);
/** Any other /api path: 404 whatever the method, never the web client's index.html. */
export const UNKNOWN_API = route('/api/*', {});
export const STATIC = route('static', { GET: serveFile, HEAD: serveFile }, false);

const MESSAGE_PREFIX = '/api/messages/';

export function findRoute(path: string): Route {
  switch (path) {
    case '/api/messages':
      return MESSAGES;
    case '/api/events':
      return EVENTS;
    case '/api/login':
      return LOGIN;
    case '/api/health':
      return HEALTH;
    case '/metrics':
      return METRICS;
  }
  if (path.startsWith(MESSAGE_PREFIX)) return MESSAGE;
  if (path === '/api' || path.startsWith('/api/')) return UNKNOWN_API;
  return STATIC;
}

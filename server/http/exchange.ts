// One HTTP request and its response, with what the access log and the metrics need to know
// about it. A class rather than a bag of fields: every request allocates exactly one, and V8
// keeps a single shape for all of them on the hot path.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** nginx's convention for "client closed the request", for the access log only. */
export const CLIENT_CLOSED = 499;

/** Where an answered request is recorded (server/http/access-log.ts). */
export interface RequestRecorder {
  record(exchange: Exchange, status: number): void;
}

export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path as sent, without the query (never decoded here). */
  readonly path: string;
  /** The raw query string after `?`, or ''. */
  readonly query: string;
  readonly started = performance.now();
  /** Route pattern for metrics ('/api/messages/:id'), never the raw path. */
  route = '';
  /** The logged-in user once known, for the access log. */
  user: string | undefined = undefined;
  /** Long-polls that waited and SSE streams stay out of the latency histogram. */
  isLongLived = false;
  /** Set when the request's Origin is one of config.allowedOrigins: answers carry CORS headers. */
  corsOrigin: string | undefined = undefined;
  #recorder: RequestRecorder;
  #isRecorded = false;

  constructor(req: IncomingMessage, res: ServerResponse, recorder: RequestRecorder) {
    this.req = req;
    this.res = res;
    this.#recorder = recorder;
    this.method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    this.path = mark === -1 ? url : url.slice(0, mark);
    this.query = mark === -1 ? '' : url.slice(mark + 1);
  }

  /** Records the answer once (access log line + metrics), whichever path answered it. */
  recordAnswer(status: number): void {
    if (this.#isRecorded) return;
    this.#isRecorded = true;
    this.#recorder.record(this, status);
  }
}

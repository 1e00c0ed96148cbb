// A swarm: a child process of the runner that holds thousands of client connections (SSE
// streams, TCP subscribers, pollers) and reports what they received. Several swarms split the
// clients so no process nears its open-file limit and the runner's own timers stay on time.
// Driven over IPC by swarm-pool.ts; see swarm-protocol.ts for the messages.
import { Connection } from '../../client/desktop/connection.js';
import { ApiClient } from './api.js';
import { Deliveries } from './deliveries.js';
import { HOST } from './paths.js';
import { SseSubscriber } from './sse-client.js';
import type { ClientKind, ClientPlan, SwarmCommand, SwarmReply, SwarmReport } from './swarm-protocol.js';

/** Connections being opened at once: more overflows the server's accept backlog (SYN drops). */
const OPENING_AT_ONCE = 64;
/** The largest page the API gives (protocol/limits.ts): a poller behind by more asks again at once. */
const POLL_PAGE = 1000;
const MAX_REASONS = 5;

interface OpenClient {
  close(): Promise<void> | void;
}

const deliveries = new Deliveries();
const clients: OpenClient[] = [];
/** Each planned client's index in the delivery tracking (failed opens keep theirs unused). */
let plannedClients = 0;
/** Sessions survive between rounds, so repeated rounds do not pile up sessions on the server. */
const cookies = new Map<string, string>();
const apiClients = new Map<number, ApiClient>();
let lost = 0;
const lostReasons: string[] = [];
let pollErrors = 0;
let isClosing = false;

function apiFor(port: number): ApiClient {
  let api = apiClients.get(port);
  if (!api) apiClients.set(port, (api = new ApiClient(port, OPENING_AT_ONCE)));
  return api;
}

async function cookieFor(plan: ClientPlan): Promise<string> {
  const key = `${plan.port}/${plan.username}`;
  let cookie = cookies.get(key);
  if (!cookie) cookies.set(key, (cookie = await apiFor(plan.port).login(plan.username)));
  return cookie;
}

function loseClient(reason: string): void {
  if (isClosing) return;
  lost++;
  if (lostReasons.length < MAX_REASONS) lostReasons.push(reason);
}

async function openSse(plan: ClientPlan, index: number, last: number): Promise<OpenClient> {
  const cookie = await cookieFor(plan);
  return SseSubscriber.open({
    port: plan.port,
    cookie,
    last,
    onMessage: (text) => deliveries.record(index, text),
    onLost: (reason) => loseClient(`sse: ${reason}`),
  });
}

async function openTcp(plan: ClientPlan, index: number, last: number): Promise<OpenClient> {
  const connection = await Connection.open({ host: HOST, port: plan.port, connectTimeoutMs: 15_000, requestTimeoutMs: 30_000 });
  try {
    await connection.request('login', { username: plan.username });
    connection.on('change', (push) => {
      if (push.event === 'message') deliveries.record(index, push.message.text);
    });
    await connection.request('subscribe', { last });
    connection.on('close', (error) => loseClient(`tcp: ${error?.message ?? 'closed'}`));
  } catch (error) {
    connection.close();
    throw error;
  }
  return {
    // Logging out ends the session, so the next round starts from the same server state.
    close: () =>
      connection
        .request('logout', {}, { timeoutMs: 5_000 })
        .catch(() => {})
        .then(() => connection.close()),
  };
}

async function openPoller(plan: ClientPlan, index: number, last: number, intervalMs: number): Promise<OpenClient> {
  const cookie = await cookieFor(plan);
  // One connection per poller, as each browser tab has its own.
  const api = new ApiClient(plan.port, 1);
  let cursor = last;
  let isBusy = false;
  const poll = async () => {
    if (isBusy) return;
    isBusy = true;
    try {
      // Like a page that polls every few seconds: everything since its cursor, in as many pages
      // as that takes (50 messages/s for 5 s is more than one default page of 100).
      for (;;) {
        const changes = await api.changes(cookie, `?last=${cursor}&limit=${POLL_PAGE}`);
        for (const message of changes.messages) deliveries.record(index, message.text, true);
        cursor = changes.last;
        if (changes.messages.length + changes.deleted.length < POLL_PAGE) break;
      }
    } catch (error) {
      pollErrors++;
      loseClient(`poll: ${(error as Error).message}`);
    } finally {
      isBusy = false;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  // A random phase, so pollers do not arrive in lockstep (real pages load at different times).
  const start = setTimeout(() => {
    void poll();
    timer = setInterval(() => void poll(), intervalMs);
  }, Math.random() * intervalMs);
  return {
    close() {
      clearTimeout(start);
      clearInterval(timer);
      api.close();
    },
  };
}

function openClient(kind: ClientKind, plan: ClientPlan, index: number, last: number, intervalMs: number): Promise<OpenClient> {
  if (kind === 'sse') return openSse(plan, index, last);
  if (kind === 'tcp') return openTcp(plan, index, last);
  return openPoller(plan, index, last, intervalMs);
}

async function connectAll(command: Extract<SwarmCommand, { type: 'connect' }>): Promise<SwarmReply> {
  isClosing = false;
  const first = plannedClients;
  plannedClients += command.clients.length;
  let next = 0;
  let failed = 0;
  const errors: string[] = [];
  const worker = async () => {
    while (next < command.clients.length) {
      const i = next++;
      try {
        clients.push(await openClient(command.kind, command.clients[i]!, first + i, command.last, command.pollIntervalMs));
      } catch (error) {
        failed++;
        if (errors.length < MAX_REASONS) errors.push(`${command.kind}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: OPENING_AT_ONCE }, worker));
  return { type: 'connected', connected: command.clients.length - failed, failed, errors };
}

async function closeAll(): Promise<SwarmReply> {
  isClosing = true;
  await Promise.all(clients.splice(0).map((client) => client.close()));
  plannedClients = 0;
  lost = 0;
  lostReasons.length = 0;
  pollErrors = 0;
  return { type: 'closed' };
}

function report(): SwarmReply {
  const body: SwarmReport = {
    ...deliveries.report,
    open: clients.length - lost,
    lost,
    lostReasons: [...lostReasons],
    pollErrors,
  };
  return { type: 'report', report: body };
}

async function handle(command: SwarmCommand): Promise<SwarmReply> {
  switch (command.type) {
    case 'connect':
      return connectAll(command);
    case 'reset':
      // Client indexes run over everything this swarm opened; size the tracking to match.
      deliveries.reset(command.expected, Math.max(plannedClients, 1));
      pollErrors = 0;
      return report();
    case 'report':
      return report();
    case 'progress':
      return { type: 'progress', delivered: deliveries.report.delivered };
    case 'close':
      return closeAll();
  }
}

process.on('message', (command: SwarmCommand) => {
  handle(command).then(
    (reply) => process.send!(reply),
    (error: unknown) => process.send!({ type: 'error', message: (error as Error).stack ?? String(error) } satisfies SwarmReply),
  );
});
process.on('disconnect', () => process.exit(0));

import type { LinkStatus, Transport } from '../live-feed.js';

const LABELS: Record<LinkStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const DETAILS: Record<LinkStatus, string> = {
  connecting: 'Connecting to the server.',
  connected: 'Connected: new messages appear as they are sent.',
  reconnecting: 'The connection dropped; reconnecting. Nothing you missed will be lost.',
  offline: 'Can’t reach the server. Parley keeps trying and catches up when it is back.',
};

/** The connection's state as a coloured dot and a word; screen readers hear the changes. */
export function StatusIndicator({ status, transport }: { status: LinkStatus; transport: Transport }) {
  const detail = transport === 'polling' && status === 'connected'
    ? `${DETAILS.connected} (Polling, because streaming is unavailable on this connection.)`
    : DETAILS[status];
  return (
    <div class={`status ${status}`} role="status" title={detail} data-status={status} data-transport={transport}>
      <span class="dot" aria-hidden="true" />
      <span class="status-label">{LABELS[status]}</span>
    </div>
  );
}

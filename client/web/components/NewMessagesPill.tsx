/** Floats above the composer while the reader is scrolled up and messages arrive below. */
export function NewMessagesPill({ count, onClick }: { count: number; onClick(): void }) {
  if (count === 0) return null;
  return (
    <button type="button" class="pill" onClick={onClick}>
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <path d="M8 3v9m-4-4 4 4 4-4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
      {count === 1 ? '1 new message' : `${count} new messages`}
    </button>
  );
}

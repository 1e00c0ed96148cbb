/** The speech-bubble mark, the same drawing as public/favicon.svg. */
export function Logo({ size }: { size: number }) {
  return (
    <svg class="logo" viewBox="0 0 32 32" width={size} height={size} aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#4f46e5" />
      <path d="M8 10h16v10H14l-5 4v-4H8z" fill="#fff" />
    </svg>
  );
}

// The deadline of one half-written TCP frame: --frame-timeout from the frame's first byte, not
// from the last byte received, or a client sending one byte now and then would keep a frame (and
// its buffer) open forever. Silence between frames is fine and has no deadline. Time during which
// the server itself does not read (connection.ts pauses a client that is behind) is not counted:
// the rest of the frame may be waiting unread in the kernel.
export class FrameDeadline {
  readonly #timeoutMs: number;
  readonly #onExpired: () => void;
  #timer: NodeJS.Timeout | null = null;
  #expiresAt = 0;
  /** Time left while paused; null when no deadline is paused. */
  #leftMs: number | null = null;

  constructor(timeoutMs: number, onExpired: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#onExpired = onExpired;
  }

  /**
   * After each chunk: `pendingBytes` of an unfinished frame are held, and `completedAFrame` says
   * the chunk ended at least one frame, so any bytes now pending belong to a new frame.
   */
  track(pendingBytes: number, completedAFrame: boolean): void {
    if (pendingBytes === 0 || completedAFrame) this.clear();
    if (pendingBytes > 0 && this.#timer === null) this.#start(this.#timeoutMs);
  }

  pause(): void {
    if (this.#timer === null) return;
    const left = Math.max(0, this.#expiresAt - Date.now());
    this.clear();
    this.#leftMs = left;
  }

  resume(): void {
    if (this.#leftMs === null) return;
    const left = this.#leftMs;
    this.#leftMs = null;
    this.#start(left);
  }

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#leftMs = null;
  }

  #start(ms: number): void {
    this.#expiresAt = Date.now() + ms;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#onExpired();
    }, ms);
    this.#timer.unref();
  }
}

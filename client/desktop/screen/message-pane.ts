// The conversation area of the screen: the messages shown, which one is selected, how far it is
// scrolled back, and the older pages loaded on the way up. Keys and mouse reach it through the
// chat screen; it lays itself out for a given size and remembers which message each row shows.
import type { ChatMessage } from '../../../protocol/message.js';
import { toParleyError } from '../errors.js';
import type { Session } from '../session.js';
import { MessageList, type Row } from './message-list.js';
import { messageLayout, messageLines } from './message-view.js';
import type { Line } from './painter.js';
import { layoutViewport, revealScroll } from './viewport.js';

const OLDER_PAGE = 100;

export class MessagePane {
  readonly #session: Session;
  readonly #onChange: () => void;
  readonly #onError: (text: string) => void;
  readonly #list = new MessageList();
  #selectedId: number | undefined;
  /** Rows scrolled up from the newest; 0 follows new messages. */
  #scroll = 0;
  #unseen = 0;
  #hasOlder = false;
  #isLoadingOlder = false;
  /** Counts resets, so an older page asked for before one is not mixed into the new list. */
  #generation = 0;
  /** Which message each row of the last layout shows, for the mouse. */
  #rowIds: (number | undefined)[] = [];
  #width = 80;
  #height = 1;

  constructor(session: Session, onChange: () => void, onError: (text: string) => void) {
    this.#session = session;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  get selectedId(): number | undefined {
    return this.#selectedId;
  }

  get isEmpty(): boolean {
    return this.#list.size === 0;
  }

  get(id: number): ChatMessage | undefined {
    return this.#list.get(id);
  }

  /** Replaces everything: after a restart an id may name another message, so the selection goes. */
  reset(messages: readonly ChatMessage[]): void {
    this.#generation++;
    this.#list.reset(messages);
    this.#hasOlder = messages.length > 0;
    this.#selectedId = undefined;
    this.jumpToNewest();
  }

  add(message: ChatMessage): void {
    const before = this.#scroll > 0 ? this.#rows().length : 0;
    if (this.#list.add([message]) === 0) return;
    if (this.#scroll > 0) {
      // Scrolled back: keep the rows being read where they are.
      this.#scroll += this.#rows().length - before;
      this.#unseen++;
    }
  }

  /** Removes a message; a selection on it moves to a neighbour, so deleting several is Del, y, Del, y. */
  remove(id: number): boolean {
    const neighbour = this.#selectedId === id ? this.#neighbourOf(id) : this.#selectedId;
    if (!this.#list.remove(id)) return false;
    this.#selectedId = neighbour;
    return true;
  }

  select(id: number | undefined): void {
    this.#selectedId = id;
  }

  /** Selects the newest message on screen (to start selecting from) and shows it. */
  selectVisible(): void {
    const ids = this.#rowIds.filter((id): id is number => id !== undefined);
    this.#selectedId = ids.at(-1) ?? this.#list.newest?.id;
    this.#reveal();
  }

  /** Moves the selection by `steps` messages, or to the oldest/newest loaded, and shows it. */
  moveSelection(to: number | 'oldest' | 'newest'): void {
    if (to === 'oldest') this.#selectedId = this.#list.oldest?.id;
    else if (to === 'newest') this.#selectedId = this.#list.newest?.id;
    else this.#selectedId = this.#list.step(this.#selectedId, to);
    this.#reveal();
  }

  scrollBy(rows: number): void {
    this.#scroll = Math.max(0, this.#scroll + rows);
    if (this.#scroll === 0) this.#unseen = 0;
  }

  /**
   * Rows one PageUp/PageDown moves: a screen, less the row the "more below" mark covers and one
   * row kept from the page before, so the eye finds its place.
   */
  get pageRows(): number {
    return Math.max(1, this.#height - 2);
  }

  jumpToNewest(): void {
    this.#scroll = 0;
    this.#unseen = 0;
  }

  /** The message shown on row `y` of the last layout (0 = the pane's first row). */
  idAt(y: number): number | undefined {
    return this.#rowIds[y];
  }

  /** A new size: rows re-wrap, and a selected message stays on screen. */
  resize(width: number, height: number): void {
    this.#width = width;
    this.#height = height;
    this.#reveal();
  }

  /** The pane's lines for `width` x `height`, and the message behind each. */
  layout(width: number, height: number, emptyText: string): Line[] {
    this.#width = width;
    this.#height = height;
    const viewport = layoutViewport({
      rows: this.#rows(),
      height,
      width,
      scroll: this.#scroll,
      selectedId: this.#selectedId,
      unseen: this.#unseen,
      emptyText,
    });
    this.#scroll = viewport.scroll;
    if (this.#scroll === 0) this.#unseen = 0;
    if (viewport.isAtTop && this.#scroll > 0) void this.#loadOlder();
    this.#rowIds = viewport.ids;
    return viewport.lines;
  }

  #neighbourOf(id: number): number | undefined {
    const next = this.#list.step(id, 1);
    if (next !== id) return next;
    const previous = this.#list.step(id, -1);
    return previous === id ? undefined : previous;
  }

  /** Scrolls just enough to show every row of the selected message. */
  #reveal(): void {
    if (this.#selectedId === undefined) return;
    this.#scroll = revealScroll(this.#rows(), this.#selectedId, this.#height, this.#scroll);
    if (this.#selectedId === this.#list.oldest?.id) void this.#loadOlder();
  }

  /** The messages' rows, then what is waiting to be sent, greyed, below them. */
  #rows(): Row[] {
    const me = this.#session.username;
    const rows = this.#list.rows(this.#width, me);
    const layout = messageLayout(this.#width, me);
    for (const queued of this.#session.queued) {
      const lines = messageLines({ user: me ?? '', text: queued.text, time: '' }, layout, 'pending');
      for (const line of lines) rows.push({ line });
    }
    return rows;
  }

  async #loadOlder(): Promise<void> {
    const oldest = this.#list.oldest;
    if (this.#isLoadingOlder || !this.#hasOlder || !oldest || this.#session.state.kind !== 'online') return;
    this.#isLoadingOlder = true;
    const generation = this.#generation;
    try {
      const page = await this.#session.history({ before: oldest.id, limit: OLDER_PAGE });
      if (generation !== this.#generation) return;
      this.#hasOlder = page.messages.length > 0;
      this.#list.add(page.messages);
    } catch (error) {
      this.#onError(`could not load older messages: ${toParleyError(error).message}`);
    } finally {
      this.#isLoadingOlder = false;
      this.#onChange();
    }
  }
}

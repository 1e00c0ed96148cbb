// A small menu next to a message: below it (or above it, when below would cover the composer),
// starting at the pointer for a right-click, or lined up with the bubble's edge when opened from
// the keyboard, the ⋯ button or on a phone. WAI-ARIA menu pattern: focus moves into it, arrows
// move between items, Escape closes and gives focus back to where it came from; a click
// elsewhere, a scroll or a resize closes it too.
import type { ComponentChild } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';

export interface MenuItem {
  label: string;
  icon?: ComponentChild;
  /** Shown in red: destructive. */
  isDanger?: boolean;
  onSelect(): void;
}

/** Where the menu opens, in viewport pixels. A pointer is an anchor whose top equals its bottom. */
export interface MenuAnchor {
  /** The menu's left edge, or its right edge with `alignEnd` (own messages sit on the right). */
  x: number;
  alignEnd: boolean;
  /** The menu opens below `bottom`, or ends above `top` when there is no room below. */
  top: number;
  bottom: number;
}

interface Props {
  anchor: MenuAnchor;
  /** The lowest the menu may reach: the top of the composer, so it never covers Send. */
  floor: number;
  label: string;
  items: MenuItem[];
  /** `restoreFocus`: false when focus should stay where the user's action put it. */
  onClose(restoreFocus: boolean): void;
}

const EDGE_MARGIN_PX = 8;
const GAP_PX = 4;

/** The menu's top-left corner for its size: beside the anchor, inside the window, above the floor. */
function placeMenu(anchor: MenuAnchor, width: number, height: number, floor: number): { left: number; top: number } {
  let left = anchor.alignEnd ? anchor.x - width : anchor.x;
  if (!anchor.alignEnd && left + width > innerWidth - EDGE_MARGIN_PX) left = anchor.x - width;
  left = Math.max(EDGE_MARGIN_PX, Math.min(left, innerWidth - width - EDGE_MARGIN_PX));
  let top = anchor.bottom + GAP_PX;
  if (top + height > Math.min(floor, innerHeight) - EDGE_MARGIN_PX) top = anchor.top - GAP_PX - height;
  return { left, top: Math.max(EDGE_MARGIN_PX, top) };
}

export function ContextMenu({ anchor, floor, label, items, onClose }: Props) {
  const menu = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const element = menu.current!;
    const { width, height } = element.getBoundingClientRect();
    const { left, top } = placeMenu(anchor, width, height, floor);
    element.style.left = `${left}px`;
    element.style.top = `${top}px`;
    element.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [anchor, floor]);

  useEffect(() => {
    const onPointer = (event: Event) => {
      if (!menu.current?.contains(event.target as Node)) onClose(false);
    };
    const onDismiss = () => onClose(false);
    document.addEventListener('pointerdown', onPointer, true);
    document.addEventListener('scroll', onDismiss, true);
    window.addEventListener('resize', onDismiss);
    window.addEventListener('blur', onDismiss);
    return () => {
      document.removeEventListener('pointerdown', onPointer, true);
      document.removeEventListener('scroll', onDismiss, true);
      window.removeEventListener('resize', onDismiss);
      window.removeEventListener('blur', onDismiss);
    };
  }, [onClose]);

  const onKeyDown = (event: KeyboardEvent) => {
    const buttons = [...menu.current!.querySelectorAll<HTMLElement>('[role=menuitem]')];
    const index = buttons.indexOf(document.activeElement as HTMLElement);
    const focusAt = (i: number) => buttons[(i + buttons.length) % buttons.length]?.focus();
    switch (event.key) {
      case 'Escape':
        event.preventDefault();
        event.stopPropagation();
        return onClose(true);
      case 'Tab':
        event.preventDefault();
        return onClose(true);
      case 'ArrowDown':
        event.preventDefault();
        return focusAt(index + 1);
      case 'ArrowUp':
        event.preventDefault();
        return focusAt(index - 1);
      case 'Home':
        event.preventDefault();
        return focusAt(0);
      case 'End':
        event.preventDefault();
        return focusAt(-1);
    }
  };

  return (
    <div ref={menu} class="menu" role="menu" aria-label={label} onKeyDown={onKeyDown}>
      {items.map((item) => (
        <button
          key={item.label}
          type="button"
          role="menuitem"
          tabIndex={-1}
          class={item.isDanger ? 'danger' : undefined}
          onClick={() => {
            onClose(false);
            item.onSelect();
          }}
        >
          {item.icon}
          {item.label}
        </button>
      ))}
    </div>
  );
}

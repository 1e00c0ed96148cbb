// A small menu at a point: the pointer for a right-click, the message's corner for the keyboard.
// WAI-ARIA menu pattern: focus moves into it, arrows move between items, Escape closes and
// gives focus back to where it came from; a click elsewhere, a scroll or a resize closes it too.
import type { ComponentChild } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';

export interface MenuItem {
  label: string;
  icon?: ComponentChild;
  /** Shown in red: destructive. */
  isDanger?: boolean;
  onSelect(): void;
}

interface Props {
  x: number;
  y: number;
  label: string;
  items: MenuItem[];
  /** `restoreFocus`: false when focus should stay where the user's action put it. */
  onClose(restoreFocus: boolean): void;
}

const EDGE_MARGIN_PX = 8;

export function ContextMenu({ x, y, label, items, onClose }: Props) {
  const menu = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const element = menu.current!;
    // Keep the whole menu on screen: flip left/up when the point is near the right/bottom edge.
    const { width, height } = element.getBoundingClientRect();
    const left = x + width + EDGE_MARGIN_PX > innerWidth ? Math.max(EDGE_MARGIN_PX, x - width) : x;
    const top = y + height + EDGE_MARGIN_PX > innerHeight ? Math.max(EDGE_MARGIN_PX, y - height) : y;
    element.style.left = `${left}px`;
    element.style.top = `${top}px`;
    element.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [x, y]);

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

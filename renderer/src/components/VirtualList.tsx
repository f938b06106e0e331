/**
 * A windowed list: only the rows in view (plus a few either side) are in the
 * DOM, so 100,000 log records scroll as smoothly as 100. Rows have a fixed
 * height in rem, which keeps the arithmetic exact at any zoom level. Keyboard:
 * the list is one tab stop; arrows, Page Up/Down, Home and End move the
 * active row (aria-activedescendant), which is scrolled into view.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

export interface VirtualListProps<T> {
  readonly items: readonly T[];
  /** row height in rem */
  readonly rowRem: number;
  readonly renderRow: (item: T, index: number) => ReactNode;
  readonly rowKey: (item: T, index: number) => string | number;
  readonly label: string;
  readonly overscan?: number;
  /** keep the view pinned to the newest row while the user has not scrolled up */
  readonly follow?: boolean;
  readonly className?: string;
}

const remPx = (): number => {
  const size = typeof getComputedStyle === 'function' ? parseFloat(getComputedStyle(document.documentElement).fontSize) : NaN;
  return Number.isFinite(size) && size > 0 ? size : 16;
};

export function VirtualList<T>({ items, rowRem, renderRow, rowKey, label, overscan = 8, follow = false, className }: VirtualListProps<T>) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [rowPx, setRowPx] = useState(() => rowRem * 16);
  const [active, setActive] = useState<number>(-1);
  const pinned = useRef(true);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const measure = () => {
      setRowPx(rowRem * remPx());
      setViewport(el.clientHeight || 600);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [rowRem]);

  useEffect(() => {
    const el = ref.current;
    if (follow && pinned.current && el !== null) {
      el.scrollTop = items.length * rowPx;
      setScrollTop(el.scrollTop);
    }
  }, [items.length, follow, rowPx]);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (el === null) return;
    setScrollTop(el.scrollTop);
    pinned.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowPx * 2;
  }, [rowPx]);

  const moveTo = (index: number) => {
    if (items.length === 0) return;
    const i = Math.max(0, Math.min(items.length - 1, index));
    setActive(i);
    const el = ref.current;
    if (el === null) return;
    const top = i * rowPx;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowPx > el.scrollTop + el.clientHeight) el.scrollTop = top + rowPx - el.clientHeight;
    setScrollTop(el.scrollTop);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const page = Math.max(1, Math.floor(viewport / rowPx) - 1);
    const keys: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: items.length - 1 };
    const next = keys[e.key];
    if (next === undefined) return;
    e.preventDefault();
    moveTo(active < 0 && e.key !== 'End' ? 0 : next);
  };

  const first = Math.max(0, Math.floor(scrollTop / rowPx) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + viewport) / rowPx) + overscan);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const item = items[i] as T;
    rows.push(
      <div
        key={rowKey(item, i)}
        id={`vl-row-${i}`}
        role="listitem"
        aria-setsize={items.length}
        aria-posinset={i + 1}
        className={`vl-row${i === active ? ' active' : ''}`}
        style={{ top: i * rowPx, height: rowPx }}
        onClick={() => setActive(i)}
      >
        {renderRow(item, i)}
      </div>,
    );
  }

  return (
    <div
      ref={ref}
      className={`vl ${className ?? ''}`}
      role="list"
      aria-label={label}
      tabIndex={0}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
      aria-activedescendant={active >= 0 ? `vl-row-${active}` : undefined}
      data-rendered-rows={last - first}
    >
      <div className="vl-spacer" style={{ height: items.length * rowPx }}>
        {rows}
      </div>
    </div>
  );
}

/**
 * A virtualised list: only the rows in view (plus a margin) are in the DOM, so a run with
 * 10,000 task runs, or 100,000 log lines, scrolls as smoothly as one with ten. Rows have a fixed
 * height, or one given per item (`heightOf`, e.g. a multi-line log message); offsets are prefix
 * sums, and the first row in view is found by binary search.
 */
import { forwardRef, useImperativeHandle, useMemo, useRef, useState, type ForwardedRef, type ReactElement, type ReactNode, type Ref } from "react";

export interface VirtualRowsHandle {
  /** Scrolls just enough to show row `index`. */
  scrollToIndex(index: number): void;
  scrollToEnd(): void;
  /** True when the view is at (or within a row of) the end. */
  atEnd(): boolean;
}

interface Props<T> {
  items: T[];
  rowHeight: number;
  height: number;
  render: (item: T, index: number) => ReactNode;
  heightOf?: (item: T) => number;
  onScroll?: () => void;
  testId?: string;
  className?: string;
}

function VirtualRowsInner<T>({ items, rowHeight, height, render, heightOf, onScroll, testId, className }: Props<T>, ref: ForwardedRef<VirtualRowsHandle>) {
  const [top, setTop] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const offsets = useMemo(() => {
    if (!heightOf) return null;
    const out = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i++) out[i + 1] = out[i]! + heightOf(items[i]!);
    return out;
  }, [items, heightOf]);
  const offsetOf = (i: number) => (offsets ? offsets[i]! : i * rowHeight);
  const total = offsetOf(items.length);
  const indexAt = (y: number) => {
    if (!offsets) return Math.floor(y / rowHeight);
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsets[mid]! <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  useImperativeHandle(ref, () => ({
    scrollToIndex(index) {
      const el = box.current;
      if (!el || index < 0 || index >= items.length) return;
      const start = offsetOf(index);
      const end = offsetOf(index + 1);
      if (start < el.scrollTop) el.scrollTop = start;
      else if (end > el.scrollTop + el.clientHeight) el.scrollTop = end - el.clientHeight;
    },
    scrollToEnd() {
      if (box.current) box.current.scrollTop = box.current.scrollHeight;
    },
    atEnd() {
      const el = box.current;
      return !el || el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight * 1.5;
    },
  }));
  const first = Math.max(0, indexAt(top) - 10);
  const last = Math.min(items.length, indexAt(top + height) + 10);
  const viewport = Math.min(height, total);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++)
    rows.push(
      <div key={i} style={{ position: "absolute", top: offsetOf(i), left: 0, right: 0, height: offsetOf(i + 1) - offsetOf(i) }}>
        {render(items[i]!, i)}
      </div>,
    );
  return (
    <div
      ref={box}
      className={`virtual ${className ?? ""}`}
      style={{ height: viewport, overflowY: "auto" }}
      onScroll={(e) => {
        setTop(e.currentTarget.scrollTop);
        onScroll?.();
      }}
      data-testid={testId}
      data-rows={items.length}
    >
      <div style={{ height: total, position: "relative" }}>{rows}</div>
    </div>
  );
}

export const VirtualRows = forwardRef(VirtualRowsInner) as <T>(props: Props<T> & { ref?: Ref<VirtualRowsHandle> }) => ReactElement;

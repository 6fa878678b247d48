/**
 * A virtualised list: only the rows in view (plus a margin) are in the DOM, so a run with
 * 10,000 task runs scrolls as smoothly as one with ten.
 */
import { useState, type ReactNode } from "react";

export function VirtualRows<T>({ items, rowHeight, height, render, testId }: { items: T[]; rowHeight: number; height: number; render: (item: T, index: number) => ReactNode; testId?: string }) {
  const [top, setTop] = useState(0);
  const visible = Math.ceil(height / rowHeight);
  const first = Math.max(0, Math.floor(top / rowHeight) - 10);
  const last = Math.min(items.length, first + visible + 20);
  const viewport = Math.min(height, items.length * rowHeight);
  return (
    <div className="virtual" style={{ height: viewport, overflowY: "auto" }} onScroll={(e) => setTop(e.currentTarget.scrollTop)} data-testid={testId} data-rows={items.length}>
      <div style={{ height: items.length * rowHeight, position: "relative" }}>
        {items.slice(first, last).map((item, i) => (
          <div key={first + i} style={{ position: "absolute", top: (first + i) * rowHeight, left: 0, right: 0, height: rowHeight }}>
            {render(item, first + i)}
          </div>
        ))}
      </div>
    </div>
  );
}

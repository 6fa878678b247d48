/**
 * Keyboard navigation of a list: j / k move the selection, Enter opens the
 * selected item. Keys typed into a field are left alone, and Enter on a focused button, link
 * or field does what it does there (it does not also open the selected row). The selection
 * starts at the first item again whenever `resetKey` changes (another page of the list, other
 * filters), and `reveal` is called to scroll it into view.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "react";

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA"]);
const ACTIVATABLE = new Set(["BUTTON", "A", "SUMMARY", ...TYPING]);

export function useListKeys(options: { count: number; onOpen: (index: number) => void; resetKey: unknown; reveal?: (index: number) => void }): [number, (index: number) => void] {
  const [selected, setSelected] = useState(0);
  const latest = useRef({ ...options, selected });
  useLayoutEffect(() => {
    latest.current = { ...options, selected };
  });
  useEffect(() => setSelected(0), [options.resetKey]);
  useEffect(() => {
    if (options.count > 0 && selected >= options.count) setSelected(options.count - 1);
  }, [options.count, selected]);
  useEffect(() => {
    latest.current.reveal?.(selected);
  }, [selected]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const target = e.target as HTMLElement;
      if (TYPING.has(target.tagName) || target.isContentEditable) return;
      const { count, onOpen, selected: current } = latest.current;
      if (count === 0) return;
      if (e.key === "j") setSelected(Math.min(count - 1, current + 1));
      else if (e.key === "k") setSelected(Math.max(0, current - 1));
      else if (e.key === "Enter") {
        const focused = document.activeElement as HTMLElement | null;
        if (focused && ACTIVATABLE.has(focused.tagName)) return;
        onOpen(Math.min(current, count - 1));
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return [selected, setSelected];
}

/** Scrolls the element marked `[data-selected="true"]` inside `container` into view. */
export function revealSelected(container: HTMLElement | null): void {
  container?.querySelector('[data-selected="true"]')?.scrollIntoView({ block: "nearest" });
}

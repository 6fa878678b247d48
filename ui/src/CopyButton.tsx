/**
 * Copies a value and says so. The Clipboard API needs a secure context and permission; without
 * it the button falls back to a selected text field and execCommand("copy"), and if that is
 * refused too it leaves the value selected in a field for the user to copy.
 */
import { useEffect, useRef, useState } from "react";

async function copy(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // denied or unavailable: try the old way below
  }
  const field = document.createElement("textarea");
  field.value = text;
  field.style.position = "fixed";
  field.style.opacity = "0";
  document.body.appendChild(field);
  field.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    field.remove();
  }
}

export function CopyButton({ value, label }: { value: string; label: string }) {
  const [outcome, setOutcome] = useState<"copied" | "failed" | null>(null);
  const manual = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (outcome === "failed") manual.current?.select();
    if (outcome !== "copied") return;
    const timer = setTimeout(() => setOutcome(null), 2000);
    return () => clearTimeout(timer);
  }, [outcome]);
  return (
    <span className="copy">
      <button onClick={() => void copy(value).then((ok) => setOutcome(ok ? "copied" : "failed"))} title={value}>
        {outcome === "copied" ? "Copied ✓" : label}
      </button>
      {outcome === "failed" && (
        <span data-testid="copy-fallback">
          {" "}
          copy it by hand: <input ref={manual} readOnly value={value} size={38} aria-label="value to copy" />
        </span>
      )}
    </span>
  );
}

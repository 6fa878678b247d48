/**
 * A stored result as the run and task pages show it: a value kept inline at once; a large one
 * (a row naming `<sha256>.json`) read from the server's result storage — wherever the run ran —
 * up to PREVIEW_LIMIT bytes.
 */
import { useEffect, useState } from "react";
import { summarise } from "./result-preview.ts";

/** Larger results are not fetched to be previewed. */
const PREVIEW_LIMIT = 16 * 1024 * 1024;

export function ResultPreview({ result, testId }: { result: { value: string | null; size: number; path: string | null }; testId: string }) {
  const sha = result.value === null && result.path ? /(?:^|\/)([0-9a-f]{64})\.json$/.exec(result.path)?.[1] : undefined;
  const [blob, setBlob] = useState<{ sha: string; text: string | null; error: string | null } | null>(null);
  useEffect(() => {
    if (!sha || result.size > PREVIEW_LIMIT) return;
    let live = true;
    fetch(`/api/result-blobs/${sha}`).then(
      async (response) => {
        const text = await response.text();
        if (!live) return;
        if (response.ok) setBlob({ sha, text, error: null });
        else setBlob({ sha, text: null, error: (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? `HTTP ${response.status}` });
      },
      (e: Error) => live && setBlob({ sha, text: null, error: e.message }),
    );
    return () => {
      live = false;
    };
  }, [sha, result.size]);
  let shown: string;
  if (result.value !== null) shown = summarise(result.value);
  else if (!sha) shown = `stored in a file on the machine that ran it (${result.path})`;
  else if (result.size > PREVIEW_LIMIT) shown = `${result.size.toLocaleString()} bytes in the result storage (${sha}): too large to preview here`;
  else if (blob?.sha !== sha) shown = "loading…";
  else shown = blob.text !== null ? summarise(blob.text) : `in the result storage as ${sha}, not readable from this server: ${blob.error}`;
  return <pre data-testid={testId}>{shown}</pre>;
}

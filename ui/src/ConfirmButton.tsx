/**
 * A button that asks first: "Cancel this run? [Yes, cancel] [Keep]". The action runs on the
 * confirmation only, once (the buttons are disabled while it runs), and a refusal's message is
 * shown beside it (a 409 says why: the run's state no longer allows it).
 */
import { useState } from "react";

export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  testId,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm(): Promise<void>;
  /** Names the control for tests: `${testId}` on the first button, `${testId}-confirm` on the second. */
  testId?: string;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    try {
      await onConfirm();
      setError(null);
      setConfirming(false);
    } catch (e) {
      setError((e as Error).message);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span onClick={(e) => e.stopPropagation()}>
      {confirming ? (
        <span className="confirm" role="alertdialog" aria-label={question}>
          {question}{" "}
          <button onClick={() => void run()} disabled={busy} data-testid={testId && `${testId}-confirm`}>
            {busy ? "…" : confirmLabel}
          </button>{" "}
          <button onClick={() => setConfirming(false)} disabled={busy}>
            Keep
          </button>
        </span>
      ) : (
        <button onClick={() => setConfirming(true)} data-testid={testId}>
          {label}
        </button>
      )}
      {error && (
        <span className="error" data-testid={testId ? `${testId}-error` : "confirm-error"}>
          {" "}
          {error}
        </span>
      )}
    </span>
  );
}

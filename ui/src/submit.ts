/** What every form of the dashboard does on submit: stay busy while its work runs, and keep the failure's message. */
import { useState, type FormEvent } from "react";

export interface Submit {
  /** The form's onSubmit: runs the work unless it already runs. */
  onSubmit(event: FormEvent): void;
  busy: boolean;
  /** The last failure's message; null once the work succeeds. */
  error: string | null;
  setError(message: string | null): void;
}

export function useSubmit(work: () => Promise<void>): Submit {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    try {
      await work();
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return {
    onSubmit(event) {
      event.preventDefault();
      if (!busy) void run();
    },
    busy,
    error,
    setError,
  };
}

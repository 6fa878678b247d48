/** A Delete button that asks first, then shows why the server refused (a 409 names what still uses the thing). */
import { useState } from "react";

export function ConfirmDelete({ what, onDelete }: { what: string; onDelete(): Promise<void> }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    setConfirming(false);
    try {
      await onDelete();
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <span onClick={(e) => e.stopPropagation()}>
      {confirming ? (
        <span className="confirm">
          Delete {what}? <button onClick={() => void remove()}>Yes, delete</button> <button onClick={() => setConfirming(false)}>Keep</button>
        </span>
      ) : (
        <button onClick={() => setConfirming(true)}>Delete</button>
      )}
      {error && (
        <span className="error" data-testid="delete-error">
          {" "}
          {error}
        </span>
      )}
    </span>
  );
}

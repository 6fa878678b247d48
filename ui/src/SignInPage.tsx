/** The sign-in page, shown in place of any page while the server answers 401: the URL stays, so signing in returns to it. */
import { useState, type FormEvent } from "react";
import { signIn } from "./session.ts";

export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [apiKey, setApiKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const refused = await signIn(apiKey);
      if (refused === null) onSignedIn();
      else setError(refused);
    } catch (failure) {
      setError(`Cannot reach the server: ${(failure as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card sign-in" data-testid="sign-in" onSubmit={(e) => void submit(e)}>
      <h1>Sign in</h1>
      <p className="muted">This Baton server requires an API key. The browser keeps a session cookie, not the key.</p>
      <label>
        API key
        <input type="password" name="apiKey" autoComplete="current-password" autoFocus value={apiKey} onChange={(e) => setApiKey(e.target.value)} data-testid="api-key" />
      </label>
      <button type="submit" disabled={busy || apiKey === ""} data-testid="sign-in-submit">
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {error && (
        <p className="error" role="alert" data-testid="sign-in-error">
          {error}
        </p>
      )}
    </form>
  );
}

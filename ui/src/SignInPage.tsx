/** The sign-in page, shown in place of any page while the server answers 401: the URL stays, so signing in returns to it. */
import { useState, type FormEvent } from "react";
import { signIn, type Credential } from "./session.ts";

export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  // An API key, or an account's user name and password.
  const [withKey, setWithKey] = useState(true);
  const [apiKey, setApiKey] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const credential: Credential = withKey ? { apiKey } : { username, password };
  const complete = withKey ? apiKey !== "" : username !== "" && password !== "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const refused = await signIn(credential);
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
      <p className="muted">This Baton server requires a credential. The browser keeps a session cookie, not the key or password.</p>
      {withKey ? (
        <label>
          API key
          <input type="password" name="apiKey" autoComplete="current-password" autoFocus value={apiKey} onChange={(e) => setApiKey(e.target.value)} data-testid="api-key" />
        </label>
      ) : (
        <>
          <label>
            User name
            <input name="username" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} data-testid="username" />
          </label>
          <label>
            Password
            <input type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="password" />
          </label>
        </>
      )}
      <button type="submit" disabled={busy || !complete} data-testid="sign-in-submit">
        {busy ? "Signing in…" : "Sign in"}
      </button>{" "}
      <button
        type="button"
        onClick={() => {
          setWithKey(!withKey);
          setError(null);
        }}
        data-testid="sign-in-mode"
      >
        {withKey ? "Use a user name and password" : "Use an API key"}
      </button>
      {error && (
        <p className="error" role="alert" data-testid="sign-in-error">
          {error}
        </p>
      )}
    </form>
  );
}

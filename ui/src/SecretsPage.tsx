/**
 * Secrets: names and update times, never values — the API answers nothing else here. An admin
 * sets one through a password field whose text lives only in the input element (not in React
 * state): it is read on submit, sent in the PUT body and the field emptied. Other roles see
 * why they cannot change secrets instead of buttons that would fail.
 */
import { useRef, useState } from "react";
import { del, HttpError, put, useData } from "./api.ts";
import { ConfirmDelete } from "./ConfirmDelete.tsx";
import { time } from "./format.ts";
import { useResourceReload } from "./live.ts";
import type { SessionInfo } from "./types.ts";
import type { SecretInfo } from "./values.ts";
import { useSubmit } from "./submit.ts";
import { useCan } from "./can.ts";

const ADMINS_ONLY = "Only an admin API key may set or delete secrets; sign in with one to change them. Anyone signed in may list their names.";

function SetSecretForm({ onSaved, onForbidden }: { onSaved(name: string): void; onForbidden(): void }) {
  const [name, setName] = useState("");
  const value = useRef<HTMLInputElement>(null);
  const { onSubmit, busy, error } = useSubmit(async () => {
    const input = value.current;
    if (!input) return;
    const text = input.value;
    // Emptied before the request: afterwards the text is in no element, state or answer.
    input.value = "";
    try {
      await put<SecretInfo>(`/secrets/${encodeURIComponent(name)}`, { value: text });
    } catch (e) {
      if (e instanceof HttpError && e.status === 403) onForbidden();
      throw e;
    }
    onSaved(name);
    setName("");
  });
  return (
    <form className="card run-form" data-testid="secret-form" onSubmit={onSubmit}>
      <label>
        <span>Name</span>
        <input aria-label="secret name" value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        <span>
          Value <span className="muted">(stored encrypted; never shown again)</span>
        </span>
        <input aria-label="secret value" type="password" ref={value} autoComplete="new-password" required />
      </label>
      {error && (
        <p className="error" data-testid="secret-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Setting…" : "Set secret"}
      </button>
    </form>
  );
}

export function SecretsPage() {
  const reload = useResourceReload(["secrets"]);
  const [saves, setSaves] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const [forbidden, setForbidden] = useState(false);
  const session = useData<SessionInfo>("/session").data;
  const can = useCan();
  const { data, error } = useData<{ items: SecretInfo[] }>("/secrets", `${reload}:${saves}`);
  const items = data?.items ?? [];
  // Without keys everyone is an admin; a 403 says the session's role changed since.
  const admin = !!session && can("secrets:write") && !forbidden;
  const changed = (message: string) => {
    setNotice(message);
    setSaves((n) => n + 1);
  };
  const refused = (e: unknown) => {
    if (e instanceof HttpError && e.status === 403) setForbidden(true);
    throw e;
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Secrets</h1>
        <span className="muted">
          values kept encrypted: <code>getSecret()</code> in code, <code>{"{{ secrets.name }}"}</code> in job variables
        </span>
      </div>
      {session && !admin && (
        <p className="notice" data-testid="secrets-admin-only">
          {ADMINS_ONLY}
        </p>
      )}
      {admin && <SetSecretForm onSaved={(name) => changed(`Secret ${name} set.`)} onForbidden={() => setForbidden(true)} />}
      {notice && (
        <p className="notice" data-testid="secret-notice">
          {notice}
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {data && items.length === 0 && (
        <div className="empty">
          <p>No secrets yet.</p>
          <p>
            Set one here, with <code>baton secret set NAME</code> (standard input or a hidden prompt) or <code>PUT /api/secrets/NAME</code>.
          </p>
        </div>
      )}
      {items.length > 0 && (
        <table className="runs" data-testid="secrets">
          <thead>
            <tr>
              <th>name</th>
              <th>created</th>
              <th>updated</th>
              {admin && <th />}
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.name} data-secret={s.name}>
                <td>{s.name}</td>
                <td>{time(s.createdAt)}</td>
                <td>{time(s.updatedAt)}</td>
                {admin && (
                  <td>
                    <ConfirmDelete
                      what={`secret ${s.name}`}
                      onDelete={async () => {
                        await del(`/secrets/${encodeURIComponent(s.name)}`).catch(refused);
                        changed(`Secret ${s.name} deleted.`);
                      }}
                    />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * The notification channels automations notify through: listed with their credentials masked
 * by the server, made or replaced with a spec, tested (a message sent now, its outcome shown in
 * the row) and deleted — a channel an automation still notifies is refused with a 409 naming it.
 */
import { useState } from "react";
import { del, post } from "./api.ts";
import { channelTarget, type ChannelTestResult, type NotificationChannel } from "./automations.ts";
import { ChannelForm } from "./ChannelForm.tsx";
import { ConfirmDelete } from "./ConfirmDelete.tsx";
import { time } from "./format.ts";
import { useCan } from "./can.ts";

function TestButton({ name }: { name: string }) {
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const test = async () => {
    setBusy(true);
    try {
      const r = await post<ChannelTestResult>(`/notification-channels/${encodeURIComponent(name)}/test`);
      setOutcome(r.ok ? { ok: true, text: "Test message sent" } : { ok: false, text: `Test failed: ${r.error ?? "unknown error"}` });
    } catch (e) {
      setOutcome({ ok: false, text: `Test failed: ${(e as Error).message}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button onClick={() => void test()} disabled={busy}>
        {busy ? "Sending…" : "Send test"}
      </button>
      {outcome && (
        <span className={outcome.ok ? "notice" : "error"} data-testid="channel-test">
          {" "}
          {outcome.text}
        </span>
      )}
    </>
  );
}

export function NotificationChannels({ channels, onChange }: { channels: NotificationChannel[]; onChange(): void }) {
  const write = useCan()("channels:write");
  const [open, setOpen] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <>
      <div className="toolbar">
        <h2>Notification channels</h2>
        <span className="muted">credentials are masked</span>
        {write && (
          <div className="actions">
            <button onClick={() => setOpen(!open)}>{open ? "Close the form" : "New channel"}</button>
          </div>
        )}
      </div>
      {write && open && (
        <ChannelForm
          existing={channels.map((c) => c.name)}
          onSaved={(c, replaced) => {
            setOpen(false);
            setNotice(`Channel ${c.name} ${replaced ? "replaced" : "created"}.`);
            onChange();
          }}
        />
      )}
      {notice && (
        <p className="notice" data-testid="channel-notice">
          {notice}
        </p>
      )}
      {channels.length === 0 ? (
        <p className="muted">
          No notification channels yet: make one with the form or <code>baton notification create -f channel.yaml</code>.
        </p>
      ) : (
        <table className="runs" data-testid="notification-channels">
          <thead>
            <tr>
              <th>name</th>
              <th>type</th>
              <th>delivers to</th>
              <th>changed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {channels.map((c) => (
              <tr key={c.id} data-channel={c.name}>
                <td>{c.name}</td>
                <td>{c.type}</td>
                <td>
                  <code>{channelTarget(c)}</code>
                </td>
                <td>{time(c.updatedAt)}</td>
                <td>
                  {write && (
                    <>
                      <TestButton name={c.name} />{" "}
                      <ConfirmDelete
                        what={`channel ${c.name}`}
                        onDelete={async () => {
                          await del(`/notification-channels/${encodeURIComponent(c.name)}`);
                          setNotice(`Channel ${c.name} deleted.`);
                          onChange();
                        }}
                      />
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

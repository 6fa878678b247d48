/** A Delete button that asks first, then shows why the server refused (a 409 names what still uses the thing). */
import { ConfirmButton } from "./ConfirmButton.tsx";

export function ConfirmDelete({ what, onDelete }: { what: string; onDelete(): Promise<void> }) {
  return <ConfirmButton label="Delete" question={`Delete ${what}?`} confirmLabel="Yes, delete" onConfirm={onDelete} testId="delete" />;
}

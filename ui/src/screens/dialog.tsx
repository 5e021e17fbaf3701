import { useLayoutEffect, useRef, useState } from 'preact/hooks';

/** A confirmation that must be answered: Enter confirms, Escape backs out. */
export function Confirm({ title, body, confirm, danger, reasonLabel, onConfirm, onCancel }: {
  title: string;
  body: string;
  confirm: string;
  danger?: boolean;
  /** Ask for a reason (required) before confirming. */
  reasonLabel?: string;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState('');
  const first = useRef<HTMLInputElement & HTMLButtonElement>(null);
  // Focused before it is painted: an Enter pressed the moment it shows is its answer.
  useLayoutEffect(() => { first.current?.focus(); }, []);
  const ok = !reasonLabel || reason.trim().length > 0;
  return (
    <div class="modal-back" role="dialog" aria-modal="true" onKeyDown={(e) => { if (e.key === 'Escape') { e.stopPropagation(); onCancel(); } }}>
      <form class="modal card" aria-label={title} data-testid="confirm"
        onSubmit={(e) => { e.preventDefault(); if (ok) onConfirm(reason.trim()); }}>
        <h2>{title}</h2>
        <p>{body}</p>
        {reasonLabel && <label>{reasonLabel}<input ref={first} value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={500} required data-testid="confirm-reason" /></label>}
        <div class="row gap end">
          <button type="button" class="big" onClick={onCancel}>Back <kbd>Esc</kbd></button>
          <button type="submit" ref={reasonLabel ? undefined : first} class={danger ? 'danger big' : 'primary big'} disabled={!ok} data-testid="confirm-ok">{confirm} <kbd>Enter</kbd></button>
        </div>
      </form>
    </div>
  );
}

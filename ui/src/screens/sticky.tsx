// An error the packer must answer before the bench goes on: a wrong scan, a failed label
// purchase. It stays on screen, loud, until acknowledged (Esc, or its button); a screen that
// shows one takes no scan as a pick meanwhile.
import { useEffect, useRef } from 'preact/hooks';

export function StickyError({ title, text, ack, onAck }: {
  title: string; text: string; ack: string; onAck: () => void;
}) {
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    // Esc answers the error, and only that: caught before the screen's own Esc (back to the
    // queue) could take it.
    const on = (e: KeyboardEvent) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); onAck(); }
    };
    window.addEventListener('keydown', on, { capture: true });
    return () => window.removeEventListener('keydown', on, { capture: true });
  }, [onAck]);
  return (
    <div class="sticky-error" role="alertdialog" aria-label={title} data-testid="sticky-error">
      <strong>✖ {title}</strong>
      <div data-testid="sticky-text">{text}</div>
      <button ref={button} class="danger" onClick={onAck} data-testid="sticky-ack">{ack} <kbd>Esc</kbd></button>
    </div>
  );
}

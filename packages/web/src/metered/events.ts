// Lane states change outside the React tree (the worker's settlements, background state questions):
// one event the vault context listens to, so balances re-render.

const target = typeof EventTarget === 'undefined' ? undefined : new EventTarget();
const EVENT = 'zkcredits-metered-change';

/** Says that a metered account's lanes changed in the vault. */
export function notifyMeteredChange(): void {
  target?.dispatchEvent(new Event(EVENT));
}

/** Calls `fn` on every change; returns the unsubscribe function. */
export function onMeteredChange(fn: () => void): () => void {
  target?.addEventListener(EVENT, fn);
  return () => target?.removeEventListener(EVENT, fn);
}

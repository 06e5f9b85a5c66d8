'use client';
import { isAppError } from '../errors';

/** One plain sentence for any error; details (never secrets) in a tooltip. */
export function errorText(error: unknown): string {
  if (isAppError(error)) return error.shortMessage;
  if (error instanceof Error && error.message) return 'Something went wrong: ' + error.message.split('\n')[0]!.slice(0, 160);
  return 'Something went wrong. Please try again.';
}

export function ErrorNotice({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="notice bad" role="alert" data-code={isAppError(error) ? error.code : 'unknown'} title={isAppError(error) ? error.details : undefined}>
      {errorText(error)}
    </div>
  );
}

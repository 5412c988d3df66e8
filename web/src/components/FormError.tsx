import { ApiError } from '../api';

export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  const msg =
    error instanceof ApiError ? error.message || error.code
    : error instanceof Error ? error.message
    : typeof error === 'string' ? error
    : 'Something went wrong.';
  return (
    <div className="form-error" role="alert">
      {msg}
    </div>
  );
}

export const fieldError = (error: unknown, field: string): string | undefined =>
  error instanceof ApiError && error.field === field ? error.message : undefined;

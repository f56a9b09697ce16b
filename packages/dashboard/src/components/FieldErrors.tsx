// The field-by-field errors of a problem+json answer ("schedule.cron: …"), shown where the
// input was made, or the problem's detail when it names no field.
import { ApiError, describeError, isForbidden } from '../api/http.js';

export function FieldErrors(props: { error: unknown }) {
  const { error } = props;
  if (!error) return null;
  const fields = error instanceof ApiError ? (error.problem?.errors ?? []) : [];
  if (fields.length === 0)
    return (
      <div class="field-errors" role="alert">
        {describeError(error)}
        {isForbidden(error) && <div class="small">{error.message}</div>}
      </div>
    );
  return (
    <ul class="field-errors" role="alert">
      {fields.map((e) => (
        <li key={`${e.field} ${e.message}`} data-field={e.field}>
          {e.field && <code>{e.field}</code>} {e.message}
        </li>
      ))}
    </ul>
  );
}

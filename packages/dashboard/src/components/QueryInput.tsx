// A text filter kept in the URL's query (?job=…, ?label=…): typed freely, applied on Enter or
// when the field loses focus. It follows the URL when that changes under it (a link to the same
// page with another filter, the back button), so a stale text is never applied again on blur.
import { useEffect, useState } from 'preact/hooks';
import { setQuery } from '../lib/router.js';

export function QueryInput(props: { param: string; value: string; label: string; placeholder: string }) {
  const { param, value } = props;
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const apply = () => setQuery({ [param]: draft.trim() });
  return (
    <label>
      {props.label}
      <input
        name={param}
        placeholder={props.placeholder}
        value={draft}
        onInput={(e) => setDraft(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            apply();
          }
        }}
        onBlur={apply}
      />
    </label>
  );
}

// An anchor that navigates inside the dashboard without reloading it (a modified click, e.g.
// ctrl-click for a new tab, keeps the browser's behaviour).
import type { ComponentChildren } from 'preact';
import { BASE, navigate } from '../lib/router.js';

export function Link(props: { to: string; class?: string; title?: string; children: ComponentChildren }) {
  return (
    <a
      href={`${BASE}${props.to}`}
      class={props.class}
      title={props.title}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

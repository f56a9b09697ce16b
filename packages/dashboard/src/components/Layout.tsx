// The frame of every page: the navigation (and sign out, when signed in with a token), the
// fleet health banner, then the page.
import type { ComponentChildren } from 'preact';
import { signOut, useAuth } from '../api/auth.js';
import { useWhoami } from '../api/whoami.js';
import { AlertsBanner } from './AlertsBanner.js';
import { Link } from './Link.js';

const SECTIONS: Array<[string, string]> = [
  ['/fleet', 'Fleet'],
  ['/jobs', 'Jobs'],
  ['/runs', 'Runs'],
  ['/dead-letters', 'Dead letters'],
  ['/stats', 'Scheduler'],
];

export function Layout(props: { path: string; children: ComponentChildren }) {
  const { signIn, hasToken } = useAuth();
  const me = useWhoami();
  const section = props.path === '/' ? '/fleet' : `/${props.path.split('/')[1] ?? ''}`;
  return (
    <>
      <header class="top">
        <Link to="/fleet" class="brand">
          Drover
        </Link>
        <nav>
          {SECTIONS.map(([to, label]) => (
            <Link key={to} to={to} class={section === to ? 'active' : ''}>
              {label}
            </Link>
          ))}
        </nav>
        <a class="api-link" href="/openapi.json" title="The REST API this dashboard uses">
          API
        </a>
        {me && (
          <span
            class="role muted small"
            data-role={me.role}
            title={`${me.actor}; namespaces: ${me.namespaces === 'all' ? 'all' : me.namespaces.join(', ') || 'none'}${me.authMode === 'tokens' ? '' : ` (no tokens: ${me.authMode})`}`}
          >
            {me.role}
          </span>
        )}
        {hasToken && !signIn && (
          <button type="button" class="link sign-out" onClick={signOut} title="Forget this tab's token">
            Sign out
          </button>
        )}
      </header>
      {!signIn && <AlertsBanner />}
      <main>{props.children}</main>
    </>
  );
}

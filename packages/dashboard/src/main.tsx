// The dashboard's entry point: picks the page from the URL and renders it in the layout.
import { render } from 'preact';
import { useAuth } from './api/auth.js';
import { SignIn } from './components/SignIn.js';
import { Layout } from './components/Layout.js';
import { match, useLocation } from './lib/router.js';
import { FleetPage } from './pages/fleet/FleetPage.js';
import { JobsPage } from './pages/jobs/JobsPage.js';
import { JobPage } from './pages/jobs/JobPage.js';
import { NewJobPage } from './pages/jobs/NewJobPage.js';
import { RunsPage } from './pages/runs/RunsPage.js';
import { RunPage } from './pages/runs/RunPage.js';
import { DeadLettersPage } from './pages/DeadLettersPage.js';
import { StatsPage } from './pages/StatsPage.js';

function Page(props: { path: string; query: URLSearchParams }) {
  const { path, query } = props;
  if (path === '/' || path === '/fleet') return <FleetPage query={query} />;
  if (path === '/jobs') return <JobsPage />;
  if (path === '/jobs/new') return <NewJobPage />;
  const job = match('/jobs/:id', path);
  if (job?.id) return <JobPage id={job.id} />;
  if (path === '/runs') return <RunsPage query={query} />;
  const run = match('/runs/:id', path);
  if (run?.id) return <RunPage id={run.id} />;
  if (path === '/dead-letters') return <DeadLettersPage query={query} />;
  if (path === '/stats') return <StatsPage query={query} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>There is no dashboard page at {path}.</p>
    </section>
  );
}

function App() {
  const { path, query } = useLocation();
  // Pages unmount while signing in, so their polls stop asking with the refused token.
  const { signIn } = useAuth();
  // The title names the page, so browser history and tabs are readable.
  const name = path.split('/')[1] || 'fleet';
  document.title = `${name.charAt(0).toUpperCase()}${name.slice(1).replace('-', ' ')} · Drover`;
  return <Layout path={path}>{signIn ? <SignIn why={signIn} /> : <Page path={path} query={query} />}</Layout>;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}

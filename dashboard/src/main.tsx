import { render, type ComponentChildren } from 'preact';
import { CredentialsForm } from './components.js';
import { BacklogPage } from './pages/backlog.js';
import { InterventionPage } from './pages/intervention.js';
import { InterventionsPage } from './pages/interventions.js';
import { LessonPage, LessonsPage } from './pages/lessons.js';
import { SignalPage, SignalsPage } from './pages/signals.js';
import { useCredentials } from './session.js';
import './style.css';

/*
 * The dashboard: the server answers every page path with the same shell, and this picks the page
 * from the path. Links are ordinary links (each page loads whole), so every URL can be shared and
 * reloaded, such as the `/backlog/<id>` that notifications link to.
 */

type Params = Record<string, string>;

interface PageRoute {
  path: string;
  /** The navigation entry it belongs to. */
  section: Section;
  title(p: Params): string;
  render(p: Params): ComponentChildren;
}

type Section = 'backlog' | 'interventions' | 'lessons' | 'signals';

/** The same paths as DASHBOARD_PAGES in src/server/dashboard.ts. */
const ROUTES: PageRoute[] = [
  { path: '/backlog', section: 'backlog', title: () => 'Backlog', render: () => <BacklogPage /> },
  {
    path: '/backlog/:id',
    section: 'backlog',
    title: (p) => p.id!,
    render: (p) => <InterventionPage id={p.id!} />,
  },
  {
    path: '/interventions',
    section: 'interventions',
    title: () => 'Interventions',
    render: () => <InterventionsPage />,
  },
  {
    path: '/interventions/:id',
    section: 'interventions',
    title: (p) => p.id!,
    render: (p) => <InterventionPage id={p.id!} />,
  },
  { path: '/lessons', section: 'lessons', title: () => 'Lessons', render: () => <LessonsPage /> },
  { path: '/lessons/:id', section: 'lessons', title: (p) => p.id!, render: (p) => <LessonPage id={p.id!} /> },
  { path: '/signals', section: 'signals', title: () => 'Signals', render: () => <SignalsPage /> },
  {
    path: '/signals/:target/:name',
    section: 'signals',
    title: (p) => `${p.target!}/${p.name!}`,
    render: (p) => <SignalPage target={p.target!} name={p.name!} />,
  },
];

/** The route for `pathname` and its decoded parameters; undefined when none matches. */
function match(pathname: string): { route: PageRoute; params: Params } | undefined {
  const segments = pathname.split('/').slice(1);
  for (const route of ROUTES) {
    const parts = route.path.split('/').slice(1);
    if (parts.length !== segments.length) continue;
    const params: Params = {};
    const ok = parts.every((part, i) => {
      const segment = segments[i]!;
      if (!part.startsWith(':')) return part === segment;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
        return segment !== '';
      } catch {
        return false;
      }
    });
    if (ok) return { route, params };
  }
  return undefined;
}

const NAV: [Section, string][] = [
  ['backlog', 'Backlog'],
  ['interventions', 'Interventions'],
  ['lessons', 'Lessons'],
  ['signals', 'Signals'],
];

type Found = ReturnType<typeof match>;

function App({ pathname, found }: { pathname: string; found: Found }) {
  const { token, readsNeedToken } = useCredentials();
  return (
    <>
      <header>
        <a class="brand" href="/backlog">
          kaizen
        </a>
        <nav aria-label="Sections">
          {NAV.map(([section, label]) => (
            <a
              key={section}
              href={`/${section}`}
              aria-current={found?.route.section === section ? 'page' : undefined}
            >
              {label}
            </a>
          ))}
          <a href="/reports/latest">Weekly report</a>
        </nav>
      </header>
      <main>
        {readsNeedToken && !token ? (
          <section class="actions" aria-label="Token">
            <p>kaizen listens beyond loopback here, so every call needs its token.</p>
            <CredentialsForm />
          </section>
        ) : null}
        {found ? found.route.render(found.params) : <p class="error">No page at {pathname}.</p>}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
const found = match(location.pathname);
document.title = found ? `${found.route.title(found.params)} · kaizen` : 'kaizen';
root.textContent = '';
render(<App pathname={location.pathname} found={found} />, root);

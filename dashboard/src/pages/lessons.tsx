import { apiPath, type Lesson, type LessonDetail } from '../api.js';
import { PageLink, Row, Show, StateBadge, useApi } from '../components.js';

/** Every lesson kaizen knows (shipped, distilled, imported, a person's), and files that failed to load. */
export function LessonsPage() {
  const loaded = useApi<{ lessons: Lesson[]; problems: { file: string; problem: string }[] }>('/api/lessons');
  return (
    <>
      <h1>Lessons</h1>
      <Show loaded={loaded}>
        {({ lessons, problems }) => (
          <>
            {problems.length ? (
              <div class="error" role="alert">
                <p>These lesson files could not be read and are skipped:</p>
                <ul>
                  {problems.map((p) => (
                    <li key={p.file}>
                      <code>{p.file}</code>: {p.problem}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
            <table class="lessons">
              <thead>
                <tr>
                  <th>id</th>
                  <th>scope</th>
                  <th>when</th>
                  <th>prefer</th>
                  <th>source</th>
                  <th>status</th>
                </tr>
              </thead>
              <tbody>
                {lessons.map((l) => (
                  <tr key={l.id} data-id={l.id} class={l.status === 'retired' ? 'retired' : undefined}>
                    <td>
                      <PageLink to={['lessons', l.id]}>{l.id}</PageLink>
                    </td>
                    <td>{l.scope}</td>
                    <td>{l.when}</td>
                    <td>{l.prefer}</td>
                    <td>{l.source}</td>
                    <td>{l.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Show>
    </>
  );
}

/** One lesson, whole, with the interventions that cited it or argued against it. */
export function LessonPage({ id }: { id: string }) {
  const loaded = useApi<LessonDetail>(apiPath('lessons', id));
  return (
    <Show loaded={loaded}>
      {(l) => (
        <>
          <h1>
            {l.id} <span class="title">{l.scope}</span>
          </h1>
          <dl class="chain">
            <Row label="When">{l.when}</Row>
            <Row label="Prefer">{l.prefer}</Row>
            <Row label="Because">{l.because}</Row>
            <Row label="Falsifiable">{l.falsifiable}</Row>
            <Row label="Retired when">{l.retired_when}</Row>
            <Row label="Calibrated for">{l.calibrated_for}</Row>
            <Row label="Status">
              {l.status}
              {l.retired_at ? ` since ${l.retired_at}` : ''}
              {l.retired_why ? `: ${l.retired_why}` : ''}
            </Row>
            <Row label="Source">
              {l.source} ({l.origin})
            </Row>
            <Row label="Created">{l.created_at}</Row>
            <Row label="Areas">{l.areas?.join(', ')}</Row>
            <Row label="Signals">{l.signals?.join(', ')}</Row>
            <Row label="Evidence">
              {l.evidence.length
                ? l.evidence.map((e, i) => (
                    <span key={e}>
                      {i > 0 ? ', ' : ''}
                      <PageLink to={['interventions', e]}>{e}</PageLink>
                    </span>
                  ))
                : null}
            </Row>
            <Row label="File">
              <code>{l.file}</code>
            </Row>
          </dl>
          <h2>Interventions that cited it or argued against it</h2>
          {l.citations.length === 0 ? (
            <p class="muted">None yet.</p>
          ) : (
            <ul class="plain">
              {l.citations.map((c) => (
                <li key={`${c.intervention}-${c.how}`}>
                  <PageLink to={['interventions', c.intervention]}>{c.intervention}</PageLink>{' '}
                  <StateBadge state={c.state} />{' '}
                  {c.how === 'cited' ? 'cited it' : `argued against it: ${c.why ?? ''}`}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Show>
  );
}

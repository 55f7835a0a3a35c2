import type { QueueDepths } from '../../shared/api-types';
import { ErrorNote, when } from '../components';
import { useGet } from '../use-api';

const SOURCE: Record<QueueDepths['source'], string> = {
  sqs: 'SQS dead-letter queues of this region.',
  'local-files':
    'Not SQS: under npm start, the stream poller’s dead-letter files (.local/dlq) stand in for the queues.',
  none: 'Dead-letter queues are not available in this environment.',
};

export function OpsPage() {
  const queues = useGet('queues', (api, signal) => api.GET('/v1/ops/queues', { signal }));
  const runs = useGet('job-runs', (api, signal) =>
    api.GET('/v1/ops/job-runs', { params: { query: { limit: 50 } }, signal }),
  );
  return (
    <>
      <h1>Operations</h1>
      <section aria-labelledby="dlq-heading">
        <h2 id="dlq-heading">Dead-letter queues</h2>
        <ErrorNote error={queues.error} />
        {queues.data && <p data-testid="dlq-source">{SOURCE[queues.data.source]}</p>}
        {queues.data && queues.data.queues.length === 0 && <p>No dead letters.</p>}
        {queues.data && queues.data.queues.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Messages</th>
                <th scope="col">In flight</th>
              </tr>
            </thead>
            <tbody>
              {queues.data.queues.map((queue) => (
                <tr key={queue.name}>
                  <td>{queue.name}</td>
                  <td>{queue.visible}</td>
                  <td>{queue.inFlight}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Recent job runs</h2>
        <ErrorNote error={runs.error} />
        <table data-testid="job-runs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Finished</th>
              <th scope="col">Status</th>
              <th scope="col">Examined</th>
              <th scope="col">Changed</th>
              <th scope="col">Failed</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {(runs.data?.items ?? []).map((run) => (
              <tr key={`${run.finishedAt}-${run.job}`}>
                <td>{run.job}</td>
                <td>{when(run.finishedAt)}</td>
                <td>{run.status}</td>
                <td>{run.examined ?? '—'}</td>
                <td>{run.changed ?? '—'}</td>
                <td>{run.failed ?? '—'}</td>
                <td>{run.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

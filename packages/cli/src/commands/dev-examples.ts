// The example jobs `drover dev` creates in a new database, so there is something to look at:
// a cron job that fires every 10 seconds and a manual one that takes a parameter.
/** The examples, as job definitions sent to the API. */
export const EXAMPLE_JOBS = [
  {
    name: 'example-cron',
    description: 'An example cron job: fires every 10 seconds and prints the time. Pause it with POST /v1/jobs/example-cron/pause.',
    executor: { type: 'shell', script: 'echo "example-cron ran at $(date) on $(hostname)"' },
    schedule: { cron: '*/10 * * * * *' },
  },
  {
    name: 'example-manual',
    description: 'An example manual job: trigger it with {"parameters":{"name":"…"}}.',
    executor: {
      type: 'exec',
      command: ['sh', '-c', 'echo "Hello, $1! (run $DROVER_RUN_ID, attempt $DROVER_ATTEMPT)"', 'greet', '{{ param.name }}'],
    },
    parameters: { name: 'world' },
  },
] as const;

/** Creates the examples when the database has no jobs at all; returns the names created. */
export async function ensureExampleJobs(apiUrl: string): Promise<string[]> {
  const list = (await (await fetch(`${apiUrl}/v1/jobs?limit=1`)).json()) as { total?: number };
  if ((list.total ?? 0) > 0) return [];
  const created: string[] = [];
  for (const job of EXAMPLE_JOBS) {
    const res = await fetch(`${apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job),
    });
    if (res.status === 201) created.push(job.name);
  }
  return created;
}

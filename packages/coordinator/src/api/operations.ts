// The stable names (OpenAPI `operationId`) of the routes not yet defined as operations
// (operation.ts), which carry their own. Generated clients name their methods after these,
// and the NATS API will address operations by them, so a name never changes once released:
// rename a route, keep its name. The client's drift test fails when one changes, and the
// OpenAPI lint test (openapi-lint.test.ts) on an operation without one. A route converted to
// an operation moves its name into its definition and leaves this list.

/** `operationId` by `METHOD /path` as the OpenAPI document writes the path. */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  // jobs
  // runs (the others are operations: routes/runs.ts)
  'GET /v1/runs/{id}/logs': 'getRunLogs',
  // agents
  // health
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  // secrets
  // tokens
  // audit
};

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
  'GET /v1/agents': 'listAgents',
  'GET /v1/agents/{id}': 'getAgent',
  'POST /v1/agents/{id}/drain': 'drainAgent',
  'POST /v1/agents/{id}/cordon': 'cordonAgent',
  'POST /v1/agents/{id}/uncordon': 'uncordonAgent',
  'GET /v1/agents/{id}/metrics': 'getAgentMetrics',
  'POST /v1/agents/{id}/revoke': 'revokeAgent',
  'GET /v1/fleet': 'getFleet',
  'GET /v1/alerts': 'listAlerts',
  'GET /v1/cluster/key': 'getClusterKey',
  // health
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  // secrets
  'PUT /v1/secrets/{name}': 'putSecret',
  'DELETE /v1/secrets/{name}': 'deleteSecret',
  'GET /v1/secrets': 'listSecrets',
  // tokens
  'POST /v1/tokens': 'createToken',
  'GET /v1/tokens': 'listTokens',
  'DELETE /v1/tokens/{id}': 'revokeToken',
  'GET /v1/whoami': 'whoami',
  // audit
  'GET /v1/audit': 'listAuditRecords',
};

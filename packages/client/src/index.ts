/** @drover/client: a typed client of the Drover REST API (see README.md). */
export type { paths, components } from './schema.js';
export { createDroverClient, ok, type DroverClient, type DroverClientOptions, type ClientResult } from './client.js';
export { DroverApiError, DroverConnectionError, type Problem, type FieldError } from './errors.js';
export { followRunLogs, type FollowOptions, type LogChunk } from './follow.js';
export { jobDefinitionOf, jsonEqual, mergePatch } from './merge-patch.js';
export { byteEscape, chunkBytes, utf8Pieces, type EncodedChunk } from './log-bytes.js';
import type { components, paths } from './schema.js';

/** A job as the API returns it. */
export type Job = components['schemas']['Job'];
/** A run as the API lists it. */
export type Run = components['schemas']['Run'];
/** A run as GET /v1/runs/{id} returns it: with its attempts and state transitions. */
export type RunDetail = paths['/v1/runs/{id}']['get']['responses'][200]['content']['application/json'];
/** One state change of a run (RunDetail's `transitions`). */
export type RunTransition = RunDetail['transitions'][number];
/** One attempt of a run (GET /v1/runs/{id}). */
export type Attempt = components['schemas']['Attempt'];
/** A registered agent. */
export type Agent = components['schemas']['Agent'];
/** An entry of the dead-letter list. */
export type DeadLetter = components['schemas']['DeadLetter'];
/** The caller's role, namespaces and actor, and the coordinator's auth mode (GET /v1/whoami). */
export type Whoami = paths['/v1/whoami']['get']['responses'][200]['content']['application/json'];
/** The fleet at a glance (GET /v1/fleet). */
export type FleetSummary = paths['/v1/fleet']['get']['responses'][200]['content']['application/json'];

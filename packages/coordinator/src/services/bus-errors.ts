// Refusals leave over the bus as Moleculer client errors (code, type, data), which the agent
// reads (agent/src/registration.ts, outbox.ts). Domain code raises AgentRefusal; this inbound
// side of the transport turns it into the bus's error. Any other error passes unchanged.
import { Errors } from 'moleculer';
import { AgentRefusal } from '../security/agent-identities.js';

export function toBusError(err: unknown): unknown {
  if (!(err instanceof AgentRefusal)) return err;
  return new Errors.MoleculerClientError(err.message, err.code, err.type, err.data);
}

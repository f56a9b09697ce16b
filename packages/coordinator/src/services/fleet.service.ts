// Moleculer service `drover.fleet`: agents register and heartbeat here.
import type { ServiceSchema, Context } from 'moleculer';
import {
  EVENTS,
  PROTOCOL_VERSION,
  SERVICES,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from '@drover/shared';
import { storableJson } from '../store/agent-text.js';
import type { CoordinatorContext } from '../context.js';
import { agentState, countLiveAgents, markAgentLeft, recordHeartbeat, registeredSince, runsToStop, upsertAgent } from '../store/agents.js';
import { heartbeatIntervalFor } from '../dispatch/liveness.js';
import { notify } from '../ops/notify.js';
import { loseForgottenAttempts } from '../ops/lose-forgotten.js';
import { recordAgentIdentity } from '../store/agent-identity.js';
import { AgentRefusal } from '../security/agent-identities.js';
import { toBusError } from './bus-errors.js';

/**
 * The fleet service; registration refuses agents that speak another protocol version, and
 * agents whose identity does not hold (security/agent-identities.ts).
 */
export function fleetService(ctx: CoordinatorContext): ServiceSchema {
  // The fleet size that heartbeat intervals scale with, read at most every 5 s: heartbeats are
  // the busiest message a coordinator gets, and the size changes slowly.
  let live = { n: 0, at: -Infinity };
  const liveAgents = async (): Promise<number> => {
    if (ctx.now() - live.at > 5000) live = { n: await countLiveAgents(ctx.db), at: ctx.now() };
    return live.n;
  };
  return {
    name: SERVICES.fleet,
    actions: {
      register: {
        async handler(c: Context<RegisterRequest>): Promise<RegisterResponse> {
          // Refusals are signed too: an agent that pinned the cluster's key acts on no other.
          return register(c).catch((err: unknown) => {
            throw toBusError(ctx.identities.signRefusal(err, c.params?.nodeId ?? c.nodeID ?? '', c.params?.auth?.nonce));
          });
        },
      },
      heartbeat: {
        async handler(c: Context<HeartbeatRequest>): Promise<HeartbeatResponse> {
          const answer = await heartbeat(c).catch((err: unknown) => {
            // A beat that could not be recorded is silence this coordinator caused (store-link.ts).
            ctx.store?.failed(err);
            throw toBusError(ctx.identities.signRefusal(err, c.params?.nodeId ?? c.nodeID ?? '', c.params?.auth?.nonce));
          });
          // Signed, naming the beat it answers: an agent acts on `known: false` and `stop` from no one else.
          return ctx.identities.signAnswer('heartbeat-answer', c.params.nodeId, answer, c.params.auth?.nonce);
        },
      },
    },
    events: {
      // Revoked on some coordinator: forget its key here too, now rather than when the cache expires.
      [EVENTS.agentRevoked]: { handler: (c: Context<{ agentId: string }>) => ctx.identities.invalidate(c.params.agentId) },
    },
  };

  async function register(c: Context<RegisterRequest>): Promise<RegisterResponse> {
    // What the agent says about itself is stored (text, jsonb): NUL or a lone surrogate in a name
    // or a label would make every registration fail. The signature was made over what it sent.
    const sent = c.params;
    if (sent.protocol !== PROTOCOL_VERSION) {
      ctx.log.warn({ agentId: sent.agentId, protocol: sent.protocol }, 'refused an agent speaking another protocol version');
      throw new AgentRefusal(
        `this coordinator speaks Drover protocol ${PROTOCOL_VERSION}, the agent speaks ${sent.protocol}: install matching versions of agent and coordinator`,
        426,
        'PROTOCOL_MISMATCH',
        { coordinatorProtocol: PROTOCOL_VERSION, agentProtocol: sent.protocol },
      );
    }
    // Before anything is written: a join token or a signature by the agent's own key.
    const admission = await ctx.identities.admit(sent, c.nodeID);
    const req = storableJson(sent);
    // The interval is kept with the agent: it counts as down only after missing beats at that pace.
    const heartbeatIntervalMs = heartbeatIntervalFor((await countLiveAgents(ctx.db)) + 1, ctx.options.heartbeatInterval);
    // When the agent sent it, on the cluster clock (its signature's time); absent from agents
    // without identity, whose registrations are judged by when they are processed.
    const sentAt = typeof sent.auth?.ts === 'number' ? sent.auth.ts : undefined;
    // The agent gives up on a slow coordinator after 3 s and asks another, but the slow one's
    // handler still runs: applied after the newer registration, it would bring back stale
    // figures and lose runs started since. Answered (the agent no longer waits for it), not applied.
    if (sentAt !== undefined && (await registeredSince(ctx.db, req.agentId, sentAt))) {
      ctx.log.warn(
        { agentId: req.agentId, sentAt: new Date(sentAt).toISOString() },
        'ignored a registration sent before the agent registered again',
      );
      const late: RegisterResponse = {
        agentId: req.agentId,
        heartbeatIntervalMs,
        stop: [],
        ...(admission.namespaces ? { namespaces: admission.namespaces } : {}),
        ...(ctx.identities.clusterPublicKey ? { coordinatorKey: ctx.identities.clusterPublicKey } : {}),
      };
      return ctx.identities.signAnswer('registered', sent.nodeId, late, sent.auth?.nonce);
    }
    const was = await agentState(ctx.db, req.agentId);
    // Before it is marked alive again, as for a heartbeat (see there).
    const stop = await runsToStop(ctx.db, req.agentId, req.runs);
    const agent = await upsertAgent(ctx.db, req, heartbeatIntervalMs);
    await recordAgentIdentity(ctx.db, agent.id, admission.namespaces, admission.join);
    if (admission.join) {
      ctx.identities.invalidate(agent.id);
      ctx.log.info({ agentId: agent.id, namespaces: admission.namespaces ?? 'any', tokenId: admission.join.tokenId }, 'agent joined');
    }
    // An agent that was down and comes back by registering (it restarted) is back as much as one that heartbeats.
    if (was === 'down' || was === 'gone') {
      ctx.log.info({ agentId: agent.id }, 'a down agent registered again');
      notify(ctx, { event: 'agent.up', agents: [{ id: agent.id, name: agent.name }], at: new Date(ctx.now()).toISOString() });
    }
    ctx.log.info({ agentId: agent.id, name: agent.name, labels: agent.labels, slots: agent.total.slots }, 'agent registered');
    ctx.signals.fleetChanged(agent.id);
    // A restarted agent holds nothing its previous process ran: those runs are lost now,
    // not when a heartbeat timeout would have said so.
    // Its list of runs was taken when the agent sent it: a run started since (through another
    // coordinator, while this one was slow) is not in it and is no lost run.
    await loseForgottenAttempts(ctx, agent.id, req.runs, (sentAt ?? ctx.now()) - 2000);
    const res: RegisterResponse = {
      agentId: agent.id,
      heartbeatIntervalMs,
      stop,
      ...(admission.namespaces ? { namespaces: admission.namespaces } : {}),
      ...(ctx.identities.clusterPublicKey ? { coordinatorKey: ctx.identities.clusterPublicKey } : {}),
    };
    return ctx.identities.signAnswer('registered', sent.nodeId, res, sent.auth?.nonce);
  }

  async function heartbeat(c: Context<HeartbeatRequest>): Promise<HeartbeatResponse> {
    await ctx.identities.verify('heartbeat', c.params.agentId, c.params, c.nodeID);
    const hb = storableJson(c.params);
    ctx.metrics.heartbeatReceived(hb.at, ctx.now());
    if (hb.leaving === true) return leave(c, hb.agentId, hb.nodeId);
    const heartbeatIntervalMs = heartbeatIntervalFor(await liveAgents(), ctx.options.heartbeatInterval);
    // Before the agent is marked alive again: a down agent's offers that it holds are kept by the
    // reconciler only while it is down, so their deadline must move first (never a sweep between).
    const stop = await runsToStop(ctx.db, hb.agentId, hb.runs);
    const { known, revived, startedDraining, name } = await recordHeartbeat(
      ctx.db,
      hb.agentId,
      hb.nodeId,
      hb.free,
      hb.usage,
      hb.draining === true,
      heartbeatIntervalMs,
    );
    ctx.store?.succeeded();
    if (!known) return { known: false, stop: [] };
    if (startedDraining) {
      ctx.log.info({ agentId: hb.agentId }, 'agent is shutting down; it is draining');
      ctx.signals.fleetChanged(hb.agentId);
    }
    if (revived) {
      ctx.log.info({ agentId: hb.agentId }, 'a down agent is heartbeating again');
      notify(ctx, {
        event: 'agent.up',
        agents: [{ id: hb.agentId, ...(name ? { name } : {}) }],
        at: new Date(ctx.now()).toISOString(),
      });
      ctx.signals.fleetChanged(hb.agentId);
    }
    // The list was taken when the agent sent the beat; a run started after that is not in it.
    await loseForgottenAttempts(ctx, hb.agentId, hb.runs, hb.at - 1000);
    return { known: true, heartbeatIntervalMs, stop };
  }

  /** The last beat of a cleanly stopped agent: it leaves the fleet without an alert. */
  async function leave(c: Context<HeartbeatRequest>, agentId: string, nodeId: string): Promise<HeartbeatResponse> {
    const left = await markAgentLeft(ctx.db, agentId, nodeId);
    ctx.store?.succeeded();
    if (left) {
      ctx.log.info({ agentId }, 'agent stopped and left the fleet');
      ctx.signals.fleetChanged(agentId);
    } else {
      ctx.log.warn({ agentId }, 'an agent said it is leaving while runs are still its own: it will be judged by its silence');
    }
    return { known: true, stop: [] };
  }
}

// Registration: tells a coordinator who this agent is and what it holds, retried until one
// answers; joins again when the coordinators lost this agent's key; and decides, for
// registration and heartbeat alike, what a refusal means.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DroverError, failureLogOf, type HeldRun, type RegisterRequest, type RegisterResponse } from '@drover/shared';
import type { Cadence } from './heartbeat.js';
import type { AgentIdentity } from './identity.js';
import { errorMessage, identityRefusal, isNoCoordinator, refusalAdvice } from './registration.js';
import type { Lifecycle } from './shutdown.js';
import type { CoordinatorLink } from './transport.js';

/** Raised (through `registered` and `done`) when a coordinator refuses this agent. */
export class RegistrationRefusedError extends DroverError {
  override name = 'RegistrationRefusedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('REGISTRATION_REFUSED', message, options);
  }
}

const REGISTER_BACKOFF = { initialMs: 250, maxMs: 5_000 };
/** How often to look for a coordinator while none is on the bus (a local check, so it can be frequent). */
const COORDINATOR_POLL_MS = 250;

/** What registration needs from the rest of the agent. */
export interface RegistrarParts {
  link: Pick<CoordinatorLink, 'ask' | 'coordinatorOnBus' | 'bus'>;
  identity: Pick<AgentIdentity, 'joined' | 'coordinatorKeyPinned' | 'markJoined' | 'pinCoordinatorKey' | 'discard'>;
  joinToken: string | undefined;
  stateDir: string;
  /** The registration as of now (what this agent is, has free and holds), without join or signature. */
  request(): Omit<RegisterRequest, 'join' | 'auth'>;
  cadence: Cadence;
  lifecycle: Lifecycle;
  /** A coordinator took this agent (counted for `/healthz` and metrics). */
  acknowledged(): void;
  /** Stops the attempts a coordinator's answer names: they are no longer this agent's. */
  stopWithdrawn(runs: HeldRun[] | undefined): void;
  /** A coordinator refused this agent for good: the agent stops. */
  onRefused(err: RegistrationRefusedError): void;
  log: Logger;
}

/** Registers this agent with a coordinator (again, on request) and acts on refusals. */
export class Registrar {
  /** Resolves after the first successful registration; rejects when a coordinator refused the agent. */
  readonly registered: Promise<void>;
  private resolveRegistered: () => void = () => undefined;
  private rejectRegistered: (err: unknown) => void = () => undefined;
  private registering: Promise<void> | undefined;
  private everRegistered = false;
  /** The coordinators lost this agent's key (they said so, signed with the pinned key): join again, keeping both keys. */
  private rejoining = false;

  constructor(private readonly parts: RegistrarParts) {
    this.registered = new Promise<void>((resolve, reject) => {
      this.resolveRegistered = resolve;
      this.rejectRegistered = reject;
    });
    this.registered.catch(() => undefined);
  }

  /** Whether a coordinator has taken this agent at least once. */
  get active(): boolean {
    return this.everRegistered;
  }

  /** Whether a registration is in progress. */
  get busy(): boolean {
    return this.registering !== undefined;
  }

  /** Registers (again), retrying until a coordinator answers; a request while one is in progress joins it. */
  register(): Promise<void> {
    // Never rejects: callers start it in the background; a heartbeat answered "unknown agent"
    // starts it again.
    this.registering ??= this.untilAnswered()
      .catch((err: unknown) => failureLogOf(this.parts.log).failed('registration', err))
      .finally(() => {
        this.registering = undefined;
      });
    return this.registering;
  }

  /**
   * Acts on a refusal of `register` or `heartbeat` signed with the pinned cluster key (or with
   * none pinned): `rejoin` when the coordinators only lost this agent's key (a database restored
   * from before its join) and a join token can bring it back; otherwise the agent is refused for
   * good (its key dropped when revoked) and stops.
   */
  async refused(err: unknown, mayRejoin = true): Promise<'rejoin' | 'stopped'> {
    const { identity, joinToken, log } = this.parts;
    const why = identityRefusal(err);
    if ((why === 'AGENT_IDENTITY_REQUIRED' || why === 'AGENT_NOT_JOINED') && joinToken && identity.joined && mayRejoin) return 'rejoin';
    if (why === 'AGENT_REVOKED') await identity.discard().catch(() => undefined);
    const refused = new RegistrationRefusedError(`a coordinator refused this agent: ${errorMessage(err)}${refusalAdvice(err)}`, {
      cause: err,
    });
    log.error({ err: refused.message }, refused.message);
    this.rejectRegistered(refused);
    this.parts.onRefused(refused);
    return 'stopped';
  }

  private async untilAnswered(): Promise<void> {
    const { link, lifecycle, log } = this.parts;
    let failures = 0;
    let waitingLogged = false;
    let rejoined = false;
    while (!lifecycle.stopping) {
      if (!link.coordinatorOnBus()) {
        if (!waitingLogged) {
          waitingLogged = true;
          const { nats, cluster, where } = link.bus;
          log.info({ nats, cluster }, `waiting for a coordinator on ${where} cluster ${cluster}`);
        }
        await sleep(COORDINATOR_POLL_MS, undefined, { signal: lifecycle.signal }).catch(() => undefined);
        continue;
      }
      const req = this.request();
      const reply = await link.ask('register', req);
      let failure: unknown;
      if (reply.status === 'answered') {
        try {
          await this.accept(req, reply.answer);
          return;
        } catch (err) {
          failure = err;
        }
      } else if (reply.status === 'refused') {
        if ((await this.refused(reply.err, !rejoined)) === 'stopped') return;
        rejoined = true;
        this.rejoining = true;
        log.warn({ err: errorMessage(reply.err) }, 'the coordinators do not know this agent; joining again with the join token');
        continue;
      } else if (reply.status === 'ignored') {
        // Once the cluster's key is pinned, only an answer signed with it counts, a re-join's too.
        if (req.join) this.logJoinAnswerIgnored(reply.check);
        failure = new Error(`the answer to the registration is not signed with the cluster's key (${reply.check})`);
      } else {
        failure = reply.err;
      }
      if (!isNoCoordinator(failure)) log.warn({ err: errorMessage(failure) }, 'registration failed; will retry');
      const delay = Math.min(REGISTER_BACKOFF.maxMs, REGISTER_BACKOFF.initialMs * 2 ** failures++);
      await sleep(delay, undefined, { signal: lifecycle.signal }).catch(() => undefined);
    }
  }

  private request(): RegisterRequest {
    const { joinToken, identity } = this.parts;
    return {
      ...this.parts.request(),
      ...(joinToken && (!identity.joined || this.rejoining) ? { join: { token: joinToken } } : {}),
    };
  }

  /** Takes a coordinator's (checked) answer: pins its key on a first join, adopts its cadence, stops what it withdrew. */
  private async accept(req: RegisterRequest, res: RegisterResponse): Promise<void> {
    const { identity, cadence, log } = this.parts;
    // An agent that joined before coordinators signed pins the cluster's key on first use.
    if (!req.join && identity.joined && !identity.coordinatorKeyPinned && res?.coordinatorKey)
      await identity.pinCoordinatorKey(res.coordinatorKey);
    if (req.join) {
      await identity.markJoined(res?.namespaces, res?.coordinatorKey);
      this.rejoining = false;
      log.info(
        {
          namespaces: res?.namespaces ?? 'any',
          note: 'it signs its messages with its own key from now on; the join token is no longer needed',
        },
        'agent joined',
      );
    }
    cadence.adopt(res?.heartbeatIntervalMs);
    this.everRegistered = true;
    this.parts.acknowledged();
    log.info(
      { nodeId: req.nodeId, name: req.name, heartbeatIntervalMs: cadence.intervalMs, executors: req.executors, total: req.total },
      'agent registered',
    );
    this.resolveRegistered();
    this.parts.stopWithdrawn(res?.stop);
  }

  private logJoinAnswerIgnored(check: string): void {
    const joined = join(this.parts.stateDir, 'joined');
    this.parts.log.error(
      { check, joined },
      `the answer to this agent's join is not signed with the cluster key it pinned (or was given with --coordinator-key): if the cluster's key really changed (its coordinator_keys row was lost), an operator must remove ${joined} (and give the new key with --coordinator-key, from "drover cluster key") and start the agent again`,
    );
  }
}

// One place that decides how Drover processes talk: Moleculer over NATS, JSON-serialised,
// with the Moleculer namespace as the NATS subject prefix (so clusters and tests can share
// one NATS server without hearing each other).
import { ServiceBroker, type BrokerOptions } from 'moleculer';

/** How a process joins the message bus. */
export interface BusOptions {
  /** `nats://host:4222`, or `memory` for Moleculer's in-process transporter (dev mode, tests). */
  natsUrl: string;
  /** Isolates clusters on one NATS server; becomes the subject prefix `MOL-<namespace>.`. */
  namespace: string;
  nodeId: string;
  /** Log Moleculer's own messages at this level (default: warnings and errors only). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long a request may wait for its answer. */
  requestTimeoutMs?: number;
}

/** Creates (but does not start) a Moleculer broker wired as Drover expects. */
export function createBroker(opts: BusOptions, extra: Partial<BrokerOptions> = {}): ServiceBroker {
  const transporter =
    opts.natsUrl === 'memory' ? 'Fake' : { type: 'NATS', options: { url: opts.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 500 } };
  return new ServiceBroker({
    namespace: opts.namespace,
    nodeID: opts.nodeId,
    transporter: transporter as BrokerOptions['transporter'],
    serializer: 'JSON',
    logger: { type: 'Console', options: { formatter: 'short', colors: false } },
    logLevel: opts.logLevel ?? 'warn',
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    // Our messages are plain data built for the call; cloning them would only cost time.
    contextParamsCloning: false,
    heartbeatInterval: 5,
    heartbeatTimeout: 15,
    skipProcessEventRegistration: true,
    ...extra,
  });
}

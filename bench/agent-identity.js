// What agent message signatures cost: signing on the agent and verifying on the coordinator,
// per message, for the messages agents send (a heartbeat, a capacity event, reports of 1, 100
// and 2,000 events). Verification hashes the message as received, so its cost grows with the
// report's size; the Ed25519 part is constant. Prints one JSON line per message kind, in µs.
//   node bench/agent-identity.js
import { checkSignature, newAgentKeyPair, privateKeyFromPem, publicKeyFromText, signMessage } from '@drover/shared';

const ROUNDS = Number(process.env.BENCH_IDENTITY_ROUNDS ?? 2000);
const pair = newAgentKeyPair();
const priv = privateKeyFromPem(pair.privateKeyPem);
const pub = publicKeyFromText(pair.publicKey);
const agentId = '01J0000000000000000000AGNT';

const heartbeat = {
  agentId,
  nodeId: `agent-${agentId}`,
  at: Date.now(),
  free: { slots: 3, cpu: 3.5, memoryBytes: 8e9 },
  usage: { cpuPercent: 12.5, load1: 0.4, memoryUsedBytes: 4e9, slotsUsed: 1 },
  runs: [{ runId: '01J00000000000000000000RUN', token: 3 }],
};
const capacity = { agentId, version: 42, free: { slots: 3, cpu: 3.5, memoryBytes: 8e9 } };
const logEvent = (i) => ({
  kind: 'log',
  runId: '01J00000000000000000000RUN',
  token: 3,
  seq: i,
  stream: 'stdout',
  data: `line ${i} of the job's output, about as long as a typical log line is\n`,
  at: Date.now(),
});
const report = (n) => ({ agentId, events: Array.from({ length: n }, (_, i) => logEvent(i)) });

function time(fn) {
  for (let i = 0; i < Math.min(200, ROUNDS); i++) fn(); // warm up
  const t = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e3 / ROUNDS;
}

const cases = [
  ['heartbeat', 'heartbeat', heartbeat],
  ['capacity', 'capacity', capacity],
  ['report of 1 event', 'report', report(1)],
  ['report of 100 events', 'report', report(100)],
  ['report of 2000 events', 'report', report(2000)],
];
for (const [name, kind, message] of cases) {
  const bytes = Buffer.byteLength(JSON.stringify(message));
  const signUs = time(() => signMessage(priv, kind, agentId, message, Date.now()));
  const signed = JSON.parse(JSON.stringify({ ...message, auth: signMessage(priv, kind, agentId, message, Date.now()) }));
  const verifyUs = time(() => {
    if (checkSignature(pub, kind, agentId, signed, Date.now()) !== 'ok') throw new Error('verify failed');
  });
  console.log(JSON.stringify({ message: name, bytes, signUs: Math.round(signUs * 10) / 10, verifyUs: Math.round(verifyUs * 10) / 10 }));
}

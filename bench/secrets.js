// What secrets cost where they are used: opening a sealed value (AES-256-GCM, once per secret per
// dispatch pass that offers a job using it) and masking an attempt's output on the agent
// (every byte of output goes through it when the offer carries secrets). Prints JSON lines.
//   npm run build && node bench/secrets.js
import { randomBytes } from 'node:crypto';
import { SecretMasker } from '../packages/agent/dist/secret-masker.js';
import { openSecret, parseSecretsKey, sealSecret } from '../packages/coordinator/dist/security/secrets-crypto.js';

const key = parseSecretsKey(randomBytes(32).toString('hex'));
const sealed = sealSecret(key, 'default', 'api-token', randomBytes(24).toString('base64'));
const ROUNDS = 20_000;
let t = process.hrtime.bigint();
for (let i = 0; i < ROUNDS; i++) openSecret(key, 'default', 'api-token', sealed);
console.log(JSON.stringify({ what: 'open one sealed secret', us: Number(process.hrtime.bigint() - t) / 1e3 / ROUNDS }));

// 64 MiB of log-like output in 64 KiB pipe reads, with 0, 1 and 5 secrets (one of them printed every ~4 KiB).
const line = Buffer.from("line of the job's output, about as long as a typical log line is, with no secret in it\n");
const chunk = Buffer.alloc(64 * 1024);
for (let i = 0; i < chunk.length; i += line.length) line.copy(chunk, i);
for (const n of [0, 1, 5]) {
  const secrets = Array.from({ length: n }, (_, i) => `secret-value-${i}-${randomBytes(8).toString('hex')}`);
  const withSecret = Buffer.from(chunk);
  if (n > 0) for (let i = 0; i + 64 < withSecret.length; i += 4096) withSecret.write(secrets[0], i);
  let out = 0;
  const masker = new SecretMasker(secrets, (_s, d) => (out += d.length));
  const total = 64 * 1024 * 1024;
  t = process.hrtime.bigint();
  for (let done = 0; done < total; done += chunk.length) masker.write('stdout', withSecret);
  masker.flush();
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(JSON.stringify({ what: 'mask output', secrets: n, MiBPerSecond: Math.round(total / 1024 / 1024 / s), bytesOut: out }));
}

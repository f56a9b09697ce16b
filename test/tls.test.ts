// TLS for real: the REST API served over HTTPS (and with client certificates), by `drover
// coordinator` and by `drover dev`, and the coordinator's Redis connection to a redis-server
// that speaks only TLS. Certificates are made with openssl for each run.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, freePort, spawnDrover, startCoordinator, type TestEnv } from './support/index.js';
import { makeCertificates, type TestCertificates } from './support/certificates.js';

let env: TestEnv;
let certs: TestCertificates;

beforeAll(async () => {
  env = await createTestEnv();
  certs = makeCertificates(env);
});
afterAll(async () => {
  await env?.cleanup();
});

/** GET over HTTPS trusting the test CA, optionally with the client certificate; the status and body, or the error. */
function httpsGet(url: string, client = false): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        ca: readFileSync(certs.ca),
        ...(client ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('HTTPS API', () => {
  it('serves the API over HTTPS with the configured certificate, and only HTTPS', async () => {
    const c = await startCoordinator(env, ['--api-tls-cert', certs.serverCert, '--api-tls-key', certs.serverKey]);
    expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await httpsGet(`${c.url}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' });
    // The certificate is checked: without the CA, Node refuses it.
    const untrusted = await fetch(`${c.url}/healthz`).then(
      () => 'answered',
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(untrusted).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    // Plain HTTP on the same port gets no API.
    const plain = await fetch(c.url.replace('https:', 'http:') + '/healthz').then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
    await c.stop();
  });

  it('with a client CA, answers only clients presenting a certificate it signed', async () => {
    const c = await startCoordinator(env, [
      '--api-tls-cert',
      certs.serverCert,
      '--api-tls-key',
      certs.serverKey,
      '--api-tls-client-ca',
      certs.ca,
    ]);
    expect(await httpsGet(`${c.url}/healthz`, true)).toEqual({ status: 200, body: '{"status":"ok"}' });
    const without = await httpsGet(`${c.url}/healthz`, false);
    expect('error' in without ? without.error : `status ${without.status}`).toMatch(/ECONNRESET|EPROTO|ERR_SSL|certificate/i);
    await c.stop();
  });

  it('refuses to start with a certificate file that cannot be read, or a cert without its key, naming the setting', async () => {
    const missing = spawnDrover(env, [
      'coordinator',
      '--insecure',
      '--api-tls-cert',
      '/nonexistent/cert.pem',
      '--api-tls-key',
      certs.serverKey,
    ]);
    expect((await missing.exited).code).not.toBe(0);
    expect(missing.tail()).toContain(
      'invalid --api-tls-cert (DROVER_API_TLS_CERT): cannot read the certificate file /nonexistent/cert.pem: ENOENT',
    );
    const alone = spawnDrover(env, ['coordinator', '--insecure', '--api-tls-cert', certs.serverCert]);
    expect((await alone.exited).code).not.toBe(0);
    expect(alone.tail()).toContain('--api-tls-cert (DROVER_API_TLS_CERT) and --api-tls-key (DROVER_API_TLS_KEY) go together');
  });

  it('drover dev serves HTTPS too', async () => {
    const dev = spawnDrover(env, [
      'dev',
      '--ephemeral',
      '--api-addr',
      '127.0.0.1:0',
      '--no-examples',
      '--api-tls-cert',
      certs.serverCert,
      '--api-tls-key',
      certs.serverKey,
    ]);
    const line = await dev.waitForLine((l) => /API\s+https:\/\/127\.0\.0\.1:\d+/.test(l.text), 60_000);
    const url = /https:\/\/127\.0\.0\.1:\d+/.exec(line.text)?.[0] as string;
    expect(await httpsGet(`${url}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' });
    await dev.stop();
  }, 90_000);
});

// redis-server built with TLS (Debian's is) takes --tls-port; one without it names that directive
// as bad. The trailing bad directive makes the probe exit at once either way.
const redisProbe = spawnSync('redis-server', ['--tls-port', '0', '--port', '0', '--drover-probe', 'x'], { encoding: 'utf8' });
const redisHasTls = redisProbe.error === undefined && !/'tls-port/.test(`${redisProbe.stdout}${redisProbe.stderr}`);

describe.runIf(redisHasTls)('Redis over TLS (skipped when this redis-server has no TLS support)', () => {
  it('connects to a TLS-only Redis with a rediss:// URL and the CA; without the CA the certificate is refused', async () => {
    const port = await freePort();
    const server = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        certs.serverCert,
        '--tls-key-file',
        certs.serverKey,
        '--tls-ca-cert-file',
        certs.ca,
        '--tls-auth-clients',
        'optional',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    env.onCleanup(() => server.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      server.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
    });
    const url = `rediss://127.0.0.1:${port}`;
    const c = await startCoordinator(env, ['--redis-url', url, '--redis-ca', certs.ca, '--redis-prefix', `${env.redisPrefix}tls:`]);
    await c.proc.waitForLog('took the dispatcher lease', 30_000);
    await c.stop();
    const untrusted = spawnDrover(env, ['coordinator', '--insecure', '--api-addr', '127.0.0.1:0', '--redis-url', url]);
    expect((await untrusted.exited).code).not.toBe(0);
    expect(untrusted.tail()).toMatch(/cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|certificate)/i);
    const plain = spawnDrover(env, ['coordinator', '--insecure', '--redis-url', 'redis://127.0.0.1:6379', '--redis-ca', certs.ca]);
    expect((await plain.exited).code).not.toBe(0);
    expect(plain.tail()).toContain('need a rediss:// URL in --redis-url (DROVER_REDIS_URL)');
  }, 90_000);
});

import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('hides passwords and tokens, keeping the user, host and path', () => {
    expect(redactUrl('nats://agent-1:s3cret@nats.internal:4222')).toBe('nats://agent-1:***@nats.internal:4222');
    expect(redactUrl('tls://u:p%40ss@127.0.0.1:4222/x?y=1')).toBe('tls://u:***@127.0.0.1:4222/x?y=1');
    expect(redactUrl('redis://:pw@redis:6379/0')).toBe('redis://:***@redis:6379/0');
    // A NATS token in the user position is a credential too.
    expect(redactUrl('nats://tok3n@nats:4222')).toBe('nats://***@nats:4222');
    // An unencoded "@" in the password does not leak its tail.
    expect(redactUrl('nats://u:p@ss@host:4222')).toBe('nats://u:***@host:4222');
  });

  it('leaves URLs without credentials, and other text, as they are', () => {
    for (const plain of ['nats://127.0.0.1:4222', 'memory', 'postgres://db/drover', 'not a url', 'mailto:a@b.example'])
      expect(redactUrl(plain)).toBe(plain);
  });

  it('redacts every URL of a list or a message', () => {
    expect(redactUrl('nats://a:x@n1:4222,nats://b:y@n2:4222')).toBe('nats://a:***@n1:4222,nats://b:***@n2:4222');
    expect(redactUrl('cannot reach NATS at nats://u:pw@h:4222 within 15 s')).toBe('cannot reach NATS at nats://u:***@h:4222 within 15 s');
  });
});

import { describe, expect, it } from 'vitest';
import { DroverApiError, DroverConnectionError } from '@drover/client';
import { describeError, exitCodeOf, resolveAddr, UsageError, withCliHints } from './context.js';

describe('resolveAddr', () => {
  it('takes --addr over DROVER_ADDR over the default, and adds http:// to a bare host:port', () => {
    expect(resolveAddr(undefined, {})).toBe('http://127.0.0.1:7400');
    expect(resolveAddr(undefined, { DROVER_ADDR: 'coord:7400' })).toBe('http://coord:7400');
    expect(resolveAddr('https://drover.example/', { DROVER_ADDR: 'coord:7400' })).toBe('https://drover.example');
  });

  it('refuses an address that is not http(s), naming it', () => {
    expect(() => resolveAddr('nats://x:4222', {})).toThrow(UsageError);
    expect(() => resolveAddr('nats://x:4222', {})).toThrow('"nats://x:4222" is not a coordinator address');
  });
});

describe('describeError', () => {
  it('turns the REST hints of a 404 into drover verbs', () => {
    const err = new DroverApiError({ title: 'Not Found', status: 404, detail: 'no run with id "x"; list runs with GET /v1/runs' });
    expect(describeError(err)).toBe('drover: no run with id "x"; list runs with drover runs ls (404 Not Found)');
    expect(withCliHints('run it again with POST /v1/runs/01J/retry')).toBe('run it again with drover runs retry 01J');
  });

  it('lists each offending field on its own line', () => {
    const err = new DroverApiError({
      title: 'Bad Request',
      status: 400,
      detail: 'a; b',
      errors: [
        { field: 'executor.command', message: 'is required' },
        { field: 'timeout', message: '"x" is not a duration' },
      ],
    });
    expect(describeError(err)).toBe('drover: Bad Request (400):\n  executor.command: is required\n  timeout: "x" is not a duration');
  });

  it('says where the coordinator was looked for and how to point elsewhere', () => {
    const err = new DroverConnectionError('http://127.0.0.1:7400', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
    expect(describeError(err)).toBe(
      'drover: cannot reach the Drover coordinator at http://127.0.0.1:7400: connection refused — is it running? set DROVER_ADDR or --addr to its address',
    );
    expect(exitCodeOf(err)).toBe(1);
    expect(exitCodeOf(new UsageError('bad flag'))).toBe(2);
  });
});

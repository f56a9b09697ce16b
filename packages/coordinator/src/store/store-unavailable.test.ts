import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from './store-unavailable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isStoreUnavailable', () => {
  it('knows the ways PostgreSQL is out of reach', () => {
    expect(isStoreUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true);
    expect(isStoreUnavailable(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(isStoreUnavailable(withCode('database "x" is not currently accepting connections', '55000'))).toBe(true);
    expect(isStoreUnavailable(withCode('sorry, too many clients already', '53300'))).toBe(true);
    expect(isStoreUnavailable(withCode('connection failure', '08006'))).toBe(true);
    expect(isStoreUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStoreUnavailable(new Error('wrapped', { cause: withCode('x', 'ECONNRESET') }))).toBe(true);
  });

  it('leaves a query that failed on its own merits alone', () => {
    expect(isStoreUnavailable(withCode('duplicate key value violates unique constraint', '23505'))).toBe(false);
    expect(isStoreUnavailable(withCode('currval of sequence "s" is not yet defined in this session', '55000'))).toBe(false);
    expect(isStoreUnavailable(new Error('boom'))).toBe(false);
    expect(isStoreUnavailable('not an error')).toBe(false);
  });
});

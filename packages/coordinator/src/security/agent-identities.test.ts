import { describe, expect, it } from 'vitest';
import { effectiveNamespaces } from './agent-identities.js';

describe('effectiveNamespaces', () => {
  it.each([
    { token: null, own: undefined, expected: null, why: 'no restriction anywhere: any namespace' },
    { token: [], own: undefined, expected: null, why: 'a join token without namespaces allows any' },
    { token: ['a', 'b'], own: undefined, expected: ['a', 'b'], why: "the join token's namespaces" },
    { token: [], own: ['c'], expected: ['c'], why: 'the agent narrows an unrestricted token' },
    { token: ['a', 'b'], own: ['b', 'c'], expected: ['b'], why: 'the agent narrows, never widens' },
    { token: ['a'], own: ['c'], expected: [], why: 'nothing in common: nothing allowed' },
    { token: ['a'], own: [], expected: ['a'], why: 'an empty own list narrows nothing' },
  ])('$why', ({ token, own, expected }) => {
    expect(effectiveNamespaces(token, own)).toEqual(expected);
  });
});

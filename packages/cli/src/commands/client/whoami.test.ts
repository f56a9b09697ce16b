import { describe, expect, it } from 'vitest';
import { formatWhoami } from './whoami.js';

describe('formatWhoami', () => {
  it("lists a namespaced token's namespaces and says every call needs a token", () => {
    const out = formatWhoami({ role: 'viewer', namespaces: ['team-a', 'team-b'], actor: 'token:T1', tokenId: 'T1', authMode: 'tokens' });
    expect(out).toBe(
      [
        'role:        viewer',
        'namespaces:  team-a, team-b',
        'actor:       token:T1',
        'auth:        tokens (every call needs one)',
        '',
      ].join('\n'),
    );
  });

  it('says when a token is scoped to no namespace at all', () => {
    expect(formatWhoami({ role: 'submitter', namespaces: [], actor: 'token:T2', tokenId: 'T2', authMode: 'tokens' })).toContain(
      'namespaces:  (none)',
    );
  });
});

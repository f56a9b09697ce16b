import { describe, expect, it } from 'vitest';
import { resolveLogFormat } from './logger.js';

describe('log format', () => {
  it('is pretty for auto only at a terminal, and an explicit format always wins', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});

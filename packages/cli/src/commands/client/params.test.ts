import { describe, expect, it } from 'vitest';
import { parseJobDocuments, parseParams } from './params.js';
import { UsageError } from './context.js';

describe('parseParams', () => {
  it('splits at the first = only, so values may hold = and be empty', () => {
    expect(parseParams(['day=2026-01-01', 'query=a=b', 'empty='])).toEqual({ day: '2026-01-01', query: 'a=b', empty: '' });
    expect(parseParams(undefined)).toEqual({});
  });

  it.each([
    ['day', /--param "day" is not NAME=VALUE; write e.g. --param day=2026-01-01/],
    ['=x', /"" is not a parameter name/],
    ['1st=x', /"1st" is not a parameter name/],
    ['my-param=x', /"my-param" is not a parameter name/],
  ])('refuses %j with a usage error that says how to write it', (pair, message) => {
    expect(() => parseParams([pair])).toThrow(message);
    expect(() => parseParams([pair])).toThrow(UsageError);
  });

  it('refuses a parameter given twice rather than picking one', () => {
    expect(() => parseParams(['a=1', 'a=2'])).toThrow('--param a is given twice');
  });
});

describe('parseJobDocuments', () => {
  it('reads several YAML documents and skips empty ones', () => {
    const defs = parseJobDocuments('name: a\nexecutor: {type: noop}\n---\nname: b\nexecutor: {type: noop}\n---\n', 'jobs.yaml');
    expect(defs.map((d) => d.name)).toEqual(['a', 'b']);
  });

  it('reads a JSON array, and drops the fields the API adds so get -o json output applies back', () => {
    const text = JSON.stringify([{ id: '01J', name: 'a', executor: { type: 'noop' }, createdAt: 'x', updatedAt: 'y', pausedAt: null }]);
    expect(parseJobDocuments(text, 'jobs.json')).toEqual([{ name: 'a', executor: { type: 'noop' } }]);
  });

  it('names the file and the problem', () => {
    expect(() => parseJobDocuments('', 'empty.yaml')).toThrow('empty.yaml holds no job definition');
    expect(() => parseJobDocuments('- 1\n- 2\n', 'list.yaml')).toThrow('list.yaml: definition 1 is not an object');
    expect(() => parseJobDocuments('executor: {type: noop}\n', 'anon.yaml')).toThrow('anon.yaml: definition 1 has no "name"');
    expect(() => parseJobDocuments('name: [unclosed\n', 'broken.yaml')).toThrow(/^broken\.yaml: /);
  });
});

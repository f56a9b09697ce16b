import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONSTRAINT_OPERATORS,
  describeConstraint,
  firstUnmetConstraint,
  isOrderingOperator,
  matchesConstraint,
  operatorTakesValue,
  type Attributes,
  type Constraint,
  type ConstraintOperator,
} from './constraints.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

const bigAgent: Attributes = {
  'memory.bytes': 8 * GiB,
  'cpu.cores': 8,
  'uptime.ms': 3_600_000,
  os: 'linux',
  arch: 'amd64',
  'label.region': 'eu',
  'label.pool': 'batch',
  'label.size': '8GiB',
};
const smallAgent: Attributes = { 'memory.bytes': 512 * MiB, 'cpu.cores': 1, os: 'linux', 'label.region': 'us' };

function c(attribute: string, operator: ConstraintOperator, value?: Constraint['value']): Constraint {
  return value === undefined ? { attribute, operator } : { attribute, operator, value };
}

describe('matchesConstraint', () => {
  it.each<[string, Attributes, Constraint, boolean]>([
    // = and != compare text, then quantities, so units on either side are understood.
    ['= text', bigAgent, c('label.region', '=', 'eu'), true],
    ['= other text', smallAgent, c('label.region', '=', 'eu'), false],
    ['= is case-sensitive', bigAgent, c('label.region', '=', 'EU'), false],
    ['= number against number', bigAgent, c('cpu.cores', '=', 8), true],
    ['= number against numeric string', bigAgent, c('cpu.cores', '=', '8'), true],
    ['= bytes against a size', bigAgent, c('memory.bytes', '=', '8GiB'), true],
    ['= size label against bytes', bigAgent, c('label.size', '=', 8 * GiB), true],
    ['= bytes against a different size', bigAgent, c('memory.bytes', '=', '8GB'), false],
    ['= with an array value never matches', bigAgent, c('label.region', '=', ['eu']), false],
    ['!= other text', smallAgent, c('label.region', '!=', 'eu'), true],
    ['!= same text', bigAgent, c('label.region', '!=', 'eu'), false],
    ['!= same quantity with units', bigAgent, c('memory.bytes', '!=', '8GiB'), false],
    ['!= different quantity', smallAgent, c('memory.bytes', '!=', '8GiB'), true],

    ['in array', bigAgent, c('label.region', 'in', ['us', 'eu']), true],
    ['in comma string', bigAgent, c('label.region', 'in', 'us, eu'), true],
    ['in comma string without match', smallAgent, c('label.region', 'in', 'eu,ap'), false],
    ['in single string', bigAgent, c('label.region', 'in', 'eu'), true],
    ['in array of numbers', bigAgent, c('cpu.cores', 'in', [4, 8, 16]), true],
    ['in array of sizes', smallAgent, c('memory.bytes', 'in', ['512MiB', '1GiB']), true],
    ['in an empty list', bigAgent, c('label.region', 'in', []), false],
    ['in ignores empty items', bigAgent, c('label.region', 'in', ',,eu,'), true],
    ['not_in array', smallAgent, c('label.region', 'not_in', ['eu', 'ap']), true],
    ['not_in array with match', bigAgent, c('label.region', 'not_in', ['eu', 'ap']), false],
    ['not_in comma string with match', bigAgent, c('label.region', 'not_in', 'ap, eu'), false],
    ['not_in an empty list', bigAgent, c('label.region', 'not_in', []), true],

    ['>= bytes against 1GiB, 8 GiB agent', bigAgent, c('memory.bytes', '>=', '1GiB'), true],
    ['>= bytes against 1GiB, 512 MiB agent', smallAgent, c('memory.bytes', '>=', '1GiB'), false],
    ['>= equal quantity', bigAgent, c('memory.bytes', '>=', '8GiB'), true],
    ['> equal quantity', bigAgent, c('memory.bytes', '>', '8GiB'), false],
    ['> smaller quantity', bigAgent, c('memory.bytes', '>', '7GiB'), true],
    ['<= equal quantity', bigAgent, c('memory.bytes', '<=', '8GiB'), true],
    ['< equal quantity', bigAgent, c('memory.bytes', '<', '8GiB'), false],
    ['< larger quantity', smallAgent, c('memory.bytes', '<', '1GB'), true],
    ['>= plain number', bigAgent, c('cpu.cores', '>=', 4), true],
    ['< plain number as text', bigAgent, c('cpu.cores', '<', '4'), false],
    ['>= duration', bigAgent, c('uptime.ms', '>=', '1800s'), true],
    // A bare "m" reads as mega before minutes (see parseQuantity), so this compares with 30,000,000.
    ['"30m" is 30 MB, not 30 minutes', bigAgent, c('uptime.ms', '>=', '30m'), false],
    ['< duration', bigAgent, c('uptime.ms', '<', '1h30m'), true],
    ['> duration equal', bigAgent, c('uptime.ms', '>', '1h'), false],
    ['ordering a size label', bigAgent, c('label.size', '>', '4GiB'), true],
    ['ordering a non-quantity attribute is false', bigAgent, c('os', '>=', 1), false],
    ['ordering against a non-quantity value is false', bigAgent, c('cpu.cores', '>=', 'many'), false],
    ['ordering against an array is false', bigAgent, c('cpu.cores', '>=', [1]), false],

    ['exists', bigAgent, c('label.pool', 'exists'), true],
    ['exists when missing', smallAgent, c('label.pool', 'exists'), false],
    ['not_exists', smallAgent, c('label.pool', 'not_exists'), true],
    ['not_exists when present', bigAgent, c('label.pool', 'not_exists'), false],
    ['exists with an empty-string value', { 'label.pool': '' }, c('label.pool', 'exists'), true],
    ['exists with a zero value', { 'gpu.count': 0 }, c('gpu.count', 'exists'), true],
  ])('%s', (_name, attrs, constraint, expected) => {
    expect(matchesConstraint(attrs, constraint)).toBe(expected);
  });

  // A missing attribute fails every positive test and passes every negative one:
  // `label.pool != gpu` and `label.pool not_in [gpu]` admit unlabelled agents, while
  // `cpu.cores < 4` does not (an unknown quantity is neither small nor large).
  it.each<[ConstraintOperator, Constraint['value'], boolean]>([
    ['=', 'eu', false],
    ['!=', 'eu', true],
    ['in', ['eu', 'us'], false],
    ['not_in', ['eu', 'us'], true],
    ['>=', 1, false],
    ['<=', 1, false],
    ['>', 1, false],
    ['<', 1, false],
    ['exists', undefined, false],
    ['not_exists', undefined, true],
  ])('a missing attribute with %s is %s', (operator, value, expected) => {
    expect(matchesConstraint({ os: 'linux' }, c('label.absent', operator, value))).toBe(expected);
  });

  it('covers every operator in the tables above', () => {
    expect([...CONSTRAINT_OPERATORS].sort()).toEqual(['!=', '<', '<=', '=', '>', '>=', 'exists', 'in', 'not_exists', 'not_in'].sort());
  });
});

describe('operator kinds', () => {
  it.each(CONSTRAINT_OPERATORS.map((op) => [op] as const))('%s', (op) => {
    expect(isOrderingOperator(op)).toBe(['>=', '<=', '>', '<'].includes(op));
    expect(operatorTakesValue(op)).toBe(op !== 'exists' && op !== 'not_exists');
  });
});

describe('firstUnmetConstraint', () => {
  it('returns the first constraint that fails, in order', () => {
    const region = c('label.region', '=', 'eu');
    const memory = c('memory.bytes', '>=', '1GiB');
    expect(firstUnmetConstraint(smallAgent, [memory, region])).toBe(memory);
    expect(firstUnmetConstraint(smallAgent, [c('os', '=', 'linux'), region, memory])).toBe(region);
  });

  it('returns undefined when all hold, including for no constraints', () => {
    expect(firstUnmetConstraint(bigAgent, [c('label.region', '=', 'eu'), c('memory.bytes', '>=', '1GiB')])).toBeUndefined();
    expect(firstUnmetConstraint(smallAgent, [])).toBeUndefined();
  });
});

describe('describeConstraint', () => {
  it.each<[Constraint, string]>([
    [c('label.region', '=', 'eu'), 'label.region = eu'],
    [c('memory.bytes', '>=', '1GiB'), 'memory.bytes >= 1GiB'],
    [c('cpu.cores', '<', 4), 'cpu.cores < 4'],
    [c('label.region', 'in', ['eu', 'us']), 'label.region in [eu, us]'],
    [c('label.region', 'not_in', 'eu,us'), 'label.region not_in eu,us'],
    [c('gpu.model', 'exists'), 'gpu.model exists'],
    [c('label.pool', 'not_exists'), 'label.pool not_exists'],
  ])('%j reads as "%s"', (constraint, text) => {
    expect(describeConstraint(constraint)).toBe(text);
  });
});

// Attribute values drawn from a small pool so that random constraints often hit them.
const textValue = fc.constantFrom('eu', 'us', 'ap', 'linux', 'gpu', '8', '1GiB', '90s', '');
const numberValue = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.constantFrom(0, GiB, 512 * MiB),
);
const attrValue = fc.oneof(textValue, numberValue);
const attrName = fc.constantFrom('a', 'b', 'label.region', 'memory.bytes');
const attributes: fc.Arbitrary<Attributes> = fc.dictionary(attrName, attrValue, { maxKeys: 4 });
const listValue = fc.oneof(
  fc.array(attrValue, { maxLength: 4 }),
  fc.array(textValue, { maxLength: 4 }).map((xs) => xs.join(',')),
);
const quantityText = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc
    .tuple(fc.integer({ min: 0, max: 4096 }), fc.constantFrom('B', 'KiB', 'MiB', 'GiB', 'MB', 'ms', 's', 'h', 'd'))
    .map(([n, u]) => `${n}${u}`),
);

describe('constraint properties', () => {
  it('not_in is the negation of in', () => {
    fc.assert(
      fc.property(attributes, attrName, listValue, (attrs, attribute, value) => {
        expect(matchesConstraint(attrs, c(attribute, 'not_in', value))).toBe(!matchesConstraint(attrs, c(attribute, 'in', value)));
      }),
    );
  });

  it('!= is the negation of = for a single value', () => {
    fc.assert(
      fc.property(attributes, attrName, attrValue, (attrs, attribute, value) => {
        expect(matchesConstraint(attrs, c(attribute, '!=', value))).toBe(!matchesConstraint(attrs, c(attribute, '=', value)));
      }),
    );
  });

  it('< and >= are complementary, as are > and <=, when both sides are quantities', () => {
    fc.assert(
      fc.property(fc.oneof(numberValue, quantityText), fc.oneof(numberValue, quantityText), (actual, value) => {
        const attrs = { x: actual };
        expect(matchesConstraint(attrs, c('x', '<', value))).toBe(!matchesConstraint(attrs, c('x', '>=', value)));
        expect(matchesConstraint(attrs, c('x', '>', value))).toBe(!matchesConstraint(attrs, c('x', '<=', value)));
      }),
    );
  });

  it('an ordering comparison agrees with comparing the parsed bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 1023 }),
        fc.constantFrom(['KiB', 2 ** 10] as const, ['MiB', MiB] as const, ['GiB', GiB] as const),
        (bytes, n, [unit, factor]) => {
          const attrs = { 'memory.bytes': bytes };
          expect(matchesConstraint(attrs, c('memory.bytes', '>=', `${n}${unit}`))).toBe(bytes >= n * factor);
        },
      ),
    );
  });

  it('exists and not_exists disagree on every attribute', () => {
    fc.assert(
      fc.property(attributes, attrName, (attrs, attribute) => {
        const exists = matchesConstraint(attrs, c(attribute, 'exists'));
        expect(exists).not.toBe(matchesConstraint(attrs, c(attribute, 'not_exists')));
        expect(exists).toBe(Object.hasOwn(attrs, attribute));
      }),
    );
  });

  it('a missing attribute satisfies only the negative operators', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CONSTRAINT_OPERATORS), fc.oneof(attrValue, listValue), (operator, value) => {
        const constraint = operatorTakesValue(operator) ? c('missing', operator, value) : c('missing', operator);
        expect(matchesConstraint({ present: 1 }, constraint)).toBe(['!=', 'not_in', 'not_exists'].includes(operator));
      }),
    );
  });
});

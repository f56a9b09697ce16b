// Constraints are hard filters over an agent's capabilities: fingerprinted facts
// (`cpu.cores`, `memory.bytes`, `os`…) and operator labels (`label.region`).
import { parseQuantity } from './units.js';

export const CONSTRAINT_OPERATORS = ['=', '!=', 'in', 'not_in', '>=', '<=', '>', '<', 'exists', 'not_exists'] as const;
export type ConstraintOperator = (typeof CONSTRAINT_OPERATORS)[number];

/** A hard filter a job puts on the agents that may run it. */
export interface Constraint {
  attribute: string;
  operator: ConstraintOperator;
  value?: string | number | Array<string | number>;
}

/** An agent's capabilities, flattened: `{ "cpu.cores": 8, "label.region": "eu" }`. */
export type Attributes = Readonly<Record<string, string | number>>;

const ORDERING = new Set<ConstraintOperator>(['>=', '<=', '>', '<']);

/** Whether an operator compares quantities (and so needs a value that parses as one). */
export function isOrderingOperator(op: ConstraintOperator): boolean {
  return ORDERING.has(op);
}

/** Whether an operator needs a value at all. */
export function operatorTakesValue(op: ConstraintOperator): boolean {
  return op !== 'exists' && op !== 'not_exists';
}

function listOf(value: Constraint['value']): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map(String);
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function sameValue(actual: string | number, expected: string | number): boolean {
  if (String(actual) === String(expected)) return true;
  const a = parseQuantity(actual);
  const b = parseQuantity(expected);
  return a !== undefined && b !== undefined && a === b;
}

/** Whether an agent with these attributes satisfies one constraint. */
export function matchesConstraint(attributes: Attributes, constraint: Constraint): boolean {
  const actual = attributes[constraint.attribute];
  switch (constraint.operator) {
    case 'exists':
      return actual !== undefined;
    case 'not_exists':
      return actual === undefined;
    case '=':
      return (
        actual !== undefined && constraint.value !== undefined && !Array.isArray(constraint.value) && sameValue(actual, constraint.value)
      );
    case '!=':
      // An agent without the attribute is "not equal": `label.pool != gpu` admits unlabelled agents.
      return (
        actual === undefined || constraint.value === undefined || Array.isArray(constraint.value) || !sameValue(actual, constraint.value)
      );
    case 'in':
      return actual !== undefined && listOf(constraint.value).some((v) => sameValue(actual, v));
    case 'not_in':
      return actual === undefined || !listOf(constraint.value).some((v) => sameValue(actual, v));
    default: {
      if (actual === undefined || constraint.value === undefined || Array.isArray(constraint.value)) return false;
      const a = parseQuantity(actual);
      const b = parseQuantity(constraint.value);
      if (a === undefined || b === undefined) return false;
      if (constraint.operator === '>=') return a >= b;
      if (constraint.operator === '<=') return a <= b;
      if (constraint.operator === '>') return a > b;
      return a < b;
    }
  }
}

/** The first constraint these attributes fail, or undefined when all hold. */
export function firstUnmetConstraint(attributes: Attributes, constraints: readonly Constraint[]): Constraint | undefined {
  return constraints.find((c) => !matchesConstraint(attributes, c));
}

/** A constraint as a person reads it: `label.region = eu`, `gpu.model exists`. */
export function describeConstraint(constraint: Constraint): string {
  if (!operatorTakesValue(constraint.operator)) return `${constraint.attribute} ${constraint.operator}`;
  const v = Array.isArray(constraint.value) ? `[${constraint.value.join(', ')}]` : String(constraint.value);
  return `${constraint.attribute} ${constraint.operator} ${v}`;
}

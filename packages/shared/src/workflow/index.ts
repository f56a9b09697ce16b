export * from './definition.js';
export * from './rules.js';
export * from './graph.js';
export * from './validate.js';
export * from './advance.js';

export * from './errors.js';
export * from './units.js';
export * from './constraints.js';
export * from './placement.js';
export * from './run.js';
export * from './job.js';
export * from './protocol.js';

/** The holder model: types, the published schema, validation with positions, the MRZ. */
export * from './types.js';
export * from './schema.js';
export * from './checks.js';
export * from './mrz.js';
export * from './validate.js';
export * from './document.js';

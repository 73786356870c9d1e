/**
 * Conformance vectors: chipwright's vector format and readers for ETSI TS 101 955, Java Card
 * apdutool and pcsc-tools scriptor scripts; the runner and replay over the simulator or a reader;
 * console, JSON and JUnit reports; and the recorder that writes what passed as vectors.
 */
export * from './vector.js';
export * from './pattern.js';
export * from './header.js';
export * from './vector-format.js';
export * from './etsi-ts-101-955.js';
export * from './apdutool.js';
export * from './scriptor.js';
export * from './read.js';
export * from './fixtures.js';
export * from './runner.js';
export * from './profile-card.js';
export * from './replay.js';
export * from './report.js';
export * from './junit.js';
export * from './recorder.js';
export * from './intercept.js';

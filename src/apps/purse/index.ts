/**
 * The stored-value purse and transit application: card applet, install parameters, wire
 * protocol, records and session security. The terminal side is `src/terminal/purse.ts`.
 */
export * from './protocol.js';
export * from './records.js';
export * from './params.js';
export * from './crypto.js';
export * from './applet.js';

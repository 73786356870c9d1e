/** Host-side APDU scripting: the `.apdu` format, its runner, and the tools built on them. */
export * from './format.js';
export * from './runner.js';
export * from './transport-auth.js';
export * from './exchange.js';
export * from './line-session.js';
export * from './shipped.js';
export * from './demo.js';

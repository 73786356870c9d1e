export * from './command.js';
export * from './response.js';
export * from './status.js';
export * from './ins.js';

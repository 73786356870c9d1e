/** chipwright's public API. */
export * from './bytes/index.js';
export * from './tlv/index.js';
export * from './apdu/index.js';
export * from './atr/index.js';
export * from './card/index.js';
export * from './transport/types.js';
export * from './transport/in-process.js';
export * from './transport/trace.js';
export * from './crypto/cipher.js';
export * from './crypto/external-auth.js';
export * from './script/index.js';
export { EXIT_CODES } from './cli/exit-codes.js';
export * from './apps/modules.js';

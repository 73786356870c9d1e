/** Personalization: profiles, data preparation, plans and APDU scripts, the runner, batches and journals. */
export * from './issues.js';
export * from './schema.js';
export * from './profile.js';
export * from './encoders.js';
export * from './applications.js';
export * from './operator-keys.js';
export * from './signers.js';
export * from './holders.js';
export * from './prepare.js';
export * from './plan.js';
export * from './channel.js';
export * from './runner.js';
export * from './journal.js';
export * from './batch.js';

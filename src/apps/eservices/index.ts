/** The e-services (PKI) application: layout, key records, certificates, applet, personalization, reader, terminal flows. */
export * from './layout.js';
export * from './records.js';
export * from './certificates.js';
export * from './applet.js';
export * from './card.js';
export * from './reader.js';
export * from './terminal.js';

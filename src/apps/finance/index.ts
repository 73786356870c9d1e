/** The finances application: layout, account record codec, applet, personalization, reader. */
export * from './layout.js';
export * from './records.js';
export * from './applet.js';
export * from './card.js';
export * from './reader.js';

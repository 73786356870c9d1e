/** The health insurance application: layout, record codecs, applet, personalization, reader, insurer terminal. */
export * from './common.js';
export * from './layout.js';
export * from './records.js';
export * from './applet.js';
export * from './card.js';
export * from './reader.js';
export * from './insurer.js';

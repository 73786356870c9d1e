/** The driving licence application (ISO/IEC 18013-2 style): layout, DG1/DG6 codecs, applet, personalization, reader. */
export * from './layout.js';
export * from './dg1.js';
export * from './dg6.js';
export * from './data.js';
export * from './applet.js';
export * from './card.js';
export * from './reader.js';

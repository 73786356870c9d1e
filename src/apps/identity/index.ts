/** The identity application (eMRTD LDS, A0000002471001): layout, applet, data preparation, card, reader. */
export * from './layout.js';
export * from './applet.js';
export * from './data.js';
export * from './card.js';
export * from './reader.js';

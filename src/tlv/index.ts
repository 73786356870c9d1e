/** TLV codecs of ISO/IEC 7816-4: BER-TLV (§6.3), SIMPLE-TLV (§6.2), COMPACT-TLV (historical bytes). */
export * from './ber.js';
export * from './simple.js';
export * from './compact.js';

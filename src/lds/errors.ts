/**
 * The one error class of the LDS codecs: a data group, record or security object that does not
 * decode, or a value an encoder cannot represent. The message names the structure and the field
 * ("DG2 face record 1: image data type 7 is not 0 (JPEG) or 1 (JPEG 2000)").
 */
export class LdsError extends Error {
  override readonly name = 'LdsError';
}

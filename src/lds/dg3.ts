/**
 * DG3, the encoded fingers (ICAO 9303-10 §4.7.3): a CBEFF biometric information group whose data
 * blocks are ISO/IEC 19794-2 finger minutiae records — one template per finger, its position in
 * the header's subtype.
 *
 *     63 { 7F61 { 02 n ‖ 7F60 { A1 { 80 0101 ‖ 81 08 ‖ 82 subtype ‖ 87 0101 ‖ 88 0001 } ‖ 5F2E FMR } … } }
 *
 * ICAO 9303 recommends finger images (19794-4, format type 0007) for DG3; chipwright stores
 * minutiae templates, which is what the card's holder data holds, and says so in the header
 * (format type 0001, SC 37 finger minutiae record). A reader that only accepts images sees the
 * format type and stops there instead of misreading the block.
 *
 * @example encodeDg3([fingerTemplate(7, fmrBytes)])
 */
import {
  BIOMETRIC_TYPE,
  FORMAT_OWNER_SC37,
  FORMAT_TYPE,
  ICAO_HEADER_VERSION,
  biometricDataGroup,
  decodeBiometricDataGroup,
  fingerSubtype,
  type BiometricTemplate,
} from './cbeff.js';
import { decodeFingerMinutiaeRecord, type FingerMinutiaeRecord } from './iso19794-2.js';
import { dataGroup } from './tags.js';

export interface Dg3Template extends BiometricTemplate {
  readonly minutiae: FingerMinutiaeRecord;
}

export interface Dg3 {
  readonly templates: readonly Dg3Template[];
}

/** A DG3 template for the minutiae record of finger `position` (ISO/IEC 19794-2 code 1–10). */
export function fingerTemplate(position: number, record: Uint8Array): BiometricTemplate {
  return {
    header: {
      icaoVersion: ICAO_HEADER_VERSION,
      biometricType: BIOMETRIC_TYPE.FINGERPRINT,
      subtype: fingerSubtype(position),
      formatOwner: FORMAT_OWNER_SC37,
      formatType: FORMAT_TYPE.FINGER_MINUTIAE,
    },
    data: record,
  };
}

export function encodeDg3(templates: readonly BiometricTemplate[]): Uint8Array {
  return biometricDataGroup(dataGroup(3).tag, templates);
}

export function decodeDg3(bytes: Uint8Array): Dg3 {
  const format = { type: FORMAT_TYPE.FINGER_MINUTIAE, name: 'ISO/IEC 19794-2 finger minutiae', note: 'chipwright does not decode finger images' };
  const templates = decodeBiometricDataGroup(bytes, dataGroup(3).tag, 'DG3', format, decodeFingerMinutiaeRecord).map((r) => ({ ...r.template, minutiae: r.record }));
  return { templates };
}

/**
 * DG2, the encoded face (ICAO 9303-10 §4.7.2): a CBEFF biometric information group whose data
 * blocks are ISO/IEC 19794-5 face records.
 *
 *     75 { 7F61 { 02 n ‖ 7F60 { A1 { 80 0101 ‖ 81 02 ‖ 87 0101 ‖ 88 0008 } ‖ 5F2E face record } … } }
 *
 * @example
 * const dg2 = encodeDg2([faceTemplate({ faces: [faceImage(jpeg, imageInfo(jpeg))] })]);
 * decodeDg2(dg2).templates[0].face.faces[0].image // the JPEG
 */
import {
  BIOMETRIC_TYPE,
  FORMAT_OWNER_SC37,
  FORMAT_TYPE,
  ICAO_HEADER_VERSION,
  biometricDataGroup,
  decodeBiometricDataGroup,
  type BiometricTemplate,
} from './cbeff.js';
import { decodeFaceRecord, encodeFaceRecord, type FaceRecord } from './iso19794-5.js';
import { dataGroup } from './tags.js';

export interface Dg2Template extends BiometricTemplate {
  /** The data block decoded. */
  readonly face: FaceRecord;
}

export interface Dg2 {
  readonly templates: readonly Dg2Template[];
}

/** A DG2 template for a face record, with the header ICAO 9303-10 Table 37 asks for. */
export function faceTemplate(record: FaceRecord): BiometricTemplate {
  return {
    header: { icaoVersion: ICAO_HEADER_VERSION, biometricType: BIOMETRIC_TYPE.FACE, formatOwner: FORMAT_OWNER_SC37, formatType: FORMAT_TYPE.FACE_IMAGE },
    data: encodeFaceRecord(record),
  };
}

export function encodeDg2(templates: readonly BiometricTemplate[]): Uint8Array {
  return biometricDataGroup(dataGroup(2).tag, templates);
}

export function decodeDg2(bytes: Uint8Array): Dg2 {
  const format = { type: FORMAT_TYPE.FACE_IMAGE, name: 'ISO/IEC 19794-5 face image' };
  const templates = decodeBiometricDataGroup(bytes, dataGroup(2).tag, 'DG2', format, decodeFaceRecord).map((r) => ({ ...r.template, face: r.record }));
  return { templates };
}

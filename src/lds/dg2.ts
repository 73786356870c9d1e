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
  decodeBiometricGroup,
  type BiometricTemplate,
} from './cbeff.js';
import { LdsError } from './errors.js';
import { decodeFaceRecord, encodeFaceRecord, type FaceRecord } from './iso19794-5.js';
import { dataGroup } from './tags.js';
import { openTemplate } from './_template.js';

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
  const t = openTemplate(bytes, dataGroup(2).tag, 'DG2');
  if (t.children!.length !== 1) throw new LdsError('DG2: expected exactly one biometric information group template (7F61)');
  const templates = decodeBiometricGroup(t.children![0]!, 'DG2').map((bit, i) => {
    const h = bit.header;
    if (h.formatOwner !== FORMAT_OWNER_SC37 || h.formatType !== FORMAT_TYPE.FACE_IMAGE) {
      throw new LdsError(
        `DG2 template ${i + 1}: format ${h.formatOwner.toString(16).padStart(4, '0')}/${h.formatType.toString(16).padStart(4, '0')} is not 0101/0008 (ISO/IEC 19794-5 face image)`,
      );
    }
    let face: FaceRecord;
    try {
      face = decodeFaceRecord(bit.data);
    } catch (e) {
      if (e instanceof LdsError) throw new LdsError(`DG2 template ${i + 1}: ${e.message}`);
      throw e;
    }
    return { ...bit, face };
  });
  return { templates };
}

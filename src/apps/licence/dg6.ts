/**
 * DG6 of the driving licence: a reference to the holder's portrait instead of a copy (chipwright's
 * choice; ISO/IEC 18013-2 puts the portrait itself in DG6). The portrait is the facial image of the
 * eMRTD application's DG2; DG6 names that file and pins its hash, and the licence's EF.SOD covers
 * DG6 — so the licence issuer vouches for exactly that image while the chip stores it once.
 *
 *     66 { 4F AID of the application holding the portrait (A0000002471001)
 *          51 file identifier of the portrait file (0102, EF.DG2)
 *          06 hash algorithm OBJECT IDENTIFIER (DER content, e.g. 2.16.840.1.101.3.4.2.1 SHA-256)
 *          04 hash of the portrait file's bytes as stored }
 *
 * The outer tag is the LDS tag of DG6 (66), not ISO/IEC 18013-2's 75: this file is not a
 * biometric template, and a reader that parses 75 as one must not be misled. A reader verifies
 * the reference by reading DG2 from the eMRTD application and comparing hashes
 * ({@link portraitMatches}); without DG2 the portrait is "not checked".
 *
 * @example decodePortraitReference(encodePortraitReference(ref)).fid // 0x0102
 */
import { bytesToHex, concatBytes, equalBytes } from '../../bytes/index.js';
import { encodeTlv, parseTlv, TlvError } from '../../tlv/ber.js';
import { oidFromBytes, oidToBytes } from '../../crypto/security-infos.js';
import { HASH_ALGORITHMS, digestBytes, hashByOid, type HashAlgorithm } from '../../lds/algorithms.js';
import { dataGroup } from '../../lds/tags.js';
import { AppDataError } from '../health/common.js';

export interface PortraitReference {
  /** AID of the application holding the portrait. */
  readonly aid: Uint8Array;
  /** File identifier of the portrait file in it. */
  readonly fid: number;
  readonly hashAlgorithm: HashAlgorithm;
  /** Hash of the portrait file as stored. */
  readonly hash: Uint8Array;
}

/** A reference to `portraitFile` (its bytes as stored) in application `aid`, file `fid`. */
export function portraitReference(aid: Uint8Array, fid: number, portraitFile: Uint8Array, hashAlgorithm: HashAlgorithm = 'SHA-256'): PortraitReference {
  return { aid: aid.slice(), fid, hashAlgorithm, hash: digestBytes(hashAlgorithm, portraitFile) };
}

/** DG6 as stored. */
export function encodePortraitReference(r: PortraitReference): Uint8Array {
  if (r.aid.length < 5 || r.aid.length > 16) throw new AppDataError(`licence DG6 aid: expected 5..16 bytes, got ${r.aid.length}`);
  if (!Number.isInteger(r.fid) || r.fid < 0 || r.fid > 0xffff) throw new AppDataError(`licence DG6 fid: expected 0000..FFFF, got ${r.fid}`);
  const len = HASH_ALGORITHMS[r.hashAlgorithm].length;
  if (r.hash.length !== len) throw new AppDataError(`licence DG6 hash: ${r.hashAlgorithm} has ${len} bytes, got ${r.hash.length}`);
  return encodeTlv(
    dataGroup(6).tag,
    concatBytes(
      encodeTlv(0x4f, r.aid),
      encodeTlv(0x51, new Uint8Array([r.fid >>> 8, r.fid & 0xff])),
      encodeTlv(0x06, oidToBytes(HASH_ALGORITHMS[r.hashAlgorithm].oid)),
      encodeTlv(0x04, r.hash),
    ),
  );
}

/** DG6 back, strictly (4F, 51, 06, 04 in this order). */
export function decodePortraitReference(bytes: Uint8Array): PortraitReference {
  let t;
  try {
    t = parseTlv(bytes);
  } catch (e) {
    if (e instanceof TlvError) throw new AppDataError(`licence DG6: not one BER-TLV object (${e.message})`);
    throw e;
  }
  if (t.tag !== dataGroup(6).tag || t.children === undefined) throw new AppDataError('licence DG6: outer template is not 66');
  const tags = t.children.map((c) => c.tag);
  if (tags.join() !== [0x4f, 0x51, 0x06, 0x04].join()) {
    throw new AppDataError(`licence DG6: expected 4F, 51, 06, 04 in this order, got ${tags.map((x) => x.toString(16).toUpperCase()).join(', ')}`);
  }
  const [aid, fid, oid, hash] = t.children as [typeof t, typeof t, typeof t, typeof t];
  if (aid.value.length < 5 || aid.value.length > 16) throw new AppDataError('licence DG6: the AID (4F) is not 5..16 bytes');
  if (fid.value.length !== 2) throw new AppDataError('licence DG6: the file identifier (51) is not 2 bytes');
  let name: string;
  try {
    name = oidFromBytes(oid.value);
  } catch {
    throw new AppDataError('licence DG6: the hash algorithm (06) is not an OBJECT IDENTIFIER');
  }
  const hashAlgorithm = hashByOid(name);
  if (hashAlgorithm === undefined) throw new AppDataError(`licence DG6: hash algorithm ${name} is not supported`);
  if (hash.value.length !== HASH_ALGORITHMS[hashAlgorithm].length) throw new AppDataError(`licence DG6: the ${hashAlgorithm} hash (04) has ${hash.value.length} bytes`);
  return { aid: aid.value.slice(), fid: (fid.value[0]! << 8) | fid.value[1]!, hashAlgorithm, hash: hash.value.slice() };
}

/** Does the portrait file read from the other application match the reference? */
export function portraitMatches(r: PortraitReference, portraitFile: Uint8Array): { readonly matches: boolean; readonly detail: string } {
  const h = digestBytes(r.hashAlgorithm, portraitFile);
  return equalBytes(h, r.hash)
    ? { matches: true, detail: `${r.hashAlgorithm} of the portrait file ${bytesToHex(r.aid)}/${r.fid.toString(16).toUpperCase().padStart(4, '0')} matches DG6` }
    : { matches: false, detail: `${r.hashAlgorithm} of the portrait file read (${bytesToHex(h).slice(0, 16)}…) is not the one DG6 names (${bytesToHex(r.hash).slice(0, 16)}…)` };
}

/**
 * The holder model: everything a card carries about one person, as the rest of chipwright uses
 * it — validated, with bytes loaded (face image, fingerprint templates, certificates) and
 * structured minutiae already encoded as ISO/IEC 19794-2 records.
 *
 * The document form people write (YAML or JSON, `profiles/holder.schema.json`) has the same
 * shape, with bytes given as `{ path }` or `{ base64 }` and fingerprints optionally as structured
 * minutiae: {@link HolderDocument}. `parseHolder` turns one into the other; `holderToDocument`
 * goes back (what `chipwright read` prints).
 *
 * Dates are ISO 8601 calendar dates, `YYYY-MM-DD`.
 */
import type { FingerPositionName, ImpressionTypeName, MinutiaType } from '../lds/iso19794-2.js';

export type Sex = 'F' | 'M' | 'X';

export interface Identity {
  /** Surname(s) in Latin script, as printed; the MRZ transliterates it (ICAO 9303-3 §6). */
  readonly primaryIdentifier: string;
  /** Given name(s) in Latin script. */
  readonly secondaryIdentifier?: string;
  /** Full name in Arabic script (DG11 5F0E, UTF-8). */
  readonly fullNameArabic?: string;
  /** National ID / personal number (DG11 5F10). */
  readonly idNumber: string;
  /** ICAO 9303-3 three-letter code. */
  readonly nationality: string;
  readonly sex: Sex;
  readonly dateOfBirth: string;
  readonly placeOfBirth?: string;
  /** Address lines (DG11 5F42, joined with '<'). */
  readonly address?: readonly string[];
  readonly telephone?: string;
  readonly profession?: string;
}

export interface DocumentDetails {
  /** TD1 document code: 'I', 'ID', 'IR', 'A…', 'C…'. */
  readonly type: string;
  readonly number: string;
  readonly issuingState: string;
  /** DG12 5F19. */
  readonly issuingAuthority?: string;
  readonly dateOfIssue: string;
  readonly dateOfExpiry: string;
  /** MRZ optional data of line 1 (≤ 15) and line 2 (≤ 11), MRZ characters. */
  readonly mrzOptionalData?: { readonly line1?: string; readonly line2?: string };
}

export interface FacePoint {
  /** MPEG-4 feature point "major.minor", e.g. "12.1" (left eye centre). */
  readonly point: string;
  readonly x: number;
  readonly y: number;
}

export interface Face {
  /** JPEG or JPEG 2000 bytes. */
  readonly image: Uint8Array;
  readonly format: 'jpeg' | 'jpeg2000';
  readonly width: number;
  readonly height: number;
  readonly featurePoints?: readonly FacePoint[];
}

export interface Fingerprint {
  /** ISO/IEC 19794-2 finger position name (not 'unknown'). */
  readonly position: Exclude<FingerPositionName, 'unknown'>;
  /** An ISO/IEC 19794-2:2005 finger minutiae record. */
  readonly template: Uint8Array;
}

export const DEPENDANT_RELATIONSHIPS = ['spouse', 'child', 'parent', 'other'] as const;

export interface Dependant {
  readonly name: string;
  readonly nameArabic?: string;
  readonly relationship: (typeof DEPENDANT_RELATIONSHIPS)[number];
  readonly memberNumber: string;
  readonly dateOfBirth: string;
}

export interface HealthInsurance {
  readonly insurer: string;
  readonly memberNumber: string;
  /** Cover class as the insurer names it ("A", "VIP", "STANDARD"). */
  readonly class: string;
  readonly validFrom: string;
  readonly validUntil: string;
  readonly dependants: readonly Dependant[];
}

export interface LicenceCategory {
  /** ISO/IEC 18013-1 Annex category (AM, A1, A2, A, B1, B, BE, C1, C1E, C, CE, D1, D1E, D, DE) or a national one. */
  readonly category: string;
  readonly dateOfIssue: string;
  readonly dateOfExpiry: string;
  /** Restriction and condition codes ("01.06", "78"). */
  readonly restrictions: readonly string[];
}

export interface DrivingLicence {
  readonly number: string;
  readonly authority: string;
  readonly issuingCountry?: string;
  readonly dateOfIssue: string;
  readonly dateOfExpiry: string;
  readonly categories: readonly LicenceCategory[];
}

export const ACCOUNT_TYPES = ['current', 'savings', 'credit-card', 'debit-card', 'prepaid'] as const;

export interface FinancialAccount {
  readonly bank: string;
  /** IBAN, account number or the bank's reference; never a full card number. */
  readonly accountReference: string;
  readonly type: (typeof ACCOUNT_TYPES)[number];
  /** Card number with at most the first 6 (8 for 16+ digits) and last 4 digits visible ("411111******1111"). */
  readonly maskedPan?: string;
  /** ISO 4217 code. */
  readonly currency?: string;
}

export const KEY_USAGES = ['authentication', 'signature', 'encryption'] as const;
export const KEY_ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072'] as const;

export interface EServiceKeyPair {
  /** Unique label ("authentication", "signature"); the key pair itself is generated on the card. */
  readonly label: string;
  readonly usage: (typeof KEY_USAGES)[number];
  readonly algorithm: (typeof KEY_ALGORITHMS)[number];
  /** X.509 certificate (DER) for the key, once issued. */
  readonly certificate?: Uint8Array;
}

export interface EServices {
  readonly keyPairs: readonly EServiceKeyPair[];
}

/** The validated holder with every byte loaded. */
export interface Holder {
  readonly identity: Identity;
  readonly document: DocumentDetails;
  readonly face?: Face;
  /** 0–10 fingers, unique positions. */
  readonly fingerprints: readonly Fingerprint[];
  readonly healthInsurance?: HealthInsurance;
  readonly drivingLicence?: DrivingLicence;
  readonly financialAccounts: readonly FinancialAccount[];
  readonly eServices?: EServices;
}

// --- the document form (what people write) ---------------------------------------------------------

/** Bytes in a holder document: a file path (relative to the document) or base64. */
export type BytesSource = { readonly path: string } | { readonly base64: string };

/** Minutiae written out in a holder document, encoded by chipwright as a 19794-2 record. */
export interface MinutiaeDocument {
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** Pixels per centimetre (default 197, ≈ 500 dpi). */
  readonly resolution?: number;
  readonly impression?: ImpressionTypeName;
  /** Finger quality 0–100. */
  readonly quality?: number;
  readonly points: readonly {
    readonly type: MinutiaType;
    readonly x: number;
    readonly y: number;
    /** Degrees, 0 ≤ angle < 360, counter-clockwise from the x axis. */
    readonly angle: number;
    readonly quality?: number;
  }[];
}

export interface HolderDocument {
  readonly $schema?: string;
  readonly identity: Identity;
  readonly document: DocumentDetails;
  readonly face?: { readonly image: BytesSource; readonly featurePoints?: readonly FacePoint[] };
  readonly fingerprints?: readonly {
    readonly position: Fingerprint['position'];
    readonly template?: BytesSource;
    readonly minutiae?: MinutiaeDocument;
  }[];
  readonly healthInsurance?: Omit<HealthInsurance, 'dependants'> & { readonly dependants?: readonly Dependant[] };
  readonly drivingLicence?: Omit<DrivingLicence, 'categories'> & {
    readonly categories: readonly (Omit<LicenceCategory, 'restrictions'> & { readonly restrictions?: readonly string[] })[];
  };
  readonly financialAccounts?: readonly FinancialAccount[];
  readonly eServices?: { readonly keyPairs: readonly (Omit<EServiceKeyPair, 'certificate'> & { readonly certificate?: BytesSource })[] };
}

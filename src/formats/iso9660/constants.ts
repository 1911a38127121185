/**
 * Fixed values of the ISO 9660 (ECMA-119) image layout produced by `buildIso`, and of the
 * System Use Sharing Protocol (SUSP 1.10) / Rock Ridge (RRIP 1.10) entries it records.
 */

/** Logical sector and logical block size: the writer uses 2048 for both. */
export const SECTOR_SIZE = 2048;

/** Sectors 0..15 form the System Area and stay zero. */
export const SYSTEM_AREA_SECTORS = 16;

/** Fixed sector numbers of the metadata written before the root directory. */
export const PVD_LBA = 16;
export const TERMINATOR_LBA = 17;
export const L_PATH_TABLE_LBA = 18;
export const M_PATH_TABLE_LBA = 19;
/** Continuation Area (pointed to by the root "." record's CE entry) holding the ER entry. */
export const CONTINUATION_LBA = 20;
export const ROOT_DIR_LBA = 21;

export const STANDARD_ID = 'CD001';
export const VD_TYPE_PRIMARY = 1;
export const VD_TYPE_TERMINATOR = 255;

/** Directory record file flags. */
export const FLAG_DIRECTORY = 0x02;

/** Fixed part of a directory record, before the identifier. */
export const DIR_RECORD_FIXED_LEN = 33;
export const DIR_RECORD_MAX_LEN = 255;

/** POSIX modes recorded in PX entries. */
export const MODE_FILE = 0o100444;
export const MODE_DIR = 0o40555;

/** RR entry flag bits (RRIP 1.10, 4.1.7): which RRIP entries the record carries. */
export const RR_PX = 0x01;
export const RR_NM = 0x08;
export const RR_TF = 0x80;

/** TF entry flags: modification, access and attribute-change times, 7-byte form. */
export const TF_MODIFY = 0x02;
export const TF_ACCESS = 0x04;
export const TF_ATTRIBUTES = 0x08;

/** Extension reference for RRIP 1.10, as given by the RRIP specification. */
export const RRIP_EXT_ID = 'RRIP_1991A';
export const RRIP_EXT_VERSION = 1;
export const RRIP_EXT_DESCRIPTOR =
  'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
export const RRIP_EXT_SOURCE =
  'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN ' +
  'PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';

/** Input validation. */
export const VOLUME_ID_RE = /^[A-Z0-9_]{1,32}$/;
export const FILE_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** a-characters (ECMA-119 7.4.1) for system, publisher and application identifiers. */
export const A_CHARS_RE = /^[A-Z0-9_ !"%&'()*+,\-./:;<=>?]*$/;
export const SYSTEM_ID_MAX = 32;
export const PUBLISHER_ID_MAX = 128;
export const APPLICATION_ID_MAX = 128;

/** ISO file identifiers: "NAME.EXT" at most 30 characters (plus ";1"), extension at most 10. */
export const ISO_NAME_MAX = 30;
export const ISO_EXT_MAX = 10;

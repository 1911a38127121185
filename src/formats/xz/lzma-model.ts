/**
 * The adaptive model shared by the LZMA encoder and decoder (from the LZMA/LZMA2 format
 * descriptions): 11-bit probabilities for the literal coder, the match/rep flags, the length
 * coders and the distance coder, the 12-state machine and the four repeat distances.
 */

export const PROB_INIT = 1024;
export const STATES = 12;
export const POS_STATES_MAX = 16;
export const LEN_TO_POS_STATES = 4;
export const END_POS_MODEL_INDEX = 14;
export const FULL_DISTANCES = 128;
export const ALIGN_BITS = 4;
export const MATCH_MIN_LEN = 2;
export const MATCH_MAX_LEN = 273;

/** Offsets in a length coder's probabilities: choice, choice2, low[16][8], mid[16][8], high[256]. */
export const LEN_LOW = 2;
export const LEN_MID = 2 + POS_STATES_MAX * 8;
export const LEN_HIGH = 2 + 2 * POS_STATES_MAX * 8;
const LEN_PROBS = LEN_HIGH + 256;

export class XzFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XzFormatError';
  }
}

export interface LzmaProps {
  lc: number;
  lp: number;
  pb: number;
}

/** Decodes the lc/lp/pb properties byte. */
export const parseProps = (byte: number): LzmaProps => {
  if (byte >= 9 * 5 * 5) throw new XzFormatError(`corrupt LZMA properties byte ${byte}`);
  const lc = byte % 9;
  const lp = Math.floor(byte / 9) % 5;
  const pb = Math.floor(byte / 45);
  if (lc + lp > 4) throw new XzFormatError('LZMA2 requires lc + lp <= 4');
  return { lc, lp, pb };
};

export const propsByte = (p: LzmaProps): number => (p.pb * 5 + p.lp) * 9 + p.lc;

/** State after a literal, a match, a long rep and a short rep. */
export const afterLiteral = (s: number): number => (s < 4 ? 0 : s < 10 ? s - 3 : s - 6);
export const afterMatch = (s: number): number => (s < 7 ? 7 : 10);
export const afterRep = (s: number): number => (s < 7 ? 8 : 11);
export const afterShortRep = (s: number): number => (s < 7 ? 9 : 11);

/** Probabilities and state of one LZMA coder. */
export class LzmaModel {
  props: LzmaProps = { lc: 0, lp: 0, pb: 0 };
  literal = new Uint16Array(0x300);
  readonly isMatch = new Uint16Array(STATES * POS_STATES_MAX);
  readonly isRep = new Uint16Array(STATES);
  readonly isRepG0 = new Uint16Array(STATES);
  readonly isRepG1 = new Uint16Array(STATES);
  readonly isRepG2 = new Uint16Array(STATES);
  readonly isRep0Long = new Uint16Array(STATES * POS_STATES_MAX);
  readonly posSlot = new Uint16Array(LEN_TO_POS_STATES * 64);
  readonly posSpecial = new Uint16Array(1 + FULL_DISTANCES - END_POS_MODEL_INDEX);
  readonly align = new Uint16Array(1 << ALIGN_BITS);
  readonly len = new Uint16Array(LEN_PROBS);
  readonly repLen = new Uint16Array(LEN_PROBS);
  state = 0;
  reps = [0, 0, 0, 0];

  setProps(props: LzmaProps): void {
    this.props = props;
    this.literal = new Uint16Array(0x300 << (props.lc + props.lp));
  }

  resetState(): void {
    for (const a of [this.literal, this.isMatch, this.isRep, this.isRepG0, this.isRepG1, this.isRepG2, this.isRep0Long, this.posSlot, this.posSpecial, this.align, this.len, this.repLen]) {
      a.fill(PROB_INIT);
    }
    this.state = 0;
    this.reps = [0, 0, 0, 0];
  }

  /** Where the literal coder's 0x300 probabilities for this position and previous byte start. */
  literalBase(pos: number, prevByte: number): number {
    const { lc, lp } = this.props;
    return 0x300 * (((pos & ((1 << lp) - 1)) << lc) + (prevByte >>> (8 - lc)));
  }
}

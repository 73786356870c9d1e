/**
 * One AES-128 SM READ BINARY 256 measurement in a process of its own, for bench/sm.ts's figure
 * that compares V8's garbage-collector settings: `node [V8 flags] dist/bench/sm-child.js MS WARM`
 * runs card + terminal exchanges for WARM milliseconds (the heap's young generation grows to its
 * working size meanwhile), then prints `{"rate": APDU/s}` measured over about MS milliseconds.
 */
import { hexToBytes } from '../src/bytes/index.js';
import { parseCommandApdu } from '../src/apdu/command.js';
import { rate } from './lib.js';
import { readOnce, smPair } from './sm.js';

const ms = Number(process.argv[2] ?? '1000');
const warm = Number(process.argv[3] ?? '0');
const read = parseCommandApdu(hexToBytes('00B0000000'));
const { card, terminal } = smPair('aes');
const until = performance.now() + warm;
while (performance.now() < until) for (let i = 0; i < 1000; i++) readOnce(card, terminal, read);
process.stdout.write(`${JSON.stringify({ rate: rate(() => readOnce(card, terminal, read), 1, ms) })}\n`);

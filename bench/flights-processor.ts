/**
 * The benchmark's scoring processor as a process of its own (so its memory is measured apart):
 * node --import tsx bench/flights-processor.ts <input> <output> <name>; stops on SIGTERM.
 */
import { runProcessor } from '../processors/runtime/index.ts';
import { flightsScoring } from './flights-transform.ts';

const [input, output, name] = process.argv.slice(2);
if (!input || !output || !name) throw new Error('usage: flights-processor.ts <input> <output> <name>');
const processor = await runProcessor(await flightsScoring(input, output, name));
process.once('SIGTERM', () => void processor.stop().then(() => process.exit(0)));

/**
 * Text normalisation shared by attribute matching and the genre classifier: lower case, accents
 * folded, punctuation to spaces, and unit spellings made one ("5 kg", "5kg", "5 KG." -> "5kg").
 */
const UNITS: Record<string, string> = {
  kg: 'kg',
  kgs: 'kg',
  kilo: 'kg',
  kilos: 'kg',
  kilogram: 'kg',
  kilograms: 'kg',
  g: 'g',
  gr: 'g',
  gram: 'g',
  grams: 'g',
  mg: 'mg',
  l: 'l',
  lt: 'l',
  liter: 'l',
  liters: 'l',
  litre: 'l',
  litres: 'l',
  ml: 'ml',
  cl: 'cl',
  cm: 'cm',
  mm: 'mm',
  m: 'm',
  km: 'km',
  in: 'in',
  inch: 'in',
  inches: 'in',
  ft: 'ft',
  lb: 'lb',
  lbs: 'lb',
  oz: 'oz',
  gb: 'gb',
  tb: 'tb',
  mb: 'mb',
  w: 'w',
  kw: 'kw',
  v: 'v',
  mah: 'mah',
  hz: 'hz',
  ghz: 'ghz',
};
const UNIT_PATTERN = new RegExp(
  `\\b(\\d+(?:[.,]\\d+)?)\\s*(${Object.keys(UNITS)
    .sort((a, b) => b.length - a.length)
    .join('|')})\\b`,
  'g',
);

export function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // accents
    .toLowerCase()
    .replace(/(\d),(\d)/g, '$1.$2') // 1,5 -> 1.5
    .replace(/[^\p{L}\p{N}.]+/gu, ' ')
    .replace(/(?<!\d)\.|\.(?!\d)/g, ' ') // a dot is only kept inside a number
    .replace(UNIT_PATTERN, (_, n: string, unit: string) => `${n}${UNITS[unit]}`)
    .replace(/\s+/g, ' ')
    .trim();
}

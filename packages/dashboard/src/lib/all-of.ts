// A runtime list of every member of a string union, checked at build time both ways: a member
// missing from the list, or a list entry the union lacks, is a type error.

/** `allOf<'a' | 'b'>()(['a', 'b'])` compiles; leaving out 'b' or adding 'c' does not. */
export function allOf<U extends string>() {
  return <const L extends readonly U[]>(list: L & ([U] extends [L[number]] ? unknown : { missing: Exclude<U, L[number]> })): L => list;
}

/**
 * Time as the library measures it: one monotonic clock, and the longest
 * slice an off-thread wait may block before it returns to re-check.
 *
 * @module
 */

/** Milliseconds on a monotonic clock. */
export const now = (): number => performance.now();

/** The longest one off-thread wait may block before it returns to re-check (a Node process waits for it to exit). */
export const SLICE_MS = 100;

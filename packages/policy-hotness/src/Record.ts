/**
 * The hotness record: one byte per page.
 *
 * ```
 * bit   7     6 5        4 3 2 1 0
 *       top   cooldown   history
 * ```
 *
 * - history (5 bits): whether each of the page's last five scans found it accessed,
 *   the most recent in bit 4. Read as a number (0..31) it is the page's hotness: a page
 *   accessed in its last two scans has hotness >= 24 whatever came before, one accessed
 *   in every one of its last five scans has 31. Each scan shifts it right by one (the
 *   oldest scan falls out) and puts the new accessed bit in bit 4: the record decays as
 *   scans pass. A sampled access sets bit 4.
 * - cooldown (2 bits, 0..3): scans left before the page may move again (hysteresis
 *   after a migration; also set while a proposed migration is in flight). Each scan of
 *   the page takes one off.
 * - top (1 bit): the page sat on a top-tier node when last seen.
 *
 * A page not present reads 0.
 *
 * @since 0.1.0
 */

/**
 * Largest hotness.
 *
 * @since 0.1.0
 */
export const MAX_HOTNESS = 31

/**
 * Largest cooldown.
 *
 * @since 0.1.0
 */
export const MAX_COOLDOWN = 3

/**
 * The hotness (history) of a record, 0..31.
 *
 * @since 0.1.0
 */
export const hotness = (record: number): number => record & 0x1f

/**
 * The cooldown of a record, 0..3.
 *
 * @since 0.1.0
 */
export const cooldown = (record: number): number => (record >>> 5) & 0x3

/**
 * Whether the page sat on a top-tier node.
 *
 * @since 0.1.0
 */
export const onTop = (record: number): boolean => (record & 0x80) !== 0

/**
 * A record from its fields.
 *
 * @since 0.1.0
 */
export const make = (fields: { readonly hotness: number; readonly cooldown?: number; readonly onTop?: boolean }): number =>
  (fields.hotness & 0x1f) | ((Math.min(MAX_COOLDOWN, fields.cooldown ?? 0) & 0x3) << 5) | (fields.onTop === true ? 0x80 : 0)

/**
 * The hotness of a page accessed in (at least) its last `k` scans, 0 <= k <= 5: the
 * smallest record value that says so. `consecutive(2)` = 24.
 *
 * @since 0.1.0
 */
export const consecutive = (k: number): number => (0x1f << (5 - Math.max(0, Math.min(5, k)))) & 0x1f

/**
 * The record after one scan, page by page (the policy does the same four pages at a
 * time): history shifted with the new accessed bit on top, cooldown one less, top from
 * the page's node. A page not present becomes 0.
 *
 * @since 0.1.0
 */
export const afterScan = (record: number, accessed: boolean, present: boolean, top: boolean): number => {
  if (!present) return 0
  const c = cooldown(record)
  return ((record & 0x1e) >>> 1) | (accessed ? 0x10 : 0) | ((c > 0 ? c - 1 : 0) << 5) | (top ? 0x80 : 0)
}

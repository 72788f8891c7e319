/** A detected feature: available, or why not. */
export interface Detection {
  readonly available: boolean
  readonly reason?: string
}

export const yes = (reason?: string): Detection => (reason === undefined ? { available: true } : { available: true, reason })
export const no = (reason: string): Detection => ({ available: false, reason })
